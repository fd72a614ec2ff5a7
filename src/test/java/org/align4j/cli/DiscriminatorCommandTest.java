// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.reward.Discriminator;
import org.align4j.reward.DiscriminatorTestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The discriminator command end to end on the real MiniLM encoder. */
class DiscriminatorCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static void writeJsonl(Path file, List<String> prompts, List<String> completions, boolean messages) throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < completions.size(); i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            boolean asMessages = messages && i % 2 == 0; // mix both shapes
            row.put("prompt", asMessages ? List.of(Map.of("role", "user", "content", prompts.get(i))) : prompts.get(i));
            row.put("completion", asMessages ? List.of(Map.of("role", "assistant", "content", completions.get(i))) : completions.get(i));
            lines.add(JSON.writeValueAsString(row));
        }
        Files.write(file, lines);
    }

    @Test
    void trainsSavesAndPrintsHeldOutMetrics(@TempDir Path tmp) throws Exception {
        Path expert = tmp.resolve("expert.jsonl"), policy = tmp.resolve("rollouts.jsonl"), out = tmp.resolve("disc");
        writeJsonl(expert, DiscriminatorTestData.prompts(30, 1), DiscriminatorTestData.expert(30, 2), true);
        writeJsonl(policy, DiscriminatorTestData.prompts(30, 3), DiscriminatorTestData.policy(30, 4), false);
        String[] args = {"discriminator", "--expert_dataset_name", expert.toString(), "--policy_dataset_name", policy.toString(), "--output_dir", out.toString(),
                "--eval_fraction", "0.2", "--epochs", "20", "--seed", "3"};
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            rc = Main.run(args);
        } finally {
            System.setOut(old);
        }
        String printed = buf.toString(StandardCharsets.UTF_8);
        System.err.print(printed);
        assertEquals(0, rc);
        assertTrue(printed.contains("discriminator: held-out accuracy"), printed);
        try (Discriminator d = Discriminator.open(out)) {
            Discriminator.Report r = d.report();
            assertEquals(30, r.expertExamples());
            assertEquals(6, r.eval().expert(), "round(0.2 · 30) held out per class");
            assertTrue(r.eval().accuracy() > 0.9 && r.eval().rocAuc() > 0.9, r.eval().toString());
            assertTrue(printed.contains(String.format("accuracy %.4f, ROC-AUC %.4f", r.eval().accuracy(), r.eval().rocAuc())), printed);
            assertEquals("logistic", d.head().type());
            assertEquals(3, d.config().seed());
        }
        assertEquals(2, Main.run(args), "an existing output_dir is refused without --overwrite_output_dir");
    }

    @Test
    void rowsNeedACompletion(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"q\", \"response\": \"a\"}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> DiscriminatorCommand.run(new String[] {"--expert_dataset_name", bad.toString(),
                "--policy_dataset_name", bad.toString(), "--output_dir", tmp.resolve("o").toString()}));
        assertTrue(e.getMessage().contains("completion") && e.getMessage().contains("bad.jsonl:1"), e.getMessage());
        assertThrows(CliException.class, () -> DiscriminatorCommand.run(new String[] {"--expert_dataset_name", bad.toString(),
                "--policy_dataset_name", bad.toString(), "--output_dir", tmp.resolve("o").toString(), "--head", "svm"}));
        assertEquals(0, Main.run(new String[] {"discriminator", "--help"}), "discriminator is a registered command");
    }
}
