// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.loss.Closed.assertAllFinite;
import static org.align4j.loss.Closed.assertNear;
import static org.align4j.loss.Closed.leaf;
import static org.align4j.loss.Closed.logSig;
import static org.align4j.loss.Closed.t;
import static org.align4j.loss.DpoLossTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** CpoLoss (CPO, SimPO, AlphaPO) against closed forms in doubles (docs/algorithms.md §9). */
class CpoLossTest {
    static final double[] SUM_W = {-20.5, -44.0, -9.25, -30.0}, SUM_L = {-31.0, -40.5, -9.25, -12.0};
    static final double[] AVG_W = {-1.25, -0.5, -2.75, -0.125}, AVG_L = {-1.75, -0.25, -2.75, -3.5};

    static double[] expected(CpoLoss.Config c, double[] w, double[] l) {
        double[] out = new double[w.length];
        double beta = c.beta(), eps = c.labelSmoothing(), a = c.alpha();
        for (int i = 0; i < w.length; i++) {
            // AlphaPO reward (1 - p^-α)/α with p = e^lp, written literally
            double z = a != 0
                    ? (1 - Math.pow(Math.exp(w[i]), -a)) / a - (1 - Math.pow(Math.exp(l[i]), -a)) / a
                    : w[i] - l[i];
            out[i] = switch (c.lossType()) {
                case "sigmoid" -> -(1 - eps) * logSig(beta * z) - eps * logSig(-beta * z);
                case "hinge" -> Math.max(0, 1 - beta * z);
                case "ipo" -> Math.pow(z - 1 / (2 * beta), 2);
                case "simpo", "alphapo" ->
                    -(1 - eps) * logSig(beta * z - c.simpoGamma()) - eps * logSig(-(beta * z - c.simpoGamma()));
                default -> throw new AssertionError(c.lossType());
            };
        }
        return out;
    }

    @Test
    void everyLossTypeMatchesItsClosedForm() {
        CpoLoss.Config[] configs = {
            CpoLoss.Config.defaults(),
            new CpoLoss.Config("sigmoid", 0.2, 0.1, 0.5, 0, 1),
            new CpoLoss.Config("hinge", 0.1, 0, 0.5, 0, 1),
            new CpoLoss.Config("ipo", 0.1, 0, 0.5, 0, 1),
            CpoLoss.Config.simpo(2.0, 1.0),
            new CpoLoss.Config("simpo", 2.5, 0.1, 0.5, 0, 0),
            CpoLoss.Config.alphapo(0.25, 2.5, 1.0),
            CpoLoss.Config.alphapo(-0.5, 2.0, 0.5),
            CpoLoss.Config.alphapo(0.0, 2.0, 0.5),
            new CpoLoss.Config("sigmoid", 0.1, 0, 0.5, 0.02, 1),
            new CpoLoss.Config("hinge", 0.1, 0, 0.5, -0.01, 1),
            new CpoLoss.Config("ipo", 0.1, 0, 0.5, 0.3, 1)
        };
        for (CpoLoss.Config c : configs) {
            boolean avg = CpoLoss.averagesTokens(c);
            double[] w = avg ? AVG_W : SUM_W, l = avg ? AVG_L : SUM_L;
            try (PointerScope s = new PointerScope()) {
                assertNear(c.toString(), expected(c, w, l), CpoLoss.perPair(t(w), t(l), c), 1e-6);
            }
        }
    }

    @Test
    void simpoIsMinusLogSigmoidOfTheMarginMinusGamma() {
        try (PointerScope s = new PointerScope()) {
            Tensor w = leaf(AVG_W), l = leaf(AVG_L);
            Tensor loss = CpoLoss.perPair(w, l, CpoLoss.Config.simpo(2.0, 1.0));
            double[] want = new double[4], grad = new double[4];
            for (int i = 0; i < 4; i++) {
                double m = 2.0 * (AVG_W[i] - AVG_L[i]) - 1.0;
                want[i] = -logSig(m);
                grad[i] = -2.0 * Closed.sig(-m) / 4;
            }
            assertNear("SimPO", want, loss, 1e-7);
            loss.mean().backward();
            assertNear("d/d avg chosen", grad, w.grad(), 1e-8);
        }
    }

    @Test
    void averagingFollowsTrl() {
        assertFalse(CpoLoss.averagesTokens(CpoLoss.Config.defaults()));
        assertFalse(CpoLoss.averagesTokens(new CpoLoss.Config("hinge", 0.1, 0, 0.5, 0, 1)));
        assertTrue(CpoLoss.averagesTokens(new CpoLoss.Config("ipo", 0.1, 0, 0.5, 0, 1)));
        assertTrue(CpoLoss.averagesTokens(CpoLoss.Config.simpo(2, 1)));
        assertTrue(CpoLoss.averagesTokens(CpoLoss.Config.alphapo(0.25, 2.5, 1)));
        assertEquals(0.0, CpoLoss.Config.alphapo(0.25, 2.5, 1).cpoAlpha(), "TRL's alphapo sugar sets cpo_alpha 0");
        assertEquals(new CpoLoss.Config("sigmoid", 0.1, 0.0, 0.5, 0.0, 1.0), CpoLoss.Config.defaults());
    }

    @Test
    void hugeMarginsStayFinite() {
        try (PointerScope s = new PointerScope()) {
            Tensor w = leaf(-2, -9000), l = leaf(-9000, -2);
            Tensor loss = CpoLoss.perPair(w, l, new CpoLoss.Config("sigmoid", 0.1, 0.1, 0.5, 0, 1));
            assertNear("smoothed, βz = ±899.8", new double[] {0.1 * 899.8, 0.9 * 899.8}, loss, 1e-3);
            loss.mean().backward();
            assertAllFinite("gradient", w.grad());
        }
    }

    @Test
    void configIsChecked() {
        assertMessage(
                () -> new CpoLoss.Config("dpo", 0.1, 0, 0.5, 0, 1),
                "CPO loss_type 'dpo' is unknown",
                "sigmoid, hinge, ipo, simpo, alphapo");
        assertMessage(() -> new CpoLoss.Config("simpo", 0, 0, 0.5, 0, 1), "CPO beta must be a finite number > 0");
        assertMessage(() -> new CpoLoss.Config("simpo", 2, 0.5, 0.5, 0, 1), "label_smoothing must be in [0, 0.5)");
        assertMessage(() -> new CpoLoss.Config("simpo", 2, 0, Double.NaN, 0, 1), "simpo_gamma must be finite");
        assertMessage(() -> new CpoLoss.Config("simpo", 2, 0, 0.5, 0, -1), "cpo_alpha must be a finite number >= 0");
        try (PointerScope s = new PointerScope()) {
            assertMessage(
                    () -> CpoLoss.perPair(t(-1, -2), t(-1, -2, -3), CpoLoss.Config.defaults()),
                    "CPO rejected log-probs has 3 elements, expected 2");
        }
    }
}
