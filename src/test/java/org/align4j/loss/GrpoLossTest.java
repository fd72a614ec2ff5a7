// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** GrpoLoss against closed forms written here in plain doubles (docs/algorithms.md §5), and its argument checks. */
class GrpoLossTest {
    // N = 3 completions, T = 4; row 2 has one token, row 1 three. Ratios exp(logp − old) are chosen to land on both
    // sides
    // of the clip range [0.8, 1.28] and above delta = 1.4, with advantages of both signs.
    static final double[][] LOGP = {{-1.0, -0.5, -2.0, -0.3}, {-0.2, -1.5, -0.7, -9.0}, {-3.0, -9.0, -9.0, -9.0}};
    static final double[][] OLD = {
        {-1.0 - Math.log(1.5), -0.5 - Math.log(0.7), -2.0 - Math.log(1.1), -0.3 - Math.log(0.9)},
        {-0.2 - Math.log(0.6), -1.5 - Math.log(1.6), -0.7 - Math.log(0.95), -1.0},
        {-3.0 - Math.log(1.2), -2.0, -2.0, -2.0}
    };
    static final double[][] REF = {{-1.3, -0.2, -2.5, -0.1}, {-0.6, -1.0, -0.9, -4.0}, {-2.0, -4.0, -4.0, -4.0}};
    static final double[][] MASK = {{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 0, 0, 0}};
    static final double[] ADV = {0.9, -1.2, 0.5};

    /** Per-token (or per-sequence) loss and its derivative w.r.t. logπ, from the formula, with torch.min's tie rule (half to each side). */
    static double[] tokenLossAndSlope(double ratio, double a, double lo, double hi, Double delta) {
        double capped = delta != null ? Math.min(ratio, delta) : ratio;
        double dCapped = delta != null && ratio > delta ? 0 : ratio; // d/dlogπ of min(ρ, δ); ρ' = ρ
        double clipped = Math.max(lo, Math.min(hi, ratio));
        double dClipped = ratio >= lo && ratio <= hi ? ratio : 0;
        double u = capped * a, c = clipped * a;
        if (u < c) return new double[] {-u, -a * dCapped};
        if (c < u) return new double[] {-c, -a * dClipped};
        return new double[] {-u, -a * (0.5 * dCapped + 0.5 * dClipped)};
    }

    /** The loss and d loss / d logps for the fixed batch, computed independently of libtorch. */
    static double[][] expected(GrpoLoss.Config c, double[][] logp, double[][] old, long window, int acc) {
        int n = logp.length, t = logp[0].length;
        double lo = 1 - c.epsilon(), hi = 1 + c.epsilonHighOrDefault();
        double total = 0;
        for (double[] row : MASK) for (double m : row) total += m;
        double loss = 0;
        double[][] grad = new double[n][t];
        for (int i = 0; i < n; i++) {
            double count = 0, sumLog = 0;
            for (int j = 0; j < t; j++) {
                count += MASK[i][j];
                sumLog += MASK[i][j] * (logp[i][j] - old[i][j]);
            }
            double[] seq = tokenLossAndSlope(Math.exp(sumLog / Math.max(count, 1)), ADV[i], lo, hi, c.delta());
            double[] w = new double[t]; // d loss / d l_{i,t}
            double rowWeight = 0;
            for (int j = 0; j < t; j++) {
                w[j] = switch (c.lossType()) {
                    case "dapo", "cispo" -> MASK[i][j] / Math.max(window, 1);
                    case "bnpo" -> MASK[i][j] / Math.max(total, 1) / acc;
                    case "dr_grpo" -> MASK[i][j] / ((double) n * c.maxCompletionLength()) / acc;
                    case "grpo" -> MASK[i][j] / Math.max(count, 1) / n / acc;
                    default -> throw new AssertionError(c.lossType());
                };
                rowWeight += w[j];
            }
            for (int j = 0; j < t; j++) {
                if (MASK[i][j] == 0) continue;
                double value, slope;
                if (c.lossType().equals("cispo")) {
                    // −sg(min(ρ, ε_high))·A·logπ: the clipped weight is a constant, so the slope is −min(ρ, ε_high)·A
                    double ratio = c.sequenceLevel()
                            ? Math.exp(sumLog / Math.max(count, 1))
                            : Math.exp(logp[i][j] - old[i][j]);
                    double weight = Math.min(ratio, c.epsilonHighOrDefault());
                    value = -weight * ADV[i] * logp[i][j];
                    slope = -weight * ADV[i];
                } else if (c.sequenceLevel()) {
                    value = seq[0];
                    // l_i is shared by the row's tokens: d/dlogπ_t of Σ_t' w_t'·l_i = (Σ w)·l_i'·m_t/Σ m  (dρ_i/dlogπ_t
                    // = ρ_i·m_t/Σ m)
                    slope = rowWeight * seq[1] * MASK[i][j] / Math.max(count, 1) / w[j];
                } else {
                    double[] tok = tokenLossAndSlope(Math.exp(logp[i][j] - old[i][j]), ADV[i], lo, hi, c.delta());
                    value = tok[0];
                    slope = tok[1];
                }
                if (c.beta() > 0) {
                    double d = REF[i][j] - logp[i][j];
                    value += c.beta() * (Math.exp(d) - d - 1);
                    slope += c.beta() * (1 - Math.exp(d));
                }
                loss += w[j] * value;
                grad[i][j] = w[j] * slope;
            }
        }
        double[][] out = new double[n + 1][];
        out[0] = new double[] {loss};
        System.arraycopy(grad, 0, out, 1, n);
        return out;
    }

    static Tensor t2(double[][] v) {
        int n = v.length, t = v[0].length;
        float[] f = new float[n * t];
        for (int i = 0; i < n; i++) for (int j = 0; j < t; j++) f[i * t + j] = (float) v[i][j];
        return Tensors.floats(f, n, t);
    }

    /** Inputs rounded to float32 first, so the closed form starts from the values libtorch sees. */
    static double[][] rounded(double[][] v) {
        double[][] r = new double[v.length][];
        for (int i = 0; i < v.length; i++) {
            r[i] = new double[v[i].length];
            for (int j = 0; j < v[i].length; j++) r[i][j] = (float) v[i][j];
        }
        return r;
    }

    static GrpoLoss.Config config(String type, String level, Double delta, double beta) {
        return new GrpoLoss.Config(type, 0.2, 0.28, delta, beta, level, 10);
    }

    @Test
    void everyLossTypeAndLevelMatchesTheClosedForm() {
        long window = 17;
        int acc = 3;
        for (String type : GrpoLoss.LOSS_TYPES)
            for (String level : GrpoLoss.IMPORTANCE_SAMPLING_LEVELS)
                for (Double delta : new Double[] {null, 1.4})
                    for (double beta : new double[] {0.0, 0.3}) {
                        GrpoLoss.Config c = config(type, level, delta, beta);
                        String what = type + "/" + level + "/delta=" + delta + "/beta=" + beta;
                        double[][] e = expected(c, rounded(LOGP), rounded(OLD), window, acc);
                        try (PointerScope s = new PointerScope()) {
                            Tensor logps = t2(LOGP);
                            logps.set_requires_grad(true);
                            GrpoLoss.Output out = GrpoLoss.compute(
                                    logps, t2(OLD), beta > 0 ? t2(REF) : null, Closed.t(ADV), t2(MASK), c, window, acc);
                            assertEquals(
                                    e[0][0],
                                    Tensors.toFloats(out.loss())[0],
                                    1e-6 + 1e-5 * Math.abs(e[0][0]),
                                    what + " loss");
                            out.loss().backward();
                            float[] g = Tensors.toFloats(logps.grad());
                            for (int i = 0; i < LOGP.length; i++)
                                for (int j = 0; j < LOGP[0].length; j++)
                                    assertEquals(
                                            e[i + 1][j],
                                            g[i * 4 + j],
                                            1e-7 + 1e-5 * Math.abs(e[i + 1][j]),
                                            what + " grad[" + i + "][" + j + "]");
                        }
                    }
    }

    @Test
    void tokenLevelClipCountsFollowTrl() {
        try (PointerScope s = new PointerScope()) {
            GrpoLoss.Output out = GrpoLoss.compute(
                    t2(LOGP), t2(OLD), null, Closed.t(ADV), t2(MASK), config("dapo", "token", null, 0.0), 8, 1);
            // A > 0 rows 0 and 2: ratios 1.5 and 1.2 -> only 1.5 > 1.28 is high-clipped; A < 0 row 1: ratio 0.6 < 0.8
            // low-clipped
            assertEquals(1, out.lowClipped());
            assertEquals(1, out.highClipped());
            assertEquals(2, out.regionClipped());
            assertEquals(8, out.maskedTokens());
            assertEquals(8, out.clipUnits());
            assertEquals(0.0, out.klSum());
            assertEquals(1.0 / 8, out.lowClipMean(), 1e-12);
            assertEquals(0.0, out.lowMin(), "rows 0 and 2 have no low-clipped token");
            assertEquals(0.25, out.highMax(), 1e-7, "row 0: 1 of 4 tokens high-clipped");
        }
    }

    @Test
    void sequenceLevelCountsSequences() {
        try (PointerScope s = new PointerScope()) {
            GrpoLoss.Output out = GrpoLoss.compute(
                    t2(LOGP), t2(OLD), null, Closed.t(ADV), t2(MASK), config("dapo", "sequence", null, 0.0), 8, 1);
            // geometric-mean ratios: row 0 (1.5·0.7·1.1·0.9)^(1/4) = 1.0097, row 1 (0.6·1.6·0.95)^(1/3) = 0.9697, row 2
            // 1.2: none clipped
            assertEquals(0, out.regionClipped());
            assertEquals(3, out.clipUnits(), "TRL averages over sequences at sequence level");
            assertEquals(8, out.maskedTokens());
        }
    }

    @Test
    void klSumIsTheMaskedK3Sum() {
        double beta = 0.3, expected = 0;
        double[][] lp = rounded(LOGP), ref = rounded(REF);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                double d = ref[i][j] - lp[i][j];
                expected += MASK[i][j] * (Math.exp(d) - d - 1);
            }
        try (PointerScope s = new PointerScope()) {
            GrpoLoss.Output out = GrpoLoss.compute(
                    t2(LOGP), t2(OLD), t2(REF), Closed.t(ADV), t2(MASK), config("bnpo", "token", null, beta), 8, 1);
            assertEquals(expected, out.klSum(), 1e-5 * expected);
            assertEquals(expected / 8, out.klMean(), 1e-5 * expected);
        }
    }

    @Test
    void onPolicyRatioIsOneAndTheGradientIsMinusAdvantage() {
        // num_iterations == 1: old = logps.detach(), ρ ≡ 1, loss = −Σ A_i·n_i / W and ∂/∂logπ_t = −A_i·m_t / W
        long window = 20;
        try (PointerScope s = new PointerScope()) {
            Tensor logps = t2(LOGP);
            logps.set_requires_grad(true);
            GrpoLoss.Output out = GrpoLoss.compute(
                    logps, logps.detach(), null, Closed.t(ADV), t2(MASK), GrpoLoss.Config.defaults(), window, 1);
            double expected = -(ADV[0] * 4 + ADV[1] * 3 + ADV[2] * 1) / window;
            assertEquals(expected, Tensors.toFloats(out.loss())[0], 1e-6);
            assertEquals(0, out.regionClipped());
            out.loss().backward();
            float[] g = Tensors.toFloats(logps.grad());
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++)
                    assertEquals(
                            -(float) ADV[i] * MASK[i][j] / window, g[i * 4 + j], 1e-7, "grad[" + i + "][" + j + "]");
        }
    }

    @Test
    void garbageOutsideTheMaskChangesNothing() {
        // padded positions may hold −inf / NaN log-probs (e.g. from a masked-out vocabulary); TRL's literal product
        // would turn them into NaN, here they never reach the loss
        double[][] lp = copy(LOGP), old = copy(OLD), ref = copy(REF);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                if (MASK[i][j] == 0) {
                    lp[i][j] = Double.NEGATIVE_INFINITY;
                    old[i][j] = Double.NaN;
                    ref[i][j] = Double.POSITIVE_INFINITY;
                }
        for (String level : GrpoLoss.IMPORTANCE_SAMPLING_LEVELS)
            try (PointerScope s = new PointerScope()) {
                GrpoLoss.Config c = config("grpo", level, 1.4, 0.3);
                Tensor clean = t2(LOGP), dirty = t2(lp);
                clean.set_requires_grad(true);
                dirty.set_requires_grad(true);
                GrpoLoss.Output a = GrpoLoss.compute(clean, t2(OLD), t2(REF), Closed.t(ADV), t2(MASK), c, 8, 2);
                GrpoLoss.Output b = GrpoLoss.compute(dirty, t2(old), t2(ref), Closed.t(ADV), t2(MASK), c, 8, 2);
                assertEquals(Tensors.toFloats(a.loss())[0], Tensors.toFloats(b.loss())[0], 0.0, level);
                assertEquals(a.klSum(), b.klSum(), 0.0, level);
                a.loss().backward();
                b.loss().backward();
                assertArrayEquals(Tensors.toFloats(clean.grad()), Tensors.toFloats(dirty.grad()), level);
                Closed.assertAllFinite("grad", dirty.grad());
            }
    }

    @Test
    void microBatchesAddUpToTheWindowLoss() {
        // dapo: two micro-batches with the window's token count sum to the one-batch loss; grpo: equal halves with
        // accumulationSteps = 2 sum to the mean over all sequences
        for (String type : new String[] {"dapo", "grpo", "dr_grpo"})
            try (PointerScope s = new PointerScope()) {
                GrpoLoss.Config c = config(type, "token", null, 0.0);
                double[][] lp = {LOGP[0], LOGP[1], LOGP[0], LOGP[2]},
                        old = {OLD[0], OLD[1], OLD[1], OLD[2]},
                        mask = {MASK[0], MASK[1], MASK[1], MASK[2]};
                double[] adv = {ADV[0], ADV[1], -0.3, ADV[2]};
                double whole =
                        Tensors.toFloats(GrpoLoss.compute(t2(lp), t2(old), null, Closed.t(adv), t2(mask), c, 11, 1)
                                .loss())[0];
                double first = Tensors.toFloats(GrpoLoss.compute(
                                t2(new double[][] {lp[0], lp[1]}),
                                t2(new double[][] {old[0], old[1]}),
                                null,
                                Closed.t(adv[0], adv[1]),
                                t2(new double[][] {mask[0], mask[1]}),
                                c,
                                11,
                                2)
                        .loss())[0];
                double second = Tensors.toFloats(GrpoLoss.compute(
                                t2(new double[][] {lp[2], lp[3]}),
                                t2(new double[][] {old[2], old[3]}),
                                null,
                                Closed.t(adv[2], adv[3]),
                                t2(new double[][] {mask[2], mask[3]}),
                                c,
                                11,
                                2)
                        .loss())[0];
                assertEquals(whole, first + second, 1e-6, type);
            }
    }

    @Test
    void configValidation() {
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> new GrpoLoss.Config("sapo", 0.2, null, null, 0, "token", 512))
                .getMessage()
                .contains("dapo, grpo, bnpo, dr_grpo"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> new GrpoLoss.Config("dapo", 0.2, null, 1.0, 0, "token", 512))
                .getMessage()
                .contains("delta"));
        assertThrows(
                IllegalArgumentException.class, () -> new GrpoLoss.Config("dapo", -0.1, null, null, 0, "token", 512));
        assertThrows(
                IllegalArgumentException.class,
                () -> new GrpoLoss.Config("dapo", 0.2, Double.NaN, null, 0, "token", 512));
        assertThrows(
                IllegalArgumentException.class, () -> new GrpoLoss.Config("dapo", 0.2, null, null, -1, "token", 512));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> new GrpoLoss.Config("dapo", 0.2, null, null, 0, "seq", 512))
                .getMessage()
                .contains("sequence"));
        assertThrows(IllegalArgumentException.class, () -> new GrpoLoss.Config("dapo", 0.2, null, null, 0, "token", 0));
        GrpoLoss.Config d = GrpoLoss.Config.defaults();
        assertEquals("dapo", d.lossType());
        assertEquals(0.2, d.epsilonHighOrDefault());
        assertEquals(512, d.maxCompletionLength());
        assertFalse(d.sequenceLevel());
    }

    @Test
    void argumentErrorsNameTheProblem() {
        try (PointerScope s = new PointerScope()) {
            GrpoLoss.Config c = GrpoLoss.Config.defaults();
            Tensor lp = t2(LOGP), old = t2(OLD), mask = t2(MASK), adv = Closed.t(ADV);
            assertTrue(assertThrows(
                            IllegalArgumentException.class, () -> GrpoLoss.compute(lp, old, null, adv, mask, c, 5, 1))
                    .getMessage()
                    .contains("less than this micro-batch's own 8"));
            assertTrue(assertThrows(
                            IllegalArgumentException.class,
                            () -> GrpoLoss.compute(lp, old, null, adv, mask, config("dapo", "token", null, 0.1), 8, 1))
                    .getMessage()
                    .contains("refLogps"));
            assertTrue(assertThrows(
                            IllegalArgumentException.class,
                            () -> GrpoLoss.compute(lp, t2(new double[][] {{1, 2}}), null, adv, mask, c, 8, 1))
                    .getMessage()
                    .contains("shape"));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> GrpoLoss.compute(lp, old, null, Closed.t(1, 2), mask, c, 8, 1));
            assertTrue(assertThrows(
                            IllegalArgumentException.class,
                            () -> GrpoLoss.compute(
                                    lp,
                                    old,
                                    null,
                                    adv,
                                    t2(new double[][] {{1, 0.5, 1, 1}, {1, 1, 1, 0}, {1, 0, 0, 0}}),
                                    c,
                                    8,
                                    1))
                    .getMessage()
                    .contains("0 and 1"));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> GrpoLoss.compute(lp, old, null, Closed.t(Double.NaN, 0, 0), mask, c, 8, 1));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> GrpoLoss.compute(lp, old, null, adv, mask, config("grpo", "token", null, 0), 8, 0));
        }
    }

    // ---------------------------------------------------------------- advantages

    @Test
    void groupAdvantagesClosedForm() {
        double[] r = {1, 0, 0, 1, 3, 3, 3, 3};
        // group 0: mean 0.5, Bessel std sqrt(4·0.25/3); group 1: all equal -> 0
        double s0 = Math.sqrt(1.0 / 3);
        assertArrayEquals(
                new double[] {0.5 / (s0 + 1e-4), -0.5 / (s0 + 1e-4), -0.5 / (s0 + 1e-4), 0.5 / (s0 + 1e-4), 0, 0, 0, 0},
                GrpoLoss.advantages(r, 4, "group", false),
                1e-12);
        assertArrayEquals(
                new double[] {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0}, GrpoLoss.advantages(r, 4, "none", false), 1e-12);
        double mean = 1.75, ss = 0;
        for (double v : r) ss += (v - mean) * (v - mean);
        double sb = Math.sqrt(ss / 7);
        assertArrayEquals(
                new double[] {0.5 / (sb + 1e-4), -0.5 / (sb + 1e-4), -0.5 / (sb + 1e-4), 0.5 / (sb + 1e-4), 0, 0, 0, 0},
                GrpoLoss.advantages(r, 4, "batch", false),
                1e-12);
    }

    @Test
    void leaveOneOutAdvantagesClosedForm() {
        double[] r = {2, 0, 1, 5, 5, 5};
        // group 0 (G = 3): 2 − (0+1)/2 = 1.5, 0 − 1.5 = −1.5, 1 − 1 = 0; group 1: 0
        double[] none = GrpoLoss.advantages(r, 3, "none", true);
        assertArrayEquals(new double[] {1.5, -1.5, 0, 0, 0, 0}, none, 1e-12);
        // = G/(G−1)·(r − mean)
        double[] grpo = GrpoLoss.advantages(r, 3, "none", false);
        for (int i = 0; i < r.length; i++) assertEquals(1.5 * grpo[i], none[i], 1e-12);
        double s0 = 1.0; // std of {2, 0, 1}
        assertArrayEquals(
                new double[] {1.5 / (s0 + 1e-4), -1.5 / (s0 + 1e-4), 0, 0, 0, 0},
                GrpoLoss.advantages(r, 3, "group", true),
                1e-12);
        double sa = Math.sqrt((1.5 * 1.5 * 2) / 5); // std of the advantages, whose mean is 0
        assertArrayEquals(
                new double[] {1.5 / (sa + 1e-4), -1.5 / (sa + 1e-4), 0, 0, 0, 0},
                GrpoLoss.advantages(r, 3, "batch", true),
                1e-12);
    }

    @Test
    void singleGenerationGroupsGiveZeroAdvantages() {
        assertArrayEquals(new double[] {0, 0, 0}, GrpoLoss.advantages(new double[] {1, 5, -2}, 1, "group", false), 0.0);
        assertArrayEquals(new boolean[] {true, true, true}, GrpoLoss.zeroStdGroups(new double[] {1, 5, -2}, 1));
    }

    @Test
    void advantageErrors() {
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> GrpoLoss.advantages(new double[] {1, 2, 3}, 2, "group", false))
                .getMessage()
                .contains("groups of num_generations = 2"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> GrpoLoss.advantages(new double[] {1, Double.NaN}, 2, "group", false))
                .getMessage()
                .contains("nansum"));
        assertThrows(IllegalArgumentException.class, () -> GrpoLoss.advantages(new double[] {1, 2}, 2, "std", false));
        assertThrows(IllegalArgumentException.class, () -> GrpoLoss.advantages(new double[] {1, 2}, 1, "none", true));
        assertThrows(IllegalArgumentException.class, () -> GrpoLoss.advantages(new double[0], 1, "none", false));
    }

    @Test
    void zeroStdGroupsAndFraction() {
        double[] r = {1, 1, 1, 0, 1, 0, 0.25, 0.25, 0.25};
        assertArrayEquals(new boolean[] {true, false, true}, GrpoLoss.zeroStdGroups(r, 3));
        assertEquals(2.0 / 3, GrpoLoss.fracRewardZeroStd(r, 3), 1e-15);
    }

    static double[][] copy(double[][] v) {
        double[][] c = new double[v.length][];
        for (int i = 0; i < v.length; i++) c[i] = v[i].clone();
        return c;
    }
}
