// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor to write: name, dtype, shape and its raw bytes.
 *
 * <p>{@code data} holds exactly {@code numel * dtype.byteSize()} bytes, little-endian, row-major.
 * It may be any segment: a heap array, a slice of a {@link SafetensorsFile}, or native torch
 * memory wrapped by address, e.g. {@code MemorySegment.ofAddress(t.data_ptr().address())
 * .reinterpret(t.nbytes())} for a contiguous CPU tensor. The blob does not own it: the caller keeps
 * it alive (and unchanged) until the write returns.
 *
 * @param name  tensor name; not {@code "__metadata__"}
 * @param dtype element type
 * @param shape dimensions, outermost first, each &gt;= 0 ({@code []} is a scalar); copied
 * @param data  the bytes, see above
 */
public record TensorBlob(String name, DType dtype, long[] shape, MemorySegment data) {
    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public TensorBlob {
        if (name == null || dtype == null || shape == null || data == null)
            throw new IllegalArgumentException("TensorBlob needs a name, dtype, shape and data (got null)");
        if (name.equals("__metadata__"))
            throw new IllegalArgumentException("'__metadata__' is reserved by safetensors and cannot name a tensor");
        shape = shape.clone();
        long bytes = dtype.byteSize();
        for (long d : shape) {
            if (d < 0)
                throw new IllegalArgumentException(
                        "tensor '" + name + "': negative dim in shape " + Arrays.toString(shape));
            bytes = Math.multiplyExact(bytes, d);
        }
        if (data.byteSize() != bytes)
            throw new IllegalArgumentException("tensor '" + name + "': " + dtype.safetensorsName()
                    + Arrays.toString(shape) + " needs " + bytes + " bytes but data has " + data.byteSize());
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Wraps raw little-endian bytes (not copied). */
    public static TensorBlob of(String name, DType dtype, long[] shape, byte[] littleEndianBytes) {
        return new TensorBlob(name, dtype, shape, MemorySegment.ofArray(littleEndianBytes));
    }

    /** An F32 tensor holding a little-endian copy of {@code values}. */
    public static TensorBlob ofFloats(String name, float[] values, long... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
        for (int i = 0; i < values.length; i++) seg.setAtIndex(F32_LE, i, values[i]);
        return new TensorBlob(name, DType.F32, shape, seg);
    }

    /** An I64 tensor holding a little-endian copy of {@code values}. */
    public static TensorBlob ofLongs(String name, long[] values, long... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 8)]);
        for (int i = 0; i < values.length; i++) seg.setAtIndex(I64_LE, i, values[i]);
        return new TensorBlob(name, DType.I64, shape, seg);
    }

    /** A view of tensor {@code name} of an open file (no copy; valid while {@code file} is open). */
    public static TensorBlob from(SafetensorsFile file, String name) {
        TensorInfo t = file.info(name);
        return new TensorBlob(name, t.dtype(), t.shape(), file.data(name));
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorBlob b
                && name.equals(b.name)
                && dtype == b.dtype
                && Arrays.equals(shape, b.shape)
                && data.equals(b.data);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "TensorBlob[" + name + " " + dtype.safetensorsName() + Arrays.toString(shape) + "]";
    }
}
