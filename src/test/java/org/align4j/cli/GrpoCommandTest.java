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
import org.align4j.aapa.DiscriminatorTestData;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** grpo end to end on the tiny golden llama with GSM8K-shaped rows (question, answer "#### n"). */
class GrpoCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> metrics(Path out) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) rows.add(JSON.readTree(line));
        return rows;
    }

    @Test
    void grpoWithGsm8kRewardsAndChordWritesTrlMetricsAndAModel(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm.jsonl"), """
                {"question": "2+2?", "answer": "2+2=4\\n#### 4"}
                {"question": "3+4?", "answer": "#### 7"}
                {"question": "1+1?", "answer": "#### 2"}
                {"question": "5+3?", "answer": "#### 8"}
                """);
        Path expert = Files.writeString(tmp.resolve("expert.jsonl"), """
                {"prompt": "2+2?", "completion": "#### 4"}
                {"prompt": "3+4?", "completion": "#### 7"}
                """);
        Path out = tmp.resolve("run");
        GrpoCommand.run(new String[] {
            "--model_name_or_path",
            Golden.resourceDir("golden/llama-tiny").toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--prompt_field",
            "question",
            "--reward_funcs",
            "gsm8k_answer,format,length",
            "--reward_weights",
            "1,0.5,1",
            "--num_generations",
            "4",
            "--per_device_train_batch_size",
            "4",
            "--gradient_accumulation_steps",
            "2",
            "--max_completion_length",
            "8",
            "--max_steps",
            "2",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3",
            "--beta",
            "0.04",
            "--chord_dataset_name",
            expert.toString(),
            "--chord_mu_peak",
            "0.5",
            "--chord_mu_valley",
            "0.5"
        });
        List<JsonNode> rows = metrics(out);
        assertEquals(2, rows.size());
        for (String k : new String[] {
            "rewards/gsm8k_answer/mean", "rewards/format/mean", "rewards/length/mean", "reward", "kl", "chord/mu"
        }) assertTrue(rows.get(0).has(k), "no " + k + " in " + rows.get(0));
        assertEquals(0.5, rows.get(1).get("chord/mu").asDouble(), 0.0);
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.numParameters() > 0);
        }
    }

    @Test
    void rlooRunsTrlsRlooAndGrpoRefusesTheOldRlooKey(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm.jsonl"), """
                {"question": "2+2?", "answer": "#### 4"}
                {"question": "3+4?", "answer": "#### 7"}
                """);
        String model = Golden.resourceDir("golden/llama-tiny").toString();
        Path out = tmp.resolve("rloo");
        assertEquals(0, Main.run(new String[] {
            "rloo",
            "--model_name_or_path",
            model,
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--prompt_field",
            "question",
            "--reward_funcs",
            "length",
            "--length_target_chars",
            "0",
            "--per_device_train_batch_size",
            "4",
            "--max_completion_length",
            "6",
            "--max_steps",
            "2",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3",
            "--normalize_advantages",
            "true",
            "--reward_clip_range",
            "-1,1"
        }));
        List<JsonNode> rows = metrics(out);
        assertEquals(2, rows.size());
        for (String k : new String[] {"loss", "reward", "reward_std", "kl", "entropy", "clip_ratio/region_mean"})
            assertTrue(rows.get(0).has(k), "no " + k + " in " + rows.get(0));
        JsonNode saved = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals(2, saved.get("num_generations").asInt(), "TRL's RLOOConfig default");
        assertEquals(0.05, saved.get("beta").asDouble(), 0.0);
        assertEquals(1e-3, saved.get("learning_rate").asDouble(), 0.0);
        assertTrue(Files.exists(out.resolve("model.safetensors")));

        CliException old = assertThrows(
                CliException.class,
                () -> GrpoCommand.run(new String[] {
                    "--model_name_or_path",
                    model,
                    "--dataset_name",
                    data.toString(),
                    "--output_dir",
                    tmp.resolve("grpo").toString(),
                    "--reward_funcs",
                    "length",
                    "--rloo"
                }));
        assertTrue(
                old.getMessage().contains("./align4j rloo") && old.getMessage().contains("leave_one_out_baseline"),
                old.getMessage());
        CliException badClip = assertThrows(
                CliException.class,
                () -> RlooCommand.run(new String[] {
                    "--model_name_or_path",
                    model,
                    "--dataset_name",
                    data.toString(),
                    "--output_dir",
                    tmp.resolve("clip").toString(),
                    "--reward_funcs",
                    "length",
                    "--reward_clip_range",
                    "1"
                }));
        assertTrue(badClip.getMessage().contains("reward_clip_range"), badClip.getMessage());
    }

    @Test
    void aBatchThatDoesNotSplitIntoGroupsAndUnknownRewardsAreNamed(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("p.jsonl"), "{\"prompt\": \"hi\", \"answer\": \"#### 1\"}\n");
        String model = Golden.resourceDir("golden/llama-tiny").toString();
        CliException e = assertThrows(
                CliException.class,
                () -> GrpoCommand.run(new String[] {
                    "--model_name_or_path",
                    model,
                    "--dataset_name",
                    data.toString(),
                    "--output_dir",
                    tmp.resolve("a").toString(),
                    "--num_generations",
                    "3",
                    "--per_device_train_batch_size",
                    "4",
                    "--reward_funcs",
                    "gsm8k_answer"
                }));
        assertTrue(e.getMessage().contains("divisible by num_generations 3"), e.getMessage());
        e = assertThrows(
                CliException.class,
                () -> GrpoCommand.run(new String[] {
                    "--model_name_or_path",
                    model,
                    "--dataset_name",
                    data.toString(),
                    "--output_dir",
                    tmp.resolve("b").toString(),
                    "--reward_funcs",
                    "accuracy"
                }));
        assertTrue(e.getMessage().contains("'accuracy'") && e.getMessage().contains("gsm8k_answer"), e.getMessage());
    }

    @Test
    void grpoWithACoTrainedAapaAnchorLogsTheUpdatesAndSavesTheDiscriminatorApart(@TempDir Path tmp) throws Exception {
        Path expert = tmp.resolve("expert.jsonl"), rollouts = tmp.resolve("rollouts.jsonl"), disc = tmp.resolve("disc");
        List<String> e = new ArrayList<>(), p = new ArrayList<>();
        List<String> prompts = DiscriminatorTestData.prompts(12, 1),
                ex = DiscriminatorTestData.expert(12, 2),
                po = DiscriminatorTestData.policy(12, 3);
        for (int i = 0; i < 12; i++) {
            e.add(JSON.writeValueAsString(java.util.Map.of("prompt", prompts.get(i), "completion", ex.get(i))));
            p.add(JSON.writeValueAsString(java.util.Map.of("prompt", prompts.get(i), "completion", po.get(i))));
        }
        Files.write(expert, e);
        Files.write(rollouts, p);
        DiscriminatorCommand.run(new String[] {
            "--expert_dataset_name",
            expert.toString(),
            "--policy_dataset_name",
            rollouts.toString(),
            "--output_dir",
            disc.toString(),
            "--eval_fraction",
            "0"
        });
        byte[] headBefore = Files.readAllBytes(disc.resolve(EncoderDiscriminator.HEAD_FILE));
        Path data = Files.writeString(tmp.resolve("p.jsonl"), "{\"prompt\": \"2+2?\"}\n{\"prompt\": \"3+4?\"}\n"),
                out = tmp.resolve("run");
        GrpoCommand.run(new String[] {
            "--model_name_or_path",
            Golden.resourceDir("golden/llama-tiny").toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--reward_funcs",
            "length,aapa_anchor",
            "--aapa_discriminator_path",
            disc.toString(),
            "--aapa_coef",
            "0.5",
            "--aapa_cotrain",
            "true",
            "--aapa_cotrain_every",
            "2",
            "--num_generations",
            "2",
            "--per_device_train_batch_size",
            "4",
            "--max_completion_length",
            "6",
            "--max_steps",
            "3",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3",
            "--beta",
            "0"
        });
        List<JsonNode> rows = metrics(out);
        assertEquals(3, rows.size());
        assertEquals(0.5, rows.get(0).get("aapa/coef").asDouble(), 0.0);
        // steps are counted from 0 when the anchor is told them: updates after scoring steps 0 and 2
        assertEquals(
                1.0,
                rows.get(0).get("aapa/cotrain_updates").asDouble(),
                0.0,
                rows.get(0).toString());
        assertEquals(1.0, rows.get(1).get("aapa/cotrain_updates").asDouble(), 0.0, "no update at step 1");
        assertEquals(2.0, rows.get(2).get("aapa/cotrain_updates").asDouble(), 0.0);
        assertTrue(
                rows.get(0).has("aapa/cotrain_loss") && rows.get(0).has("aapa/cotrain_accuracy"),
                rows.get(0).toString());
        Path saved = out.resolve("aapa_discriminator");
        assertTrue(
                Files.exists(saved.resolve(EncoderDiscriminator.HEAD_FILE)),
                "the co-trained discriminator is saved with the run");
        assertEquals(
                2,
                JSON.readTree(saved.resolve(EncoderDiscriminator.CONFIG_FILE).toFile())
                        .path("co_training")
                        .path("updates")
                        .asInt());
        assertTrue(
                java.util.Arrays.equals(headBefore, Files.readAllBytes(disc.resolve(EncoderDiscriminator.HEAD_FILE))),
                "the original folder is left as it was");
    }

    @Test
    void cispoLogsItsOwnClipRatioInsteadOfThePpoOnes(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("p.jsonl"), "{\"prompt\": \"2+2?\"}\n{\"prompt\": \"3+4?\"}\n"),
                out = tmp.resolve("run");
        GrpoCommand.run(new String[] {
            "--model_name_or_path",
            Golden.resourceDir("golden/llama-tiny").toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--reward_funcs",
            "length",
            "--loss_type",
            "cispo",
            "--epsilon_high",
            "5.0",
            "--num_generations",
            "2",
            "--per_device_train_batch_size",
            "4",
            "--max_completion_length",
            "6",
            "--max_steps",
            "1",
            "--learning_rate",
            "1e-3"
        });
        JsonNode row = metrics(out).get(0);
        assertEquals(
                0.0,
                row.get("cispo_clip_ratio").asDouble(),
                0.0,
                "on-policy weights are 1, far below epsilon_high 5: " + row);
        assertTrue(!row.has("clip_ratio/low_mean") && !row.has("clip_ratio/region_mean"), row.toString());
        assertTrue(Double.isFinite(row.get("loss").asDouble()), row.toString());
    }

    @Test
    void heldOutPromptsAreSampledAndScoredEveryEvalStepsUnderEvalNames(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("p.jsonl"), "{\"prompt\": \"2+2?\"}\n{\"prompt\": \"3+4?\"}\n");
        Path
                held =
                        Files.writeString(
                                tmp.resolve("held.jsonl"),
                                "{\"prompt\": \"5+5?\"}\n{\"prompt\": \"1+8?\"}\n{\"prompt\": \"6+1?\"}\n"),
                out = tmp.resolve("run");
        GrpoCommand.run(new String[] {
            "--model_name_or_path",
            Golden.resourceDir("golden/llama-tiny").toString(),
            "--dataset_name",
            data.toString(),
            "--eval_dataset_name",
            held.toString(),
            "--eval_steps",
            "2",
            "--output_dir",
            out.toString(),
            "--reward_funcs",
            "length",
            "--length_target_chars",
            "2",
            "--num_generations",
            "2",
            "--per_device_train_batch_size",
            "4",
            "--max_completion_length",
            "6",
            "--max_steps",
            "3",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3"
        });
        List<JsonNode> rows = metrics(out);
        List<JsonNode> evals = rows.stream().filter(r -> r.has("eval_reward")).toList();
        assertEquals(
                List.of(2, 3), evals.stream().map(r -> r.get("step").asInt()).toList(), "every 2 steps and at the end");
        for (JsonNode r : evals) {
            for (String k : new String[] {
                "eval_reward",
                "eval_reward_std",
                "eval_rewards/length/mean",
                "eval_frac_reward_zero_std",
                "eval_completions/mean_length"
            }) assertTrue(r.has(k) && Double.isFinite(r.get(k).asDouble()), "no finite " + k + " in " + r);
            assertTrue(
                    r.get("eval_completions/mean_length").asDouble() >= 1
                            && r.get("eval_completions/mean_length").asDouble() <= 6,
                    r.toString());
            assertTrue(r.get("eval_reward").asDouble() <= 0, "the length reward is a penalty (0 at best): " + r);
        }
        assertEquals(3, rows.size() - evals.size(), "the three training rows stay as they were");
    }
}
