// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.util.Arrays;

/**
 * One header entry of a safetensors file.
 *
 * @param name  the tensor's name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype element type
 * @param shape dimensions, outermost first; {@code []} is a scalar (one element). The array is
 *              copied in and out, so an instance is immutable.
 * @param begin first byte, relative to the start of the data section (the byte after the header)
 * @param end   one past the last byte, relative to the data section; {@code end - begin} equals
 *              {@code numel() * dtype.byteSize()} for every instance a reader hands out
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements: the product of the dims (1 for a scalar). Overflow throws. */
    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** {@code end - begin}. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && begin == t.begin
                && end == t.end;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + dtype.hashCode()) + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype.safetensorsName() + Arrays.toString(shape) + " @[" + begin + "," + end + ")";
    }
}
