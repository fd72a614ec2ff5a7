// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The chunked LM head gives the values and gradients of the whole-logits computation: log-probs, entropy, mean logit,
 * argmax accuracy and log sum p^2 at the asked positions (0 elsewhere), and under a loss that weighs every token
 * differently (as GRPO's does) the gradients of every parameter, the LM head's included (untied, tied, frozen under
 * LoRA), for chunks of 1, 3 and all rows, with and without a temperature.
 */
class ChunkedLmHeadTest {
    private static final long[] IDS = {72, 101, 108, 108, 111, 44, 32, 256, 49, 43, 49, 61, 50, 258, 256, 256};
    private static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    // positions read by the loss (a completion mask): (2, 7)
    private static final float[] POSITIONS = {0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0};
    private static final float[] WEIGHTS = {.3f, -1, .7f, 1.5f, -.2f, .9f, 1.1f, .4f, 2, -.6f, .8f, -1.3f, .5f, 1};

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny", "llama-tiny+lora"})
    void chunkedValuesAndGradientsEqualTheWholeLogits(String spec) throws Exception {
        String name = spec.replace("+lora", "");
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/" + name));
                PointerScope s = new PointerScope()) {
            if (spec.endsWith("+lora")) Lora.attach(m, new Lora.Config(4, 8, 0, List.of("q_proj", "v_proj")), 3);
            m.requiresGrad(true);
            Tensor ids = Tensors.longs(IDS, 2, 8), mask = Tensors.longs(MASK, 2, 8);
            Tensor labels = ids.narrow(1, 1, 7), positions = Tensors.floats(POSITIONS, 2, 7);
            Tensor weights = Tensors.floats(WEIGHTS, 2, 7).mul(positions);
            for (double temperature : new double[] {1.0, 0.7}) {
                // the reference: whole (2, 7, V) logits through autograd
                Tensor logits =
                        m.logits(m.forward(ids, mask, null).narrow(1, 0, 7)).div(Tensors.scalar(temperature));
                Tensor lse = logits.logsumexp(new long[] {-1}, true);
                Tensor tl = logits.gather(-1, labels.unsqueeze(-1)).sub(lse).squeeze(-1);
                tl.mul(weights).sum().backward();
                Map<String, float[]> expected = grads(m);
                float[] expLogps = Tensors.toFloats(tl.mul(positions));
                float[][] expStats;
                try (NoGradGuard g = new NoGradGuard()) {
                    Tensor d = logits.detach(), l = lse.detach();
                    expStats = new float[][] {
                        Tensors.toFloats(Tensors.mean(d, -1).mul(positions)),
                        Tensors.toFloats(l.squeeze(-1)
                                .sub(Tensors.sum(d.sub(l).exp().mul(d), -1))
                                .mul(positions)),
                        Tensors.toFloats(d.argmax(new LongOptional(-1), false)
                                .eq(labels)
                                .to(torch.ScalarType.Float)
                                .mul(positions)),
                        Tensors.toFloats(d.mul(Tensors.scalar(2.0))
                                .logsumexp(new long[] {-1}, false)
                                .sub(l.squeeze(-1).mul(Tensors.scalar(2.0)))
                                .mul(positions))
                    };
                }
                for (long rows : new long[] {1, 3, 1000}) {
                    String what = spec + " T=" + temperature + " chunk " + rows + ": ";
                    for (Tensor p : m.trainableParameters().values())
                        p.mutable_grad().reset();
                    ChunkedLmHead.Result r = ChunkedLmHead.compute(
                            m,
                            m.forward(ids, mask, null).narrow(1, 0, 7),
                            labels,
                            positions,
                            temperature,
                            true,
                            true,
                            rows);
                    r.tokenLogps().mul(weights).sum().backward();
                    assertClose(what + "log-probs", expLogps, Tensors.toFloats(r.tokenLogps()), 1e-6, 1e-5);
                    Tensor[] stats = {r.meanLogit(), r.entropy(), r.correct(), r.logSumP2()};
                    String[] names = {"mean logit", "entropy", "correct", "log sum p^2"};
                    // entropy = lse - sum p z cancels: float32 noise of ~1e-6 relative to the logits
                    for (int i = 0; i < stats.length; i++)
                        assertClose(what + names[i], expStats[i], Tensors.toFloats(stats[i]), 5e-5, 1e-5);
                    Map<String, float[]> actual = grads(m);
                    assertEquals(expected.keySet(), actual.keySet());
                    // float32 sums over positions in another order: noise relative to the tensor's largest entry
                    for (var e : expected.entrySet())
                        assertClose(
                                what + e.getKey(),
                                e.getValue(),
                                actual.get(e.getKey()),
                                1e-7 + 2e-6 * maxAbs(e.getValue()),
                                1e-4);
                }
                for (Tensor p : m.trainableParameters().values())
                    p.mutable_grad().reset();
            }
        }
    }

    private static double maxAbs(float[] xs) {
        double m = 0;
        for (float x : xs) m = Math.max(m, Math.abs(x));
        return m;
    }

    private static Map<String, float[]> grads(Transformer m) {
        Map<String, float[]> g = new LinkedHashMap<>();
        for (var e : m.trainableParameters().entrySet())
            g.put(e.getKey(), Tensors.toFloats(e.getValue().grad()));
        return g;
    }
}
