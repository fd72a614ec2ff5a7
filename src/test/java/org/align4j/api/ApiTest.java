// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.MetricsLog;
import org.align4j.trainer.TrainResult;
import org.align4j.trainer.TrainingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java API on the tiny Qwen3 (byte-level tokenizer): each builder loads the model, encodes rows as the command
 * line does, trains, and leaves a complete Hugging Face folder that Checkpoints.load and Tokenizer.load read back.
 */
class ApiTest {
    private static final Path MODEL = Golden.resourceDir("golden/qwen3-tiny");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<Map<String, Object>> promptCompletion(int n) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) rows.add(Map.of("prompt", i + "+" + i + "=", "completion", " " + (2 * i)));
        return rows;
    }

    private static List<Map<String, Object>> pairs(int n) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < n; i++)
            rows.add(Map.of("prompt", i + "+1=", "chosen", " " + (i + 1), "rejected", " " + (i + 2)));
        return rows;
    }

    /** A listener keeping every row it hears. */
    private static final class Rows implements TrainingListener {
        final List<Map<String, Object>> logs = new ArrayList<>(), evals = new ArrayList<>();

        @Override
        public void onLog(Map<String, Object> row) {
            logs.add(row);
        }

        @Override
        public void onEval(Map<String, Object> row) {
            evals.add(row);
        }
    }

    /** A complete Hugging Face causal-LM folder: weights, config, tokenizer files, generation config. */
    private static void assertCompleteFolder(Path out) throws Exception {
        for (String f : List.of(
                "config.json", "tokenizer.json", "tokenizer_config.json", "training_args.json", "metrics.jsonl"))
            assertTrue(Files.isRegularFile(out.resolve(f)), out + " lacks " + f);
        try (Transformer m = Checkpoints.load(out);
                Tokenizer saved = Tokenizer.load(out);
                Tokenizer original = Tokenizer.load(MODEL)) {
            assertEquals(320, m.config().vocabSize());
            assertArrayEquals(original.encode("12+30= 42"), saved.encode("12+30= 42"), "the same tokenizer");
        }
    }

    private static List<String> fileRows(Path out, boolean eval) throws Exception {
        List<String> rows = new ArrayList<>();
        for (JsonNode r : MetricsLog.read(out)) if (r.has("eval_loss") == eval) rows.add(r.toString());
        return rows;
    }

    private static List<String> json(List<Map<String, Object>> rows) throws Exception {
        List<String> out = new ArrayList<>();
        for (var r : rows) out.add(JSON.readTree(JSON.writeValueAsString(r)).toString());
        return out;
    }

    @Test
    void sftOnRowsInMemoryHearsEveryRowAndSavesACompleteFolder(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("sft");
        Rows heard = new Rows();
        TrainResult r = Sft.builder()
                .model(MODEL)
                .dataset(promptCompletion(8))
                .evalDataset(promptCompletion(2))
                .args(Sft.args(out)
                        .maxSteps(3)
                        .perDeviceTrainBatchSize(4)
                        .loggingSteps(1)
                        .learningRate(1e-3)
                        .build())
                .evalSteps(2)
                .listener(heard)
                .build()
                .train();
        assertEquals(3, r.globalStep());
        assertCompleteFolder(out);
        assertTrue(Files.isRegularFile(out.resolve("generation_config.json")), "generation_config.json is copied");
        assertEquals(fileRows(out, false), json(heard.logs), "the listener hears every training row");
        assertEquals(fileRows(out, true), json(heard.evals), "and every evaluation row");
        assertEquals(2, heard.evals.size(), "eval at step 2 and after the last");
        JsonNode args = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals(MODEL.toString(), args.path("model_name_or_path").asText());
        assertEquals("8 rows in memory", args.path("dataset_name").asText());
        assertEquals(1e-3, args.path("learning_rate").asDouble());
        assertEquals(1024, args.path("max_length").asInt());
    }

    @Test
    void dpoFromAFileWithLoraThenAgainOnThatAdapterFolder(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("pairs.jsonl"), adapter = tmp.resolve("dpo-lora"), merged = tmp.resolve("dpo-2");
        StringBuilder sb = new StringBuilder();
        for (var row : pairs(6)) sb.append(JSON.writeValueAsString(row)).append('\n');
        Files.writeString(data, sb);
        Dpo.builder()
                .model(MODEL.toString())
                .dataset(data)
                .outputDir(adapter)
                .peft(new Lora.Config(4, 8, 0.0, List.of("q_proj", "v_proj")))
                .beta(0.2)
                .build()
                .train();
        assertTrue(Files.isRegularFile(adapter.resolve("adapter_model.safetensors")), "a PEFT adapter folder");
        assertTrue(Files.isRegularFile(adapter.resolve("tokenizer.json")), "with its tokenizer");
        JsonNode cfg = JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        assertEquals(MODEL.toString(), cfg.path("base_model_name_or_path").asText(), "naming its base");
        JsonNode args = JSON.readTree(adapter.resolve("training_args.json").toFile());
        assertEquals(1e-6, args.path("learning_rate").asDouble(), "DPOConfig's learning rate by default");
        assertEquals(0.2, args.path("beta").asDouble());

        // the adapter folder is a model: without peft it is merged into its base and every weight trains
        Dpo.builder()
                .model(adapter)
                .dataset(data)
                .args(Dpo.args(merged).maxSteps(1).perDeviceTrainBatchSize(2).build())
                .build()
                .train();
        assertCompleteFolder(merged);
        assertFalse(Files.exists(merged.resolve("adapter_config.json")), "a full model");
    }

    @Test
    void grpoWithAJavaRewardFunction(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("grpo");
        List<Map<String, Object>> prompts = new ArrayList<>();
        for (int i = 0; i < 4; i++) prompts.add(Map.of("question", i + "+" + i + "=", "answer", 2 * i));
        Rows heard = new Rows();
        Grpo.builder()
                .model(MODEL)
                .dataset(prompts)
                .promptField("question")
                .rewardFunctions(
                        RewardFunction.perCompletion("length", (prompt, completion, row) -> completion.length()))
                .numGenerations(2)
                .maxCompletionLength(4)
                .args(Grpo.args(out)
                        .maxSteps(2)
                        .perDeviceTrainBatchSize(4)
                        .loggingSteps(1)
                        .build())
                .listener(heard)
                .build()
                .train();
        assertCompleteFolder(out);
        assertEquals(2, heard.logs.size());
        for (var row : heard.logs) {
            assertTrue(row.containsKey("reward") && row.containsKey("reward_std"), row.toString());
            assertTrue(row.containsKey("rewards/length/mean"), row.toString());
        }
    }

    @Test
    void aRewardModelIsASequenceClassifierFolder(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("rm");
        Rows heard = new Rows();
        Reward.builder()
                .model(MODEL)
                .dataset(pairs(8))
                .evalDataset(pairs(2))
                .args(Reward.args(out)
                        .maxSteps(2)
                        .perDeviceTrainBatchSize(4)
                        .loggingSteps(1)
                        .build())
                .listener(heard)
                .build()
                .train();
        try (Transformer m = Checkpoints.load(out);
                Tokenizer t = Tokenizer.load(out)) {
            assertTrue(m.config().isSequenceClassification(), "*ForSequenceClassification");
            assertTrue(t.vocabSize() > 0);
        }
        assertFalse(Files.exists(out.resolve("generation_config.json")), "none beside a classifier");
        for (var row : heard.logs) assertTrue(row.containsKey("accuracy") && row.containsKey("margin"), row.toString());
        assertEquals(2, heard.evals.size(), "eval_steps defaults to logging_steps, as in transformers");
    }

    @Test
    void aHubIdIsFoundInTheLocalCache(@TempDir Path tmp) throws Exception {
        // huggingface_hub's layout under ~/.cache/huggingface/hub (HF_HUB_CACHE and HF_HOME come first when set)
        Path home = tmp.resolve("home"), repo = home.resolve(".cache/huggingface/hub/models--tiny--qwen3");
        Path snapshot = Files.createDirectories(repo.resolve("snapshots/0123456789abcdef0123456789abcdef01234567"));
        try (var files = Files.list(MODEL)) {
            for (Path f : files.toList()) Files.copy(f, snapshot.resolve(f.getFileName()));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), snapshot.getFileName().toString());
        String userHome = System.getProperty("user.home");
        Path out = tmp.resolve("out");
        System.setProperty("user.home", home.toString());
        try {
            Sft.builder()
                    .model("tiny/qwen3")
                    .dataset(promptCompletion(2))
                    .args(Sft.args(out).maxSteps(1).perDeviceTrainBatchSize(2).build())
                    .build()
                    .train();
        } finally {
            System.setProperty("user.home", userHome);
        }
        assertCompleteFolder(out);
        assertEquals(
                "tiny/qwen3",
                JSON.readTree(out.resolve("training_args.json").toFile())
                        .path("model_name_or_path")
                        .asText());
    }

    @Test
    void buildersSayWhatIsMissingBeforeLoadingAnything(@TempDir Path tmp) {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> Sft.builder().dataset(promptCompletion(1)).outputDir(tmp).build());
        assertTrue(e.getMessage().contains("no model"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Sft.builder().model(MODEL).outputDir(tmp).build());
        assertTrue(e.getMessage().contains("no training data"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Dpo.builder().model(MODEL).dataset(pairs(1)).build());
        assertTrue(e.getMessage().contains("no output folder"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Grpo.builder()
                        .model(MODEL)
                        .dataset(promptCompletion(1))
                        .outputDir(tmp)
                        .build());
        assertTrue(e.getMessage().contains("no reward function"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Reward.builder()
                        .model(MODEL)
                        .dataset(pairs(1))
                        .outputDir(tmp)
                        .peft(new Lora.Config(4, 8, 0.0, List.of("q_proj")))
                        .build());
        assertTrue(e.getMessage().contains("not supported for reward models"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Sft.builder()
                        .model(MODEL)
                        .dataset(promptCompletion(1))
                        .outputDir(tmp)
                        .truncationMode("middle")
                        .build());
        assertTrue(e.getMessage().contains("keep_start"), e.getMessage());
    }
}
