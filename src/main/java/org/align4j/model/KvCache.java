// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Preallocated keys and values for incremental decoding: per layer two (B, Hkv, Tmax, D) float32
 * tensors, filled left to right. Allocated once for the whole generation (prompt + max new tokens)
 * so a decode step writes in place and allocates nothing that outlives the step's scope (no
 * growing by concatenation, which copies the whole cache every token).
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys, values;
    private final int capacity;
    private int length;

    public KvCache(ModelConfig c, int batch, int capacity) {
        this.capacity = capacity;
        keys = new Tensor[c.numHiddenLayers()];
        values = new Tensor[c.numHiddenLayers()];
        long[] shape = {batch, c.numKeyValueHeads(), capacity, c.headDim()};
        // detached from any caller scope: the cache lives across many step scopes
        try (PointerScope outer = new PointerScope()) {
            for (int l = 0; l < keys.length; l++) {
                keys[l] = torch.zeros(shape, new TensorOptions(torch.ScalarType.Float));
                values[l] = torch.zeros(shape, new TensorOptions(torch.ScalarType.Float));
                Tensors.keep(outer, keys[l]);
                Tensors.keep(outer, values[l]);
            }
        }
    }

    /** Tokens already cached (the absolute position of the next token). */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Writes layer l's new k, v (B, Hkv, T, D) at [length, length+T) and returns views of all cached ones. */
    Tensor[] append(int layer, Tensor k, Tensor v) {
        long t = k.size(2);
        if (length + t > capacity)
            throw new IllegalStateException("KV cache full: " + (length + t) + " tokens > capacity " + capacity);
        keys[layer].narrow(2, length, t).copy_(k);
        values[layer].narrow(2, length, t).copy_(v);
        return new Tensor[] {keys[layer].narrow(2, 0, length + t), values[layer].narrow(2, 0, length + t)};
    }

    /**
     * Fills this empty cache with the positions another cache holds, row r taken from row
     * {@code rows[r]} of {@code from}: G samples of one prompt share that prompt's prefill, which
     * is computed once (for the distinct prompts) and copied here, the same numbers a prefill of
     * every row would have written (each row's keys and values depend on that row alone).
     *
     * @param rows (B) int64 indices into from's batch
     */
    public void copyRows(KvCache from, Tensor rows) {
        if (length != 0) throw new IllegalStateException("copyRows needs an empty cache, this one holds " + length);
        if (from.length > capacity)
            throw new IllegalStateException("KV cache full: " + from.length + " tokens > capacity " + capacity);
        try (PointerScope s = new PointerScope()) {
            for (int l = 0; l < keys.length; l++) {
                // (U, Hkv, P, D) -> (B, Hkv, P, D)
                keys[l].narrow(2, 0, from.length)
                        .copy_(from.keys[l].narrow(2, 0, from.length).index_select(0, rows));
                values[l]
                        .narrow(2, 0, from.length)
                        .copy_(from.values[l].narrow(2, 0, from.length).index_select(0, rows));
            }
        }
        length = from.length;
    }

    /** Called once per forward, after every layer has appended its T new positions. */
    void advance(int t) {
        length += t;
    }

    @Override
    public void close() {
        for (int l = 0; l < keys.length; l++) {
            keys[l].close();
            values[l].close();
        }
    }
}
