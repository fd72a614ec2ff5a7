// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.io.HfJson;
import org.align4j.io.SafetensorsWriter;
import org.align4j.io.TensorBlob;
import org.align4j.loss.AnchorRewardTerm;
import org.align4j.reward.LengthReward;
import org.align4j.reward.WeightedRewards;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The anchoring term: schedule, reward, SFT REINFORCE term, against closed forms; the discriminator is a hand-written folder. */
class AnchorRewardTest {

    /** A 2-d stand-in encoder: x = (characters / 10, number of '#'). */
    static class CountingEncoder implements SentenceEncoder {
        public String name() {
            return "test/counting";
        }

        public int dimension() {
            return 2;
        }

        public float[][] embed(List<String> texts) {
            float[][] x = new float[texts.size()][];
            for (int i = 0; i < x.length; i++) x[i] = features(texts.get(i));
            return x;
        }

        public void close() {}

        static float[] features(String t) {
            return new float[] {
                t.length() / 10f, (float) t.chars().filter(c -> c == '#').count()
            };
        }
    }

    static final float W0 = -0.5f, W1 = 1.25f, B = 0.75f;

    /** z = −0.5·len/10 + 1.25·#'s + 0.75, written as the discriminator command writes a logistic head. */
    static EncoderDiscriminator handWritten(Path dir) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        SafetensorsWriter.write(
                dir.resolve(EncoderDiscriminator.HEAD_FILE),
                List.of(
                        TensorBlob.ofFloats("out.weight", new float[] {W0, W1}, 1, 2),
                        TensorBlob.ofFloats("out.bias", new float[] {B}, 1)),
                Map.of());
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("format", "align4j-aapa-discriminator");
        j.put("format_version", 1);
        j.put("encoder", Map.of("name", "test/counting", "dimension", 2));
        j.put("input", Map.of("include_prompt", false));
        j.put("head", Map.of("type", "logistic", "input_dim", 2, "hidden_size", 0));
        j.put(
                "training",
                Map.of(
                        "epochs",
                        1,
                        "learning_rate",
                        0.1,
                        "batch_size",
                        1,
                        "weight_decay",
                        0.0,
                        "seed",
                        1,
                        "eval_fraction",
                        0.0));
        HfJson.writeJson(dir.resolve(EncoderDiscriminator.CONFIG_FILE), j, false);
        return EncoderDiscriminator.load(dir, new CountingEncoder());
    }

    static double z(String t) {
        float[] x = CountingEncoder.features(t);
        return (double) W0 * x[0] + (double) W1 * x[1] + B;
    }

    @Test
    void scheduleClosedForms() {
        AnchorSchedule c = AnchorSchedule.constant(0.05);
        for (long s : new long[] {0, 1, 1000}) assertEquals(0.05, c.value(s));
        AnchorSchedule lin = new AnchorSchedule("linear", 0.2, 10, 0);
        assertEquals(0.0, lin.value(0));
        assertEquals(0.2 * 3 / 10, lin.value(3), 1e-15);
        assertEquals(0.2, lin.value(10));
        assertEquals(0.2, lin.value(500));
        AnchorSchedule cos = new AnchorSchedule("cosine", 0.2, 4, 8);
        assertEquals(0.1, cos.value(2), 1e-15, "half-way through the warm-up");
        assertEquals(0.2, cos.value(4), 1e-15, "cos(0) = 1 at the end of warm-up");
        assertEquals(0.1, cos.value(8), 1e-15, "cos(π/2) = 0 half-way through the decay");
        assertEquals(0.2 * 0.5 * (1 + Math.cos(Math.PI * 3 / 8)), cos.value(7), 1e-15);
        assertEquals(0.0, cos.value(12));
        assertEquals(0.0, cos.value(99));
        assertEquals(0.2, new AnchorSchedule("cosine", 0.2, 0, 8).value(0), 1e-15, "no warm-up: start at the peak");
        assertThrows(IllegalArgumentException.class, () -> new AnchorSchedule("step", 0.1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AnchorSchedule("cosine", 0.1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AnchorSchedule("linear", Double.NaN, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> c.value(-1));
    }

    @Test
    void rewardIsTheScheduledCoefficientTimesTheLogit(@TempDir Path tmp) throws Exception {
        EncoderDiscriminator d = handWritten(tmp.resolve("d"));
        List<String> completions = List.of("#### 12", "a long rambling answer without any marker at all", "");
        List<String> prompts = Collections.nCopies(3, "q");
        List<JsonNode> rows = Collections.nCopies(3, null);
        AnchorSchedule sched = new AnchorSchedule("linear", 0.3, 4, 0);
        AnchorReward r = new AnchorReward(d, sched);
        assertEquals("aapa_anchor", r.name());
        for (long step : new long[] {0, 1, 3, 4, 10}) {
            r.setStep(step);
            double lambda = step >= 4 ? 0.3 : 0.3 * step / 4;
            double[] got = r.score(prompts, completions, rows);
            for (int i = 0; i < 3; i++)
                assertEquals(lambda * z(completions.get(i)), got[i], 1e-12, "step " + step + " completion " + i);
        }
        AnchorReward ls = new AnchorReward(d, AnchorSchedule.constant(0.5), AnchorReward.Signal.LOG_SIGMOID);
        double[] got = ls.score(prompts, completions, rows);
        for (int i = 0; i < 3; i++)
            assertEquals(
                    0.5 * Math.log(1 / (1 + Math.exp(-z(completions.get(i))))),
                    got[i],
                    1e-12,
                    "log σ(z), completion " + i);

        // beside another reward in WeightedRewards: total = w_k·r_k summed
        r.setStep(10);
        WeightedRewards wr = new WeightedRewards(List.of(new LengthReward("length", 5, 0.1), r), List.of(1.0, 1.0));
        WeightedRewards.Result res = wr.score(prompts, completions, rows);
        for (int i = 0; i < 3; i++)
            assertEquals(
                    -0.1 * Math.max(0, completions.get(i).length() - 5) + 0.3 * z(completions.get(i)),
                    res.total()[i],
                    1e-12,
                    "total " + i);
        assertThrows(IllegalArgumentException.class, () -> r.setStep(-1));
    }

    @Test
    void loadRejectsAnotherEncoder(@TempDir Path tmp) throws Exception {
        handWritten(tmp.resolve("d"));
        SentenceEncoder other = new CountingEncoder() {
            @Override
            public String name() {
                return "test/other";
            }
        };
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> EncoderDiscriminator.load(tmp.resolve("d"), other));
        assertEquals(true, e.getMessage().contains("test/counting"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> EncoderDiscriminator.load(tmp.resolve("missing"), new CountingEncoder()));
    }

    /** −(1/N) Σ (aᵢ − ā) logpᵢ and its gradient −(aᵢ − ā)/N. */
    @Test
    void reinforceTermValueAndGradient() {
        double[] logp = {-3.2, -1.5, -7.0, -0.4}, a = {0.3, -1.2, 2.0, 0.1};
        double mean = (0.3 - 1.2 + 2.0 + 0.1) / 4, value = 0;
        for (int i = 0; i < 4; i++) value -= (a[i] - mean) * (float) logp[i] / 4;
        try (PointerScope s = new PointerScope()) {
            Tensor lp = Tensors.floats(new float[] {-3.2f, -1.5f, -7.0f, -0.4f}, 4);
            lp.set_requires_grad(true);
            Tensor loss = AnchorRewardTerm.reinforce(lp, a);
            assertEquals(0, loss.dim());
            assertEquals(value, Tensors.toFloats(loss)[0], 1e-6);
            loss.backward();
            float[] g = Tensors.toFloats(lp.grad());
            for (int i = 0; i < 4; i++) assertEquals(-(a[i] - mean) / 4, g[i], 1e-7, "grad " + i);
        }
    }

    @Test
    void reinforceTermVanishesForOneRolloutOrEqualRewards() {
        try (PointerScope s = new PointerScope()) {
            Tensor lp = Tensors.floats(new float[] {-2f, -5f}, 2);
            lp.set_requires_grad(true);
            Tensor loss = AnchorRewardTerm.reinforce(lp, new double[] {0.7, 0.7});
            assertEquals(0.0, Tensors.toFloats(loss)[0], 0.0);
            loss.backward();
            assertArrayEquals(new float[] {0f, 0f}, Tensors.toFloats(lp.grad()), 0f);
            assertThrows(IllegalArgumentException.class, () -> AnchorRewardTerm.reinforce(lp, new double[] {1, 2, 3}));
            assertThrows(
                    IllegalArgumentException.class, () -> AnchorRewardTerm.reinforce(lp, new double[] {1, Double.NaN}));
        }
    }
}
