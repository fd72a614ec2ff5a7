// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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
import org.align4j.aapa.Discriminator;
import org.align4j.aapa.DiscriminatorTestData;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.data.DatasetException;
import org.align4j.io.HfJson;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The discriminator command end to end: the sentence_encoder kind on the real MiniLM encoder, the causal_lm kind on the
 * tiny golden causal LM (golden/qwen3-tiny).
 */
class DiscriminatorCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static void writeJsonl(Path file, List<String> prompts, List<String> completions, boolean messages)
            throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < completions.size(); i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            boolean asMessages = messages && i % 2 == 0; // mix both shapes
            row.put("prompt", asMessages ? List.of(Map.of("role", "user", "content", prompts.get(i))) : prompts.get(i));
            row.put(
                    "completion",
                    asMessages
                            ? List.of(Map.of("role", "assistant", "content", completions.get(i)))
                            : completions.get(i));
            lines.add(JSON.writeValueAsString(row));
        }
        Files.write(file, lines);
    }

    @Test
    void trainsSavesAndPrintsHeldOutMetrics(@TempDir Path tmp) throws Exception {
        Path expert = tmp.resolve("expert.jsonl"), policy = tmp.resolve("rollouts.jsonl"), out = tmp.resolve("disc");
        writeJsonl(expert, DiscriminatorTestData.prompts(30, 1), DiscriminatorTestData.expert(30, 2), true);
        writeJsonl(policy, DiscriminatorTestData.prompts(30, 3), DiscriminatorTestData.policy(30, 4), false);
        String[] args = {
            "discriminator",
            "--expert_dataset_name",
            expert.toString(),
            "--policy_dataset_name",
            policy.toString(),
            "--output_dir",
            out.toString(),
            "--eval_fraction",
            "0.2",
            "--epochs",
            "20",
            "--seed",
            "3"
        };
        var run = runPrinting(args);
        String printed = run.getValue();
        assertEquals(0, run.getKey());
        assertTrue(printed.contains("discriminator: held-out accuracy"), printed);
        try (EncoderDiscriminator d = EncoderDiscriminator.open(out)) {
            EncoderDiscriminator.Report r = d.report();
            assertEquals(30, r.expertExamples());
            assertEquals(6, r.eval().expert(), "round(0.2 · 30) held out per class");
            assertTrue(
                    r.eval().accuracy() > 0.9 && r.eval().rocAuc() > 0.9,
                    r.eval().toString());
            assertTrue(
                    printed.contains(String.format(
                            "accuracy %.4f, ROC-AUC %.4f",
                            r.eval().accuracy(), r.eval().rocAuc())),
                    printed);
            assertEquals("logistic", d.head().type());
            assertEquals(3, d.config().seed());
        }
        assertEquals(2, Main.run(args), "an existing output_dir is refused without --overwrite_output_dir");
    }

    @Test
    void rowsNeedACompletion(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"q\", \"response\": \"a\"}\n");
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> DiscriminatorCommand.run(new String[] {
                    "--expert_dataset_name",
                    bad.toString(),
                    "--policy_dataset_name",
                    bad.toString(),
                    "--output_dir",
                    tmp.resolve("o").toString()
                }));
        assertTrue(e.getMessage().contains("completion") && e.getMessage().contains("bad.jsonl:1"), e.getMessage());
        assertThrows(
                CliException.class,
                () -> DiscriminatorCommand.run(new String[] {
                    "--expert_dataset_name",
                    bad.toString(),
                    "--policy_dataset_name",
                    bad.toString(),
                    "--output_dir",
                    tmp.resolve("o").toString(),
                    "--head",
                    "svm"
                }));
        assertEquals(0, Main.run(new String[] {"discriminator", "--help"}), "discriminator is a registered command");
    }

    /** Runs the command through Main; returns its exit code and what it printed to stdout. */
    private static Map.Entry<Integer, String> runPrinting(String... args) {
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
        return Map.entry(rc, printed);
    }

    @Test
    void causalLmKindTrainsASequenceClassifierFolderThatOpensByKind(@TempDir Path tmp) throws Exception {
        Path expert = tmp.resolve("expert.jsonl"), policy = tmp.resolve("rollouts.jsonl"), out = tmp.resolve("disc");
        writeJsonl(expert, DiscriminatorTestData.prompts(16, 1), DiscriminatorTestData.expert(16, 2), true);
        writeJsonl(policy, DiscriminatorTestData.prompts(16, 3), DiscriminatorTestData.policy(16, 4), false);
        var r = runPrinting(
                "discriminator",
                "--discriminator_type",
                "causal_lm",
                "--model_name_or_path",
                Golden.resourceDir("golden/qwen3-tiny").toString(),
                "--expert_dataset_name",
                expert.toString(),
                "--policy_dataset_name",
                policy.toString(),
                "--output_dir",
                out.toString(),
                "--epochs",
                "4",
                "--learning_rate",
                "3e-3",
                "--eval_fraction",
                "0.25",
                "--max_length",
                "300",
                "--seed",
                "5");
        assertEquals(0, r.getKey());
        JsonNode dj = HfJson.readJson(out.resolve(EncoderDiscriminator.CONFIG_FILE)), ev = dj.get("eval_metrics");
        assertEquals("causal_lm", dj.get("kind").asText());
        assertEquals(4, ev.get("expert").asInt(), "round(0.25 · 16) expert examples held out");
        assertTrue(ev.get("accuracy").asDouble() >= 0.8 && ev.get("roc_auc").asDouble() >= 0.9, ev.toString());
        assertTrue(
                r.getValue()
                        .contains(String.format(
                                "held-out accuracy %.4f, ROC-AUC %.4f",
                                ev.get("accuracy").asDouble(), ev.get("roc_auc").asDouble())),
                r.getValue());
        JsonNode t = dj.get("training");
        assertEquals(3e-3, t.get("learning_rate").asDouble());
        assertEquals(4.0, t.get("epochs").asDouble());
        assertEquals(8, t.get("batch_size").asInt(), "causal_lm's default batch size");
        assertEquals(300, t.get("max_length").asInt());
        JsonNode args = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals("causal_lm", args.get("discriminator_type").asText());
        assertFalse(
                args.has("head") || args.has("encoder_batch_size"), "the other kind's keys are not recorded: " + args);
        try (Discriminator d = Discriminator.open(out)) {
            assertEquals(Discriminator.CAUSAL_LM, d.kind());
            double[] z = d.logits(
                    List.of("Q?", "Q?"),
                    List.of("#### 17", DiscriminatorTestData.policy(1, 99).get(0)));
            assertTrue(z[0] > 0 && z[1] < 0, java.util.Arrays.toString(z));
        }
        assertEquals(
                2,
                Main.run(new String[] {
                    "discriminator",
                    "--discriminator_type",
                    "causal_lm",
                    "--model_name_or_path",
                    "m",
                    "--expert_dataset_name",
                    expert.toString(),
                    "--policy_dataset_name",
                    policy.toString(),
                    "--output_dir",
                    out.toString()
                }),
                "an existing output_dir is refused");
    }

    @Test
    void keysOfTheOtherKindAndAMissingModelAreErrorsThatNameTheKey(@TempDir Path tmp) {
        List<String> common = List.of(
                "--expert_dataset_name",
                "e.jsonl",
                "--policy_dataset_name",
                "p.jsonl",
                "--output_dir",
                tmp.resolve("o").toString());
        java.util.function.Function<List<String>, String> error = extra -> {
            List<String> a = new ArrayList<>(common);
            a.addAll(extra);
            return assertThrows(CliException.class, () -> DiscriminatorCommand.run(a.toArray(String[]::new)))
                    .getMessage();
        };
        String e = error.apply(List.of("--discriminator_type", "causal_lm"));
        assertTrue(e.contains("--model_name_or_path is required for discriminator_type causal_lm"), e);
        for (String key : List.of("head", "hidden_size", "include_prompt", "encoder_batch_size")) {
            e = error.apply(List.of(
                    "--discriminator_type",
                    "causal_lm",
                    "--model_name_or_path",
                    "m",
                    "--" + key,
                    key.equals("head") ? "logistic" : key.equals("include_prompt") ? "true" : "16"));
            assertTrue(e.contains("--" + key + " applies to discriminator_type sentence_encoder only"), e);
        }
        for (String key : List.of("model_name_or_path", "max_length")) {
            e = error.apply(List.of("--" + key, key.equals("max_length") ? "512" : "m"));
            assertTrue(e.contains("--" + key + " applies to discriminator_type causal_lm only"), e);
        }
        e = error.apply(List.of("--discriminator_type", "bert"));
        assertTrue(e.contains("discriminator_type 'bert' is unknown"), e);
        e = error.apply(List.of(
                "--discriminator_type",
                "causal_lm",
                "--model_name_or_path",
                tmp.resolve("nowhere").toString()));
        assertTrue(e.contains("is not a directory"), e);
    }
}
