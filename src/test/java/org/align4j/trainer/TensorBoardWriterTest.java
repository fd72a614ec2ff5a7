// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorBoardWriterTest {
    @Test
    void maskedCrcMatchesTensorflowsTestVector() {
        // crc32c("a") = 0xc1d04330 (RFC 3720 polynomial); masked: rotr15 + 0xa282ead8
        int c = 0xc1d04330;
        assertEquals(
                ((c >>> 15) | (c << 17)) + 0xa282ead8,
                TensorBoardWriter.maskedCrc("a".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void recordsAreFramedWithValidCrcsAndCarryTagStepAndValue(@TempDir Path tmp) throws Exception {
        try (TensorBoardWriter w = new TensorBoardWriter(tmp)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", 7);
            m.put("loss", 1.5);
            m.put("note", "skipped");
            w.scalars(7, m);
        }
        Path file;
        try (var s = Files.list(tmp)) {
            file = s.findFirst().orElseThrow();
        }
        assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."));
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> records = new ArrayList<>();
        while (buf.hasRemaining()) {
            byte[] len = new byte[8];
            buf.get(len);
            assertEquals(TensorBoardWriter.maskedCrc(len), buf.getInt(), "length crc");
            byte[] data = new byte
                    [(int) ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong()];
            buf.get(data);
            assertEquals(TensorBoardWriter.maskedCrc(data), buf.getInt(), "data crc");
            records.add(data);
        }
        assertEquals(2, records.size(), "file_version event + one scalar (the string and step are not scalars)");
        String first = new String(records.get(0), StandardCharsets.ISO_8859_1),
                second = new String(records.get(1), StandardCharsets.ISO_8859_1);
        assertTrue(first.contains("brain.Event:2"));
        assertTrue(second.contains("train/loss"));
        // step = field 2 varint: tag 0x10 then 7
        assertTrue(second.contains("\u0010\u0007"));
        // simple_value = field 2 fixed32 (tag 0x15) then 1.5f little-endian
        byte[] v = ByteBuffer.allocate(5)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) 0x15)
                .putFloat(1.5f)
                .array();
        assertTrue(second.contains(new String(v, StandardCharsets.ISO_8859_1)));
    }
}
