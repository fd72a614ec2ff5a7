// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Sampling by inverse CDF in one Java pass over each row's probabilities: with u ~ U[0, 1) for the row, the first
 * token whose cumulative probability exceeds u times the row's total (both in float64). A token of probability 0 (cut
 * by top-k or top-p) is never picked: the cumulative sum does not grow there.
 *
 * <p>Why in Java: libtorch's way, a float64 cumulative sum of the (B, V) probabilities and {@code searchsorted},
 * writes 8 bytes for every entry of every row, into memory that is cold in a decode step (the LM head's 25 MB of
 * weights have just streamed through the caches): at 64 x 16,384 the cumulative sum took 2.2 ms there against 0.8 ms in
 * a hot loop, and searchsorted 0.3 ms more. This class copies each row into one reused Java array (4 bytes an entry,
 * the same cache lines every row) and writes only V / {@value #BLOCK} block sums: 0.9 ms in the decode step for the
 * 64 rows (docs/perf-notes.md).
 *
 * <p>The sums are plain Java double arithmetic in a fixed order, so the pick is the same on every CPU, whatever
 * vector width libtorch's kernels use: block sums {@code s_j = p_16j + ... + p_16j+15}, left to right; the total is
 * {@code s_0 + s_1 + ...}, left to right; the walk adds whole blocks while the sum stays {@code <= target}, then the
 * entries of the block that crosses it. Adding the blocks in the same order as the total, the walk always finds a
 * crossing block ({@code target < total}); within it the entry-by-entry sum can fall a rounding short of the block's,
 * and then the block's last entry of nonzero probability is the pick.
 */
final class InverseCdf {
    private InverseCdf() {}

    /** Entries per block sum: the walk reads V / 16 sums, then at most 16 entries. */
    static final int BLOCK = 16;

    /** Entries (rows x vocabulary) from which the rows are split over torch's thread count. */
    static final long PARALLEL_ENTRIES = 1L << 22;

    /**
     * @param probs (B, V) float32, contiguous, each row non-negative (a softmax)
     * @param uniforms B numbers in [0, 1), one per row
     * @return B picked indices
     * @throws IllegalStateException as torch.multinomial, when a row's total is not a positive finite number (a NaN or
     *     inf logit from a diverged model)
     */
    static long[] pick(Tensor probs, double[] uniforms) {
        if (probs.dim() != 2
                || probs.scalar_type().value != torch.ScalarType.Float.value
                || !probs.is_contiguous()
                || !probs.is_cpu())
            throw new IllegalArgumentException("expected contiguous (B, V) float32 CPU probabilities");
        int b = (int) probs.size(0), v = (int) probs.size(1);
        if (uniforms.length != b) throw new IllegalArgumentException(b + " rows but " + uniforms.length + " uniforms");
        MemorySegment p = Tensors.segment(probs);
        long[] picked = new long[b];
        boolean[] bad = new boolean[b];
        // rows in one part per thread when the rows are large (64 x 151,936 on 2 cores: 7 against 10 ms on one
        // thread); at 64 x 16,384 one thread is as fast (0.7-1.3 ms) as handing half the rows to the fork-join pool
        int parts = (long) b * v >= PARALLEL_ENTRIES ? Math.min(b, torch.get_num_threads()) : 1;
        IntStream.range(0, parts).parallel().forEach(part -> {
            // one buffer per part, reused row after row: a fresh 64 kB array per row doubled the time
            float[] x = new float[v];
            double[] sums = new double[(v + BLOCK - 1) / BLOCK];
            for (int r = part * b / parts; r < (part + 1) * b / parts; r++) {
                MemorySegment.copy(p, JAVA_FLOAT_UNALIGNED, (long) r * v * Float.BYTES, x, 0, v);
                int at = pickRow(x, sums, uniforms[r]);
                if (at < 0) bad[r] = true;
                else picked[r] = at;
            }
        });
        for (boolean x : bad)
            if (x) throw new IllegalStateException("probability tensor contains either `inf`, `nan` or element < 0");
        return picked;
    }

    /** probs[r, ids[r]] for each row r: the picked tokens' probabilities. */
    static float[] read(Tensor probs, long[] ids) {
        MemorySegment p = Tensors.segment(probs);
        long v = probs.size(1);
        float[] out = new float[ids.length];
        for (int r = 0; r < ids.length; r++) out[r] = p.get(JAVA_FLOAT_UNALIGNED, (r * v + ids[r]) * Float.BYTES);
        return out;
    }

    /**
     * The pick in the row {@code x} given u, or -1 when its total is not positive and finite.
     *
     * @param sums scratch for the block sums, V / {@value #BLOCK} rounded up
     */
    static int pickRow(float[] x, double[] sums, double u) {
        int v = x.length, blocks = sums.length;
        double total = 0;
        for (int j = 0; j < blocks; j++) {
            double s = 0;
            for (int i = j * BLOCK, end = Math.min(v, i + BLOCK); i < end; i++) s += x[i];
            sums[j] = s;
            total += s;
        }
        if (!(total > 0) || Double.isInfinite(total)) return -1;
        // u * total < total strictly (u's largest value times total may round up to it)
        double target = Math.min(u * total, total * (1 - 1e-15));
        double acc = 0;
        int j = 0;
        while (j < blocks - 1 && acc + sums[j] <= target) acc += sums[j++];
        int last = -1; // the block's last entry of nonzero probability so far
        for (int i = j * BLOCK, end = Math.min(v, i + BLOCK); i < end; i++) {
            if (x[i] <= 0) continue;
            last = i;
            acc += x[i];
            if (acc > target) return i;
        }
        return last;
    }
}
