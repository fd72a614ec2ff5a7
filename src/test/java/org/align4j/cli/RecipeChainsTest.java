// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.model.Checkpoints;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.trainer.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every stage's output is the next stage's input, as a user chains them: the shipped AAPA recipes (discriminator ->
 * anchored SFT with LoRA -> anchored GRPO and CHORD on that adapter folder), SFT with LoRA -> DPO on the adapter
 * folder, SFT -> reward model -> APO with that base reward model, and merge. Each recipe runs as shipped with its paths
 * and sizes overridden on the command line (the tiny golden qwen3 stands in for Qwen3-0.6B).
 */
class RecipeChainsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TINY = Golden.resourceDir("golden/qwen3-tiny").toString();

    /** Runs ./align4j in this process; fails with its stderr unless it exits 0. */
    private static void align4j(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Main.run(args);
        } finally {
            System.setErr(err);
        }
        assertEquals(0, rc, String.join(" ", args) + ":\n" + buf.toString(StandardCharsets.UTF_8));
    }

    private static Path rows(Path dir, String name, List<Map<String, Object>> rows) throws Exception {
        Path f = dir.resolve(name);
        List<String> lines = new ArrayList<>();
        for (Map<String, Object> r : rows) lines.add(JSON.writeValueAsString(r));
        Files.write(f, lines);
        return f;
    }

    private static List<Map<String, Object>> sums(int n, boolean chatty) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n; i++)
            out.add(Map.of(
                    "prompt",
                    "What is " + i + "+" + (i + 1) + "? ",
                    "completion",
                    chatty ? "I think it is maybe " + (2 * i + 1) : "#### " + (2 * i + 1)));
        return out;
    }

    private static List<Map<String, Object>> pairs(int n) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n; i++)
            out.add(Map.of(
                    "prompt",
                    i + "+" + i + "=",
                    "chosen",
                    String.valueOf(2 * i),
                    "rejected",
                    String.valueOf(2 * i + 1)));
        return out;
    }

    private static List<Map<String, Object>> hhPairs(int n) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String q = "\n\nHuman: what is " + i + " plus " + i + "?\n\nAssistant:";
            out.add(Map.of("chosen", q + " " + (2 * i) + ".", "rejected", q + " I will not say."));
        }
        return out;
    }

    @Test
    void theAapaRecipesChainDiscriminatorThenAnchoredSftThenAnchoredGrpoAndChord(@TempDir Path tmp) throws Exception {
        Path expert = rows(tmp, "expert.jsonl", sums(12, false)),
                rollouts = rows(tmp, "rollouts.jsonl", sums(12, true));
        Path disc = tmp.resolve("discriminator"), sft = tmp.resolve("sft");
        align4j(
                "discriminator",
                "--config",
                "recipes/aapa-1-discriminator.yaml",
                "--expert_dataset_name",
                expert.toString(),
                "--policy_dataset_name",
                rollouts.toString(),
                "--output_dir",
                disc.toString(),
                "--epochs",
                "3");
        align4j(
                "sft",
                "--config",
                "recipes/aapa-2-sft.yaml",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                expert.toString(),
                "--output_dir",
                sft.toString(),
                "--aapa_discriminator_path",
                disc.toString(),
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "2",
                "--gradient_accumulation_steps",
                "1",
                "--aapa_max_completion_length",
                "4",
                "--max_length",
                "64",
                "--num_train_epochs",
                "1");
        assertTrue(Files.exists(sft.resolve("adapter_config.json")), "aapa-2 trains a LoRA adapter");
        JsonNode adapter = JSON.readTree(sft.resolve("adapter_config.json").toFile());
        assertEquals(TINY, adapter.get("base_model_name_or_path").asText(), "the adapter records its base as given");
        for (String stage : new String[] {"grpo", "chord"}) {
            Path out = tmp.resolve(stage);
            align4j(
                    "grpo",
                    "--config",
                    "recipes/aapa-3-" + stage + ".yaml",
                    "--model_name_or_path",
                    sft.toString(),
                    "--output_dir",
                    out.toString(),
                    "--aapa_discriminator_path",
                    disc.toString(),
                    "--max_steps",
                    "2",
                    "--num_generations",
                    "2",
                    "--per_device_train_batch_size",
                    "2",
                    "--gradient_accumulation_steps",
                    "1",
                    "--max_completion_length",
                    "6",
                    "--save_steps",
                    "0",
                    "--logging_steps",
                    "1",
                    "--chord_expert_per_step",
                    "1",
                    "--chord_dataset_name",
                    expert.toString());
            List<JsonNode> logged = MetricsLog.read(out);
            assertEquals(2, logged.size(), stage);
            assertTrue(logged.get(0).has("rewards/aapa_anchor/mean"), stage + ": the anchor scores: " + logged.get(0));
            // aapa-3 continues the stage-2 adapter (use_peft with an adapter folder): its output is an adapter on the
            // same base, which loads as base + adapter
            JsonNode a = JSON.readTree(out.resolve("adapter_config.json").toFile());
            assertEquals(TINY, a.get("base_model_name_or_path").asText());
            try (Transformer m = ModelSource.resolve(out.toString(), null).load()) {
                assertTrue(m.numParameters() > 0);
            }
        }
        if (!Files.readString(Path.of("recipes/aapa-3-chord.yaml")).contains("chord_dataset_name"))
            throw new AssertionError("the chord recipe names its expert rows");
    }

    @Test
    void sftWithLoraThenDpoOnTheAdapterFolderThenMerge(@TempDir Path tmp) throws Exception {
        Path pc = rows(tmp, "pc.jsonl", sums(8, false)), prefs = rows(tmp, "prefs.jsonl", pairs(8));
        Path sft = tmp.resolve("sft"), dpo = tmp.resolve("dpo"), merged = tmp.resolve("merged");
        align4j(
                "sft",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                pc.toString(),
                "--output_dir",
                sft.toString(),
                "--use_peft",
                "true",
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "4");
        // a full fine-tune on an adapter folder merges it first (adapter_mode auto without use_peft)
        align4j(
                "dpo",
                "--model_name_or_path",
                sft.toString(),
                "--dataset_name",
                prefs.toString(),
                "--output_dir",
                dpo.toString(),
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "4");
        try (Transformer m = Checkpoints.load(dpo)) {
            assertTrue(m.numParameters() > 0, "DPO on the adapter folder saved a full model");
        }
        align4j("merge", "--model_name_or_path", sft.toString(), "--output_dir", merged.toString());
        try (Transformer m = Checkpoints.load(merged);
                Transformer viaAdapter =
                        ModelSource.resolve(sft.toString(), null).loadMerged()) {
            for (var e : m.parameters().entrySet())
                org.junit.jupiter.api.Assertions.assertArrayEquals(
                        org.align4j.engine.Tensors.toFloats(
                                viaAdapter.parameters().get(e.getKey())),
                        org.align4j.engine.Tensors.toFloats(e.getValue()),
                        e.getKey());
        }
        assertTrue(Files.exists(merged.resolve("tokenizer.json")), "merge writes a complete folder");
    }

    @Test
    void sftThenRewardModelThenApoWithThatBaseRewardModel(@TempDir Path tmp) throws Exception {
        Path pc = rows(tmp, "pc.jsonl", sums(8, false));
        Path sft = tmp.resolve("sft"), rm = tmp.resolve("rm"), apo = tmp.resolve("apo");
        align4j(
                "sft",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                pc.toString(),
                "--output_dir",
                sft.toString(),
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "4");
        // HH-RLHF-shaped pairs (the recipe's data set has 2312; a handful keeps the chain quick)
        Path hh = rows(tmp, "hh.jsonl", hhPairs(24));
        align4j(
                "reward",
                "--model_name_or_path",
                sft.toString(),
                "--dataset_name",
                hh.toString(),
                "--output_dir",
                rm.toString(),
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "2",
                "--max_length",
                "256");
        align4j(
                "apo",
                "--config",
                "recipes/apo-hh-rlhf-qwen.yaml",
                "--model_name_or_path",
                sft.toString(),
                "--base_reward_model_name_or_path",
                rm.toString(),
                "--output_dir",
                apo.toString(),
                "--apo_rounds",
                "1",
                "--max_gold_queries",
                "4",
                "--max_queries",
                "4",
                "--max_completion_length",
                "4",
                "--rm_max_steps",
                "1",
                "--rm_per_device_train_batch_size",
                "4",
                "--max_length",
                "256",
                "--per_device_train_batch_size",
                "4",
                "--gradient_accumulation_steps",
                "1",
                "--num_train_epochs",
                "1",
                "--align_num_generations",
                "2",
                "--apo_sample_num",
                "2",
                "--gradient_checkpointing",
                "false",
                "--dataset_name",
                hh.toString(),
                "--rm_eval_fraction",
                "0.25",
                "--baseline",
                "false");
        assertTrue(
                Files.exists(apo.resolve("rounds.jsonl")) || Files.exists(apo.resolve("apo/rounds.jsonl")),
                "apo logged its rounds");
    }
}
