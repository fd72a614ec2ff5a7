// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** Bradley-Terry loss against TRL's compute_loss run in PyTorch (golden/reward, section bt) and its closed form. */
class BradleyTerryLossTest {
    private static final String[] VARIANTS = {"plain", "margin", "center", "both"};

    private static boolean hasMargin(String v) {
        return v.equals("margin") || v.equals("both");
    }

    private static double center(String v) {
        return v.equals("center") || v.equals("both") ? 0.05 : 0.0;
    }

    @Test
    void perPairLossesMeanAndGradientsMatchPyTorch() throws Exception {
        try (Golden g = Golden.open("reward")) {
            float[] rw = g.floats("bt.chosen"), rl = g.floats("bt.rejected"), m = g.floats("bt.margin");
            for (String v : VARIANTS) {
                try (PointerScope s = new PointerScope()) {
                    Tensor a = Tensors.floats(rw, rw.length).requires_grad_(true),
                            b = Tensors.floats(rl, rl.length).requires_grad_(true);
                    Tensor per = BradleyTerryLoss.perPair(
                            a, b, hasMargin(v) ? Tensors.floats(m, m.length) : null, center(v));
                    Tensor loss = per.mean();
                    loss.backward();
                    String p = "bt." + v + ".";
                    Golden.assertClose(p + "per_pair", g.floats(p + "per_pair"), Tensors.toFloats(per), 1e-5, 1e-5);
                    Golden.assertClose(p + "loss", g.floats(p + "loss"), Tensors.toFloats(loss), 1e-5, 1e-5);
                    Golden.assertClose(
                            p + "grad_chosen", g.floats(p + "grad_chosen"), Tensors.toFloats(a.grad()), 1e-6, 1e-5);
                    Golden.assertClose(
                            p + "grad_rejected", g.floats(p + "grad_rejected"), Tensors.toFloats(b.grad()), 1e-6, 1e-5);
                }
            }
        }
    }

    @Test
    void perPairLossIsSoftplusOfTheNegatedMarginPlusTheCenteringTerm() {
        float[] rw = {1.5f, -0.25f, 40f, -30f}, rl = {0.5f, 0.75f, -20f, 35f}, m = {0.3f, -1f, 0f, 2f};
        double c = 0.01;
        try (PointerScope s = new PointerScope()) {
            float[] got = Tensors.toFloats(
                    BradleyTerryLoss.perPair(Tensors.floats(rw, 4), Tensors.floats(rl, 4), Tensors.floats(m, 4), c));
            for (int i = 0; i < 4; i++) {
                double z = (double) rw[i] - rl[i] - m[i];
                double softplusMinusZ = Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z))); // -log sigmoid(z), stable
                double sum = (double) rw[i] + rl[i];
                double expected = softplusMinusZ + c * sum * sum;
                assertEquals(expected, got[i], 1e-5 * Math.max(1, Math.abs(expected)), "pair " + i);
            }
        }
    }

    @Test
    void metricsAreTrlsAccuracyAndMarginPlusRewardRange() throws Exception {
        try (Golden g = Golden.open("reward")) {
            float[] rw = g.floats("bt.chosen"), rl = g.floats("bt.rejected");
            BradleyTerryLoss.Metrics m = BradleyTerryLoss.metrics(rw, rl);
            assertEquals(g.floats("bt.accuracy")[0], m.accuracy(), 1e-6);
            assertEquals(g.floats("bt.reward_margin")[0], m.margin(), 1e-5);
            double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < rw.length; i++) {
                min = Math.min(min, Math.min(rw[i], rl[i]));
                max = Math.max(max, Math.max(rw[i], rl[i]));
                sum += (double) rw[i] + rl[i];
            }
            assertEquals(min, m.minReward(), 0.0);
            assertEquals(max, m.maxReward(), 0.0);
            assertEquals(sum / (2 * rw.length), m.meanReward(), 1e-9);
        }
        // a tie is not a correct prediction (TRL: r_w > r_l, strict)
        assertEquals(
                0.5,
                BradleyTerryLoss.metrics(new float[] {1f, 2f}, new float[] {1f, 0f})
                        .accuracy(),
                0.0);
    }

    @Test
    void mismatchedShapesAreRejected() {
        try (PointerScope s = new PointerScope()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> BradleyTerryLoss.perPair(
                            Tensors.floats(new float[3], 3), Tensors.floats(new float[2], 2), null, 0));
            assertEquals(true, e.getMessage().contains("(B,)"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> BradleyTerryLoss.metrics(new float[0], new float[0]));
    }
}
