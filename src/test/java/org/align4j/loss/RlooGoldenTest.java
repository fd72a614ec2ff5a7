// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * golden/rloo (tools/golden/make_rloo_goldens.py: TRL's RLOOTrainer and OnlineDPOTrainer formulas in float64 PyTorch
 * with autograd): the k1-penalised rewards, leave-one-out advantages, the sequence-level clipped loss, its gradient
 * with respect to the per-token log-probs, kl / frac_reward_zero_std / clip_ratio metrics; online DPO's sigmoid and
 * (not length-normalised) ipo losses and their gradients.
 */
class RlooGoldenTest {
    private static final String[] STATS = {
        "kl", "frac_reward_zero_std", "low_mean", "low_min", "high_mean", "high_max", "region_mean"
    };
    private static Golden golden;
    private static JsonNode meta;

    @BeforeAll
    static void open() throws IOException {
        golden = Golden.open("rloo");
        meta = new ObjectMapper().readTree(golden.dir().resolve("expected.json").toFile());
    }

    @AfterAll
    static void close() {
        if (golden != null) golden.close();
    }

    @TestFactory
    Stream<DynamicTest> rlooMatchesTrl() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : meta.path("rloo_cases"))
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> checkRloo(c)));
        assertEquals(6, tests.size(), "expected.json lists the six RLOO cases");
        return tests.stream();
    }

    private static void checkRloo(JsonNode c) {
        String name = "rloo." + c.path("name").asText();
        JsonNode cfg = c.path("config");
        int g = cfg.path("num_generations").asInt();
        double beta = cfg.path("beta").asDouble(), eps = cfg.path("epsilon").asDouble();
        double epsHigh = cfg.path("epsilon_high").isNull()
                ? eps
                : cfg.path("epsilon_high").asDouble();
        double[] clip = cfg.path("reward_clip_range").isNull()
                ? null
                : new double[] {
                    cfg.path("reward_clip_range").get(0).asDouble(),
                    cfg.path("reward_clip_range").get(1).asDouble()
                };
        try (PointerScope s = new PointerScope()) {
            Tensor mask = tensor("rloo.mask");
            Tensor kl = RlooLoss.sequenceKl(tensor("rloo.old_logps"), tensor("rloo.ref_logps"), mask);
            double klMetric = kl.sum().item_double() / mask.sum().item_double();
            double[] rewards = RlooLoss.penalisedRewards(
                    doubles(golden.floats("rloo.rewards")), doubles(Tensors.toFloats(kl)), beta, clip);
            check(name + ".rewards", floats(rewards));
            double[] adv = RlooLoss.advantages(
                    rewards, g, cfg.path("normalize_advantages").asBoolean());
            check(name + ".advantages", floats(adv));

            Tensor tokenLogps = tensor("rloo.logps");
            tokenLogps.set_requires_grad(true);
            Tensor logps = Tensors.sum(tokenLogps.mul(mask), 1);
            Tensor old = c.path("on_policy").asBoolean()
                    ? logps.detach()
                    : Tensors.sum(tensor("rloo.old_logps").mul(mask), 1);
            RlooLoss.Output out = RlooLoss.compute(logps, old, Tensors.floats(floats(adv), adv.length), eps, epsHigh);
            check(name + ".loss", Tensors.toFloats(out.loss()));
            out.loss().backward();
            check(name + ".grad.logps", Tensors.toFloats(tokenLogps.grad()));

            double[] got = {
                beta > 0 ? klMetric : 0.0,
                GrpoLoss.fracRewardZeroStd(rewards, g),
                out.lowClipMean(),
                out.lowMin(),
                out.highClipMean(),
                out.highMax(),
                out.regionClipMean()
            };
            float[] expected = golden.floats(name + ".stats");
            assertEquals(expected[0], got[0], 1e-6 + 1e-5 * Math.abs(expected[0]), name + " kl");
            for (int i = 1; i < STATS.length; i++) // shares of 6 sequences or 2-3 groups, stored as float32: exact
            assertEquals(expected[i], (float) got[i], 0f, name + " " + STATS[i]);
        }
    }

    @Test
    void theGoldenExercisesClippingTiesAndTheKlPenalty() {
        // guards the golden itself, so the comparisons above can fail
        float[] strict = golden.floats("rloo.beta05_g2_normalized.stats");
        assertTrue(strict[2] > 0 && strict[4] > 0, "the eps 0.1 / 0.15 case clips on both sides");
        assertEquals(0.5f, golden.floats("rloo.beta0_g3.stats")[1], "beta 0, G 3: the second prompt's rewards agree");
        assertEquals(
                0f,
                golden.floats("rloo.clip_range_beta01_g3.stats")[1],
                "with beta > 0 the KL penalty separates the tied rewards");
        float[] raw = golden.floats("rloo.rewards"), penalised = golden.floats("rloo.defaults_g2.rewards");
        assertTrue(raw[0] != penalised[0], "beta 0.05 moves the rewards");
    }

    @Test
    void badRlooArgumentsAreClearErrors() {
        IllegalArgumentException one =
                assertThrows(IllegalArgumentException.class, () -> RlooLoss.advantages(new double[] {1, 2}, 1, false));
        assertTrue(one.getMessage().contains("num_generations"), one.getMessage());
        IllegalArgumentException noKl = assertThrows(
                IllegalArgumentException.class, () -> RlooLoss.penalisedRewards(new double[] {1, 2}, null, 0.05, null));
        assertTrue(noKl.getMessage().contains("beta"), noKl.getMessage());
    }

    @TestFactory
    Stream<DynamicTest> onlineDpoLossesMatchTrl() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : meta.path("online_dpo_cases"))
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> {
                String name = "odpo." + c.path("name").asText();
                try (PointerScope s = new PointerScope()) {
                    Tensor chosen = tensor("odpo.chosen"), rejected = tensor("odpo.rejected");
                    chosen.set_requires_grad(true);
                    rejected.set_requires_grad(true);
                    Tensor losses = OnlineDpoLoss.perPair(
                            new PairLogps(chosen, rejected, tensor("odpo.ref_chosen"), tensor("odpo.ref_rejected")),
                            c.path("loss_type").asText(),
                            c.path("beta").asDouble());
                    check(name + ".losses", Tensors.toFloats(losses));
                    losses.mean().backward();
                    check(name + ".grad.chosen", Tensors.toFloats(chosen.grad()));
                    check(name + ".grad.rejected", Tensors.toFloats(rejected.grad()));
                }
            }));
        assertEquals(4, tests.size(), "sigmoid and ipo at two betas");
        return tests.stream();
    }

    @Test
    void onlineIpoIsNotLengthNormalised() {
        // the golden's first pair: logits = (-12.5 + 14) - (-13 + 13.5) = 1; TRL's online ipo at beta 0.1 is
        // (1 - 1/(2*0.1))^2 = 16 on the sums, whatever the completion lengths
        assertEquals(16f, golden.floats("odpo.ipo_beta0.1.losses")[0], 1e-5f);
        try (PointerScope s = new PointerScope()) {
            Tensor l = OnlineDpoLoss.perPair(
                    new PairLogps(
                            Tensors.floats(new float[] {-12.5f}, 1),
                            Tensors.floats(new float[] {-14f}, 1),
                            Tensors.floats(new float[] {-13f}, 1),
                            Tensors.floats(new float[] {-13.5f}, 1)),
                    "ipo",
                    0.1);
            assertEquals(16.0, l.item_double(), 1e-5);
        }
        IllegalArgumentException hinge = assertThrows(
                IllegalArgumentException.class,
                () -> OnlineDpoLoss.perPair(
                        new PairLogps(
                                Tensors.floats(new float[] {0}, 1),
                                Tensors.floats(new float[] {0}, 1),
                                Tensors.floats(new float[] {0}, 1),
                                Tensors.floats(new float[] {0}, 1)),
                        "hinge",
                        0.1));
        assertTrue(hinge.getMessage().contains("sigmoid, ipo"), hinge.getMessage());
    }

    private static void check(String key, float[] actual) {
        assertClose(key, golden.floats(key), actual, golden.atol(key, 0), golden.rtol(key, 0));
    }

    private static Tensor tensor(String name) {
        return Tensors.floats(golden.floats(name), golden.shape(name));
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
