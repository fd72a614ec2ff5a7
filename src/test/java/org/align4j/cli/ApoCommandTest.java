// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows;
import org.align4j.reward.RewardModelReward;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.ApoLoop;
import org.align4j.trainer.Rollouts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** apo end to end on the tiny golden llama: APO and the baseline, with implicit-prompt pairs. */
class ApoCommandTest {
    @Test
    void apoAndItsBaselineRunTheirRoundsAndLogTheRewardModel(@TempDir Path tmp) throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 12; i++)
            rows.append(String.format(
                    "{\"chosen\": \"Q: %d+1= A: %d\", \"rejected\": \"Q: %d+1= A: %d\"}%n", i, i + 1, i, i + 3));
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), rows.toString()), out = tmp.resolve("run");
        ApoCommand.run(new String[] {
            "--model_name_or_path",
            Golden.resourceDir("golden/llama-tiny").toString(),
            "--dataset_name",
            data.toString(),
            "--eval_dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--apo_rounds",
            "1",
            "--align_method",
            "rjs",
            "--max_completion_length",
            "6",
            "--rm_max_steps",
            "2",
            "--rm_learning_rate",
            "1e-3",
            "--align_learning_rates",
            "1e-3",
            "--max_gold_queries",
            "4",
            "--max_queries",
            "4",
            "--per_device_train_batch_size",
            "4"
        });
        for (String side : new String[] {"apo", "baseline"}) {
            List<JsonNode> rounds = new ArrayList<>();
            for (String line : Files.readAllLines(out.resolve(side).resolve("rounds.jsonl")))
                rounds.add(new ObjectMapper().readTree(line));
            assertEquals(2, rounds.size(), side + ": round 0 and round 1");
            for (JsonNode r : rounds)
                assertTrue(r.has("rm/heldout_accuracy") && r.has("rm/gold_sample_gap"), r.toString());
            assertTrue(Files.exists(out.resolve(side).resolve("round-1/policy/model.safetensors")));
        }
        assertTrue(
                Files.exists(out.resolve("apo/round-1/rm/model.safetensors")), "APO trains a reward model each round");
        assertTrue(
                Files.notExists(out.resolve("baseline/round-1/rm")),
                "the baseline aligns against the base reward model");
    }

    /** Conversational pairs, implicit prompt (the shared first turn) and explicit prompt, on the tiny qwen3 with its chat template. */
    private static final String CHAT_PAIRS = """
            {"chosen": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}], "rejected": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}]}
            {"prompt": [{"role": "user", "content": "3+3?"}], "chosen": [{"role": "assistant", "content": "6"}], "rejected": [{"role": "assistant", "content": "7"}]}
            {"prompt": [{"role": "user", "content": "1+4?"}], "chosen": [{"role": "assistant", "content": "5"}], "rejected": [{"role": "assistant", "content": "3"}]}
            {"prompt": [{"role": "user", "content": "2+5?"}], "chosen": [{"role": "assistant", "content": "7"}], "rejected": [{"role": "assistant", "content": "8"}]}
            """;

    @Test
    void conversationalPairsGiveTemplatedGoldAnswersThatTheRewardModelScoresAsItWasTrained(@TempDir Path tmp)
            throws Exception {
        Path model = Golden.resourceDir("golden/qwen3-tiny"),
                data = Files.writeString(tmp.resolve("chat.jsonl"), CHAT_PAIRS);
        Options o = Options.parse("apo", ApoCommand.SPECS, new String[] {
            "--model_name_or_path",
            model.toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            tmp.resolve("run").toString()
        });
        try (Tokenizer tok = Tokenizer.load(model)) {
            List<JsonRows.Row> rows = Datasets.read(data, "train");
            List<ApoLoop.Gold> gold = ApoCommand.gold(o, tok, rows);
            List<Rollouts.Prompt> queries = ApoCommand.queries(o, tok, rows);
            assertEquals(4, gold.size());
            String[] users = {"2+2?", "3+3?", "1+4?", "2+5?"}, answers = {"4", "6", "5", "7"};
            for (int i = 0; i < 4; i++) {
                List<Map<String, Object>> prompt = List.of(Map.of("role", "user", "content", users[i]));
                long[] expectedIds = tok.encodeNoSpecial(tok.applyChatTemplate(prompt, true, Map.of()));
                assertArrayEquals(
                        expectedIds,
                        gold.get(i).promptIds(),
                        "row " + i + ": the policy samples from the templated prompt");
                assertArrayEquals(expectedIds, queries.get(i).ids(), "row " + i);
                assertEquals(
                        "<|im_start|>user\n" + users[i] + "<|im_end|>\n<|im_start|>assistant\n",
                        gold.get(i).prompt(),
                        "row " + i);
                assertEquals(
                        answers[i],
                        gold.get(i).response(),
                        "row " + i + ": the assistant turn without its end-of-turn token");
                // what the reward model scores for the gold answer is the reward command's chosen sequence without the
                // template's trailing newline
                long[] trained = RewardCommand.pair(tok, rows.get(i)).chosen();
                long[] scored;
                try (RewardModelReward rm = RewardModelReward.load(Golden.resourceDir("golden/qwen3-tiny-rm"), 4)) {
                    scored = rm.encode(gold.get(i).prompt(), gold.get(i).response());
                }
                assertArrayEquals(java.util.Arrays.copyOf(trained, trained.length - 1), scored, "row " + i);
                assertEquals("\n", tok.decode(new long[] {trained[trained.length - 1]}, false));
            }
        }
    }

    @Test
    void apoRunsOnConversationalPairs(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("chat.jsonl"), CHAT_PAIRS), out = tmp.resolve("run");
        ApoCommand.run(new String[] {
            "--model_name_or_path",
            Golden.resourceDir("golden/qwen3-tiny").toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--apo_rounds",
            "1",
            "--align_method",
            "rjs",
            "--baseline",
            "false",
            "--max_completion_length",
            "4",
            "--rm_max_steps",
            "1",
            "--align_learning_rates",
            "1e-3",
            "--per_device_train_batch_size",
            "4"
        });
        List<String> rounds = Files.readAllLines(out.resolve("apo").resolve("rounds.jsonl"));
        assertEquals(2, rounds.size(), "round 0 and round 1");
        assertTrue(
                new ObjectMapper()
                        .readTree(rounds.get(1))
                        .get("rm/gold_sample_gap")
                        .isNumber(),
                rounds.get(1));
        assertTrue(Files.exists(out.resolve("apo/round-1/rm/model.safetensors")));
    }
}
