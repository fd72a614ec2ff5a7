// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Deterministic micro-batch order: each epoch is a permutation of the rows drawn from
 * (seed, epoch) alone, so a resumed run reads exactly the batches the uninterrupted run would
 * have read from (epoch, batch index). The last batch of an epoch may be short, as with
 * transformers' default {@code dataloader_drop_last=False}.
 */
final class DataCursor {
    private final int size, batch;
    private final long seed;
    private int epoch, batchInEpoch;
    private int[] order;

    /** A cursor at the start of epoch 0 over {@code size} rows read {@code batch} at a time. */
    DataCursor(int size, int batch, long seed) {
        if (size < 1) throw new IllegalArgumentException("a data cursor needs at least one row");
        this.size = size;
        this.batch = batch;
        this.seed = seed;
        seek(0, 0);
    }

    /** Moves to batch {@code batchInEpoch} of epoch {@code epoch} (where a checkpoint says the run stood). */
    void seek(int epoch, int batchInEpoch) {
        int batches = (int) Math.ceilDiv((long) size, batch);
        if (epoch < 0 || batchInEpoch < 0 || batchInEpoch > batches)
            throw new IllegalArgumentException("data position (epoch " + epoch + ", batch " + batchInEpoch
                    + ") is outside a data set of " + batches + " batches per epoch");
        this.epoch = epoch;
        this.batchInEpoch = batchInEpoch;
        this.order = permutation(size, seed, epoch);
    }

    static int[] permutation(int n, long seed, int epoch) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Random rng = new Random(seed * 1_000_003L + epoch);
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates
            int j = rng.nextInt(i + 1), tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return p;
    }

    <T> List<T> next(List<T> rows) {
        int batches = (int) Math.ceilDiv((long) size, batch);
        if (batchInEpoch >= batches) {
            epoch++;
            batchInEpoch = 0;
            order = permutation(size, seed, epoch);
        }
        List<T> out = new ArrayList<>();
        for (int i = batchInEpoch * batch; i < Math.min(size, (batchInEpoch + 1) * batch); i++)
            out.add(rows.get(order[i]));
        batchInEpoch++;
        return out;
    }

    /**
     * The micro-batches of one optimizer step: gradient_accumulation_steps consecutive batches, fewer at the end of an
     * epoch (transformers steps at the last batch of an epoch whatever the accumulation count, so a window never spans
     * two epochs).
     */
    <T> List<List<T>> window(List<T> rows, int accumulation) {
        List<List<T>> w = new ArrayList<>();
        for (int i = 0; i < accumulation; i++) {
            w.add(next(rows));
            if (atEpochEnd()) break;
        }
        return w;
    }

    /** Whether the last batch read ended an epoch (the next read starts the next epoch). */
    boolean atEpochEnd() {
        return batchInEpoch >= (int) Math.ceilDiv((long) size, batch);
    }

    int epoch() {
        return epoch;
    }

    int batchInEpoch() {
        return batchInEpoch;
    }

    /** Fractional epochs done, as transformers logs {@code epoch}. */
    double epochFloat() {
        int batches = (int) Math.ceilDiv((long) size, batch);
        return epoch + (double) batchInEpoch / batches;
    }
}
