// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.loss.Closed.assertAllFinite;
import static org.align4j.loss.Closed.assertNear;
import static org.align4j.loss.Closed.leaf;
import static org.align4j.loss.Closed.sig;
import static org.align4j.loss.Closed.t;
import static org.align4j.loss.DpoLossTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** KtoLoss against KTO eq. 7 / TRL's kto_loss written out in plain doubles. */
class KtoLossTest {
    static final double[] POLICY = {-20.5, -33.0, -12.25, -48.0, -9.5};
    static final double[] REF = {-22.0, -30.5, -12.75, -45.0, -15.0}; // r = {1.5, -2.5, 0.5, -3, 5.5}
    static final double[] DESIRABLE = {1, 0, 1, 0, 0};

    /** Per-example loss with baseline z0, weights λ_D, λ_U. */
    static double[] expected(double z0, double beta, double wd, double wu) {
        double[] out = new double[POLICY.length];
        for (int i = 0; i < out.length; i++) {
            double r = POLICY[i] - REF[i];
            out[i] = DESIRABLE[i] == 1 ? wd * (1 - sig(beta * (r - z0))) : wu * (1 - sig(beta * (z0 - r)));
        }
        return out;
    }

    @Test
    void positiveKlBaselineShiftsTheRewards() {
        try (PointerScope s = new PointerScope()) {
            // kl_policy - kl_ref = {2, 1, 4, -1, 0.5}: mean 1.3
            Tensor klp = leaf(-30, -41, -26, -50, -35.5), klr = leaf(-32, -42, -30, -49, -36);
            KtoLoss.Output out =
                    KtoLoss.compute(leaf(POLICY), leaf(REF), t(DESIRABLE), klp, klr, KtoLoss.Config.defaults());
            assertEquals(1.3, out.z0(), 1e-6);
            assertNear("kto z0 = 1.3", expected(1.3, 0.1, 1, 1), out.perExample(), 1e-7);
            out.perExample().mean().backward();
            assertTrue(!klp.grad().defined(), "z0 is detached: the mismatched log-probs get no gradient");
        }
    }

    @Test
    void negativeKlBaselineIsClampedToZero() {
        try (PointerScope s = new PointerScope()) {
            Tensor klp = t(-30, -41, -26), klr = t(-28, -40, -25); // mean difference -4/3
            KtoLoss.Output out = KtoLoss.compute(t(POLICY), t(REF), t(DESIRABLE), klp, klr, KtoLoss.Config.defaults());
            assertEquals(0.0, out.z0());
            assertNear("kto z0 = 0", expected(0, 0.1, 1, 1), out.perExample(), 1e-7);
        }
    }

    @Test
    void desirableAndUndesirableWeightsScaleTheirExamples() {
        try (PointerScope s = new PointerScope()) {
            KtoLoss.Config c = new KtoLoss.Config("kto", 0.25, 1.33, 0.8);
            KtoLoss.Output out = KtoLoss.compute(t(POLICY), t(REF), t(DESIRABLE), t(-10, -10), t(-10.5, -10.5), c);
            assertEquals(0.5, out.z0(), 1e-6);
            assertNear("weighted", expected(0.5, 0.25, 1.33, 0.8), out.perExample(), 1e-7);
        }
    }

    @Test
    void apoZeroUnpairedHasNoBaseline() {
        try (PointerScope s = new PointerScope()) {
            KtoLoss.Output out = KtoLoss.compute(
                    t(POLICY), t(REF), t(DESIRABLE), null, null, new KtoLoss.Config("apo_zero_unpaired", 0.1, 1, 1));
            assertEquals(0.0, out.z0());
            double[] want = new double[POLICY.length];
            for (int i = 0; i < want.length; i++) {
                double r = POLICY[i] - REF[i];
                want[i] = DESIRABLE[i] == 1 ? 1 - sig(0.1 * r) : sig(0.1 * r);
            }
            assertNear("apo_zero_unpaired", want, out.perExample(), 1e-7);
        }
    }

    @Test
    void klPairingRotatesCompletionsByOne() {
        // TRL's _get_kl_dataset: completions [c0, c1, c2, c3] become [c3, c0, c1, c2]
        assertArrayEquals(new long[] {3, 0, 1, 2}, KtoLoss.klCompletionIndex(4));
        assertArrayEquals(new long[] {1, 0}, KtoLoss.klCompletionIndex(2));
        for (int b = 2; b <= 9; b++) {
            long[] idx = KtoLoss.klCompletionIndex(b);
            Set<Long> used = new HashSet<>();
            for (int i = 0; i < b; i++) {
                assertTrue(idx[i] != i, "prompt " + i + " of " + b + " is paired with its own completion");
                used.add(idx[i]);
            }
            assertEquals(b, used.size(), "every completion of the batch is used once");
        }
        assertMessage(() -> KtoLoss.klCompletionIndex(1), "at least 2 examples per batch");
    }

    @Test
    void hugeRewardsStayFinite() {
        try (PointerScope s = new PointerScope()) {
            Tensor policy = leaf(-3, -3), ref = leaf(-5000, -5000);
            KtoLoss.Output out =
                    KtoLoss.compute(policy, ref, t(1, 0), t(-10, -10), t(-9, -9), KtoLoss.Config.defaults());
            assertNear("βr ≈ 500", new double[] {0, 1}, out.perExample(), 1e-6);
            out.perExample().mean().backward();
            assertAllFinite("gradient", policy.grad());
        }
    }

    @Test
    void configAndInputsAreChecked() {
        assertMessage(
                () -> new KtoLoss.Config("bco", 0.1, 1, 1), "KTO loss_type 'bco' is unknown", "kto, apo_zero_unpaired");
        assertMessage(() -> new KtoLoss.Config("kto", -0.1, 1, 1), "KTO beta must be a finite number > 0");
        assertMessage(() -> new KtoLoss.Config("kto", 0.1, -1, 1), "desirable_weight must be a finite number >= 0");
        assertEquals(new KtoLoss.Config("kto", 0.1, 1.0, 1.0), KtoLoss.Config.defaults());
        try (PointerScope s = new PointerScope()) {
            assertMessage(
                    () -> KtoLoss.compute(
                            t(POLICY), t(REF), t(1, 0, 0.5, 1, 0), t(-1), t(-1), KtoLoss.Config.defaults()),
                    "must be 1 (desirable) or 0");
            assertMessage(
                    () -> KtoLoss.compute(t(POLICY), t(REF), t(DESIRABLE), null, null, KtoLoss.Config.defaults()),
                    "klPolicy",
                    "is missing");
            assertMessage(
                    () -> KtoLoss.compute(t(POLICY), t(-1, -2), t(DESIRABLE), t(-1), t(-1), KtoLoss.Config.defaults()),
                    "reference log-probs has 2 elements, expected 5");
        }
    }
}
