// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** The records of an event file, each checked against its two CRCs. */
    private static List<byte[]> records(Path file) throws Exception {
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
        return records;
    }

    /**
     * A protobuf message's fields by number, decoded by the wire format alone (varint 0, fixed64 1, bytes 2, fixed32
     * 5), independently of the writer: varints as Long, the rest as byte[].
     */
    private static Map<Integer, List<Object>> fields(byte[] msg) {
        Map<Integer, List<Object>> out = new LinkedHashMap<>();
        ByteBuffer b = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3), type = (int) (key & 7);
            Object v = switch (type) {
                case 0 -> varint(b);
                case 1 -> bytes(b, 8);
                case 2 -> bytes(b, (int) varint(b));
                case 5 -> bytes(b, 4);
                default -> throw new AssertionError("wire type " + type + " in field " + field);
            };
            out.computeIfAbsent(field, k -> new ArrayList<>()).add(v);
        }
        return out;
    }

    private static long varint(ByteBuffer b) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b.get();
            v |= (long) (x & 0x7F) << shift;
            if (x >= 0) return v;
        }
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    private static byte[] only(Map<Integer, List<Object>> m, int field) {
        assertEquals(1, m.getOrDefault(field, List.of()).size(), "field " + field + " of " + m.keySet());
        return (byte[]) m.get(field).get(0);
    }

    @Test
    void runsGoToADatedFolderPerStartNamedAsTransformersNamesThem(@TempDir Path tmp) throws Exception {
        String host = TensorBoardWriter.hostname();
        if (Files.isReadable(Path.of("/proc/sys/kernel/hostname")))
            assertEquals(Files.readString(Path.of("/proc/sys/kernel/hostname")).trim(), host, "the real host name");
        Path run = TensorBoardWriter.runDir(tmp.resolve("runs"));
        assertEquals(tmp.resolve("runs"), run.getParent());
        // transformers: os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname())
        assertTrue(
                run.getFileName()
                        .toString()
                        .matches("(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\\d{2}_\\d{2}-\\d{2}-\\d{2}_"
                                + java.util.regex.Pattern.quote(host)),
                run.toString());
        try (TensorBoardWriter a = new TensorBoardWriter(run);
                TensorBoardWriter b = new TensorBoardWriter(run)) {
            a.scalars(1, Map.of("loss", 1.0));
            b.scalars(1, Map.of("loss", 2.0));
        }
        try (var files = Files.list(run)) {
            List<String> names =
                    files.map(f -> f.getFileName().toString()).sorted().toList();
            assertEquals(2, names.size(), "two writers in one second never share a file: " + names);
            for (String n : names)
                assertTrue(
                        n.matches("events\\.out\\.tfevents\\.\\d{10}\\." + java.util.regex.Pattern.quote(host) + "\\."
                                + ProcessHandle.current().pid() + "\\.\\d+"),
                        n);
        }
        // OutputDir: runs/ holding only event files, in dated subfolders, is align4j's; anything else there is not
        assertTrue(OutputDir.isArtifact(tmp.resolve("runs")));
        Files.writeString(run.resolve("notes.txt"), "mine");
        assertFalse(OutputDir.isArtifact(tmp.resolve("runs")));
    }

    @Test
    void theArgsAreATextSummaryAsAddTextWritesIt(@TempDir Path tmp) throws Exception {
        String args = "{\n  \"learning_rate\" : 1.0E-6\n}";
        try (TensorBoardWriter w = new TensorBoardWriter(tmp)) {
            w.text("args", args);
        }
        Path file;
        try (var s = Files.list(tmp)) {
            file = s.findFirst().orElseThrow();
        }
        List<byte[]> recs = records(file);
        assertEquals(2, recs.size());
        var event = fields(recs.get(1));
        assertEquals(0L, event.get(2).get(0), "step 0");
        var value = fields(only(fields(only(event, 5)), 1)); // Event.summary -> Summary.value
        assertEquals("args/text_summary", new String(only(value, 1), StandardCharsets.UTF_8));
        var plugin = fields(only(fields(only(value, 9)), 1)); // SummaryMetadata.plugin_data
        assertEquals("text", new String(only(plugin, 1), StandardCharsets.UTF_8));
        var tensor = fields(only(value, 8));
        assertEquals(7L, tensor.get(1).get(0), "dtype DT_STRING");
        var dim = fields(only(fields(only(tensor, 2)), 2)); // TensorShapeProto.dim
        assertEquals(1L, dim.get(1).get(0), "shape [1]");
        assertEquals(args, new String(only(tensor, 8), StandardCharsets.UTF_8), "string_val");
    }
}
