// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Java inverse-CDF sampler against its definition: the first index whose float64 cumulative probability exceeds u
 * times the row's total (torch.cumsum in float64, then torch.searchsorted with right=true).
 */
class InverseCdfTest {

    /** Softmax-like rows: exp of scaled normals, normalised, with a share of entries cut to 0. */
    private static float[] rows(int b, int v, double cutShare, long seed) {
        Random rng = new Random(seed);
        float[] p = new float[b * v];
        for (int r = 0; r < b; r++) {
            double sum = 0;
            for (int i = 0; i < v; i++) {
                // one entry per row always survives the cut, as top-k and top-p keep the most likely token
                double e = rng.nextDouble() < cutShare && i != r % v ? 0 : Math.exp(3 * rng.nextGaussian());
                p[r * v + i] = (float) e;
                sum += e;
            }
            for (int i = 0; i < v; i++) p[r * v + i] = (float) (p[r * v + i] / sum);
        }
        return p;
    }

    /** The definition, entry by entry in float64: first i with cdf[i] > min(u total, total (1 - 1e-15)). */
    private static int reference(float[] p, int row, int v, double u) {
        double[] cdf = new double[v];
        double acc = 0;
        for (int i = 0; i < v; i++) cdf[i] = acc += p[row * v + i];
        double target = Math.min(u * acc, acc * (1 - 1e-15));
        for (int i = 0; i < v; i++) if (cdf[i] > target) return i;
        return v - 1;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 16, 17, 1000})
    void agreesWithAFloat64CumsumAndSearchsorted(int v) {
        int b = 8;
        float[] p = rows(b, v, 0.3, v);
        Random rng = new Random(42);
        try (PointerScope scope = new PointerScope()) {
            Tensor probs = Tensors.floats(p, b, v);
            int compared = 0;
            for (int draw = 0; draw < 300; draw++) {
                double[] u = new double[b];
                for (int r = 0; r < b; r++) u[r] = draw == 0 ? 0.0 : draw == 1 ? Math.nextDown(1.0) : rng.nextDouble();
                long[] picked = InverseCdf.pick(probs, u);
                for (int r = 0; r < b; r++) {
                    int expected = reference(p, r, v, u[r]);
                    if (picked[r] != expected) {
                        // the block order of the sums may move a pick only where the target is within rounding of a
                        // cumulative probability; anything else is a wrong pick
                        double cdf = 0, total = 0;
                        for (int i = 0; i < v; i++) total += p[r * v + i];
                        for (int i = 0; i <= Math.min(picked[r], expected); i++) cdf += p[r * v + i];
                        assertEquals(cdf, u[r] * total, 1e-12, "row " + r + " u " + u[r] + " picked " + picked[r]);
                    }
                    assertTrue(p[r * v + (int) picked[r]] > 0, "picked a token of probability 0");
                    compared++;
                }
            }
            assertEquals(300 * b, compared);
        }
    }

    @Test
    void theFirstAndLastTokensOfNonzeroProbabilityAreTheEnds() {
        // zeros before, between and after: u = 0 picks the first nonzero entry, u just below 1 the last
        float[] x = new float[40];
        x[19] = 0.25f;
        x[23] = 0.5f;
        x[33] = 0.25f;
        double[] sums = new double[3];
        assertEquals(19, InverseCdf.pickRow(x, sums, 0.0));
        assertEquals(23, InverseCdf.pickRow(x, sums, 0.25));
        assertEquals(23, InverseCdf.pickRow(x, sums, 0.74));
        assertEquals(33, InverseCdf.pickRow(x, sums, 0.75));
        assertEquals(33, InverseCdf.pickRow(x, sums, Math.nextDown(1.0)));
    }

    @Test
    void anEntrySumThatFallsARoundingShortOfItsBlockSumPicksTheBlocksLastNonzeroEntry() {
        // block 0 holds 1.0, block 1 fifteen entries of 45.49 ulps of 1.0 and a 0: added to 1.0 one by one each rounds
        // down to 45 ulps, while the block sum (682.35 ulps) is added whole
        float e = (float) (45.49 * Math.ulp(1.0));
        float[] x = new float[32];
        x[0] = 1f;
        for (int i = 16; i < 31; i++) x[i] = e;
        double blockSum = 0, oneByOne = 1.0;
        for (int i = 16; i < 31; i++) {
            blockSum += x[i];
            oneByOne += x[i];
        }
        double total = 1.0 + blockSum;
        double u = Math.nextDown(1.0);
        double target = Math.min(u * total, total * (1 - 1e-15));
        assertTrue(oneByOne <= target, "the case must leave the entry-by-entry sum short of the target");
        assertEquals(30, InverseCdf.pickRow(x, new double[2], u));
    }

    @Test
    void aRowWithNanOrNoMassFailsWithMultinomialsMessage() {
        try (PointerScope scope = new PointerScope()) {
            float[] p = rows(3, 20, 0.0, 7);
            p[20 + 5] = Float.NaN;
            IllegalStateException nan = assertThrows(
                    IllegalStateException.class,
                    () -> InverseCdf.pick(Tensors.floats(p, 3, 20), new double[] {0.5, 0.5, 0.5}));
            assertEquals("probability tensor contains either `inf`, `nan` or element < 0", nan.getMessage());
            float[] zeros = new float[2 * 20];
            assertThrows(
                    IllegalStateException.class,
                    () -> InverseCdf.pick(Tensors.floats(zeros, 2, 20), new double[] {0.5, 0.5}));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> InverseCdf.pick(Tensors.floats(p, 3, 20), new double[] {0.5, 0.5}));
        }
    }

    @Test
    void rowsSplitOverThreadsPickWhatOneThreadPicks() {
        int b = 64, v = 70_000; // 4.48M entries: above PARALLEL_ENTRIES
        assertTrue((long) b * v >= InverseCdf.PARALLEL_ENTRIES);
        int threads = torch.get_num_threads();
        torch.set_num_threads(2);
        try (PointerScope scope = new PointerScope()) {
            float[] p = rows(b, v, 0.5, 11);
            Random rng = new Random(3);
            double[] u = new double[b];
            for (int r = 0; r < b; r++) u[r] = rng.nextDouble();
            long[] picked = InverseCdf.pick(Tensors.floats(p, b, v), u);
            long[] oneByOne = new long[b];
            float[] row = new float[v];
            double[] sums = new double[(v + InverseCdf.BLOCK - 1) / InverseCdf.BLOCK];
            for (int r = 0; r < b; r++) {
                System.arraycopy(p, r * v, row, 0, v);
                oneByOne[r] = InverseCdf.pickRow(row, sums, u[r]);
            }
            assertArrayEquals(oneByOne, picked);
            float[] read = InverseCdf.read(Tensors.floats(p, b, v), picked);
            for (int r = 0; r < b; r++) assertEquals(p[r * v + (int) picked[r]], read[r]);
        } finally {
            torch.set_num_threads(threads);
        }
    }
}
