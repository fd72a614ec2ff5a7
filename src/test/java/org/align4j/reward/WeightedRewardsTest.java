// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;

/** WeightedRewards: nansum totals, TRL's reward metrics (golden/grpo), and RewardException on every kind of bad value. */
class WeightedRewardsTest {

    /** A reward function returning fixed values, or computing them per completion. */
    record Fixed(String name, boolean mayReturnNaN, Function<String, Double> f) implements RewardFunction {
        static Fixed of(String name, boolean nan, double... values) {
            List<Double> v = new ArrayList<>();
            for (double d : values) v.add(d);
            return new Fixed(name, nan, c -> v.get(Integer.parseInt(c.substring(0, c.indexOf(':')))));
        }

        @Override
        public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
            double[] out = new double[completions.size()];
            for (int i = 0; i < out.length; i++) out[i] = f.apply(completions.get(i));
            return out;
        }
    }

    static List<String> completions(int n) {
        List<String> c = new ArrayList<>();
        for (int i = 0; i < n; i++) c.add(i + ": completion text " + i);
        return c;
    }

    static WeightedRewards.Result score(WeightedRewards w, int n) {
        return w.score(Collections.nCopies(n, "p"), completions(n), Collections.nCopies(n, null));
    }

    @Test
    void totalsAndMetricsMatchTrl() throws IOException {
        try (Golden golden = Golden.open("grpo")) {
            JsonNode m = new ObjectMapper()
                    .readTree(golden.dir().resolve("expected.json").toFile())
                    .path("metrics");
            float[] perFunc = golden.floats("metrics.per_func"); // (N, 2) row-major
            int n = perFunc.length / 2;
            double[] f0 = new double[n], f1 = new double[n];
            for (int i = 0; i < n; i++) {
                f0[i] = perFunc[2 * i];
                f1[i] = perFunc[2 * i + 1];
            }
            WeightedRewards w = new WeightedRewards(
                    List.of(Fixed.of("f0", false, f0), Fixed.of("f1", true, f1)),
                    List.of(
                            m.path("weights").get(0).asDouble(),
                            m.path("weights").get(1).asDouble()));
            WeightedRewards.Result r = score(w, n);
            float[] total = golden.floats("metrics.total");
            for (int i = 0; i < n; i++) assertEquals(total[i], r.total()[i], 1e-6, "total " + i);
            int g = m.path("num_generations").asInt();
            for (String scale : List.of("group", "batch", "none")) {
                Map<String, Double> got = r.metrics(g, scale);
                JsonNode want = m.path("scale_rewards").path(scale);
                assertEquals(want.size(), got.size(), scale + ": metric names " + got.keySet());
                want.fieldNames().forEachRemaining(k -> {
                    assertTrue(got.containsKey(k), scale + ": missing " + k);
                    assertEquals(want.path(k).asDouble(), got.get(k), 1e-7, scale + " " + k);
                });
            }
            assertEquals(
                    0.5,
                    r.metrics(g, "group").get("frac_reward_zero_std"),
                    "the golden has one all-equal group of two");
            double[] flat = new double[8];
            java.util.Arrays.fill(flat, m.path("flat_batch").path("value").asDouble());
            Map<String, Double> fm = score(new WeightedRewards(List.of(Fixed.of("c", false, flat)), null), 8)
                    .metrics(g, "batch");
            assertEquals(m.path("flat_batch").path("reward_std").asDouble(), fm.get("reward_std"));
            assertEquals(m.path("flat_batch").path("frac_reward_zero_std").asDouble(), fm.get("frac_reward_zero_std"));
        }
    }

    /**
     * TRL >= 0.28 logs reward_std as the std of the whole batch (trl/trainer/grpo_trainer.py:2749, nanstd, Bessel), not
     * the mean of the group stds. Groups [0, 0, 1, 1] and [1, 1, 1, 1]: mean 3/4, Σ(r − 3/4)² = 2·9/16 + 6·1/16 = 3/2,
     * std = sqrt(3/2 / 7) = 0.46291; the mean of the group stds would be (sqrt(1/3) + 0) / 2 = 0.28868.
     */
    @Test
    void rewardStdIsTheWholeBatchStdWhateverTheScaling() {
        WeightedRewards.Result r =
                score(new WeightedRewards(List.of(Fixed.of("r", false, 0, 0, 1, 1, 1, 1, 1, 1)), null), 8);
        double expected = Math.sqrt(1.5 / 7);
        assertEquals(0.4629, expected, 5e-5);
        for (String scale : List.of("group", "batch", "none"))
            assertEquals(expected, r.metrics(4, scale).get("reward_std"), 1e-12, scale);
        assertEquals(0.5, r.metrics(4, "group").get("frac_reward_zero_std"), "one of the two groups is flat");
        // a single completion: nanstd of one value is NaN (TRL logs it so)
        assertTrue(Double.isNaN(score(new WeightedRewards(List.of(Fixed.of("r", false, 2)), null), 1)
                .metrics(1, "group")
                .get("reward_std")));
    }

    @Test
    void weightsDefaultToOneAndNaNIsLeftOut() {
        WeightedRewards w = new WeightedRewards(
                List.of(Fixed.of("a", false, 1, 2, 3), Fixed.of("b", true, 10, Double.NaN, -1)), null);
        assertArrayEquals(new double[] {1, 1}, w.weights());
        WeightedRewards.Result r = score(w, 3);
        assertArrayEquals(new double[] {11, 2, 2}, r.total(), 0.0);
        assertTrue(Double.isNaN(r.perFunction()[1][1]));
        assertEquals(List.of("a", "b"), r.names());
        Map<String, Double> m = r.metrics(3, "group");
        assertEquals(4.5, m.get("rewards/b/mean"), 1e-15, "nanmean over the two scored completions");
        assertEquals(Math.sqrt(60.5), m.get("rewards/b/std"), 1e-12, "Bessel std of {10, -1}");
        assertEquals(5.0, m.get("reward"), 1e-15);
    }

    @Test
    void anExceptionIsPinnedToItsRow() {
        RewardFunction boom = new Fixed("boom", false, c -> {
            if (c.startsWith("2:")) throw new IllegalStateException("cannot parse");
            return 1.0;
        });
        WeightedRewards w = new WeightedRewards(List.of(boom), null);
        RewardException e = assertThrows(RewardException.class, () -> score(w, 4));
        assertEquals("boom", e.function());
        assertEquals(2, e.row());
        assertTrue(e.getMessage().contains("completion: \"2: completion text 2\""), e.getMessage());
        assertTrue(e.getMessage().contains("cannot parse"), e.getMessage());
    }

    @Test
    void aBatchOnlyFailureHasNoRow() {
        RewardFunction batchOnly = new RewardFunction() {
            public String name() {
                return "batchy";
            }

            public double[] score(List<String> p, List<String> c, List<JsonNode> r) {
                if (c.size() > 1) throw new IllegalStateException("batch too large");
                return new double[] {0};
            }
        };
        RewardException e =
                assertThrows(RewardException.class, () -> score(new WeightedRewards(List.of(batchOnly), null), 3));
        assertEquals(-1, e.row());
        assertTrue(e.getMessage().contains("batch too large"));
    }

    @Test
    void badValuesAreRewardExceptions() {
        RewardException nan = assertThrows(
                RewardException.class,
                () -> score(new WeightedRewards(List.of(Fixed.of("strict", false, 1, Double.NaN)), null), 2));
        assertEquals(1, nan.row());
        assertTrue(nan.getMessage().contains("mayReturnNaN"));
        RewardException inf = assertThrows(
                RewardException.class,
                () -> score(new WeightedRewards(List.of(Fixed.of("inf", true, Double.POSITIVE_INFINITY, 0)), null), 2));
        assertEquals(0, inf.row());
        RewardFunction shortList = new RewardFunction() {
            public String name() {
                return "short";
            }

            public double[] score(List<String> p, List<String> c, List<JsonNode> r) {
                return new double[1];
            }
        };
        assertTrue(assertThrows(RewardException.class, () -> score(new WeightedRewards(List.of(shortList), null), 3))
                .getMessage()
                .contains("1 values for 3"));
        RewardException none = assertThrows(
                RewardException.class,
                () -> score(
                        new WeightedRewards(
                                List.of(
                                        Fixed.of("x", true, 1, Double.NaN),
                                        Fixed.of("y", true, Double.NaN, Double.NaN)),
                                null),
                        2));
        assertEquals(1, none.row());
        assertTrue(none.getMessage().contains("every function"));
    }

    @Test
    void longCompletionsAreQuotedShort() {
        String longText = "0:" + "x".repeat(500);
        RewardFunction f = new Fixed("f", false, c -> Double.NaN);
        RewardException e = assertThrows(
                RewardException.class,
                () -> new WeightedRewards(List.of(f), null)
                        .score(List.of("p"), List.of(longText), Collections.singletonList(null)));
        assertTrue(e.getMessage().contains("x".repeat(198) + "…\")"), e.getMessage());
        assertTrue(e.getMessage().length() < 400);
    }

    @Test
    void constructorAndArgumentChecks() {
        assertThrows(IllegalArgumentException.class, () -> new WeightedRewards(List.of(), null));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> new WeightedRewards(List.of(Fixed.of("a", false, 1), Fixed.of("a", false, 1)), null))
                .getMessage()
                .contains("unique"));
        assertThrows(
                IllegalArgumentException.class,
                () -> new WeightedRewards(List.of(Fixed.of("a", false, 1)), List.of(1.0, 2.0)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new WeightedRewards(List.of(Fixed.of("a", false, 1)), List.of(Double.NaN)));
        WeightedRewards w = new WeightedRewards(List.of(Fixed.of("a", false, 1, 2)), List.of(-0.5));
        assertArrayEquals(new double[] {-0.5, -1.0}, score(w, 2).total(), 0.0);
        assertThrows(
                IllegalArgumentException.class,
                () -> w.score(List.of("p"), completions(2), Collections.nCopies(2, null)));
        assertThrows(IllegalArgumentException.class, () -> score(w, 2).metrics(3, "group"));
        assertThrows(IllegalArgumentException.class, () -> score(w, 2).metrics(2, "std"));
    }
}
