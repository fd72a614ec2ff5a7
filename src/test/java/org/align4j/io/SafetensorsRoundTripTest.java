// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.align4j.io.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path tmp;

    /** The expected bytes of test_serialization in huggingface/safetensors safetensors/src/tensor.rs. */
    static final int[] OFFICIAL_ATTN0 = {
        64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58,
        34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116,
        97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
        0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64
    };

    /** test_serialization_forced_alignement: a 65-byte header padded with 7 spaces. */
    static final int[] OFFICIAL_ATTN0_PADDED = {
        72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34,
        70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97,
        116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
        32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64
    };

    /** test_empty with metadata {"framework": "pt"}. */
    static final int[] OFFICIAL_EMPTY_WITH_METADATA = {
        40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102,
        114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32
    };

    static byte[] bytes(int[] v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    @Test
    void writerReproducesTheOfficialLibrarysTestVectorsByteForByte() throws IOException {
        Path a = tmp.resolve("a.safetensors");
        SafetensorsWriter.write(
                a, List.of(TensorBlob.ofFloats("attn.0", new float[] {0, 1, 2, 3, 4, 5}, 1, 2, 3)), null);
        assertArrayEquals(bytes(OFFICIAL_ATTN0), Files.readAllBytes(a));

        Path b = tmp.resolve("b.safetensors");
        SafetensorsWriter.write(
                b, List.of(TensorBlob.ofFloats("attn0", new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)), Map.of());
        assertArrayEquals(bytes(OFFICIAL_ATTN0_PADDED), Files.readAllBytes(b));

        Path c = tmp.resolve("c.safetensors");
        SafetensorsWriter.write(c, List.of(), Map.of("framework", "pt"));
        assertArrayEquals(bytes(OFFICIAL_EMPTY_WITH_METADATA), Files.readAllBytes(c));

        Path d = tmp.resolve("d.safetensors");
        SafetensorsWriter.write(d, List.of(), null);
        assertArrayEquals(
                bytes(new int[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 32, 32, 32, 32, 32, 32}), Files.readAllBytes(d));
    }

    @Test
    void readerReadsTheOfficialTestVectorExactly() throws IOException {
        Path a = write(tmp.resolve("a.safetensors"), bytes(OFFICIAL_ATTN0));
        try (SafetensorsFile f = SafetensorsFile.open(a)) {
            TensorInfo t = f.tensors().get("attn.0");
            assertEquals(new TensorInfo("attn.0", DType.F32, new long[] {1, 2, 3}, 0, 24), t);
            assertEquals(6, t.numel());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, f.toFloats("attn.0"));
            assertTrue(f.metadata().isEmpty());
        }
    }

    /**
     * A file laid out by the spec and the official writer's rule (dtype descending in the Rust
     * enum: I64, F32, BF16, F16, BOOL; then by name), built by hand.
     */
    static byte[] mixedDtypeFixture() {
        String header = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"é\"},"
                + "\"step\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[32,36]},"
                + "\"norm\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[36,42]},"
                + "\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[42,46]},"
                + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[46,49]}}";
        byte[] data = concat(
                i64(7, -1),
                f32(1.0f, -2.5f, 0.1f, Float.MAX_VALUE),
                f32(42.0f),
                u16(0x3F80, 0xC020, 0x3C00), // bf16 1.0, -2.5, 2^-7
                u16(0x3C00, 0x7BFF), // f16 1.0, 65504
                new byte[] {1, 0, 1});
        return paddedFile(header, data);
    }

    @Test
    void mixedDtypeFileReadsExactValuesAndMetadataInHeaderOrder() throws IOException {
        Path p = write(tmp.resolve("mixed.safetensors"), mixedDtypeFixture());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(
                    List.of("step", "a.weight", "b", "norm", "half", "mask"),
                    new ArrayList<>(f.tensors().keySet()));
            assertEquals(Map.of("format", "pt", "note", "é"), f.metadata());
            assertEquals(List.of("format", "note"), new ArrayList<>(f.metadata().keySet()));
            MemorySegment step = f.data("step");
            ValueLayout.OfLong le = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertEquals(7, step.getAtIndex(le, 0));
            assertEquals(-1, step.getAtIndex(le, 1));
            assertArrayEquals(new float[] {1.0f, -2.5f, 0.1f, Float.MAX_VALUE}, f.toFloats("a.weight"));
            assertArrayEquals(new float[] {42.0f}, f.toFloats("b"));
            assertEquals(0, f.tensors().get("b").shape().length);
            assertArrayEquals(new float[] {1.0f, -2.5f, 0.0078125f}, f.toFloats("norm"));
            assertArrayEquals(new float[] {1.0f, 65504f}, f.toFloats("half"));
            assertArrayEquals(new byte[] {1, 0, 1}, f.data("mask").toArray(ValueLayout.JAVA_BYTE));
            assertTrue(f.data("norm").isReadOnly());
            assertThrows(IllegalArgumentException.class, () -> f.toFloats("step"));
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> f.data("nope"));
            assertTrue(missing.getMessage().contains(p.toString())
                    && missing.getMessage().contains("nope"));
        }
    }

    @Test
    void readThenWriteBackInAnyOrderGivesIdenticalBytes() throws IOException {
        byte[] original = mixedDtypeFixture();
        Path p = write(tmp.resolve("mixed.safetensors"), original);
        Path out = tmp.resolve("out.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            List<TensorBlob> blobs = new ArrayList<>();
            for (String name : f.tensors().keySet()) blobs.add(TensorBlob.from(f, name));
            Collections.reverse(blobs);
            SafetensorsWriter.write(out, blobs, f.metadata());
        }
        assertArrayEquals(original, Files.readAllBytes(out));
    }

    @Test
    void blobsBuiltFromValuesWriteTheSameBytesAsTheHandBuiltFile() throws IOException {
        Path out = tmp.resolve("out.safetensors");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "é");
        List<TensorBlob> blobs = List.of(
                TensorBlob.of("mask", DType.BOOL, new long[] {3}, new byte[] {1, 0, 1}),
                TensorBlob.of("half", DType.F16, new long[] {2}, u16(0x3C00, 0x7BFF)),
                TensorBlob.ofFloats("b", new float[] {42.0f}),
                TensorBlob.of("norm", DType.BF16, new long[] {3}, u16(0x3F80, 0xC020, 0x3C00)),
                TensorBlob.ofFloats("a.weight", new float[] {1.0f, -2.5f, 0.1f, Float.MAX_VALUE}, 2, 2),
                TensorBlob.ofLongs("step", new long[] {7, -1}, 2));
        SafetensorsWriter.write(out, blobs, meta);
        assertArrayEquals(mixedDtypeFixture(), Files.readAllBytes(out));
    }

    @Test
    void headerOrdersByDescendingDtypeThenUtf8NameAndEscapesLikeSerdeJson() {
        List<TensorBlob> ordered = SafetensorsWriter.officialOrder(List.of(
                TensorBlob.of("u", DType.U8, new long[] {0}, new byte[0]),
                TensorBlob.of("i8", DType.I8, new long[] {0}, new byte[0]),
                TensorBlob.of("i16", DType.I16, new long[] {0}, new byte[0]),
                TensorBlob.of("f16", DType.F16, new long[] {0}, new byte[0]),
                TensorBlob.of("bf16", DType.BF16, new long[] {0}, new byte[0]),
                TensorBlob.of("i32", DType.I32, new long[] {0}, new byte[0]),
                TensorBlob.of("f32", DType.F32, new long[] {0}, new byte[0]),
                TensorBlob.of("f64", DType.F64, new long[] {0}, new byte[0]),
                TensorBlob.of("i64", DType.I64, new long[] {0}, new byte[0]),
                TensorBlob.of("bool", DType.BOOL, new long[] {0}, new byte[0]),
                // Rust compares names as UTF-8 bytes: U+FF21 (EF BC A1) before U+1F600 (F0 9F 98 80),
                // although Java's String.compareTo (UTF-16: FF21 > D83D) would put it after
                TensorBlob.of("\uD83D\uDE00", DType.BOOL, new long[] {0}, new byte[0]),
                TensorBlob.of("\uFF21", DType.BOOL, new long[] {0}, new byte[0])));
        assertEquals(
                List.of("i64", "f64", "f32", "i32", "bf16", "f16", "i16", "i8", "u", "bool", "\uFF21", "\uD83D\uDE00"),
                ordered.stream().map(TensorBlob::name).toList());

        byte[] header = SafetensorsWriter.header(
                List.of(TensorBlob.of("a\"b\\c\n\u0001é", DType.U8, new long[] {1}, new byte[1])), null);
        String text = new String(header, StandardCharsets.UTF_8);
        assertEquals(
                "{\"a\\\"b\\\\c\\n\\u0001é\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                text.stripTrailing());
        assertEquals(0, header.length % 8);
    }

    @Test
    void duplicateNamesAreRejectedBeforeWriting() {
        Path out = tmp.resolve("dup.safetensors");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SafetensorsWriter.write(
                        out,
                        List.of(TensorBlob.ofFloats("w", new float[1], 1), TensorBlob.ofFloats("w", new float[1], 1)),
                        null));
        assertTrue(e.getMessage().contains("'w'"));
        assertFalse(Files.exists(out));
    }

    @Test
    void blobWhoseBytesDoNotMatchItsShapeIsRejected() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> TensorBlob.of("w", DType.F32, new long[] {2, 3}, new byte[20]));
        assertTrue(e.getMessage().contains("'w'")
                && e.getMessage().contains("24")
                && e.getMessage().contains("20"));
    }

    @Test
    void dataIsUnusableButSafeAfterClose() throws IOException {
        Path a = write(tmp.resolve("a.safetensors"), bytes(OFFICIAL_ATTN0));
        SafetensorsFile f = SafetensorsFile.open(a);
        MemorySegment seg = f.data("attn.0");
        f.close();
        f.close();
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void nativeMemoryCanBeWrittenThroughASegment() throws IOException {
        Path out = tmp.resolve("native.safetensors");
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(24);
            for (int i = 0; i < 6; i++)
                mem.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, i);
            SafetensorsWriter.write(out, List.of(new TensorBlob("attn.0", DType.F32, new long[] {1, 2, 3}, mem)), null);
        }
        assertArrayEquals(bytes(OFFICIAL_ATTN0), Files.readAllBytes(out));
    }
}
