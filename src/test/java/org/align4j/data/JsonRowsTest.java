// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.align4j.data.JsonRows.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad bytes in dataset files: never silently changed; an error naming file and line, or with
 * skip_invalid_rows an unreadable row that encodeAll counts and reports (review-reliability.md
 * 1.3, defect 5).
 */
class JsonRowsTest {
    @TempDir
    Path tmp;

    private static byte[] bytes(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String p : parts) out.writeBytes(p.getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    /** Line 2 holds "caf\xE9 \xFF\xFE": Latin-1, not UTF-8. */
    private static byte[] latin1OnLine2() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes("{\"text\": \"a\"}\n{\"text\": \"caf"));
        out.writeBytes(new byte[] {(byte) 0xE9, ' ', (byte) 0xFF, (byte) 0xFE});
        out.writeBytes(bytes("\"}\n{\"text\": \"c\"}\n"));
        return out.toByteArray();
    }

    private static String texts(List<Row> rows) {
        return String.join(",", rows.stream().map(r -> r.text("text")).toList());
    }

    @Test
    void bytesThatAreNotUtf8AreAnErrorNamingFileAndLine() throws Exception {
        Path jsonl = Files.write(tmp.resolve("latin1.jsonl"), latin1OnLine2());
        DatasetException e = assertThrows(DatasetException.class, () -> JsonRows.read(jsonl));
        assertTrue(
                e.getMessage().startsWith(jsonl + ":2: not valid UTF-8 (byte 0xE9 at byte 14 of the line)"),
                e.getMessage());

        Path gz = tmp.resolve("latin1.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(latin1OnLine2());
        }
        e = assertThrows(DatasetException.class, () -> JsonRows.read(gz));
        assertTrue(e.getMessage().startsWith(gz + ":2: not valid UTF-8"), e.getMessage());

        byte[] array = bytes("[{\"text\": \"a\"},\n{\"text\": \"\uD83D\uDE00 ok\"},\n{\"text\": \"x");
        byte[] bad = new byte[array.length + 3];
        System.arraycopy(array, 0, bad, 0, array.length);
        bad[array.length] = (byte) 0xED; // an encoded surrogate (CESU-8): Java and Python both refuse it
        bad[array.length + 1] = (byte) 0xA0;
        bad[array.length + 2] = (byte) 0x80;
        Path json = Files.write(tmp.resolve("surrogate.json"), bad);
        e = assertThrows(DatasetException.class, () -> JsonRows.read(json));
        assertTrue(e.getMessage().startsWith(json + ":3: not valid UTF-8 (byte 0xED at byte 12"), e.getMessage());
    }

    @Test
    void withSkipTheLinesThatCannotBeReadAreCountedAndNamed() throws Exception {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.writeBytes(latin1OnLine2()); // lines 1-3, line 2 not UTF-8
        file.writeBytes(bytes("{\"text\": \"d\"\n", "[1, 2, 3]\n", "{\"text\": \"e\"} {\"text\": \"f\"}\n"));
        file.writeBytes(bytes("\n{\"text\": \"g\"}\n"));
        Path f = Files.write(tmp.resolve("mixed.jsonl"), file.toByteArray());

        DatasetException strict = assertThrows(DatasetException.class, () -> JsonRows.read(f));
        assertTrue(strict.getMessage().startsWith(f + ":2: not valid UTF-8"), strict.getMessage());

        List<Row> rows = JsonRows.read(f, true);
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 8), rows.stream().map(Row::line).toList());
        Encoded<String> encoded = Encoder.encodeAll(rows, r -> r.text("text"), true);
        assertEquals(List.of("a", "c", "g"), encoded.items());
        assertEquals(4, encoded.skipped());
        List<String> errors = encoded.errors();
        assertTrue(errors.get(0).startsWith(f + ":2: not valid UTF-8"), errors.get(0));
        assertTrue(errors.get(1).startsWith(f + ":4: malformed JSON"), errors.get(1));
        assertEquals(f + ":5: each line must be a JSON object, found a list", errors.get(2));
        assertTrue(
                errors.get(3).startsWith(f + ":6: malformed JSON")
                        && errors.get(3).contains("Trailing token"),
                "a second value on a line is not dropped silently: " + errors.get(3));

        DatasetException noSkip =
                assertThrows(DatasetException.class, () -> Encoder.encodeAll(rows, r -> r.text("text"), false));
        assertTrue(noSkip.getMessage().startsWith(f + ":2: not valid UTF-8"), noSkip.getMessage());
        assertThrows(DatasetException.class, () -> rows.get(1).json(), "an unreadable row has no content to read");
    }

    @Test
    void aJsonArrayKeepsElementsThatAreNotObjectsOnlyAsUnreadableRows() throws Exception {
        Path f = Files.writeString(tmp.resolve("d.json"), "[{\"text\": \"a\"}, 5, {\"text\": \"b\"}]");
        DatasetException e = assertThrows(DatasetException.class, () -> JsonRows.read(f));
        assertEquals(f + ": element 2 is not an object, found a number (5)", e.getMessage());
        Encoded<String> encoded = Encoder.encodeAll(JsonRows.read(f, true), r -> r.text("text"), true);
        assertEquals(List.of("a", "b"), encoded.items());
        assertEquals(List.of(f + ": element 2 is not an object, found a number (5)"), encoded.errors());
        Path trailing = Files.writeString(tmp.resolve("t.json"), "[{\"text\": \"a\"}]\n[{\"text\": \"b\"}]");
        e = assertThrows(DatasetException.class, () -> JsonRows.read(trailing, true));
        assertTrue(e.getMessage().startsWith(trailing + ":2: malformed JSON"), e.getMessage());
    }

    @Test
    void aValidThirtyMegabyteStringIsRead() throws Exception {
        String big = "x".repeat(30_000_000);
        Path f = Files.writeString(tmp.resolve("big.jsonl"), "{\"text\": \"a\"}\n{\"text\": \"" + big + "\"}\n");
        List<Row> rows = JsonRows.read(f);
        assertEquals(30_000_000, rows.get(1).text("text").length());
        assertEquals(2, rows.get(1).line());
    }

    @Test
    void limitsSayWhichLimitAndThatTheJsonIsNotMalformed() throws Exception {
        String deep = "{\"text\": \"a\", \"x\": " + "[".repeat(1001) + "]".repeat(1001) + "}";
        String longNumber = "{\"text\": \"a\", \"x\": " + "1".repeat(1001) + "}";
        Path f = Files.writeString(tmp.resolve("limits.jsonl"), deep + "\n" + longNumber + "\n");
        List<Row> rows = JsonRows.read(f, true);
        String depth = rows.get(0).problem(), number = rows.get(1).problem();
        assertTrue(
                depth.startsWith(f + ":1: this may be valid JSON, but it has lists and objects nested more than"
                                + " 1000 levels deep, past align4j's limit")
                        && !depth.contains("malformed"),
                depth);
        assertTrue(
                number.startsWith(f + ":2: this may be valid JSON, but it has a number longer than 1000 characters"),
                number);
    }

    @Test
    void lineEndingsAreCountedAsBeforeAndBomAndNulAreNamed() throws Exception {
        Path f = Files.writeString(
                tmp.resolve("eol.jsonl"),
                "{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r{\"text\": \"c\"}\n\r\n{\"text\": \"d\"}");
        List<Row> rows = JsonRows.read(f);
        assertEquals("a,b,c,d", texts(rows));
        assertEquals(List.of(1, 2, 3, 5), rows.stream().map(Row::line).toList());

        Path bom = Files.writeString(tmp.resolve("bom.jsonl"), "\uFEFF{\"text\": \"a\"}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> JsonRows.read(bom));
        assertTrue(
                e.getMessage().startsWith(bom + ":1: malformed JSON")
                        && e.getMessage().contains("byte-order mark"),
                e.getMessage());
        Path nul = Files.writeString(tmp.resolve("nul.jsonl"), "{\"text\": \"a\"}\n\0{\"text\": \"b\"}\n");
        e = assertThrows(DatasetException.class, () -> JsonRows.read(nul));
        assertTrue(e.getMessage().startsWith(nul + ":2: malformed JSON"), e.getMessage());
        assertFalse(JsonRows.read(nul, true).get(1).readable());
    }

    @Test
    void aDamagedGzipNamesTheLineItStoppedAt() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (OutputStream out = new GZIPOutputStream(buf)) {
            for (int i = 0; i < 2000; i++) out.write(bytes("{\"text\": \"row " + i + "\"}\n"));
        }
        byte[] whole = buf.toByteArray();
        Path cut = Files.write(tmp.resolve("cut.jsonl.gz"), java.util.Arrays.copyOf(whole, whole.length / 2));
        DatasetException e = assertThrows(DatasetException.class, () -> JsonRows.read(cut, true));
        assertTrue(e.getMessage().matches("(?s)\\Q" + cut + "\\E:\\d+: cannot read this line: .*"), e.getMessage());
    }
}
