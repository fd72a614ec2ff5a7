// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.align4j.testing.Golden;
import org.align4j.trainer.MetricsLog;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three published TRL recipes (alignment-handbook's SmolLM2 SFT and DPO, TRL's CLI GRPO example;
 * src/test/resources/recipes/trl) run as they are, with only output_dir added, as a TRL user runs them: the model and
 * data set ids resolve in a local Hugging Face cache (HF_HOME, laid out as huggingface_hub lays it out, snapshot files
 * linked into blobs/), keys that have no effect here are accepted with one warning, and the keys with meaning
 * (eval_strategy, save_strategy, dataset splits, report_to lists, chat_template, reward_funcs) act.
 */
class TrlRecipesPortTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path TINY = Golden.resourceDir("golden/qwen3-tiny");

    @TempDir
    static Path tmp;

    private static Path hfHome;

    @BeforeAll
    static void cache() throws Exception {
        hfHome = tmp.resolve("hf");
        Path hub = hfHome.resolve("hub");
        for (String id : List.of("HuggingFaceTB/SmolLM2-1.7B", "loubnabnl/smollm2-1.7B-sft", "Qwen/Qwen2.5-0.5B"))
            cacheRepo(hub, "models", id, TINY);
        Path smoltalk = tmp.resolve("smoltalk/all");
        Files.createDirectories(smoltalk);
        Files.write(smoltalk.resolve("train.jsonl"), chats(8, 0));
        Files.write(smoltalk.resolve("test.jsonl"), chats(4, 100));
        cacheRepo(hub, "datasets", "HuggingFaceTB/smoltalk", tmp.resolve("smoltalk"));
        Path uf = tmp.resolve("ultrafeedback");
        Files.createDirectories(uf);
        Files.write(uf.resolve("train_prefs.jsonl"), prefs(8, 0));
        Files.write(uf.resolve("test_prefs.jsonl"), prefs(4, 50));
        cacheRepo(hub, "datasets", "HuggingFaceH4/ultrafeedback_binarized", uf);
        Path polaris = tmp.resolve("polaris");
        Files.createDirectories(polaris);
        Files.writeString(
                polaris.resolve("train.jsonl"), "{\"prompt\": \"What is 2+3? Answer: \", \"solution\": \"5\"}\n");
        cacheRepo(hub, "datasets", "HuggingFaceH4/Polaris-Dataset-53K", polaris);
    }

    /** {@code <hub>/<kind>--org--name/{blobs, refs/main, snapshots/<hash>}} with each file a link into blobs/. */
    private static void cacheRepo(Path hub, String kind, String id, Path files) throws Exception {
        Path repo = hub.resolve(kind + "--" + id.replace("/", "--"));
        String hash =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(id.getBytes()));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), hash);
        Path snapshot = repo.resolve("snapshots").resolve(hash), blobs = repo.resolve("blobs");
        Files.createDirectories(blobs);
        try (var walk = Files.walk(files)) {
            for (Path f : walk.filter(Files::isRegularFile).toList()) {
                if (f.getFileName().toString().startsWith("expected")) continue; // the golden test's own files
                byte[] bytes = Files.readAllBytes(f);
                Path blob = blobs.resolve(HexFormat.of()
                        .formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
                if (!Files.exists(blob)) Files.write(blob, bytes);
                Path link = snapshot.resolve(files.relativize(f).toString());
                Files.createDirectories(link.getParent());
                Files.createSymbolicLink(link, link.getParent().relativize(blob));
            }
        }
    }

    private static List<String> chats(int n, int from) throws Exception {
        List<String> rows = new ArrayList<>();
        for (int i = from; i < from + n; i++)
            rows.add(JSON.writeValueAsString(Map.of(
                    "messages",
                    List.of(
                            Map.of("role", "user", "content", "What is " + i + "+" + i + "?"),
                            Map.of("role", "assistant", "content", String.valueOf(2 * i))))));
        return rows;
    }

    private static List<String> prefs(int n, int from) throws Exception {
        List<String> rows = new ArrayList<>();
        // ultrafeedback_binarized's shape: a string prompt, and chosen/rejected conversations that repeat it
        for (int i = from; i < from + n; i++) {
            Map<String, String> user = Map.of("role", "user", "content", "What is " + i + "+" + i + "?");
            rows.add(JSON.writeValueAsString(Map.of(
                    "prompt", user.get("content"),
                    "chosen", List.of(user, Map.of("role", "assistant", "content", String.valueOf(2 * i))),
                    "rejected", List.of(user, Map.of("role", "assistant", "content", String.valueOf(2 * i + 1))))));
        }
        return rows;
    }

    private static CliProcess.Result port(String command, String recipe, Path out) throws Exception {
        Path r = Path.of("src/test/resources/recipes/trl", recipe).toAbsolutePath();
        CliProcess.Result res = CliProcess.run(
                tmp,
                Map.of("HF_HOME", hfHome.toString(), "HF_HUB_CACHE", ""),
                List.of(command, "--config", r.toString(), "--output_dir", out.toString()));
        assertEquals(0, res.exitCode(), recipe + ":\n" + res.output());
        return res;
    }

    private static void assertOneWarningListing(String output, String... keys) {
        List<String> warnings = output.lines()
                .filter(l -> l.contains("have no effect in align4j and are ignored"))
                .toList();
        assertEquals(1, warnings.size(), "one warning: " + output);
        for (String k : keys) assertTrue(warnings.get(0).contains(k), k + " in " + warnings.get(0));
    }

    @Test
    void theSmolLm2SftRecipeRunsAsPublished() throws Exception {
        Path out = tmp.resolve("sft-out");
        CliProcess.Result r = port("sft", "smollm2-sft.yaml", out);
        assertOneWarningListing(
                r.output(), "torch_dtype", "attn_implementation", "push_to_hub", "hub_model_id", "log_level");
        assertFalse(
                r.output().lines().filter(l -> l.contains("have no effect")).anyMatch(l -> l.contains(" bf16")),
                "bf16: true takes effect (autocast): " + r.output());
        assertTrue(r.output().contains("report_to [wandb] is not available here"), r.output());
        List<JsonNode> rows = MetricsLog.read(out);
        // 8 rows, batch 4 x accumulation 4: one step an epoch, 2 epochs; eval_strategy epoch evaluates after each
        assertEquals(2, rows.stream().filter(x -> x.has("loss")).count(), rows.toString());
        assertEquals(2, rows.stream().filter(x -> x.has("eval_loss")).count(), rows.toString());
        assertTrue(Files.isDirectory(out.resolve("runs")), "report_to lists tensorboard");
        assertFalse(
                Files.list(out).anyMatch(p -> p.getFileName().toString().startsWith("checkpoint-")),
                "save_strategy no");
        assertTrue(Files.exists(out.resolve("model.safetensors")) && Files.exists(out.resolve("tokenizer.json")));
    }

    @Test
    void theSmolLm2DpoRecipeRunsWithItsSplitsAsTrlKeys() throws Exception {
        Path out = tmp.resolve("dpo-out");
        CliProcess.Result r = port("dpo", "smollm2-dpo.yaml", out);
        assertOneWarningListing(r.output(), "hub_private_repo", "gradient_checkpointing_kwargs", "optim");
        List<JsonNode> rows = MetricsLog.read(out);
        // 8 pairs in batches of 2 = 4 batches an epoch, accumulation 8: one (shorter) step an epoch, as transformers;
        // logging_steps 10 logs step 1 and the last
        List<JsonNode> train = rows.stream().filter(x -> x.has("loss")).toList();
        assertEquals(
                List.of(1, 3), train.stream().map(x -> x.get("step").asInt()).toList(), rows.toString());
        assertEquals(3.0, train.get(1).get("epoch").asDouble(), 1e-12);
        assertEquals(1, rows.stream().filter(x -> x.has("eval_loss")).count(), "eval at the end (eval_steps 100)");
        assertEquals(
                0.5,
                JSON.readTree(out.resolve("training_args.json").toFile())
                        .get("beta")
                        .asDouble(),
                0);
    }

    @Test
    void trlsGrpoCliExampleRunsWithAccuracyReward() throws Exception {
        Path out = tmp.resolve("grpo-out");
        port("grpo", "trl-grpo.yaml", out);
        List<JsonNode> rows = MetricsLog.read(out);
        assertFalse(rows.isEmpty());
        for (JsonNode row : rows) assertTrue(row.has("rewards/accuracy_reward/mean"), row.toString());
    }

    @Test
    void unknownKeysAreAllReportedAtOnceWithADidYouMean() throws Exception {
        Path recipe = tmp.resolve("typos.yaml");
        Files.writeString(recipe, """
                model_name_or_path: %s
                dataset_name: x.jsonl
                output_dir: %s
                learning_rte: 1.0e-5
                num_train_epoch: 2
                adam_beta1: 0.8
                bf16: true
                """.formatted(TINY, tmp.resolve("never")));
        CliProcess.Result r = CliProcess.run(tmp, Map.of(), List.of("sft", "--config", recipe.toString()));
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("2 unknown key(s)"), r.output());
        assertTrue(r.output().contains("'learning_rte'") && r.output().contains("did you mean 'learning_rate'"));
        assertTrue(r.output().contains("'num_train_epoch'") && r.output().contains("did you mean 'num_train_epochs'"));
        assertTrue(r.output().contains("adam_beta1 0.8"), "a key that would change the optimizer: " + r.output());
    }

    @Test
    void aHubIdMissingFromTheCacheSaysWhereItLooked() throws Exception {
        Files.writeString(tmp.resolve("x.jsonl"), "{\"prompt\": \"1+1=\"}\n");
        CliProcess.Result r = CliProcess.run(
                tmp,
                Map.of("HF_HOME", hfHome.toString(), "HF_HUB_CACHE", ""),
                List.of(
                        "generate",
                        "--model_name_or_path",
                        "Qwen/Qwen3-0.6B",
                        "--dataset_name",
                        "x.jsonl",
                        "--output_file",
                        tmp.resolve("g.jsonl").toString()));
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("not in the local Hugging Face cache"), r.output());
        assertTrue(
                r.output()
                        .contains(hfHome.resolve("hub/models--Qwen--Qwen3-0.6B").toString()),
                r.output());
    }
}
