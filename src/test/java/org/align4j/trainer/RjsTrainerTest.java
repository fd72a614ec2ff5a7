// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.align4j.engine.Tensors;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rejection sampling on the tiny golden llama (byte-level tokenizer, pad 256, eos 258) with a deterministic reward. */
class RjsTrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long PAD = 256, SEED = 42;
    private static final int N = 4, GEN_BATCH = 2;
    private static final SamplingParams SAMPLING = new SamplingParams(1.0, 0, 1.0, 8, 0);

    /** Sum of the code points of the completion's letters and digits / 100: varied on random text, ties rare. */
    static final RewardFunction ALNUM = RewardFunction.perCompletion("alnum", (p, c, row) -> alnum(c));

    static double alnum(String s) {
        return s.codePoints().filter(Character::isLetterOrDigit).sum() / 100.0;
    }

    static Path modelDir() {
        return Golden.resourceDir("golden/llama-tiny");
    }

    static List<Rollouts.Prompt> prompts(Tokenizer tok, String... texts) {
        List<Rollouts.Prompt> out = new ArrayList<>();
        for (String t : texts)
            out.add(new Rollouts.Prompt(
                    tok.encode(t), t, JSON.createObjectNode().put("prompt", t)));
        return out;
    }

    private static RjsConfig config(Path out, int steps, int rounds, Double threshold) {
        TrainingArgs a = TrainingArgs.defaults(out).withSteps(steps, 8, 1, 1e-3).withLogging(1, 0);
        return new RjsConfig(a, N, SAMPLING, rounds, threshold, GEN_BATCH);
    }

    /** What the trainer should keep, recomputed here: sample as it does (seed + batch index), best non-empty per prompt, first on ties. */
    private static List<Rollouts.Rollout> expectedBest(
            Transformer model, Tokenizer tok, List<Rollouts.Prompt> prompts, long firstSeed) {
        List<Rollouts.Rollout> best = new ArrayList<>();
        for (int b = 0; b * GEN_BATCH < prompts.size(); b++) {
            List<Rollouts.Rollout> rs = Rollouts.sample(
                    model,
                    tok,
                    prompts.subList(b * GEN_BATCH, Math.min(prompts.size(), (b + 1) * GEN_BATCH)),
                    N,
                    new SamplingParams(
                            SAMPLING.temperature(),
                            SAMPLING.topK(),
                            SAMPLING.topP(),
                            SAMPLING.maxNewTokens(),
                            firstSeed + b));
            for (int g = 0; g < rs.size() / N; g++) {
                Rollouts.Rollout pick = null;
                for (int i = 0; i < N; i++) {
                    Rollouts.Rollout r = rs.get(g * N + i);
                    if (r.completionText().isBlank()) continue;
                    if (pick == null || alnum(r.completionText()) > alnum(pick.completionText())) pick = r;
                }
                best.add(pick);
            }
        }
        return best;
    }

    @Test
    void keepsEachPromptsBestNonEmptySampleAndFineTunesOnExactlyPromptPlusIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        try (Tokenizer tok = Tokenizer.load(modelDir());
                Transformer policy = Checkpoints.load(modelDir());
                Transformer fresh = Checkpoints.load(modelDir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, "1+1=", "Name a colour:", "abc", "Q: 7*6? A:");
            List<Rollouts.Rollout> best = expectedBest(fresh, tok, prompts, SEED);
            for (Rollouts.Rollout r : best) if (r == null) fail("a prompt had only empty samples; pick other prompts");
            // the first SFT step (before any update) is the token-mean NLL of those completions after their prompts
            float[][] lp = LogProbs.completionTokenLogps(
                    fresh,
                    best.stream().map(r -> r.prompt().ids()).toList(),
                    best.stream().map(Rollouts.Rollout::completion).toList(),
                    PAD);
            double nll = 0;
            int tokens = 0;
            for (float[] row : lp) {
                nll -= LogProbs.sum(row);
                tokens += row.length;
            }

            List<RjsTrainer.Round> rounds = RjsTrainer.train(
                    policy,
                    tok,
                    prompts,
                    new WeightedRewards(List.of(ALNUM), null),
                    config(out, 2, 1, null),
                    Map.of("seed", 42));
            assertEquals(1, rounds.size());
            List<RjsTrainer.Selected> kept = rounds.get(0).selected();
            assertEquals(prompts.size(), kept.size(), "every prompt keeps its best (no threshold)");
            for (int g = 0; g < prompts.size(); g++) {
                assertArrayEquals(
                        best.get(g).completion(),
                        kept.get(g).completion(),
                        "prompt " + g + ": the kept completion is the best sample");
                assertEquals(alnum(best.get(g).completionText()), kept.get(g).reward(), 1e-12);
                assertTrue(kept.get(g).prompt() == prompts.get(g));
            }
            List<JsonNode> sft = MetricsLog.read(out);
            assertEquals(2, sft.size(), "the last round's SFT logs in output_dir");
            assertEquals(
                    nll / tokens,
                    sft.get(0).get("loss").asDouble(),
                    1e-5,
                    "step 1 trains on exactly prompt + kept completion, loss on the completion");

            JsonNode round = JSON.readTree(
                    Files.readAllLines(out.resolve("rjs_rounds.jsonl")).get(0));
            assertEquals(prompts.size(), round.get("kept").asInt());
            assertEquals(
                    best.stream()
                            .mapToDouble(r -> alnum(r.completionText()))
                            .average()
                            .orElseThrow(),
                    round.get("best_reward").asDouble(),
                    1e-12);
            assertEquals(N * prompts.size(), round.get("samples").asInt());
            assertTrue(
                    round.has("reward") && round.has("rewards/alnum/mean") && round.has("sft_last_loss"),
                    round.toString());

            List<String> selected = Files.readAllLines(out.resolve("round-1/selected.jsonl")),
                    samples = Files.readAllLines(out.resolve("round-1/samples.jsonl"));
            assertEquals(prompts.size(), selected.size());
            assertEquals(N * prompts.size(), samples.size());
            JsonNode first = JSON.readTree(selected.get(0));
            assertEquals("1+1=", first.get("prompt").asText());
            assertEquals(best.get(0).completionText(), first.get("completion").asText());
            double meanAll = samples.stream()
                    .mapToDouble(l -> alnum(read(l).get("completion").asText()))
                    .average()
                    .orElseThrow();
            assertEquals(meanAll, round.get("reward").asDouble(), 1e-9, "reward = mean over every sample");
            try (Transformer saved = Checkpoints.load(out)) {
                for (var e : policy.parameters().entrySet())
                    assertArrayEquals(
                            Tensors.toFloats(e.getValue()),
                            Tensors.toFloats(saved.parameters().get(e.getKey())),
                            "final model " + e.getKey());
            }
        }
    }

    @Test
    void aThresholdKeepsOnlyBestsAboveIt(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(modelDir());
                Transformer policy = Checkpoints.load(modelDir());
                Transformer fresh = Checkpoints.load(modelDir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, "1+1=", "Name a colour:", "abc", "Q: 7*6? A:");
            TreeSet<Double> bests = new TreeSet<>();
            for (Rollouts.Rollout r : expectedBest(fresh, tok, prompts, SEED)) bests.add(alnum(r.completionText()));
            if (bests.size() < 2) fail("the best rewards all agree; pick other prompts");
            double threshold = bests.first(); // strictly greater: the lowest best is dropped
            List<RjsTrainer.Round> rounds = RjsTrainer.train(
                    policy,
                    tok,
                    prompts,
                    new WeightedRewards(List.of(ALNUM), null),
                    config(tmp, 1, 1, threshold),
                    Map.of());
            List<RjsTrainer.Selected> kept = rounds.get(0).selected();
            assertFalse(kept.isEmpty());
            for (RjsTrainer.Selected s : kept) assertTrue(s.reward() > threshold);
            long above = expectedBest(fresh, tok, prompts, SEED).stream()
                    .filter(r -> alnum(r.completionText()) > threshold)
                    .count();
            assertEquals(above, kept.size());

            IllegalStateException none = assertThrows(
                    IllegalStateException.class,
                    () -> RjsTrainer.train(
                            policy,
                            tok,
                            prompts,
                            new WeightedRewards(List.of(ALNUM), null),
                            config(tmp.resolve("none"), 1, 1, 1e9),
                            Map.of()));
            assertTrue(
                    none.getMessage().contains("rjs_reward_threshold")
                            && Files.exists(tmp.resolve("none/round-1/samples.jsonl")),
                    none.getMessage());
        }
    }

    @Test
    void roundTwoSamplesFromRoundOnesModelAndEachRoundKeepsItsOwnFolder(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        try (Tokenizer tok = Tokenizer.load(modelDir());
                Transformer policy = Checkpoints.load(modelDir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, "1+1=", "Name a colour:", "abc");
            List<RjsTrainer.Round> rounds = RjsTrainer.train(
                    policy, tok, prompts, new WeightedRewards(List.of(ALNUM), null), config(out, 2, 2, null), Map.of());
            assertEquals(2, rounds.size());
            assertTrue(
                    Files.exists(out.resolve("round-1/config.json"))
                            && Files.exists(out.resolve("round-1/metrics.jsonl")),
                    "round 1's model and SFT metrics");
            assertTrue(
                    Files.exists(out.resolve("round-2/selected.jsonl"))
                            && !Files.exists(out.resolve("round-2/config.json")),
                    "the last round's model is output_dir's");
            assertEquals(2, Files.readAllLines(out.resolve("rjs_rounds.jsonl")).size());
            assertEquals(2, MetricsLog.read(out).size());
            try (Transformer afterRound1 = Checkpoints.load(out.resolve("round-1"))) {
                int batchesPerRound = 2; // 3 prompts in generation batches of 2
                List<Rollouts.Rollout> best = expectedBest(afterRound1, tok, prompts, SEED + batchesPerRound);
                List<RjsTrainer.Selected> kept = rounds.get(1).selected();
                assertEquals(best.stream().filter(b -> b != null).count(), kept.size());
                for (RjsTrainer.Selected s : kept) {
                    Rollouts.Rollout expected = best.get(prompts.indexOf(s.prompt()));
                    assertArrayEquals(
                            expected.completion(),
                            s.completion(),
                            "round 2 samples from round 1's model with seed + 2: "
                                    + s.prompt().text());
                }
            }
            // a second run into the same output_dir is refused, and so is a resume
            IOException again = assertThrows(
                    IOException.class,
                    () -> RjsTrainer.train(
                            policy,
                            tok,
                            prompts,
                            new WeightedRewards(List.of(ALNUM), null),
                            config(out, 1, 1, null),
                            Map.of()));
            assertTrue(again.getMessage().contains("overwrite_output_dir"), again.getMessage());
            RjsConfig resume = config(out, 1, 1, null);
            resume = new RjsConfig(resume.args().withResume("latest", out), N, SAMPLING, 1, null, GEN_BATCH);
            RjsConfig r = resume;
            assertThrows(
                    IllegalArgumentException.class,
                    () -> RjsTrainer.train(
                            policy, tok, prompts, new WeightedRewards(List.of(ALNUM), null), r, Map.of()));
        }
    }

    @Test
    void selectionSkipsEmptySamplesAndTakesTheFirstOfTies() {
        Rollouts.Prompt p = new Rollouts.Prompt(new long[] {1}, "p", null);
        List<Rollouts.Rollout> group =
                List.of(rollout(p, "a"), rollout(p, " \n"), rollout(p, "b"), rollout(p, ""), rollout(p, "c"));
        // offset 2: totals of the group are 5, 9, 5, 9, 1; the 9s are empty samples
        assertEquals(
                0,
                RjsTrainer.best(group, new double[] {-1, -1, 5, 9, 5, 9, 1}, 2),
                "empty samples never win; ties go to the first");
        assertEquals(4, RjsTrainer.best(group, new double[] {1, 0, 0, 7, 9}, 0), "the highest non-empty sample");
        assertEquals(
                -1,
                RjsTrainer.best(List.of(rollout(p, ""), rollout(p, "  ")), new double[] {3, 4}, 0),
                "only empty samples: none");
    }

    private static Rollouts.Rollout rollout(Rollouts.Prompt p, String text) {
        return new Rollouts.Rollout(p, new long[] {65, 258}, new float[] {-1f, -1f}, true, text);
    }

    private static JsonNode read(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}
