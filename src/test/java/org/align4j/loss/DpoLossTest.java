// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.loss.Closed.assertAllFinite;
import static org.align4j.loss.Closed.assertNear;
import static org.align4j.loss.Closed.d;
import static org.align4j.loss.Closed.leaf;
import static org.align4j.loss.Closed.logSig;
import static org.align4j.loss.Closed.sig;
import static org.align4j.loss.Closed.sortedCopy;
import static org.align4j.loss.Closed.t;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** DpoLoss against closed forms written here in plain doubles (docs/algorithms.md §6). */
class DpoLossTest {
    // l_w = {1.5, -2.25, 0, 6}, l_l = {-1.5, 1.75, 0, -3.5}: Delta = {3, -4, 0 (zero margin), 9.5}
    static final double[] CHOSEN = {-12.5, -40.25, -7.0, -21.0}, REJECTED = {-20.0, -35.5, -9.75, -50.5};
    static final double[] REF_CHOSEN = {-14.0, -38.0, -7.0, -27.0}, REF_REJECTED = {-18.5, -37.25, -9.75, -47.0};
    static final double[] LEN_C = {5, 17, 3, 12}, LEN_R = {8, 11, 4, 20};

    static PairLogps pairs() {
        return new PairLogps(leaf(CHOSEN), leaf(REJECTED), leaf(REF_CHOSEN), leaf(REF_REJECTED), t(LEN_C), t(LEN_R));
    }

    static DpoLoss.Config config(String type, double beta, double eps, String fdiv, double coef, double tau) {
        return new DpoLoss.Config(List.of(type), List.of(1.0), beta, eps, fdiv, coef, tau);
    }

    static DpoLoss.Config config(String type, double beta, double eps) {
        return config(type, beta, eps, "reverse_kl", 0.5, 0.05);
    }

    /** f(ℓ) of docs/algorithms.md §6.1, in doubles. */
    static double score(double l, String fdiv, double a) {
        return switch (fdiv) {
            case "reverse_kl" -> l;
            case "forward_kl" -> -Math.exp(-l);
            case "js_divergence" -> logSig(l);
            case "alpha_divergence" -> Math.abs(a - 1) < 1e-6 ? l : Math.exp((a - 1) * l) / (a - 1);
            default -> throw new AssertionError(fdiv);
        };
    }

    /** The per-pair loss of one type, computed from the table in docs/algorithms.md §6.2. */
    static double[] expected(String type, double beta, double eps, String fdiv, double coef, double tau) {
        int b = CHOSEN.length;
        double[] lw = new double[b], ll = new double[b], out = new double[b];
        for (int i = 0; i < b; i++) {
            lw[i] = (double) (float) CHOSEN[i] - (float) REF_CHOSEN[i];
            ll[i] = (double) (float) REJECTED[i] - (float) REF_REJECTED[i];
        }
        if (type.equals("aot") || type.equals("aot_unpaired")) {
            double[] pol = new double[b], ref = new double[b];
            for (int i = 0; i < b; i++) {
                pol[i] = type.equals("aot") ? CHOSEN[i] - REJECTED[i] : lw[i];
                ref[i] = type.equals("aot") ? REF_CHOSEN[i] - REF_REJECTED[i] : ll[i];
            }
            pol = sortedCopy(pol);
            ref = sortedCopy(ref);
            for (int k = 0; k < b; k++) {
                double z = beta * (pol[k] - ref[k]);
                out[k] = -(1 - eps) * logSig(z) - eps * logSig(-z);
            }
            return out;
        }
        for (int i = 0; i < b; i++) {
            double sw = score(lw[i], fdiv, coef), sl = score(ll[i], fdiv, coef), delta = sw - sl, z = beta * delta;
            double avg = sw / LEN_C[i] - sl / LEN_R[i];
            out[i] = switch (type) {
                case "sigmoid" -> -(1 - eps) * logSig(z) - eps * logSig(-z);
                case "hinge" -> Math.max(0, 1 - z);
                case "ipo" -> Math.pow(avg - 1 / (2 * beta), 2);
                case "exo_pair" -> sig(z) * (logSig(z) - Math.log(1 - eps)) + sig(-z) * (logSig(-z) - Math.log(eps));
                case "nca_pair" -> -logSig(beta * sw) - 0.5 * logSig(-beta * sw) - 0.5 * logSig(-beta * sl);
                case "robust" -> (-(1 - eps) * logSig(z) + eps * logSig(-z)) / (1 - 2 * eps);
                case "bco_pair" -> -logSig(beta * sw) - logSig(-beta * sl);
                case "sppo_hard" -> Math.pow(sw - 0.5 / beta, 2) + Math.pow(sl + 0.5 / beta, 2);
                case "apo_zero" -> (1 - sig(beta * lw[i])) + sig(beta * ll[i]);
                case "apo_down" -> sig(beta * lw[i]) + (1 - sig(z));
                case "discopop" -> {
                    double m = sig(z / tau);
                    yield (1 - m) * -logSig(z) + m * Math.exp(-z);
                }
                case "sigmoid_norm" -> -logSig(beta * avg);
                default -> throw new AssertionError(type);
            };
        }
        return out;
    }

    @Test
    void everyLossTypeMatchesItsClosedForm() {
        for (String type : DpoLoss.LOSS_TYPES) {
            if (type.equals("sft")) continue;
            double eps = type.equals("exo_pair") ? 1e-3 : type.equals("robust") ? 0.15 : 0.0;
            for (double beta : new double[] {0.1, 0.5}) {
                try (PointerScope s = new PointerScope()) {
                    Tensor loss = DpoLoss.perPair(pairs(), config(type, beta, eps));
                    assertNear(type + " beta " + beta, expected(type, beta, eps, "reverse_kl", 0.5, 0.05), loss, 1e-6);
                }
            }
        }
    }

    @Test
    void fDivergenceScoresFeedTheLosses() {
        String[][] fdivs = {
            {"forward_kl", "0.5"},
            {"js_divergence", "0.5"},
            {"alpha_divergence", "0.5"},
            {"alpha_divergence", "0.2"},
            {"alpha_divergence", "1.0"}
        };
        for (String[] f : fdivs)
            for (String type : List.of(
                    "sigmoid",
                    "hinge",
                    "ipo",
                    "nca_pair",
                    "bco_pair",
                    "sppo_hard",
                    "apo_zero",
                    "apo_down",
                    "discopop",
                    "sigmoid_norm")) {
                double coef = Double.parseDouble(f[1]);
                try (PointerScope s = new PointerScope()) {
                    Tensor loss = DpoLoss.perPair(pairs(), config(type, 0.1, 0.0, f[0], coef, 0.05));
                    assertNear(type + " " + f[0] + " " + coef, expected(type, 0.1, 0.0, f[0], coef, 0.05), loss, 1e-5);
                }
            }
    }

    @Test
    void cdpoSmoothsTheSigmoidLoss() {
        try (PointerScope s = new PointerScope()) {
            assertNear(
                    "cDPO eps 0.2",
                    expected("sigmoid", 0.1, 0.2, "reverse_kl", 0.5, 0.05),
                    DpoLoss.perPair(pairs(), config("sigmoid", 0.1, 0.2)),
                    1e-6);
            // zero margin: cDPO is still log 2 whatever eps is
            assertEquals(Math.log(2), Tensors.toFloats(DpoLoss.perPair(pairs(), config("sigmoid", 0.1, 0.2)))[2], 1e-6);
        }
    }

    @Test
    void sigmoidGradientIsTheClosedForm() {
        // d mean_i(-logσ(βΔ_i)) / d logπ(y_w,i) = -β σ(-βΔ_i) / B ; the reference gets the opposite sign
        try (PointerScope s = new PointerScope()) {
            PairLogps p = pairs();
            DpoLoss.perPair(p, DpoLoss.Config.defaults()).mean().backward();
            double[] delta = {3, -4, 0, 9.5}, gw = new double[4], gl = new double[4];
            for (int i = 0; i < 4; i++) {
                gw[i] = -0.1 * sig(-0.1 * delta[i]) / 4;
                gl[i] = -gw[i];
            }
            assertNear("grad chosen", gw, p.chosen().grad(), 1e-8);
            assertNear("grad rejected", gl, p.rejected().grad(), 1e-8);
            assertNear("grad refChosen", gl, p.refChosen().grad(), 1e-8);
            assertNear("grad refRejected", gw, p.refRejected().grad(), 1e-8);
        }
    }

    @Test
    void lossTypesAreWeightedAndSftIsLeftToTheTrainer() {
        try (PointerScope s = new PointerScope()) {
            DpoLoss.Config mix = new DpoLoss.Config(
                    List.of("sigmoid", "sft", "hinge"), List.of(0.3, 0.7, 2.0), 0.1, 0, "reverse_kl", 0.5, 0.05);
            double[] sigm = expected("sigmoid", 0.1, 0, "reverse_kl", 0.5, 0.05),
                    hinge = expected("hinge", 0.1, 0, "reverse_kl", 0.5, 0.05);
            double[] want = new double[4];
            for (int i = 0; i < 4; i++) want[i] = 0.3 * sigm[i] + 2.0 * hinge[i];
            assertNear("0.3 sigmoid + 2 hinge", want, DpoLoss.perPair(pairs(), mix), 1e-6);
            assertEquals(0.7, DpoLoss.sftWeight(mix));
            assertEquals(0.0, DpoLoss.sftWeight(DpoLoss.Config.defaults()));
            DpoLoss.Config sftOnly = new DpoLoss.Config(List.of("sft"), null, 0.1, 0, "reverse_kl", 0.5, 0.05);
            assertEquals(1.0, DpoLoss.sftWeight(sftOnly), "null weights mean 1.0 each");
            assertNear("sft only: nothing per pair", new double[4], DpoLoss.perPair(pairs(), sftOnly), 0);
        }
    }

    @Test
    void rewardsAreBetaTimesLogRatiosAndDetached() {
        try (PointerScope s = new PointerScope()) {
            Tensor rc = DpoLoss.chosenRewards(pairs(), 0.1), rr = DpoLoss.rejectedRewards(pairs(), 0.1);
            assertNear("rewards/chosen", new double[] {0.15, -0.225, 0, 0.6}, rc, 1e-7);
            assertNear("rewards/rejected", new double[] {-0.15, 0.175, 0, -0.35}, rr, 1e-7);
            assertFalse(rc.requires_grad());
            assertFalse(rr.requires_grad());
        }
    }

    @Test
    void aotSortsPolicyAndReferenceMarginsIndependently() {
        try (PointerScope s = new PointerScope()) {
            for (String type : List.of("aot", "aot_unpaired")) {
                Tensor loss = DpoLoss.perPair(pairs(), config(type, 0.1, 0.1));
                assertNear(
                        type + " per sorted position", expected(type, 0.1, 0.1, "reverse_kl", 0.5, 0.05), loss, 1e-6);
                // reordering the pairs of the batch changes nothing: the losses belong to sorted positions
                int[] perm = {2, 0, 3, 1};
                PairLogps shuffled = new PairLogps(
                        t(permute(CHOSEN, perm)),
                        t(permute(REJECTED, perm)),
                        t(permute(REF_CHOSEN, perm)),
                        t(permute(REF_REJECTED, perm)));
                assertNear(
                        type + " after shuffling the batch",
                        d(loss),
                        DpoLoss.perPair(shuffled, config(type, 0.1, 0.1)),
                        0);
            }
            // sorted policy margins {-4.75, 2.75, 7.5, 29.5} meet sorted reference margins {-0.75, 2.75, 4.5, 20}
            double z0 = 0.1 * (-4.75 - -0.75);
            assertEquals(-logSig(z0), Tensors.toFloats(DpoLoss.perPair(pairs(), config("aot", 0.1, 0)))[0], 1e-6);
            // sigmoid, by contrast, follows the pairs when they are reordered
            int[] perm = {2, 0, 3, 1};
            PairLogps shuffled = new PairLogps(
                    t(permute(CHOSEN, perm)),
                    t(permute(REJECTED, perm)),
                    t(permute(REF_CHOSEN, perm)),
                    t(permute(REF_REJECTED, perm)));
            assertNear(
                    "sigmoid after shuffling",
                    permute(d(DpoLoss.perPair(pairs(), DpoLoss.Config.defaults())), perm),
                    DpoLoss.perPair(shuffled, DpoLoss.Config.defaults()),
                    0);
            assertFalse(Arrays.equals(
                    Tensors.toFloats(DpoLoss.perPair(pairs(), DpoLoss.Config.defaults())),
                    Tensors.toFloats(DpoLoss.perPair(shuffled, DpoLoss.Config.defaults()))));
        }
    }

    @Test
    void hugeMarginsStayFiniteInValueAndGradient() {
        // |βΔ| ~ 1000: a naive log(σ(z)) or exp(-z) overflows float32 long before this
        double[] c = {-1, -5000, -40, -3},
                r = {-5000, -1, -40, -4000},
                rc = {-5000, -1, -40, -3500},
                rr = {-1, -5000, -40, -2};
        for (String fdiv : DpoLoss.F_DIVERGENCE_TYPES)
            for (String type : DpoLoss.LOSS_TYPES) {
                if (type.equals("sft")) continue;
                // under forward_kl / alpha_divergence the scores reach ±e^80 (the clamp), whose square is beyond
                // float32
                boolean squared = type.equals("ipo") || type.equals("sppo_hard");
                if (squared && (fdiv.equals("forward_kl") || fdiv.equals("alpha_divergence"))) continue;
                double eps = type.equals("exo_pair") ? 1e-3 : type.equals("robust") ? 0.1 : 0.0;
                try (PointerScope s = new PointerScope()) {
                    PairLogps p = new PairLogps(
                            leaf(c), leaf(r), leaf(rc), leaf(rr), t(300, 250, 9, 100), t(280, 50, 9, 400));
                    Tensor loss = DpoLoss.perPair(p, config(type, 0.1, eps, fdiv, 0.5, 0.05));
                    assertAllFinite(type + " " + fdiv + " value", loss);
                    loss.mean().backward();
                    for (Tensor x : List.of(p.chosen(), p.rejected(), p.refChosen(), p.refRejected()))
                        assertAllFinite(type + " " + fdiv + " gradient", x.grad());
                }
            }
        try (PointerScope s = new PointerScope()) {
            PairLogps p = new PairLogps(t(c), t(r), t(rc), t(rr));
            float[] sigmoid = Tensors.toFloats(DpoLoss.perPair(p, DpoLoss.Config.defaults()));
            assertEquals(0f, sigmoid[0], 1e-6); // βΔ = +999.8
            assertEquals(999.8, sigmoid[1], 1e-2); // βΔ = -999.8: -logσ(z) = -z
            assertEquals(Math.log(2), sigmoid[2], 1e-6);
            float[] disco = Tensors.toFloats(DpoLoss.perPair(p, config("discopop", 0.1, 0)));
            assertEquals(999.8, disco[1], 1e-2, "DiscoPOP at very negative z is the logistic part alone");
        }
    }

    @Test
    void forwardKlExponentIsClampedLikeTrlsAlphaDivergence() {
        try (PointerScope s = new PointerScope()) {
            // ℓ_w = -85, ℓ_l = -90: -e^85 and -e^90 overflow float32 (and e^90 even as the gradient); both scores
            // clamp to -e^80, so the margin is 0 (sigmoid = log 2) and the pair gets no gradient instead of NaN
            PairLogps p = new PairLogps(leaf(-95), leaf(-100), leaf(-10), leaf(-10));
            Tensor loss = DpoLoss.perPair(p, config("sigmoid", 0.1, 0, "forward_kl", 0.5, 0.05));
            assertEquals(Math.log(2), Tensors.toFloats(loss)[0], 1e-6);
            loss.mean().backward();
            assertNear("clamped: no gradient", new double[1], p.chosen().grad(), 0);
            // alpha_divergence, coef 0.5 (TRL's own clamp): the exponent -0.5ℓ passes 80 below ℓ = -160
            PairLogps q = new PairLogps(t(-200), t(-180), t(-10), t(-10));
            assertEquals(
                    Math.log(2),
                    Tensors.toFloats(DpoLoss.perPair(q, config("sigmoid", 0.1, 0, "alpha_divergence", 0.5, 0.05)))[0],
                    1e-6);
            PairLogps unclamped = new PairLogps(t(-100), t(-80), t(-10), t(-10)); // exponents 45 and 35: no clamp
            double z = 0.1 * (Math.exp(45) - Math.exp(35)) / -0.5;
            assertEquals(
                    -logSig(z),
                    Tensors.toFloats(
                            DpoLoss.perPair(unclamped, config("sigmoid", 0.1, 0, "alpha_divergence", 0.5, 0.05)))[0],
                    1e-5 * Math.abs(z));
        }
    }

    @Test
    void wpoWeightsAreTheExpOfTheMaskedMeanAndIgnoreThePadding() {
        try (PointerScope s = new PointerScope()) {
            // row 0: tokens 1 and 2 of 3 are completion; row 1: empty completion -> weight 1
            Tensor tok = Tensors.floats(new float[] {Float.NaN, -1.0f, -0.5f, -2f, -3f, -4f}, 2, 3);
            Tensor lsp2 = Tensors.floats(new float[] {0f, -0.25f, -0.75f, -1f, -1f, -1f}, 2, 3);
            Tensor mask = Tensors.floats(new float[] {0f, 1f, 1f, 0f, 0f, 0f}, 2, 3);
            Tensor rejTok =
                    Tensors.floats(new float[] {-0.2f, -0.4f, -0.6f, -0.1f, -0.1f, Float.NEGATIVE_INFINITY}, 2, 3);
            Tensor rejMask = Tensors.floats(new float[] {1f, 1f, 1f, 1f, 1f, 0f}, 2, 3);
            Tensor w = DpoLoss.wpoWeights(tok, lsp2, mask, rejTok, lsp2, rejMask);
            double c0 = Math.exp(((-1.0 + 0.25) + (-0.5 + 0.75)) / 2),
                    r0 = Math.exp(((-0.2 - 0) + (-0.4 + 0.25) + (-0.6 + 0.75)) / 3);
            double r1 = Math.exp(((-0.1 + 1) + (-0.1 + 1)) / 2);
            assertNear("WPO", new double[] {c0 * r0, 1.0 * r1}, w, 1e-7);
        }
    }

    @Test
    void configRejectsWhatTrlWouldMisuse() {
        assertMessage(() -> config("kto_pair", 0.1, 0), "'kto_pair' is unknown", "sigmoid, hinge, ipo");
        assertMessage(
                () -> new DpoLoss.Config(List.of("sigmoid", "ipo"), List.of(1.0), 0.1, 0, "reverse_kl", 0.5, 0.05),
                "loss_weights has 1 entries but loss_type has 2");
        assertMessage(() -> config("exo_pair", 0.1, 0), "exo_pair needs label_smoothing in (0, 1)");
        assertMessage(() -> config("robust", 0.1, 0.5), "robust needs label_smoothing in [0, 0.5)");
        assertMessage(() -> config("sigmoid", 0.0, 0), "beta must be a finite number > 0");
        assertMessage(() -> config("sigmoid", 0.1, 1.0), "label_smoothing must be in [0, 1)");
        assertMessage(
                () -> config("sigmoid", 0.1, 0, "kl", 0.5, 0.05),
                "f_divergence_type 'kl' is unknown",
                "reverse_kl, forward_kl, js_divergence, alpha_divergence");
        assertMessage(
                () -> config("discopop", 0.1, 0, "reverse_kl", 0.5, 0), "discopop_tau must be a finite number > 0");
        assertMessage(() -> new DpoLoss.Config(List.of(), null, 0.1, 0, "reverse_kl", 0.5, 0.05), "loss_type is empty");
        assertMessage(
                () -> new DpoLoss.Config(List.of("sigmoid"), List.of(-1.0), 0.1, 0, "reverse_kl", 0.5, 0.05),
                "loss_weights[0] (for sigmoid) must be a finite number >= 0");
        DpoLoss.Config defaults = DpoLoss.Config.defaults();
        assertEquals(List.of("sigmoid"), defaults.lossTypes());
        assertEquals(0.1, defaults.beta());
        assertEquals("reverse_kl", defaults.fDivergenceType());
        try (PointerScope s = new PointerScope()) {
            PairLogps noLengths = new PairLogps(t(CHOSEN), t(REJECTED), t(REF_CHOSEN), t(REF_REJECTED));
            assertMessage(
                    () -> DpoLoss.perPair(noLengths, config("ipo", 0.1, 0)),
                    "chosenLengths (needed by ipo / sigmoid_norm) is missing");
            PairLogps ragged = new PairLogps(t(CHOSEN), t(-1, -2), t(REF_CHOSEN), t(REF_REJECTED));
            assertMessage(() -> DpoLoss.perPair(ragged, defaults), "PairLogps.rejected has 2 elements, expected 4");
        }
    }

    static void assertMessage(Runnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String p : parts)
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
    }

    static double[] permute(double[] x, int[] perm) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[perm[i]];
        return out;
    }
}
