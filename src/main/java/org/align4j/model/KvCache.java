// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Preallocated keys and values for incremental decoding: per layer two (B, Hkv, Tmax, D) float32
 * tensors, filled left to right. Allocated once so a decode step writes in place and allocates
 * nothing that outlives the step's scope.
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
