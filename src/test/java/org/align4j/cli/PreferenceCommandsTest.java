// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.data.DatasetException;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dpo, cpo, orpo and kto end to end on the tiny golden llama (HF folder with tokenizer and chat template). */
class PreferenceCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PAIRS = """
            {"prompt": "1+1=", "chosen": "2", "rejected": "3"}
            {"prompt": [{"role": "user", "content": "2+2="}], "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}
            {"chosen": "Q: 3+4= A: 7", "rejected": "Q: 3+4= A: 8"}
            {"prompt": "5+5=", "chosen": "10", "rejected": "11"}
            """;

    private static Path model() {
        return Golden.resourceDir("golden/llama-tiny");
    }

    private static List<JsonNode> metrics(Path out) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) rows.add(JSON.readTree(line));
        return rows;
    }

    private static String[] args(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "--model_name_or_path",
                model().toString(),
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "2",
                "--logging_steps",
                "1",
                "--learning_rate",
                "1e-3"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void dpoTrainsOnPlainConversationalAndImplicitPromptRowsWithEvalAndWritesAHfModel(@TempDir Path tmp)
            throws Exception {
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), PAIRS), out = tmp.resolve("dpo");
        DpoCommand.run(args(data, out, "--eval_dataset_name", data.toString(), "--rpo_alpha", "0.5"));
        List<JsonNode> rows = metrics(out);
        assertTrue(
                rows.get(0).has("rewards/margins") && rows.get(0).has("logps/chosen"),
                rows.get(0).toString());
        // policy == reference at step 1: the sigmoid part is ln 2; rpo_alpha adds 0.5 * the chosen NLL of an untrained
        // 320-token model (about ln 320 = 5.8 per token), so the logged loss must sit well above ln 2
        assertTrue(
                rows.get(0).get("loss").asDouble() > Math.log(2) + 1.0,
                "rpo_alpha's NLL term is missing: " + rows.get(0));
        assertTrue(
                rows.stream().anyMatch(r -> r.has("eval_loss") && r.has("eval_rewards/accuracies")),
                "an eval row at the end: " + rows);
        JsonNode saved = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals(0.5, saved.get("rpo_alpha").asDouble(), 0.0, "the resolved config is saved beside the model");
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.numParameters() > 0);
        }
    }

    @Test
    void aRecipeWithYamlListsAndLoraRunsDpoWithTheBaseAsReference(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), PAIRS), out = tmp.resolve("lora");
        Path recipe = Files.writeString(tmp.resolve("dpo.yaml"), """
                model_name_or_path: %s
                dataset_name: %s
                output_dir: %s
                loss_type: [sigmoid, ipo]
                loss_weights: [0.7, 0.3]
                beta: 0.2
                use_peft: true
                lora_r: 4
                max_steps: 2
                per_device_train_batch_size: 2
                """.formatted(model(), data, out));
        DpoCommand.run(new String[] {"--config", recipe.toString()});
        assertTrue(Files.exists(out.resolve("adapter_model.safetensors"))
                && Files.exists(out.resolve("adapter_config.json")));
        assertEquals(
                0.7 * Math.log(2) + 0.3 * Math.pow(1 / (2 * 0.2), 2),
                metrics(out).get(0).get("loss").asDouble(),
                1e-5,
                "adapters start at B = 0: policy == reference, so sigmoid gives ln 2 and ipo (0 - 1/(2 beta))^2");
    }

    @Test
    void unknownLossTypesAndMalformedRowsAreNamed(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), PAIRS);
        CliException e = assertThrows(
                CliException.class, () -> DpoCommand.run(args(data, tmp.resolve("a"), "--loss_type", "sigmod")));
        assertTrue(e.getMessage().contains("sigmod") && e.getMessage().contains("hinge"), e.getMessage());
        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), PAIRS + "{\"prompt\": \"6+6=\", \"chosen\": \"12\"}\n");
        DatasetException d = assertThrows(DatasetException.class, () -> DpoCommand.run(args(bad, tmp.resolve("b"))));
        assertTrue(d.getMessage().contains("bad.jsonl:5"), d.getMessage());
        DpoCommand.run(
                args(bad, tmp.resolve("c"), "--skip_invalid_rows", "true")); // skips the row and trains on the rest
        assertEquals(2, metrics(tmp.resolve("c")).size());
    }

    interface Run {
        void run() throws Exception;
    }

    /** What {@code r} printed on stderr. */
    private static String stderrOf(Run r) throws Exception {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        return buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void aMalformedFirstLineIsSkippedAndTheShapeComesFromTheFirstReadableRow(@TempDir Path tmp) throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), "{\"prompt\": \"1+1=\", \"chosen\"\n" + PAIRS);
        DatasetException d = assertThrows(DatasetException.class, () -> KtoCommand.run(args(bad, tmp.resolve("a"))));
        assertTrue(d.getMessage().startsWith(bad + ":1: malformed JSON"), d.getMessage());
        // KTO reads the pairs as unpaired rows only when the first row is a preference row; the unreadable line must
        // not decide
        String log = stderrOf(() -> KtoCommand.run(
                args(bad, tmp.resolve("b"), "--skip_invalid_rows", "true", "--per_device_train_batch_size", "4")));
        assertTrue(
                log.contains("skipped 1 invalid rows of " + bad + " (skip_invalid_rows), e.g. " + bad
                        + ":1: malformed JSON"),
                log);
        assertEquals(0.5, metrics(tmp.resolve("b")).get(0).get("loss").asDouble(), 1e-6);
    }

    @Test
    void cpoOrpoAndKtoTrainFromTheSamePairs(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), PAIRS);
        CpoCommand.runCpo(args(data, tmp.resolve("simpo"), "--loss_type", "simpo", "--cpo_alpha", "0"));
        assertTrue(metrics(tmp.resolve("simpo")).get(0).has("rewards/margins"));
        CpoCommand.runOrpo(args(data, tmp.resolve("orpo")));
        assertTrue(metrics(tmp.resolve("orpo")).get(0).has("log_odds_ratio"));
        KtoCommand.run(args(data, tmp.resolve("kto"), "--per_device_train_batch_size", "4"));
        JsonNode first = metrics(tmp.resolve("kto")).get(0);
        assertEquals(0.5, first.get("loss").asDouble(), 1e-6, "policy == reference: each KTO loss is 1 - sigmoid(0)");
        for (String run : new String[] {"simpo", "orpo", "kto"})
            try (Transformer m = Checkpoints.load(tmp.resolve(run))) {
                assertTrue(m.numParameters() > 0);
            }
    }
}
