// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** ChordLoss against closed forms in plain doubles (docs/algorithms.md §4). */
class ChordLossTest {
    static final double[][] LOGP = {{-0.1, -1.0, -2.5}, {-0.4, -9.0, -9.0}};
    static final double[][] MASK = {{1, 1, 1}, {1, 0, 0}};

    @Test
    void muWarmsUpLinearlyThenDecaysOnAHalfCosine() {
        int w = 10, d = 20;
        double peak = 0.8, valley = 0.1;
        assertEquals(0.0, ChordLoss.mu(0, w, d, peak, valley));
        assertEquals(0.4, ChordLoss.mu(5, w, d, peak, valley), 1e-15);
        assertEquals(peak, ChordLoss.mu(10, w, d, peak, valley), 1e-15, "cos(0) = 1: the peak at the end of warm-up");
        assertEquals(
                (peak + valley) / 2,
                ChordLoss.mu(20, w, d, peak, valley),
                1e-15,
                "half-way through the decay: cos(π/2) = 0");
        assertEquals(
                valley + (peak - valley) * 0.5 * (1 + Math.cos(Math.PI / 4)),
                ChordLoss.mu(15, w, d, peak, valley),
                1e-15);
        assertEquals(valley, ChordLoss.mu(30, w, d, peak, valley));
        assertEquals(valley, ChordLoss.mu(1000, w, d, peak, valley));
        for (int s : new int[] {0, 7, 100000})
            assertEquals(0.1, ChordLoss.mu(s, 0, 0, 0.1, 0.1), "Trinity defaults: constant 0.1");
        assertEquals(
                0.05,
                ChordLoss.mu(0, 0, 0, 0.9, 0.05),
                "no warm-up, no decay: valley from the start (Trinity's branch order)");
    }

    @Test
    void muRejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> ChordLoss.mu(-1, 0, 0, 0.1, 0.1));
        assertThrows(IllegalArgumentException.class, () -> ChordLoss.mu(0, -1, 0, 0.1, 0.1));
        assertThrows(IllegalArgumentException.class, () -> ChordLoss.mu(0, 0, 0, 1.5, 0.1));
        assertThrows(IllegalArgumentException.class, () -> ChordLoss.mu(0, 0, 0, 0.1, Double.NaN));
    }

    /** Σ −w(p)·min(log p, log cutoff)·m / W and its gradient w(p)·[log p < log cutoff]·(−m/W), w = φ(p) or 1, φ not differentiated. */
    static double[] expected(boolean phi, double cutoff, long window) {
        double loss = 0;
        double[] grad = new double[6];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) {
                if (MASK[i][j] == 0) continue;
                double lp = (float) LOGP[i][j], p = Math.exp(lp);
                double weight = phi ? p * (1 - p) : 1.0;
                boolean clamped = cutoff < 1 && lp > Math.log(cutoff);
                loss += -weight * (clamped ? Math.log(cutoff) : lp) / window;
                grad[i * 3 + j] = clamped ? 0.0 : -weight / window;
            }
        double[] out = new double[7];
        out[0] = loss;
        System.arraycopy(grad, 0, out, 1, 6);
        return out;
    }

    @Test
    void sftMatchesTheClosedForm() {
        for (boolean phi : new boolean[] {false, true})
            for (double cutoff : new double[] {1.0, 0.5})
                for (long window : new long[] {4, 10}) {
                    double[] e = expected(phi, cutoff, window);
                    try (PointerScope s = new PointerScope()) {
                        Tensor logps = GrpoLossTest.t2(LOGP);
                        logps.set_requires_grad(true);
                        Tensor loss = ChordLoss.sft(logps, GrpoLossTest.t2(MASK), phi, cutoff, window);
                        String what = "phi=" + phi + " cutoff=" + cutoff + " window=" + window;
                        assertEquals(e[0], Tensors.toFloats(loss)[0], 1e-6 * Math.abs(e[0]), what);
                        loss.backward();
                        float[] g = Tensors.toFloats(logps.grad());
                        for (int k = 0; k < 6; k++)
                            assertEquals(e[k + 1], g[k], 1e-7 + 1e-6 * Math.abs(e[k + 1]), what + " grad " + k);
                    }
                }
    }

    @Test
    void cutoffStopsTheGradientOfConfidentTokens() {
        try (PointerScope s = new PointerScope()) {
            Tensor logps = GrpoLossTest.t2(LOGP);
            logps.set_requires_grad(true);
            ChordLoss.sft(logps, GrpoLossTest.t2(MASK), true, 0.5, 4).backward();
            float[] g = Tensors.toFloats(logps.grad());
            assertEquals(0f, g[0], "p = 0.905 > 0.5: clamped");
            assertEquals(0f, g[3], "p = 0.670 > 0.5: clamped");
            assertTrue(g[1] < 0 && g[2] < 0, "p = 0.37 and 0.08 keep their gradient");
        }
    }

    @Test
    void paddingNeverReachesTheLoss() {
        double[][] dirty = {{-0.1, -1.0, -2.5}, {-0.4, Double.NEGATIVE_INFINITY, Double.NaN}};
        try (PointerScope s = new PointerScope()) {
            Tensor a = GrpoLossTest.t2(LOGP), b = GrpoLossTest.t2(dirty);
            a.set_requires_grad(true);
            b.set_requires_grad(true);
            Tensor la = ChordLoss.sft(a, GrpoLossTest.t2(MASK), true, 1.0, 4),
                    lb = ChordLoss.sft(b, GrpoLossTest.t2(MASK), true, 1.0, 4);
            assertEquals(Tensors.toFloats(la)[0], Tensors.toFloats(lb)[0], 0.0);
            lb.backward();
            Closed.assertAllFinite("grad", b.grad());
        }
    }

    @Test
    void sftArgumentErrors() {
        try (PointerScope s = new PointerScope()) {
            Tensor lp = GrpoLossTest.t2(LOGP), m = GrpoLossTest.t2(MASK);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ChordLoss.sft(lp, m, true, 1.0, 3))
                    .getMessage()
                    .contains("own 4"));
            assertThrows(IllegalArgumentException.class, () -> ChordLoss.sft(lp, m, true, 0.0, 4));
            assertThrows(IllegalArgumentException.class, () -> ChordLoss.sft(lp, m, true, 1.2, 4));
            assertThrows(IllegalArgumentException.class, () -> ChordLoss.sft(lp, m, true, 1.0, 0));
            assertThrows(IllegalArgumentException.class, () -> ChordLoss.sft(lp, Closed.t(1, 1), true, 1.0, 4));
        }
    }
}
