// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.align4j.data.DatasetException;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sft command's data keys end to end on the tiny golden llama: parquet folders, loss masks, packing, skipping. */
class SftCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String model() {
        return Golden.resourceDir("golden/llama-tiny").toString();
    }

    /** A Hugging Face style folder: data/train-00000-of-00001.parquet with a list-of-struct messages column; row 3 starts with an assistant turn. */
    private static Path chatFolder(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("chat/data"));
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = c.createStatement()) {
            st.execute("""
                    COPY (SELECT * FROM (VALUES
                      ([{'role': 'user', 'content': '1+1='}, {'role': 'assistant', 'content': '2'}]),
                      ([{'role': 'user', 'content': '2+3='}, {'role': 'assistant', 'content': '5'}]),
                      ([{'role': 'assistant', 'content': 'no question first'}]),
                      ([{'role': 'user', 'content': '4+4='}, {'role': 'assistant', 'content': '8'}, {'role': 'user', 'content': 'and 1+2='},
                        {'role': 'assistant', 'content': '3'}])
                    ) t(messages)) TO '%s' (FORMAT parquet)""".formatted(dir.resolve("train-00000-of-00001.parquet")));
        }
        return dir.getParent();
    }

    private static List<JsonNode> metrics(Path out) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) rows.add(JSON.readTree(line));
        return rows;
    }

    /** Runs the command and returns what it printed on stderr. */
    private static String run(String... args) throws Exception {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            SftCommand.run(args);
        } finally {
            System.setErr(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void parquetConversationsTrainWithAssistantOnlyLossPackingAndSkippedRows(@TempDir Path tmp) throws Exception {
        Path data = chatFolder(tmp), out = tmp.resolve("run");
        String log = run(
                "--model_name_or_path",
                model(),
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--assistant_only_loss",
                "true",
                "--packing",
                "true",
                "--max_length",
                "64",
                "--skip_invalid_rows",
                "true",
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "1",
                "--logging_steps",
                "1",
                "--learning_rate",
                "1e-3");
        assertTrue(log.contains("sft: 3 rows from"), log);
        assertTrue(
                log.contains("1 invalid row(s) skipped; first: ")
                        && log.contains("train-00000-of-00001.parquet:3")
                        && log.contains("messages[0] is an assistant turn"),
                log);
        assertTrue(log.contains("packed 3 sequences into 2 rows of up to 64 tokens"), log);
        List<JsonNode> m = metrics(out);
        assertEquals(2, m.size());
        for (JsonNode r : m)
            assertTrue(
                    Double.isFinite(r.get("loss").asDouble()) && r.get("loss").asDouble() > 0, r.toString());
        JsonNode saved = JSON.readTree(out.resolve("training_args.json").toFile());
        assertTrue(
                saved.get("assistant_only_loss").asBoolean()
                        && saved.get("packing").asBoolean(),
                saved.toString());
        try (Transformer t = Checkpoints.load(out)) {
            assertTrue(t.numParameters() > 0);
        }
    }

    @Test
    void withoutSkipInvalidRowsTheFirstBadRowStopsTheRun(@TempDir Path tmp) throws Exception {
        Path data = chatFolder(tmp);
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> run(
                        "--model_name_or_path",
                        model(),
                        "--dataset_name",
                        data.toString(),
                        "--output_dir",
                        tmp.resolve("o").toString(),
                        "--assistant_only_loss",
                        "true",
                        "--max_steps",
                        "1"));
        assertTrue(
                e.getMessage().contains("train-00000-of-00001.parquet:3")
                        && e.getMessage().contains("messages[0]"),
                e.getMessage());
        e = assertThrows(
                DatasetException.class,
                () -> run(
                        "--model_name_or_path",
                        model(),
                        "--dataset_name",
                        data.toString(),
                        "--dataset_train_split",
                        "test",
                        "--output_dir",
                        tmp.resolve("o").toString(),
                        "--max_steps",
                        "1"));
        assertTrue(
                e.getMessage().contains("no files for split 'test'")
                        && e.getMessage().contains("[data, train]"),
                e.getMessage());
    }

    @Test
    void linesThatCannotBeReadStopTheRunOrAreSkippedAndCounted(@TempDir Path tmp) throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        bytes.writeBytes(
                "{\"prompt\": \"1+1=\", \"completion\": \"2\"}\n{\"prompt\": \"caf".getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes(new byte[] {(byte) 0xE9, (byte) 0xFF}); // Latin-1 on line 2: never replaced by U+FFFD
        bytes.writeBytes(("=\", \"completion\": \"x\"}\n{\"prompt\": \"2+2=\", \"completion\": \n[1, 2]\n"
                        + "{\"prompt\": \"3+3=\", \"completion\": \"6\"}\n")
                .getBytes(StandardCharsets.UTF_8));
        Path data = Files.write(tmp.resolve("bad.jsonl"), bytes.toByteArray());
        String[] base = {
            "--model_name_or_path",
            model(),
            "--dataset_name",
            data.toString(),
            "--max_steps",
            "1",
            "--per_device_train_batch_size",
            "2",
            "--output_dir"
        };
        DatasetException e = assertThrows(DatasetException.class, () -> run(concat(base, tmp.resolve("a"))));
        assertTrue(e.getMessage().startsWith(data + ":2: not valid UTF-8"), e.getMessage());
        String log = run(concat(base, tmp.resolve("b"), "--skip_invalid_rows", "true"));
        assertTrue(log.contains("sft: 2 rows from"), log);
        assertTrue(
                log.contains("3 invalid row(s) skipped; first: " + data + ":2: not valid UTF-8")
                        && log.contains(data + ":3: malformed JSON")
                        && log.contains(data + ":4: each line must be a JSON object"),
                log);
    }

    private static String[] concat(String[] base, Path out, String... more) {
        List<String> all = new ArrayList<>(List.of(base));
        all.add(out.toString());
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void textFieldAndTruncationKeysAreHonouredAndCheckedForTypos(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("lm.jsonl");
        Files.writeString(
                data, "{\"body\": \"a long language modeling text that will be cut\"}\n{\"body\": \"short\"}\n");
        Path out = tmp.resolve("run");
        String log = run(
                "--model_name_or_path",
                model(),
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--dataset_text_field",
                "body",
                "--max_length",
                "8",
                "--truncation_mode",
                "keep_end",
                "--max_steps",
                "1",
                "--per_device_train_batch_size",
                "2");
        assertTrue(log.contains("sft: 2 rows from") && log.contains("1 truncated to max_length 8, keep_end"), log);
        // one batch of both rows; num_tokens counts every token fed, as TRL's (attention-mask sum): the cut row's 8 and
        // the short row's own
        try (org.align4j.tokenizer.Tokenizer tok = org.align4j.tokenizer.Tokenizer.load(Path.of(model()))) {
            int shortTokens = tok.encode("short").length + 1; // its tokens + EOS
            assertEquals(8 + shortTokens, metrics(out).get(0).get("num_tokens").asInt());
        }
        CliException c = assertThrows(
                CliException.class,
                () -> run(
                        "--model_name_or_path",
                        model(),
                        "--dataset_name",
                        data.toString(),
                        "--output_dir",
                        tmp.resolve("o").toString(),
                        "--truncation_mode",
                        "keep_middle"));
        assertTrue(c.getMessage().contains("keep_start or keep_end"), c.getMessage());
        c = assertThrows(
                CliException.class,
                () -> run(
                        "--model_name_or_path",
                        model(),
                        "--dataset_name",
                        data.toString(),
                        "--output_dir",
                        tmp.resolve("o").toString(),
                        "--packing",
                        "true",
                        "--packing_strategy",
                        "wrapped"));
        assertTrue(
                c.getMessage().contains("packing_strategy 'wrapped'")
                        && c.getMessage().contains("bfd"),
                c.getMessage());
    }
}
