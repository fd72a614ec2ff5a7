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
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Recomputing activations layer by layer gives the gradients a plain backward gives. */
class GradientCheckpointingTest {
    private static final long[] IDS = {72, 101, 108, 108, 111, 44, 32, 256, 49, 43, 49, 61, 50, 258, 256, 256};
    private static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    /** Mean next-token NLL over real tokens, from final hidden states. */
    private static Tensor loss(Transformer m, Tensor hidden, Tensor ids) {
        Tensor lp = LogProbs.tokenLogps(m.logits(hidden.narrow(1, 0, 7)), ids.narrow(1, 1, 7));
        return lp.mean().neg();
    }

    private static Map<String, float[]> grads(Transformer m) {
        Map<String, float[]> g = new LinkedHashMap<>();
        for (var e : m.trainableParameters().entrySet())
            g.put(e.getKey(), Tensors.toFloats(e.getValue().grad()));
        return g;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen3-tiny", "llama-tiny+lora"})
    void checkpointedGradientsEqualPlainOnes(String spec) throws Exception {
        String name = spec.replace("+lora", "");
        Map<String, float[]> plain, recomputed;
        double plainLoss, recomputedLoss;
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/" + name));
                PointerScope s = new PointerScope()) {
            if (spec.endsWith("+lora")) Lora.attach(m, new Lora.Config(4, 8, 0, List.of("q_proj", "up_proj")), 3);
            m.requiresGrad(true);
            Tensor ids = Tensors.longs(IDS, 2, 8), mask = Tensors.longs(MASK, 2, 8);
            Tensor l = loss(m, m.forward(ids, mask, null), ids);
            plainLoss = l.item_double();
            l.backward();
            plain = grads(m);
            for (Tensor p : m.trainableParameters().values()) p.mutable_grad().reset();
            recomputedLoss = m.forwardBackwardCheckpointed(ids, mask, h -> loss(m, h, ids));
            recomputed = grads(m);
        }
        assertEquals(plainLoss, recomputedLoss, 1e-7);
        assertEquals(plain.keySet(), recomputed.keySet());
        for (var e : plain.entrySet())
            assertClose(spec + " " + e.getKey(), e.getValue(), recomputed.get(e.getKey()), 1e-7, 1e-5);
    }
}
