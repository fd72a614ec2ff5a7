// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows;
import org.align4j.reward.RewardModelReward;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.ApoConfig;
import org.align4j.trainer.ApoLoop;
import org.align4j.trainer.RewardTrainer;
import org.align4j.trainer.Rollouts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** apo end to end on the tiny golden llama: APO and the baseline, with implicit-prompt pairs; its data split and defaults. */
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
            List<Rollouts.Prompt> queries = ApoCommand.queries(o, tok, rows, java.util.Set.of());
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

    /** 20 arithmetic pairs over 16 queries ("Q: i+1= A:"); queries 0..3 have a second pair with another wrong answer. */
    private static Path arithmeticPairs(Path tmp) throws java.io.IOException {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 16; i++)
            rows.append(String.format(
                    "{\"chosen\": \"Q: %d+1= A: %d\", \"rejected\": \"Q: %d+1= A: %d\"}%n", i, i + 1, i, i + 3));
        for (int i = 0; i < 4; i++)
            rows.append(String.format(
                    "{\"chosen\": \"Q: %d+1= A: %d\", \"rejected\": \"Q: %d+1= A: %d\"}%n", i, i + 1, i, i + 5));
        return Files.writeString(tmp.resolve("pairs.jsonl"), rows.toString());
    }

    @Test
    void oneDataSetIsSplitByQueryAndEachRoundsRewardModelIsMeasuredOnTheHeldOutPairs(@TempDir Path tmp)
            throws Exception {
        Path data = arithmeticPairs(tmp), out = tmp.resolve("run"), model = Golden.resourceDir("golden/llama-tiny");
        ApoCommand.run(new String[] {
            "--model_name_or_path", model.toString(),
            "--dataset_name", data.toString(),
            "--output_dir", out.toString(),
            "--rm_eval_fraction", "0.25",
            "--align_query_fraction", "0.25",
            "--apo_rounds", "1",
            "--baseline", "false",
            "--max_completion_length", "4",
            "--rm_max_steps", "2",
            "--rm_learning_rate", "1e-3",
            "--align_learning_rates", "1e-3",
            "--per_device_train_batch_size", "4"
        });
        // the split: 4 held-out, 4 alignment and 8 reward-model queries out of 16, no query in two parts
        JsonNode split =
                new ObjectMapper().readTree(out.resolve(ApoData.SPLIT_FILE).toFile());
        List<JsonRows.Row> rows = Datasets.read(data, "train");
        Map<String, Set<String>> queries = new java.util.LinkedHashMap<>();
        Map<String, List<JsonRows.Row>> parts = new java.util.LinkedHashMap<>();
        for (String part : new String[] {"held_out", "align", "reward_model"}) {
            List<JsonRows.Row> mine = new ArrayList<>();
            for (JsonNode i : split.get("rows").get(part)) mine.add(rows.get(i.asInt()));
            parts.put(part, mine);
            queries.put(part, new HashSet<>(mine.stream().map(ApoCommand::query).toList()));
            assertEquals(
                    split.get("queries").get(part).asInt(), queries.get(part).size(), part);
        }
        assertEquals(List.of(4, 4, 8), queries.values().stream().map(Set::size).toList());
        assertEquals(20, parts.values().stream().mapToInt(List::size).sum(), "every row in one part");
        for (String a : queries.keySet())
            for (String b : queries.keySet())
                if (!a.equals(b)) {
                    Set<String> both = new HashSet<>(queries.get(a));
                    both.retainAll(queries.get(b));
                    assertTrue(both.isEmpty(), a + " and " + b + " share " + both);
                }
        // rounds.jsonl: the reward model of each round (round 0: the base one) on the held-out pairs, recomputed here
        // from the saved reward models
        List<JsonNode> rounds = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("apo/rounds.jsonl")))
            rounds.add(new ObjectMapper().readTree(line));
        assertEquals(2, rounds.size(), "round 0 and round 1");
        List<RewardTrainer.Pair> heldOut;
        try (Tokenizer tok = Tokenizer.load(model)) {
            heldOut = RewardCommand.pairs(tok, parts.get("held_out"));
        }
        assertTrue(heldOut.size() >= 4, "4 held-out queries, some with 2 pairs: " + heldOut.size());
        Path[] rms = {out.resolve("rm-base"), out.resolve("apo/round-1/rm")};
        for (int round = 0; round < 2; round++) {
            JsonNode r = rounds.get(round);
            double[] diff = new double[heldOut.size()];
            int right = 0;
            try (RewardModelReward rm = RewardModelReward.load(rms[round], 4)) {
                float[]
                        c =
                                rm.scoreIds(heldOut.stream()
                                        .map(RewardTrainer.Pair::chosen)
                                        .toList()),
                        j =
                                rm.scoreIds(heldOut.stream()
                                        .map(RewardTrainer.Pair::rejected)
                                        .toList());
                for (int i = 0; i < diff.length; i++) {
                    diff[i] = (double) c[i] - j[i];
                    if (diff[i] > 0) right++;
                }
            }
            assertEquals(
                    (double) right / diff.length, r.get("rm/heldout_accuracy").asDouble(), 1e-12, "round " + round);
            assertEquals(
                    org.align4j.loss.Calibration.expectedCalibrationError(diff, 10),
                    r.get("rm/heldout_ece").asDouble(),
                    1e-6,
                    "round " + round);
        }
    }

    @Test
    void alignmentPromptsThatAreRewardModelQueriesAreLeftOut(@TempDir Path tmp) throws Exception {
        Path model = Golden.resourceDir("golden/llama-tiny"), data = arithmeticPairs(tmp);
        Path align = Files.writeString(
                tmp.resolve("align.jsonl"),
                "{\"prompt\": \"Q: 2+1= A:\"}\n{\"prompt\": \"Q: 40+1= A:\"}\n{\"prompt\": \"Q: 41+1= A:\"}\n");
        Options o = Options.parse("apo", ApoCommand.SPECS, new String[] {
            "--model_name_or_path", model.toString(),
            "--dataset_name", data.toString(),
            "--align_dataset_name", align.toString(),
            "--output_dir", tmp.resolve("run").toString()
        });
        ApoData d = ApoData.read(o, ApoCommand::query);
        assertEquals(20, d.rm().size(), "with align_dataset_name every pair of dataset_name trains the reward model");
        assertTrue(d.heldOut().isEmpty() && d.split() == null, "no split, nothing held out by default");
        try (Tokenizer tok = Tokenizer.load(model)) {
            Set<String> rmQueries = new HashSet<>();
            for (ApoLoop.Gold g : ApoCommand.gold(o, tok, d.rm())) rmQueries.add(java.util.Arrays.toString(g.ids(tok)));
            List<Rollouts.Prompt> q = ApoCommand.queries(o, tok, d.align(), rmQueries);
            assertEquals(
                    List.of("Q: 40+1= A:", "Q: 41+1= A:"),
                    q.stream().map(Rollouts.Prompt::text).toList(),
                    "Q: 2+1= A: is a reward-model query");
            CliException e = assertThrows(CliException.class, () -> ApoCommand.queries(o, tok, d.rm(), rmQueries));
            assertTrue(e.getMessage().contains("no alignment prompt"), e.getMessage());
        }
        CliException both = assertThrows(
                CliException.class,
                () -> ApoData.read(
                        Options.parse("apo", ApoCommand.SPECS, new String[] {
                            "--model_name_or_path", model.toString(),
                            "--dataset_name", data.toString(),
                            "--align_dataset_name", align.toString(),
                            "--align_query_fraction", "0.3",
                            "--output_dir", tmp.resolve("run").toString()
                        }),
                        ApoCommand::query));
        assertTrue(both.getMessage().contains("not both"), both.getMessage());
    }

    @Test
    void theDefaultsAreApos(@TempDir Path tmp) throws Exception {
        Options o = Options.parse("apo", ApoCommand.SPECS, new String[] {
            "--model_name_or_path",
            tmp.toString(),
            "--dataset_name",
            tmp.toString(),
            "--output_dir",
            tmp.resolve("o").toString()
        });
        // tools/inference_llm.py:134-151 (task sampling) and llm_response_gen.sh:11,20: the alignment queries are
        // sampled
        // as the reward model's: 4 per query at T 1.2, top_p 1.0
        ApoConfig c = ApoCommand.config(
                o, TrainingOptions.parse(o), org.align4j.trainer.RewardConfig.defaults(tmp), true, null);
        assertEquals(1.2, c.alignSampling().temperature());
        assertEquals(1.0, c.alignSampling().topP());
        assertEquals(4, c.alignGenerations());
        assertEquals(1.2, c.apoSampling().temperature());
        assertEquals(4, c.apoLoss().apoSampleNum());
        // reward_datasets.py:117-121 with the README's --truncation_side left, --max_length 512
        assertEquals(org.align4j.trainer.RewardConfig.LEFT, ApoCommand.rmTruncation(o));
        assertEquals(512, o.integer("max_length"));
        assertEquals(0.5, o.number("align_query_fraction"));
        CliException e = assertThrows(
                CliException.class,
                () -> ApoCommand.rmTruncation(Options.parse("apo", ApoCommand.SPECS, new String[] {
                    "--model_name_or_path", tmp.toString(),
                    "--dataset_name", tmp.toString(),
                    "--output_dir", tmp.resolve("o").toString(),
                    "--rm_truncation", "right"
                })));
        assertTrue(e.getMessage().contains("rm_truncation"), e.getMessage());
    }
}
