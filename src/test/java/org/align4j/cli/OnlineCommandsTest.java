// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

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
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.Gsm8kAnswerReward;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** rjs and online_dpo end to end on the tiny golden llama with GSM8K-style prompt rows (plain and conversational). */
class OnlineCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ROWS = """
            {"prompt": "What is 2+2?", "answer": "2+2=4\\n#### 4"}
            {"prompt": [{"role": "user", "content": "What is 3+1?"}], "answer": "3+1=4\\n#### 4"}
            {"prompt": "Tom has 1 apple and buys 3. How many?", "answer": "1+3=4\\n#### 4"}
            {"prompt": "2*2=", "answer": "#### 4"}
            """;

    private static String model() {
        return Golden.resourceDir("golden/llama-tiny").toString();
    }

    private static List<JsonNode> jsonl(Path file) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file)) rows.add(JSON.readTree(line));
        return rows;
    }

    private static String[] args(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "--model_name_or_path",
                model(),
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "1",
                "--per_device_train_batch_size",
                "2",
                "--logging_steps",
                "1",
                "--learning_rate",
                "1e-3",
                "--num_generations",
                "2",
                "--max_completion_length",
                "8"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void rjsKeepsTheBestOfGsm8kPlusLengthRewardsForTwoRoundsAndWritesAHfModel(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS), out = tmp.resolve("rjs");
        RjsCommand.run(args(
                data,
                out,
                "--reward_funcs",
                "gsm8k_answer,length",
                "--reward_weights",
                "1.0,2.0",
                "--length_target_chars",
                "0",
                "--length_penalty_per_char",
                "0.01",
                "--rjs_rounds",
                "2"));
        List<JsonNode> rounds = jsonl(out.resolve("rjs_rounds.jsonl"));
        assertEquals(2, rounds.size());
        for (JsonNode r : rounds)
            assertTrue(
                    r.has("rewards/gsm8k_answer/mean")
                            && r.has("rewards/length/mean")
                            && r.get("kept").asInt() >= 1,
                    r.toString());
        for (int k = 1; k <= 2; k++) {
            List<JsonNode> samples = jsonl(out.resolve("round-" + k + "/samples.jsonl"));
            assertEquals(8, samples.size(), "4 prompts x 2 samples");
            for (JsonNode s : samples) { // total = 1 * gsm8k correctness + 2 * (-0.01 per character)
                String c = s.get("completion").asText();
                double correct = new Gsm8kAnswerReward()
                        .score(List.of(""), List.of(c), List.of(JSON.readTree("{\"answer\": \"#### 4\"}")))[0];
                assertEquals(
                        correct - 2 * 0.01 * c.codePointCount(0, c.length()),
                        s.get("reward").asDouble(),
                        1e-9,
                        s.toString());
            }
            assertTrue(
                    samples.stream()
                            .anyMatch(s -> s.get("prompt").asText().startsWith("<|im_start|>user\nWhat is 3+1?")),
                    "a conversational prompt reaches the rewards as its rendered template text");
        }
        assertTrue(Files.exists(out.resolve("round-1/config.json"))
                && Files.exists(out.resolve("metrics.jsonl"))
                && Files.exists(out.resolve("tokenizer.json")));
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.numParameters() > 0);
        }
    }

    @Test
    void onlineDpoTrainsWithARewardModelAndWithGsm8kRewards(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS), out = tmp.resolve("rm");
        OnlineDpoCommand.run(args(
                data,
                out,
                "--max_steps",
                "2",
                "--reward_funcs",
                "reward_model",
                "--reward_model_name_or_path",
                Golden.resourceDir("golden/qwen3-tiny-rm").toString(),
                "--loss_type",
                "ipo",
                "--beta",
                "0.2"));
        List<JsonNode> rows = jsonl(out.resolve("metrics.jsonl"));
        assertEquals(2, rows.size());
        JsonNode first = rows.get(0);
        for (String k : new String[] {
            "loss",
            "reward",
            "reward/chosen",
            "reward/rejected",
            "frac_ties",
            "rewards/reward_model/mean",
            "rewards/margins",
            "logps/chosen"
        }) assertTrue(first.has(k) && Double.isFinite(first.get(k).asDouble()), "missing " + k + ": " + first);
        assertTrue(
                first.get("reward/chosen").asDouble()
                        > first.get("reward/rejected").asDouble(),
                first.toString());
        // ipo at policy == reference: (0 - 1/(2 beta))^2
        assertEquals(Math.pow(1 / (2 * 0.2), 2), first.get("loss").asDouble(), 1e-4);
        JsonNode saved = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals("ipo", saved.get("loss_type").asText());
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.numParameters() > 0 && Files.exists(out.resolve("tokenizer.json")));
        }

        Path out2 = tmp.resolve("gsm8k");
        OnlineDpoCommand.run(args(
                data,
                out2,
                "--reward_funcs",
                "gsm8k_answer,length",
                "--length_target_chars",
                "0",
                "--missing_eos_penalty",
                "0.5"));
        JsonNode g = jsonl(out2.resolve("metrics.jsonl")).get(0);
        assertTrue(
                g.has("rewards/length/mean") && Double.isFinite(g.get("loss").asDouble()),
                "lengths differ, so prompts pair: " + g);
    }

    @Test
    void logCompletionsWritesCompletionsJsonlAndPrintsATableForGrpoRlooAndOnlineDpo(@TempDir Path tmp)
            throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS);
        for (String command : List.of("grpo", "rloo", "online_dpo")) {
            Path out = tmp.resolve(command);
            List<String> a = new ArrayList<>(List.of(command));
            a.addAll(List.of(args(data, out, "--reward_funcs", "gsm8k_answer,length", "--length_target_chars", "0")));
            a.addAll(List.of("--log_completions", "true", "--num_completions_to_print", "1"));
            if (command.equals("online_dpo")) a.set(a.indexOf("--max_completion_length"), "--max_new_tokens");
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            java.io.PrintStream old = System.err;
            System.setErr(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
            int code;
            try {
                code = Main.run(a.toArray(String[]::new));
            } finally {
                System.setErr(old);
            }
            String err = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(0, code, err);
            assertFalse(err.contains("ignored"), "log_completions is implemented, not ignored: " + err);
            List<JsonNode> rows = jsonl(out.resolve("completions.jsonl"));
            // grpo and rloo: 2 completions a step (1 prompt x 2); online_dpo: 2 prompts a step x 2 samples
            int batch = command.equals("online_dpo") ? 4 : 2;
            assertEquals(batch, rows.size(), command + ": " + rows);
            for (JsonNode r : rows) {
                assertEquals(1, r.get("step").asInt());
                for (String k : new String[] {"prompt", "completion", "gsm8k_answer", "length", "reward"})
                    assertTrue(r.has(k), command + " row lacks " + k + ": " + r);
                assertEquals(!command.equals("online_dpo"), r.has("advantage"), r.toString());
                assertEquals(command.equals("online_dpo"), r.has("chosen"), r.toString());
            }
            assertTrue(
                    err.contains(command + ": completions at step 1 (1 of " + batch + "; all in completions.jsonl)"),
                    "num_completions_to_print 1: " + err);
            assertTrue(err.contains("| prompt "), err);
            JsonNode saved = JSON.readTree(out.resolve("training_args.json").toFile());
            assertTrue(saved.get("log_completions").asBoolean(), saved.toString());
        }
        // TRL's default is off: no file
        OnlineDpoCommand.run(args(data, tmp.resolve("off"), "--reward_funcs", "length"));
        assertFalse(Files.exists(tmp.resolve("off/completions.jsonl")));
        CliException negative = assertThrows(
                CliException.class,
                () -> GrpoCommand.run(args(
                        data,
                        tmp.resolve("neg"),
                        "--reward_funcs",
                        "length",
                        "--log_completions",
                        "true",
                        "--num_completions_to_print",
                        "-1")));
        assertTrue(negative.getMessage().contains("num_completions_to_print"), negative.getMessage());
    }

    @Test
    void onlineDpoTakesTrlsKeysAndKeepsBestVsWorstAsAnOption(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS), out = tmp.resolve("bvw");
        List<String> a = new ArrayList<>(List.of(args(
                data, out, "--reward_funcs", "length", "--length_target_chars", "0", "--pairing", "best_vs_worst")));
        a.set(a.indexOf("--num_generations") + 1, "3");
        OnlineDpoCommand.run(a.toArray(String[]::new));
        JsonNode first = jsonl(out.resolve("metrics.jsonl")).get(0);
        for (String k : new String[] {
            "objective/kl",
            "objective/entropy",
            "objective/non_score_reward",
            "objective/rlhf_reward",
            "objective/scores",
            "objective/scores_margin",
            "beta",
            "rewards/chosen",
            "logps/chosen",
            "val/contain_eos_token"
        }) assertTrue(first.has(k) && Double.isFinite(first.get(k).asDouble()), "missing " + k + ": " + first);
        JsonNode saved = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals("best_vs_worst", saved.get("pairing").asText());
        assertEquals(0.9, saved.get("temperature").asDouble(), 0.0, "TRL's OnlineDPOConfig temperature");

        CliException both = assertThrows(
                CliException.class,
                () -> OnlineDpoCommand.run(
                        args(data, tmp.resolve("b"), "--reward_funcs", "length", "--max_new_tokens", "8")));
        assertTrue(both.getMessage().contains("max_new_tokens"), both.getMessage());
        CliException three = assertThrows(
                CliException.class,
                () -> OnlineDpoCommand.run(
                        args(data, tmp.resolve("c"), "--reward_funcs", "length", "--loss_type", "hinge")));
        assertTrue(three.getMessage().contains("sigmoid, ipo"), three.getMessage());
    }

    @Test
    void rjsScoresHeldOutPromptsAfterEveryRound(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS), out = tmp.resolve("run");
        RjsCommand.run(args(
                data,
                out,
                "--reward_funcs",
                "length",
                "--length_target_chars",
                "0",
                "--rjs_rounds",
                "2",
                "--eval_dataset_name",
                data.toString()));
        List<JsonNode> rounds = jsonl(out.resolve("rjs_rounds.jsonl"));
        assertEquals(2, rounds.size());
        for (JsonNode r : rounds)
            for (String k : new String[] {"eval_reward", "eval_rewards/length/mean", "eval_completions/mean_length"})
                assertTrue(r.has(k) && Double.isFinite(r.get(k).asDouble()), "no finite " + k + " in " + r);
    }

    @Test
    void onlineDpoScoresHeldOutPromptsAtTheEndUnderEvalNames(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS), out = tmp.resolve("run");
        OnlineDpoCommand.run(args(
                data,
                out,
                "--max_steps",
                "2",
                "--reward_funcs",
                "length",
                "--length_target_chars",
                "0",
                "--eval_dataset_name",
                data.toString(),
                "--eval_steps",
                "1000"));
        List<JsonNode> rows = jsonl(out.resolve("metrics.jsonl"));
        List<JsonNode> evals = rows.stream().filter(r -> r.has("eval_reward")).toList();
        assertEquals(1, evals.size(), "eval_steps past the last step: only at the end");
        JsonNode e = evals.get(0);
        assertEquals(2, e.get("step").asInt());
        for (String k : new String[] {"eval_reward", "eval_rewards/length/mean", "eval_completions/mean_length"})
            assertTrue(e.has(k) && Double.isFinite(e.get(k).asDouble()), "no finite " + k + " in " + e);
        // length_target_chars 0: the reward is minus the penalty per character, so it tracks the mean completion length
        assertTrue(e.get("eval_reward").asDouble() < 0, e.toString());
    }

    @Test
    void badRewardSettingsAndUnsupportedKeysAreClearErrors(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm8k.jsonl"), ROWS);
        CliException unknown = assertThrows(
                CliException.class,
                () -> RjsCommand.run(args(data, tmp.resolve("a"), "--reward_funcs", "gsm8k_answer,bleu")));
        assertTrue(
                unknown.getMessage().contains("bleu") && unknown.getMessage().contains("reward_model"),
                unknown.getMessage());
        CliException noPath = assertThrows(
                CliException.class,
                () -> OnlineDpoCommand.run(args(data, tmp.resolve("b"), "--reward_funcs", "reward_model")));
        assertTrue(noPath.getMessage().contains("reward_model_name_or_path"), noPath.getMessage());
        CliException weights = assertThrows(
                CliException.class,
                () -> RjsCommand.run(
                        args(data, tmp.resolve("c"), "--reward_funcs", "length", "--reward_weights", "1,2")));
        assertTrue(weights.getMessage().contains("reward_weights"), weights.getMessage());
        CliException one = assertThrows(
                CliException.class,
                () -> OnlineDpoCommand.run(
                        args(data, tmp.resolve("e"), "--reward_funcs", "length", "--num_generations", "1")));
        assertTrue(one.getMessage().contains("num_generations"), one.getMessage());
        assertThrows(
                CliException.class, () -> RjsCommand.run(args(data, tmp.resolve("f"))), "reward_funcs is required");
        assertEquals(0, Main.run(new String[] {"rjs", "--help"}));
        assertEquals(0, Main.run(new String[] {"online_dpo", "--help"}));
    }
}
