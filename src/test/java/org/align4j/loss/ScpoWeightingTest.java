// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.engine.Tensors;
import org.align4j.loss.ScpoWeighting.Weighting;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * SCPO's weights, filters and weighted Bradley-Terry loss against their closed forms and against the released code's
 * expressions run in PyTorch (tools/golden/make_scpo_goldens.py, golden/scpo).
 */
class ScpoWeightingTest {
    @Test
    void weightsAndFiltersAreTheirClosedForms() {
        double ln73 = Math.log(7.0 / 3.0); // sigma(x) = 0.7 at x = ln(0.7 / 0.3)
        // SCPO: w = 1 wherever the global model agrees (r+ >= r-), exp(d / beta) below
        assertEquals(1.0, ScpoWeighting.weight(Weighting.SCPO, 2.0, -1.0, 1.10), 0.0);
        assertEquals(1.0, ScpoWeighting.weight(Weighting.SCPO, 0.5, 0.5, 1.10), 0.0);
        assertEquals(Math.exp(-2.2 / 1.10), ScpoWeighting.weight(Weighting.SCPO, -1.2, 1.0, 1.10), 1e-15);
        assertEquals(0.5, ScpoWeighting.weight(Weighting.SCPO, 0, 1.10 * Math.log(2), 1.10), 1e-15);
        // the ablation: w = 1 wherever the global model agrees, e^{r- - r+} above 1, no beta
        assertEquals(1.0, ScpoWeighting.weight(Weighting.INVERSE, 3.0, 1.0, 0.2), 0.0);
        assertEquals(Math.exp(2.5), ScpoWeighting.weight(Weighting.INVERSE, -0.5, 2.0, 0.2), 1e-12);
        assertEquals(1.0, ScpoWeighting.weight(Weighting.NONE, -50, 50, 1.10), 0.0);
        // the train filter keeps sigma(r+ - r-) < tau, i.e. r+ - r- < ln(tau / (1 - tau))
        assertTrue(ScpoWeighting.keptForTraining(ln73 - 1e-9, 0, 0.7));
        assertFalse(ScpoWeighting.keptForTraining(ln73 + 1e-9, 0, 0.7));
        assertTrue(ScpoWeighting.keptForTraining(-5, 3, 0.7));
        assertFalse(ScpoWeighting.keptForTraining(0, 0, 0.5), "sigma(0) = 1/2 is not < 1/2");
        assertTrue(ScpoWeighting.keptForTraining(500, -500, 1.0), "tau 1 keeps every pair");
        // the test filter is strict: r+ < r-
        assertTrue(ScpoWeighting.inFilteredTestSet(-0.1, 0.0));
        assertFalse(ScpoWeighting.inFilteredTestSet(0.0, 0.0));
        assertFalse(ScpoWeighting.inFilteredTestSet(1.0, 0.0));
    }

    @Test
    void rewardsBeyondFloat32ExpRangeStayFinite() {
        // the code's exp(r+) / (exp(r+) + exp(r-)) and exp(r-) / exp(r+) are NaN in float32 once a reward passes ~88;
        // the difference forms give the limits
        assertTrue(ScpoWeighting.keptForTraining(100, 150, 0.7));
        assertFalse(ScpoWeighting.keptForTraining(150, 100, 0.7));
        assertEquals(Math.exp(-50 / 1.1), ScpoWeighting.weight(Weighting.SCPO, 100, 150, 1.1), 1e-30);
        assertEquals(Math.exp(5), ScpoWeighting.weight(Weighting.INVERSE, 95, 100, 1.1), 1e-9);
        assertEquals(0.5, ScpoWeighting.sigmoid(0), 0.0);
        assertEquals(1.0, ScpoWeighting.sigmoid(800), 0.0);
        assertEquals(0.0, ScpoWeighting.sigmoid(-800), 0.0);
    }

    @Test
    void weightsAndFiltersMatchTheCodesExpressionsInPyTorch() throws Exception {
        try (Golden g = Golden.open("scpo")) {
            float[] rp = g.floats("rule.chosen"), rm = g.floats("rule.rejected");
            for (double beta : new double[] {1.1, 0.5}) {
                float[] got = new float[rp.length];
                for (int i = 0; i < rp.length; i++)
                    got[i] = (float) ScpoWeighting.weight(Weighting.SCPO, rp[i], rm[i], beta);
                Golden.assertClose("weight beta " + beta, g.floats("rule.weight.beta" + beta), got, 1e-6, 1e-5);
            }
            float[] inv = new float[rp.length];
            for (int i = 0; i < rp.length; i++)
                inv[i] = (float) ScpoWeighting.weight(Weighting.INVERSE, rp[i], rm[i], 1);
            Golden.assertClose("inverse weight", g.floats("rule.inverse"), inv, 1e-6, 1e-5);
            for (double tau : new double[] {0.7, 0.55}) {
                long[] keep = g.longs("rule.keep.tau" + tau);
                for (int i = 0; i < rp.length; i++)
                    assertEquals(
                            keep[i] == 1,
                            ScpoWeighting.keptForTraining(rp[i], rm[i], tau),
                            "train filter tau " + tau + " pair " + i);
            }
            long[] test = g.longs("rule.test_filter");
            int inTest = 0;
            for (int i = 0; i < rp.length; i++) {
                assertEquals(test[i] == 1, ScpoWeighting.inFilteredTestSet(rp[i], rm[i]), "test filter pair " + i);
                inTest += (int) test[i];
            }
            assertTrue(inTest > 0 && inTest < rp.length, "the golden has pairs on both sides of the test filter");
        }
    }

    @Test
    void weightedBradleyTerryLossAndGradientsMatchTheCodesLoss() throws Exception {
        try (Golden g = Golden.open("scpo")) {
            float[] rw = g.floats("loss.chosen"), rl = g.floats("loss.rejected"), m = g.floats("loss.margin");
            float[] gp = g.floats("loss.global_chosen"), gm = g.floats("loss.global_rejected");
            int n = rw.length;
            for (Weighting w : new Weighting[] {Weighting.SCPO, Weighting.INVERSE})
                for (String variant : new String[] {"plain", "margin_center"}) {
                    String p = "loss." + w.key + "." + variant + ".";
                    boolean mc = variant.equals("margin_center");
                    float[] weights = new float[n];
                    for (int i = 0; i < n; i++)
                        weights[i] = (float) ScpoWeighting.weight(w, gp[i], gm[i], ScpoWeighting.DEFAULT_BETA);
                    Golden.assertClose(p + "weights", g.floats(p + "weights"), weights, 1e-6, 1e-5);
                    try (PointerScope s = new PointerScope()) {
                        Tensor a = Tensors.floats(rw, n).requires_grad_(true),
                                b = Tensors.floats(rl, n).requires_grad_(true);
                        Tensor loss = BradleyTerryLoss.perPair(
                                        a,
                                        b,
                                        mc ? Tensors.floats(m, n) : null,
                                        mc ? 0.05 : 0,
                                        Tensors.floats(weights, n))
                                .mean(); // one micro-batch = the whole window: the code's mean
                        loss.backward();
                        Golden.assertClose(p + "loss", g.floats(p + "loss"), Tensors.toFloats(loss), 1e-5, 1e-5);
                        Golden.assertClose(
                                p + "grad_chosen", g.floats(p + "grad_chosen"), Tensors.toFloats(a.grad()), 1e-6, 1e-5);
                        Golden.assertClose(
                                p + "grad_rejected",
                                g.floats(p + "grad_rejected"),
                                Tensors.toFloats(b.grad()),
                                1e-6,
                                1e-5);
                    }
                }
        }
    }

    @Test
    void weightedPerPairLossIsTheWeightedSoftplusPlusTheUnweightedCenteringTerm() {
        float[] rw = {1.5f, -0.25f, 40f, -30f}, rl = {0.5f, 0.75f, -20f, 35f}, m = {0.3f, -1f, 0f, 2f};
        float[] w = {0.25f, 1f, 0.5f, 3f};
        double c = 0.01;
        try (PointerScope s = new PointerScope()) {
            Tensor a = Tensors.floats(rw, 4).requires_grad_(true);
            Tensor per =
                    BradleyTerryLoss.perPair(a, Tensors.floats(rl, 4), Tensors.floats(m, 4), c, Tensors.floats(w, 4));
            per.sum().backward();
            float[] got = Tensors.toFloats(per), grad = Tensors.toFloats(a.grad());
            for (int i = 0; i < 4; i++) {
                double z = (double) rw[i] - rl[i] - m[i], sum = (double) rw[i] + rl[i];
                double expected = w[i] * -Closed.logSig(z) + c * sum * sum;
                assertEquals(expected, got[i], 1e-5 * Math.max(1, Math.abs(expected)), "pair " + i);
                // d/dr_w: -w (1 - sigma(z)) + 2 c (r_w + r_l)
                double g = -w[i] * Closed.sig(-z) + 2 * c * sum;
                assertEquals(g, grad[i], 1e-6 * Math.max(1, Math.abs(g)), "gradient pair " + i);
            }
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> BradleyTerryLoss.perPair(
                            Tensors.floats(rw, 4), Tensors.floats(rl, 4), null, 0, Tensors.floats(w, 2, 2)));
            assertTrue(e.getMessage().contains("pair weights must be (B,)"), e.getMessage());
        }
    }

    @Test
    void weightingNamesAreCheckedWithTheValidOnes() {
        assertEquals(Weighting.INVERSE, Weighting.of("inverse"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Weighting.of("softmax"));
        assertTrue(
                e.getMessage().contains("scpo, inverse, none") && e.getMessage().contains("softmax"));
        assertThrows(IllegalArgumentException.class, () -> ScpoWeighting.weight(Weighting.SCPO, Double.NaN, 0, 1));
    }
}
