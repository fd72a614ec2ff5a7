// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.align4j.data.JsonRows.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading local dataset files and Hugging Face style folders; every error names the file (and line). */
class DatasetsTest {

    /** Writes a parquet file with DuckDB: {@code select} is any SELECT. */
    static void parquet(Path file, String select) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement()) {
            st.execute("COPY (" + select + ") TO '" + file.toString().replace("'", "''") + "' (FORMAT parquet)");
        }
    }

    private static final String MESSAGES_PARQUET = """
            SELECT * FROM (VALUES
              (1, [{'role': 'user', 'content': 'hi', 'name': NULL}, {'role': 'assistant', 'content': 'hello', 'name': NULL}], 0.5),
              (2, [{'role': 'system', 'content': 'be brief', 'name': 'sys'}, {'role': 'user', 'content': '2+2?', 'name': NULL},
                   {'role': 'assistant', 'content': '4', 'name': NULL}], NULL)
            ) t(id, messages, score)""";

    @Test
    void parquetRowsBecomeJsonObjectsWithNestedListsOfStructs(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("chat.parquet");
        parquet(f, MESSAGES_PARQUET);
        List<Row> rows = Datasets.read(f, "train");
        assertEquals(2, rows.size());
        Row second = rows.get(1);
        assertEquals(2, second.line(), "Row.line is the 1-based row number");
        assertEquals(f, second.file());
        assertEquals(2, second.json().get("id").asInt());
        assertEquals(3, second.json().get("messages").size());
        assertEquals("system", second.json().get("messages").get(0).get("role").asText());
        assertEquals("sys", second.json().get("messages").get(0).get("name").asText());
        assertEquals("4", second.json().get("messages").get(2).get("content").asText());
        // Arrow's nulls for struct keys a message lacks are dropped (TRL's remove_none_values) ...
        assertFalse(second.json().get("messages").get(1).has("name"));
        assertFalse(rows.get(0).json().get("messages").get(0).has("name"));
        // ... top-level nulls stay as nulls, which Row.has treats as absent
        assertTrue(second.json().get("score").isNull());
        assertFalse(second.has("score"));
        assertEquals(0.5, rows.get(0).json().get("score").asDouble());
        assertTrue(DatasetShape.isConversational(second));
    }

    @Test
    void jsonlGzAndJsonArraysAreRead(@TempDir Path tmp) throws Exception {
        Path gz = tmp.resolve("d.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write("{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        List<Row> rows = Datasets.read(gz, "train");
        assertEquals(List.of("a", "b"), rows.stream().map(r -> r.text("text")).toList());
        assertEquals(3, rows.get(1).line(), "a blank line still counts as a line");
        Path json = tmp.resolve("d.json");
        Files.writeString(json, "[{\"prompt\": \"p\"}, {\"prompt\": \"q\"}]");
        assertEquals("q", Datasets.read(json, "train").get(1).text("prompt"));
    }

    @Test
    void aFolderYieldsTheFilesOfTheRequestedSplitInPathOrder(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("data"));
        parquet(tmp.resolve("data/train-00000-of-00002.parquet"), "SELECT 'a' AS text UNION ALL SELECT 'b'");
        parquet(tmp.resolve("data/train-00001-of-00002.parquet"), "SELECT 'c' AS text");
        Files.writeString(tmp.resolve("test.jsonl"), "{\"text\": \"t\"}\n");
        Files.writeString(tmp.resolve("test_socratic.jsonl"), "{\"text\": \"not a split of its own\"}\n");
        Files.createDirectories(tmp.resolve(".cache"));
        Files.writeString(tmp.resolve(".cache/train.jsonl"), "{\"text\": \"hidden\"}\n");
        Files.writeString(tmp.resolve("README.md"), "# not data");
        List<Row> train = Datasets.read(tmp, "train");
        assertEquals(
                List.of("a", "b", "c"), train.stream().map(r -> r.text("text")).toList());
        assertEquals(1, train.get(2).line());
        assertTrue(train.get(2).file().endsWith("train-00001-of-00002.parquet"));
        assertEquals(
                List.of("t"),
                Datasets.read(tmp, "test").stream().map(r -> r.text("text")).toList());
        // a folder named after the split
        Path byFolder = tmp.resolve("other");
        Files.createDirectories(byFolder.resolve("validation"));
        Files.writeString(byFolder.resolve("validation/part.jsonl"), "{\"text\": \"v\"}\n");
        assertEquals("v", Datasets.read(byFolder, "validation").get(0).text("text"));
    }

    @Test
    void aMissingSplitListsTheSplitsThatExist(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("train.jsonl"), "{\"text\": \"a\"}\n");
        Files.writeString(tmp.resolve("test.jsonl"), "{\"text\": \"a\"}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.read(tmp, "validation"));
        assertTrue(e.getMessage().contains("'validation'") && e.getMessage().contains("[test, train]"), e.getMessage());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(DatasetException.class, () -> Datasets.read(empty, "train"));
        assertTrue(e.getMessage().contains("holds no") && e.getMessage().contains(".parquet"), e.getMessage());
    }

    @Test
    void badFilesAreNamedWithTheirLine(@TempDir Path tmp) throws Exception {
        Path jsonl = tmp.resolve("bad.jsonl");
        Files.writeString(jsonl, "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.read(jsonl, "train"));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("malformed JSON"), e.getMessage());
        Path notObject = tmp.resolve("list.jsonl");
        Files.writeString(notObject, "[1, 2]\n");
        e = assertThrows(DatasetException.class, () -> Datasets.read(notObject, "train"));
        assertTrue(e.getMessage().contains("list.jsonl:1") && e.getMessage().contains("JSON object"), e.getMessage());
        Path csv = tmp.resolve("d.csv");
        Files.writeString(csv, "a,b\n");
        e = assertThrows(DatasetException.class, () -> Datasets.read(csv, "train"));
        assertTrue(e.getMessage().contains("d.csv") && e.getMessage().contains(".parquet"), e.getMessage());
        Path corrupt = tmp.resolve("corrupt.parquet");
        Files.writeString(corrupt, "this is not parquet");
        e = assertThrows(DatasetException.class, () -> Datasets.read(corrupt, "train"));
        assertTrue(e.getMessage().contains("corrupt.parquet"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.read(tmp.resolve("absent.jsonl"), "train"));
        assertTrue(
                e.getMessage().contains("absent.jsonl") && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void missingAndMistypedFieldsNameFileLineAndField(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("rows.parquet");
        parquet(f, "SELECT 'p' AS prompt, 1 AS completion UNION ALL SELECT 'q', 2");
        Row row = Datasets.read(f, "train").get(1);
        DatasetException e = assertThrows(DatasetException.class, () -> row.require("chosen"));
        assertTrue(
                e.getMessage().contains("rows.parquet:2")
                        && e.getMessage().contains("'chosen'")
                        && e.getMessage().contains("[prompt, completion]"),
                e.getMessage());
        e = assertThrows(DatasetException.class, () -> row.text("completion"));
        assertTrue(
                e.getMessage().contains("rows.parquet:2")
                        && e.getMessage().contains("'completion' must be a string")
                        && e.getMessage().contains("number"),
                e.getMessage());
    }
}
