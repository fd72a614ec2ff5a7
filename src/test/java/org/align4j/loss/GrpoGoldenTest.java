// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * golden/grpo (tools/golden/make_grpo_goldens.py: TRL's GRPO / RLOO formulas and Trinity-RFT's CHORD formulas in
 * float64 PyTorch with autograd): advantages, the micro-batch loss, its gradient and clip / KL statistics for every
 * loss type and importance-sampling level, delta, k3 KL, on-policy ratios; CHORD's SFT term and μ schedule.
 */
class GrpoGoldenTest {
    private static final String[] STATS = {
        "kl_sum", "low", "high", "region", "masked_tokens", "clip_units", "low_min", "high_max"
    };
    private static Golden golden;
    private static JsonNode meta;

    @BeforeAll
    static void open() throws IOException {
        golden = Golden.open("grpo");
        meta = new ObjectMapper().readTree(golden.dir().resolve("expected.json").toFile());
    }

    @AfterAll
    static void close() {
        if (golden != null) golden.close();
    }

    @TestFactory
    Stream<DynamicTest> advantagesMatchTrl() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : meta.path("advantage_cases"))
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> {
                String name = c.path("name").asText(), set = c.path("inputs").asText();
                double[] a = GrpoLoss.advantages(
                        doubles(golden.floats(set + ".rewards")),
                        c.path("num_generations").asInt(),
                        c.path("scale_rewards").asText(),
                        c.path("leave_one_out").asBoolean());
                String key = name + ".advantages";
                assertClose(key, golden.floats(key), floats(a), golden.atol(key, 0), golden.rtol(key, 0));
            }));
        assertEquals(12, tests.size(), "2 reward sets x 3 scale_rewards x {GRPO, RLOO}");
        return tests.stream();
    }

    @Test
    void zeroStdGroupsMatchTrl() {
        for (String set : List.of("adv.a", "adv.b")) {
            float[] expected = golden.floats(set + ".zero_std");
            int g = (int) (golden.floats(set + ".rewards").length / expected.length);
            boolean[] zero = GrpoLoss.zeroStdGroups(doubles(golden.floats(set + ".rewards")), g);
            assertEquals(expected.length, zero.length, set);
            for (int i = 0; i < zero.length; i++) assertEquals(expected[i] == 1f, zero[i], set + " group " + i);
        }
        assertTrue(
                GrpoLoss.zeroStdGroups(doubles(golden.floats("adv.a.rewards")), 4)[1],
                "adv.a's second group is all 0.5");
    }

    @TestFactory
    Stream<DynamicTest> lossMatchesTrl() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : meta.path("loss_cases"))
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> checkLoss(c)));
        assertTrue(tests.size() >= 17, "expected.json lists " + tests.size() + " loss cases");
        return tests.stream();
    }

    @Test
    void goldenCoversEveryLossTypeAtBothLevels() {
        List<String> names = new ArrayList<>();
        for (JsonNode c : meta.path("loss_cases")) names.add(c.path("name").asText());
        for (String t : GrpoLoss.LOSS_TYPES)
            for (String level : GrpoLoss.IMPORTANCE_SAMPLING_LEVELS)
                assertTrue(names.contains(t + "_" + level), "no golden case " + t + "_" + level);
    }

    private static void checkLoss(JsonNode c) {
        String name = "loss." + c.path("name").asText();
        JsonNode cfg = c.path("config");
        GrpoLoss.Config gc = new GrpoLoss.Config(
                cfg.path("loss_type").asText(),
                cfg.path("epsilon").asDouble(),
                nullableDouble(cfg.path("epsilon_high")),
                nullableDouble(cfg.path("delta")),
                cfg.path("beta").asDouble(),
                cfg.path("importance_sampling_level").asText(),
                cfg.path("max_completion_length").asInt());
        try (PointerScope s = new PointerScope()) {
            Tensor logps = tensor("loss.logps");
            logps.set_requires_grad(true);
            Tensor old = c.path("on_policy").asBoolean() ? logps.detach() : tensor("loss.old_logps");
            Tensor ref = gc.beta() > 0 ? tensor("loss.ref_logps") : null;
            GrpoLoss.Output out = GrpoLoss.compute(
                    logps,
                    old,
                    ref,
                    tensor("loss.advantages"),
                    tensor("loss.mask"),
                    gc,
                    cfg.path("window_tokens").asLong(),
                    cfg.path("accumulation_steps").asInt());
            assertClose(
                    name + ".loss",
                    golden.floats(name + ".loss"),
                    Tensors.toFloats(out.loss()),
                    golden.atol(name + ".loss", 0),
                    golden.rtol(name + ".loss", 0));
            out.loss().backward();
            String g = name + ".grad.logps";
            assertClose(g, golden.floats(g), Tensors.toFloats(logps.grad()), golden.atol(g, 0), golden.rtol(g, 0));
            float[] st = golden.floats(name + ".stats");
            double[] got = {
                out.klSum(),
                out.lowClipped(),
                out.highClipped(),
                out.regionClipped(),
                out.maskedTokens(),
                out.clipUnits(),
                out.lowMin(),
                out.highMax()
            };
            for (int i = 0; i < STATS.length; i++) {
                if (i >= 1 && i <= 5) assertEquals(st[i], got[i], 0.0, name + " " + STATS[i] + " (a count: exact)");
                else assertEquals(st[i], got[i], 1e-6 + 1e-5 * Math.abs(st[i]), name + " " + STATS[i]);
            }
        }
    }

    @Test
    void statisticsAreNotAllTrivial() {
        // guards the golden itself: both clip sides and a nonzero KL occur, so the stats checks above can fail
        float[] tok = golden.floats("loss.dapo_token.stats"), beta = golden.floats("loss.dapo_beta.stats");
        assertTrue(tok[1] > 0 && tok[2] > 0, "token-level case clips on both sides");
        assertTrue(beta[0] > 0, "beta case has a KL sum");
        assertFalse(
                golden.floats("loss.dapo_delta.loss")[0] == golden.floats("loss.dapo_token.loss")[0],
                "delta changes the loss");
    }

    @TestFactory
    Stream<DynamicTest> chordSftMatchesTrinity() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : meta.path("chord_cases"))
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> {
                String name = c.path("name").asText();
                try (PointerScope s = new PointerScope()) {
                    Tensor logps = tensor("chord.logps");
                    logps.set_requires_grad(true);
                    Tensor loss = ChordLoss.sft(
                            logps,
                            tensor("chord.mask"),
                            c.path("use_phi").asBoolean(),
                            c.path("cutoff_prob").asDouble(),
                            c.path("window_expert_tokens").asLong());
                    assertClose(
                            name + ".loss",
                            golden.floats(name + ".loss"),
                            Tensors.toFloats(loss),
                            golden.atol(name + ".loss", 0),
                            golden.rtol(name + ".loss", 0));
                    loss.backward();
                    String g = name + ".grad.logps";
                    assertClose(
                            g, golden.floats(g), Tensors.toFloats(logps.grad()), golden.atol(g, 0), golden.rtol(g, 0));
                }
            }));
        assertEquals(8, tests.size(), "phi on/off x cutoff 1/0.6 x two windows");
        return tests.stream();
    }

    @Test
    void muScheduleMatchesTrinity() {
        int n = 0;
        for (JsonNode m : meta.path("mu")) {
            double expected = m.path("mu").asDouble();
            double got = ChordLoss.mu(
                    m.path("step").asInt(),
                    m.path("warmup").asInt(),
                    m.path("decay").asInt(),
                    m.path("peak").asDouble(),
                    m.path("valley").asDouble());
            assertEquals(expected, got, 1e-15, "mu at " + m);
            n++;
        }
        assertTrue(n >= 25, "expected.json has " + n + " mu values");
    }

    static Double nullableDouble(JsonNode n) {
        return n.isNull() || n.isMissingNode() ? null : n.asDouble();
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
