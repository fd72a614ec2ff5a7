// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, following the format spec, independent of the writer under test. */
final class Fixtures {
    private Fixtures() {}

    /** u64 LE header length, the header bytes as given (no padding added), then {@code data}. */
    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return concat(u64(h.length), h, data);
    }

    /** Like {@link #file(String, byte[])} but the header padded with spaces to a multiple of 8, as the spec's writers do. */
    static byte[] paddedFile(String header, byte[] data) {
        StringBuilder sb = new StringBuilder(header);
        while (sb.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) sb.append(' ');
        return file(sb.toString(), data);
    }

    static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    static byte[] i64(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return b.array();
    }

    /** 16-bit patterns (bf16 or f16), little-endian. */
    static byte[] u16(int... bits) {
        ByteBuffer b = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : bits) b.putShort((short) x);
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    static Path write(Path file, byte[] content) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        return Files.write(file, content);
    }

    /** Opening {@code file} fails with a CheckpointException whose message names the file and contains every fragment. */
    static CheckpointException assertRejected(Path file, String... fragments) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                throw new AssertionError("opened a bad file: " + f.tensors());
            }
        });
        assertMessage(e, file, fragments);
        return e;
    }

    static void assertMessage(Exception e, Path file, String... fragments) {
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), () -> "message does not name " + file + ": " + m);
        for (String f : fragments) assertTrue(m.contains(f), () -> "message lacks '" + f + "': " + m);
    }
}
