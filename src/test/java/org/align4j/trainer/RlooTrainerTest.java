// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertResumedRowsEqual;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RLOO (TRL's RLOOTrainer) on the tiny golden llama; the reference is golden/preference/ref (llama-tiny plus noise), so
 * the k1 KL is not 0 from the first step.
 */
class RlooTrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long PAD = 256, SEED = 42;

    /** Every completion scores 0: only the KL penalty can tell a group's completions apart. */
    private static final RewardFunction FLAT = RewardFunction.perCompletion("flat", (p, c, row) -> 0.0);

    /** A spread of the completion's characters over [0, 1) (distinct completions score differently). */
    private static final RewardFunction SPREAD =
            RewardFunction.perCompletion("spread", (p, c, row) -> Math.floorMod(c.hashCode(), 997) / 997.0);

    private static Path dir() {
        return Golden.resourceDir("golden/llama-tiny");
    }

    private static Path refDir() {
        return Golden.resourceDir("golden/preference/ref");
    }

    private static List<Rollouts.Prompt> prompts(Tokenizer tok, int n) {
        List<Rollouts.Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String text = i + "+" + (i * 3 % 10) + "=";
            out.add(new Rollouts.Prompt(tok.encode(text), text, JSON.createObjectNode()));
        }
        return out;
    }

    /** TRL's defaults (G 2, beta 0.05, epsilon 0.2) with 2 x 2 completions per step and 6 new tokens. */
    private static RlooConfig config(Path out, int steps, double beta) {
        TrainingArgs a = TrainingArgs.defaults(out).withSteps(steps, 2, 2, 1e-3).withLogging(1, 0);
        return RlooConfig.builder(a).beta(beta).maxCompletionLength(6).build();
    }

    @Test
    void theKlPenaltyAloneSeparatesEqualRewardsAndMovesThePolicy(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer fresh = Checkpoints.load(dir());
                Transformer refCopy = Checkpoints.load(refDir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, 6);
            RlooConfig cfg = config(tmp.resolve("beta"), 1, 0.05);
            // step 1 recomputed: the first promptsPerStep prompts in the seeded order, sampled with the step's seed
            int[] order = DataCursor.permutation(prompts.size(), SEED, 0);
            List<Rollouts.Prompt> batch = new ArrayList<>();
            for (int i = 0; i < cfg.promptsPerStep(); i++) batch.add(prompts.get(order[i]));
            List<Rollouts.Rollout> rs =
                    Rollouts.sampleSharded(fresh, tok, batch, 2, cfg.sampling(GrpoTrainer.sampleSeed(SEED, 0, 0)));
            List<long[]> ps = new ArrayList<>(), cs = new ArrayList<>();
            for (Rollouts.Rollout r : rs) {
                ps.add(r.prompt().ids());
                cs.add(r.completion());
            }
            // temperature 1.0: the sampling distribution is the model's own, so plain log-probs are TRL's
            float[][] pol = LogProbs.completionTokenLogps(fresh, ps, cs, PAD),
                    ref = LogProbs.completionTokenLogps(refCopy, ps, cs, PAD);
            double klSum = 0, tokens = 0;
            int groupsApart = 0;
            double[] seqKl = new double[rs.size()];
            for (int i = 0; i < rs.size(); i++) {
                seqKl[i] = LogProbs.sum(pol[i]) - LogProbs.sum(ref[i]);
                klSum += seqKl[i];
                tokens += pol[i].length;
            }
            for (int g = 0; g < rs.size() / 2; g++) if (seqKl[2 * g] != seqKl[2 * g + 1]) groupsApart++;
            assertTrue(groupsApart > 0, "the fixture needs a group whose completions differ");

            Map<String, float[]> before = snapshot(fresh);
            try (Transformer policy = Checkpoints.load(dir());
                    Transformer refModel = Checkpoints.load(refDir())) {
                RlooTrainer.train(
                        policy, refModel, tok, prompts, new WeightedRewards(List.of(FLAT), null), cfg, null, Map.of());
                JsonNode row = MetricsLog.read(tmp.resolve("beta")).get(0);
                for (String k : new String[] {
                    "loss",
                    "grad_norm",
                    "reward",
                    "reward_std",
                    "rewards/flat/mean",
                    "rewards/flat/std",
                    "frac_reward_zero_std",
                    "kl",
                    "entropy",
                    "clip_ratio/low_mean",
                    "clip_ratio/low_min",
                    "clip_ratio/high_mean",
                    "clip_ratio/high_max",
                    "clip_ratio/region_mean",
                    "completions/mean_length",
                    "completions/min_length",
                    "completions/max_length",
                    "completions/clipped_ratio",
                    "completions/mean_terminated_length",
                    "completions/min_terminated_length",
                    "completions/max_terminated_length",
                    "num_tokens"
                }) assertTrue(row.has(k) && Double.isFinite(row.get(k).asDouble()), "no finite " + k + ": " + row);
                // rloo_trainer.py:1574-1578: k1 token mean of pi_old vs pi_ref over the completion tokens
                assertEquals(klSum / tokens, row.get("kl").asDouble(), 1e-5, row.toString());
                assertEquals(0.0, row.get("reward").asDouble(), 0.0, "the logged reward is the raw one");
                // the zero-std test reads the penalised rewards: groups whose KL differs are no longer flat
                assertEquals(
                        1.0 - (double) groupsApart / (rs.size() / 2),
                        row.get("frac_reward_zero_std").asDouble(),
                        1e-12);
                // leave-one-out advantages sum to 0 in each group and ratio = 1 on fresh samples: the loss is 0
                assertEquals(0.0, row.get("loss").asDouble(), 1e-6);
                assertEquals(0.0, row.get("clip_ratio/region_mean").asDouble(), 0.0);
                assertTrue(row.get("grad_norm").asDouble() > 0, "the KL penalty gives a gradient: " + row);
                assertTrue(
                        snapshot(policy).entrySet().stream()
                                .anyMatch(e -> !java.util.Arrays.equals(before.get(e.getKey()), e.getValue())),
                        "the policy moves on the KL penalty alone");
            }
            try (Transformer policy = Checkpoints.load(dir())) {
                RlooTrainer.train(
                        policy,
                        null,
                        tok,
                        prompts,
                        new WeightedRewards(List.of(FLAT), null),
                        config(tmp.resolve("nobeta"), 1, 0.0),
                        null,
                        Map.of());
                JsonNode row = MetricsLog.read(tmp.resolve("nobeta")).get(0);
                assertFalse(row.has("kl"), "beta 0: no reference, no kl: " + row);
                assertEquals(1.0, row.get("frac_reward_zero_std").asDouble(), 0.0);
                assertEquals(0.0, row.get("grad_norm").asDouble(), 0.0, "equal rewards without a KL give no gradient");
                for (var e : snapshot(policy).entrySet())
                    assertArrayEquals(before.get(e.getKey()), e.getValue(), e.getKey() + " moved without a signal");
            }
        }
    }

    @Test
    void resumingInsideAReusedGenerationBatchContinuesExactly(@TempDir Path tmp) throws Exception {
        // num_iterations 2: steps 1-2 share one generation, 3-4 the next; checkpoint-1 falls between the two updates of
        // the first, so the resumed run must carry the batch, its advantages and pi_old over
        try (Tokenizer tok = Tokenizer.load(dir())) {
            RlooConfig base = config(tmp.resolve("full"), 4, 0.05);
            RlooConfig cfg = base.toBuilder()
                    .args(base.args().withLogging(1, 1))
                    .numIterations(2)
                    .build();
            WeightedRewards rewards = new WeightedRewards(List.of(SPREAD), null);
            Map<String, float[]> full;
            try (Transformer policy = Checkpoints.load(dir());
                    Transformer ref = Checkpoints.load(refDir())) {
                RlooTrainer.train(policy, ref, tok, prompts(tok, 6), rewards, cfg, null, Map.of());
                full = snapshot(policy);
            }
            List<JsonNode> rows = MetricsLog.read(tmp.resolve("full"));
            assertEquals(4, rows.size());
            assertTrue(
                    rows.get(1).get("num_tokens").asLong()
                            == rows.get(0).get("num_tokens").asLong(),
                    "a reused batch feeds no new tokens");
            assertTrue(
                    Math.abs(rows.get(1).get("loss").asDouble()) > 1e-7,
                    "on the second pass pi_theta != pi_old, so the loss is no longer 0: " + rows.get(1));
            Path resumed = tmp.resolve("resumed");
            copyCheckpoint(tmp.resolve("full/checkpoint-1"), resumed.resolve("checkpoint-1"));
            try (Transformer policy = Checkpoints.load(dir());
                    Transformer ref = Checkpoints.load(refDir())) {
                RlooTrainer.train(
                        policy,
                        ref,
                        tok,
                        prompts(tok, 6),
                        rewards,
                        cfg.toBuilder()
                                .args(cfg.args().withResume("latest", resumed))
                                .build(),
                        null,
                        Map.of());
                for (var e : snapshot(policy).entrySet())
                    assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
            }
            assertResumedRowsEqual(tmp.resolve("full"), resumed, 2);
        }
    }

    @Test
    void trlDefaultsAndClearErrors() {
        RlooConfig d = RlooConfig.builder(TrainingArgs.defaults(Path.of("x"))).build();
        // rloo_config.py at f2cd577
        assertEquals(2, d.numGenerations());
        assertEquals(0.05, d.beta());
        assertEquals(0.2, d.epsilonHighOrDefault());
        assertEquals(512, d.maxCompletionLength());
        assertEquals(1.0, d.temperature());
        assertEquals(0, d.topK());
        assertFalse(d.normalizeAdvantages());
        assertEquals(1e-6, RlooConfig.LEARNING_RATE);
        IllegalArgumentException one = assertThrows(
                IllegalArgumentException.class,
                () -> d.toBuilder().numGenerations(1).build());
        assertTrue(one.getMessage().contains("num_generations"), one.getMessage());
        IllegalArgumentException clip = assertThrows(
                IllegalArgumentException.class,
                () -> d.toBuilder().rewardClipRange(new double[] {1, 0}).build());
        assertTrue(clip.getMessage().contains("reward_clip_range"), clip.getMessage());
    }

    private static void copyCheckpoint(Path from, Path to) throws IOException {
        org.align4j.io.AtomicFiles.writeDirAtomically(
                to,
                d -> {
                    try (var files = Files.list(from)) {
                        for (Path f : files.toList()) Files.copy(f, d.resolve(f.getFileName()));
                    }
                },
                false);
    }
}
