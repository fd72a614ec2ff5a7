// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Supplier;

/** Little-endian float decoding shared by the readers. */
final class Floats {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort U16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Floats() {}

    /** bfloat16 is the top half of a float32: widening is exact for every value, NaN payloads included. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** IEEE 754 binary16 to float32, exact (subnormals, infinities, NaN). */
    static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** Decodes {@code n} elements of {@code src} ({@code dtype}, little-endian) into a new float[]. */
    static float[] toFloats(MemorySegment src, DType dtype, int n, Supplier<String> what) {
        float[] out = new float[n];
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, F32_LE, 0, out, 0, n);
            case BF16, F16 -> {
                short[] bits = new short[n];
                MemorySegment.copy(src, U16_LE, 0, bits, 0, n);
                if (dtype == DType.BF16) for (int i = 0; i < n; i++) out[i] = bf16ToFloat(bits[i]);
                else for (int i = 0; i < n; i++) out[i] = f16ToFloat(bits[i]);
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) src.getAtIndex(F64_LE, i);
            }
            default ->
                throw new IllegalArgumentException(what.get() + " has dtype " + dtype.safetensorsName()
                        + "; toFloats converts only F32, BF16, F16 and F64");
        }
        return out;
    }
}
