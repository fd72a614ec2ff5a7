// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.loss.Closed.assertAllFinite;
import static org.align4j.loss.Closed.assertNear;
import static org.align4j.loss.Closed.d;
import static org.align4j.loss.Closed.leaf;
import static org.align4j.loss.Closed.log1mexp;
import static org.align4j.loss.Closed.logSig;
import static org.align4j.loss.Closed.sig;
import static org.align4j.loss.Closed.t;
import static org.align4j.loss.DpoLossTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** OrpoLoss against the odds-ratio closed form in doubles (ORPO eq. 6-7, TRL odds_ratio_loss). */
class OrpoLossTest {
    // includes average log-probs near 0 (1e-7: a confident response), at the -ln 2 branch point and far below
    static final double[] CHOSEN = {-0.8, -1e-7, -2.5, -0.6931472, -1e-3, -4.0, -0.05};
    static final double[] REJECTED = {-1.9, -0.5, -1e-5, -0.6931471, -0.7, -1e-6, -30.0};

    @Test
    void valuesLogOddsAndGradientsMatchTheClosedForm() {
        try (PointerScope s = new PointerScope()) {
            Tensor c = leaf(CHOSEN), r = leaf(REJECTED);
            double beta = 0.2;
            OrpoLoss.Output out = OrpoLoss.compute(c, r, beta);
            double[] lw = d(c),
                    ll = d(r),
                    logOdds = new double[lw.length],
                    loss = new double[lw.length],
                    gw = new double[lw.length],
                    gl = new double[lw.length];
            for (int i = 0; i < lw.length; i++) {
                logOdds[i] = (lw[i] - ll[i]) - (log1mexp(lw[i]) - log1mexp(ll[i]));
                loss[i] = -beta * logSig(logOdds[i]);
                // d log_odds / d lp_w = 1 + e^x/(1 − e^x) = −1/expm1(x)
                double dw = -1 / Math.expm1(lw[i]), dl = 1 / Math.expm1(ll[i]);
                gw[i] = -beta * sig(-logOdds[i]) * dw / lw.length;
                gl[i] = -beta * sig(-logOdds[i]) * dl / lw.length;
            }
            assertNear("log odds", logOdds, out.logOdds(), 1e-5);
            assertNear("per pair", loss, out.perPair(), 1e-7);
            assertFalse(out.logOdds().requires_grad(), "log odds are detached");
            out.perPair().mean().backward();
            assertNear("d/d avg chosen", gw, c.grad(), 1e-8);
            assertNear("d/d avg rejected", gl, r.grad(), 1e-8);
        }
    }

    @Test
    void log1mexpIsAccurateNearZeroWhereTheNaiveFloatFormIsNot() {
        try (PointerScope s = new PointerScope()) {
            float x = -1e-7f;
            float[] stable = Tensors.toFloats(OrpoLoss.log1mexp(t(x)));
            double exact = Math.log(-Math.expm1(x)); // ≈ log(1e-7) = -16.118
            assertEquals(exact, stable[0], 1e-5 * Math.abs(exact));
            // TRL's log1p(-exp(x)) in float32 is off by ~0.17 here, far outside the tolerance above
            float[] naive = Tensors.toFloats(t(x).exp().neg().log1p());
            assertTrue(Math.abs(naive[0] - exact) > 1e-2, "naive float32 form unexpectedly accurate: " + naive[0]);
            // both branches and far below: e^x underflows, log(1 - e^x) -> 0
            assertNear(
                    "log1mexp",
                    new double[] {log1mexp(-0.5), log1mexp(-0.9), log1mexp(-80), 0.0},
                    OrpoLoss.log1mexp(t(-0.5, -0.9, -80, -200)),
                    1e-7);
        }
    }

    @Test
    void certainResponsesGiveFiniteValuesAndGradients() {
        try (PointerScope s = new PointerScope()) {
            // average log-prob exactly 0 (every token had probability 1 in float32) on either side
            Tensor c = leaf(0.0, -2.0, -1e-38), r = leaf(-2.0, 0.0, -1e-38);
            OrpoLoss.Output out = OrpoLoss.compute(c, r, 0.1);
            assertAllFinite("values", out.perPair());
            assertAllFinite("log odds", out.logOdds());
            out.perPair().mean().backward();
            assertAllFinite("d/d chosen", c.grad());
            assertAllFinite("d/d rejected", r.grad());
            float[] lo = Tensors.toFloats(out.logOdds());
            assertTrue(
                    lo[0] > 60 && lo[1] < -60,
                    "a certain chosen response has a huge positive log odds: " + lo[0] + ", " + lo[1]);
            assertEquals(0f, lo[2], 1e-6f, "equal inputs: zero log odds");
        }
    }

    @Test
    void inputsAreChecked() {
        try (PointerScope s = new PointerScope()) {
            assertMessage(
                    () -> OrpoLoss.compute(t(-1, -2), t(-1), 0.1),
                    "ORPO average rejected log-probs has 1 elements, expected 2");
            assertMessage(() -> OrpoLoss.compute(t(-1), t(-1), -0.1), "ORPO beta must be a finite number >= 0");
            assertMessage(
                    () -> OrpoLoss.compute(Tensors.floats(new float[] {-1, -2}, 1, 2), t(-1), 0.1),
                    "must have shape (B,)");
        }
    }
}
