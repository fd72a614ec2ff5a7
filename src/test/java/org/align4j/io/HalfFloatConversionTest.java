// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.align4j.io.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HalfFloatConversionTest {
    @TempDir
    Path tmp;

    private float[] readBack(String dtype, int... bits) throws IOException {
        int n = bits.length;
        String header =
                "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + n + "],\"data_offsets\":[0," + 2 * n + "]}}";
        Path p = write(tmp.resolve(dtype + ".safetensors"), paddedFile(header, u16(bits)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            return f.toFloats("t");
        }
    }

    @Test
    void bf16BitPatternsWidenExactly() throws IOException {
        float[] v = readBack(
                "BF16", 0x3F80, // 1.0
                0xC020, // -2.5
                0x0000, // +0
                0x8000, // -0
                0x0001, // smallest subnormal: 2^-133
                0x007F, // largest subnormal: 127 * 2^-133
                0x0080, // smallest normal: 2^-126
                0x7F7F, // largest finite: (2 - 2^-7) * 2^127
                0x7F80, // +inf
                0xFF80, // -inf
                0x7FC0); // NaN
        assertEquals(1.0f, v[0]);
        assertEquals(-2.5f, v[1]);
        assertEquals(0x00000000, Float.floatToRawIntBits(v[2]));
        assertEquals(0x80000000, Float.floatToRawIntBits(v[3]));
        assertEquals(Math.scalb(1.0f, -133), v[4]);
        assertEquals(127 * Math.scalb(1.0f, -133), v[5]);
        assertEquals(Float.MIN_NORMAL, v[6]);
        assertEquals((2 - Math.scalb(1.0f, -7)) * Math.scalb(1.0f, 127), v[7]);
        assertEquals(Float.POSITIVE_INFINITY, v[8]);
        assertEquals(Float.NEGATIVE_INFINITY, v[9]);
        assertTrue(Float.isNaN(v[10]));
        assertEquals(0x7FC00000, Float.floatToRawIntBits(v[10]));
    }

    @Test
    void f16BitPatternsWidenExactly() throws IOException {
        float[] v = readBack(
                "F16", 0x3C00, // 1.0
                0xC100, // -2.5
                0x0000, // +0
                0x8000, // -0
                0x0001, // smallest subnormal: 2^-24
                0x03FF, // largest subnormal: 1023 * 2^-24
                0x0400, // smallest normal: 2^-14
                0x7BFF, // largest finite: 65504
                0x3555, // 0.33325195 = 1365 * 2^-12
                0x7C00, // +inf
                0xFC00, // -inf
                0x7E00); // NaN
        assertEquals(1.0f, v[0]);
        assertEquals(-2.5f, v[1]);
        assertEquals(0x00000000, Float.floatToRawIntBits(v[2]));
        assertEquals(0x80000000, Float.floatToRawIntBits(v[3]));
        assertEquals(Math.scalb(1.0f, -24), v[4]);
        assertEquals(1023 * Math.scalb(1.0f, -24), v[5]);
        assertEquals(Math.scalb(1.0f, -14), v[6]);
        assertEquals(65504f, v[7]);
        assertEquals(1365 * Math.scalb(1.0f, -12), v[8]);
        assertEquals(Float.POSITIVE_INFINITY, v[9]);
        assertEquals(Float.NEGATIVE_INFINITY, v[10]);
        assertTrue(Float.isNaN(v[11]));
    }

    @Test
    void f64IsRoundedToNearestFloat() throws IOException {
        String header = "{\"t\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}";
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putDouble(0.1).putDouble(-1e300).putDouble(1.0 + 0x1p-30);
        Path p = write(tmp.resolve("f64.safetensors"), paddedFile(header, b.array()));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY, 1.0f}, f.toFloats("t"));
        }
    }
}
