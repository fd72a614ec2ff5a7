// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line refuses nonsense before it runs (review-reliability defects 1, 2, 3, 10): each case exits 2 (or 1
 * for a file problem) with a message naming the key or path, and no output is written.
 */
class CommandLineSafetyTest {
    private static final Path MODEL = Golden.resourceDir("golden/llama-tiny");

    /** Runs the CLI, returning {exit code, stderr}. */
    private static Object[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int rc = Main.run(args);
            return new Object[] {rc, buf.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(err);
        }
    }

    private static Path data(Path tmp) throws Exception {
        Path f = tmp.resolve("pc.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++)
            sb.append("{\"prompt\": \"")
                    .append(i)
                    .append('+')
                    .append(i)
                    .append("=\", \"completion\": \"")
                    .append(2 * i)
                    .append("\"}\n");
        Files.writeString(f, sb);
        return f;
    }

    private static String[] sft(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "sft",
                "--model_name_or_path",
                MODEL.toString(),
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "1",
                "--save_steps",
                "0",
                "--per_device_train_batch_size",
                "4"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void numbersOutOfRangeAreRefusedNamingTheKey(@TempDir Path tmp) throws Exception {
        Path d = data(tmp), out = tmp.resolve("out");
        String[][] cases = {
            {"--learning_rate", "NaN", "learning_rate"},
            {"--learning_rate", "Infinity", "learning_rate"},
            {"--learning_rate", "1e300", "learning_rate"},
            {"--max_grad_norm", "NaN", "max_grad_norm"},
            {"--lora_alpha", "NaN", "lora_alpha"},
            {"--num_train_epochs", "Infinity", "num_train_epochs"},
            {"--warmup_steps", "-3", "warmup_steps"},
            {"--save_steps", "-1", "save_steps"},
            {"--max_steps", "-5", "max_steps"},
            {"--per_device_train_batch_size", "0", "per_device_train_batch_size"},
            {"--save_total_limit", "0", "save_total_limit"},
        };
        for (String[] c : cases) {
            Object[] r = run(sft(d, out, c[0], c[1]));
            assertEquals(2, r[0], c[0] + " " + c[1] + ": " + r[1]);
            assertTrue(((String) r[1]).contains(c[2]), c[0] + " " + c[1] + ": " + r[1]);
            assertFalse(Files.exists(out.resolve("metrics.jsonl")), "nothing ran");
        }
    }

    @Test
    void generateAndLogprobsRefuseABatchSizeBelowOne(@TempDir Path tmp) throws Exception {
        Path d = data(tmp);
        for (String command : new String[] {"generate", "logprobs"})
            for (String bs : new String[] {"0", "-2"}) {
                Object[] r = run(
                        command,
                        "--model_name_or_path",
                        MODEL.toString(),
                        "--dataset_name",
                        d.toString(),
                        "--output_file",
                        tmp.resolve("o.jsonl").toString(),
                        "--per_device_eval_batch_size",
                        bs);
                assertEquals(2, r[0], command + " " + bs);
                assertTrue(((String) r[1]).contains("per_device_eval_batch_size must be >= 1"), (String) r[1]);
            }
    }

    @Test
    void anOutputDirThatHoldsTheInputsIsRefusedAndNothingIsDeleted(@TempDir Path tmp) throws Exception {
        // a copy of the model with a note and the training data inside it
        Path proj = tmp.resolve("proj");
        Files.createDirectories(proj.resolve("mydata"));
        try (var files = Files.list(MODEL)) {
            for (Path f : files.toList()) Files.copy(f, proj.resolve(f.getFileName()));
        }
        Files.writeString(proj.resolve("NOTES.txt"), "precious");
        Path d = data(proj.resolve("mydata"));
        Object[] r = run(
                "sft",
                "--model_name_or_path",
                proj.toString(),
                "--dataset_name",
                d.toString(),
                "--output_dir",
                proj.toString(),
                "--max_steps",
                "1",
                "--overwrite_output_dir",
                "true");
        assertEquals(2, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("is an input of this run"), (String) r[1]);
        assertTrue(Files.exists(proj.resolve("NOTES.txt")) && Files.exists(proj.resolve("tokenizer.json")));
        assertTrue(Files.exists(d));
        Object[] up = run(sft(d, tmp, "--overwrite_output_dir", "true"));
        assertEquals(2, up[0], (String) up[1]);
        assertTrue(((String) up[1]).contains("contains an input of this run"), (String) up[1]);
    }

    @Test
    void maxGradNormZeroTrains(@TempDir Path tmp) throws Exception {
        Path d = data(tmp), out = tmp.resolve("out");
        Object[] r = run(sft(
                d, out, "--max_steps", "3", "--learning_rate", "1e-3", "--logging_steps", "1", "--max_grad_norm", "0"));
        assertEquals(0, r[0], (String) r[1]);
        List<String> rows = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(3, rows.size());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        double first = json.readTree(rows.get(0)).get("loss").asDouble(),
                last = json.readTree(rows.get(2)).get("loss").asDouble();
        assertTrue(last < first, "max_grad_norm 0 means no clipping, not a frozen model: " + first + " -> " + last);
    }
}
