// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertResumedRowsEqual;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.loss.GrpoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GRPO (with dynamic sampling and CHORD) on the tiny golden llama and its byte-level tokenizer. */
class GrpoTrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reward: how many '7' characters the completion has; rows marked "flat" always get 0 (a group with no signal). */
    private static final RewardFunction SEVENS = RewardFunction.perCompletion(
            "sevens",
            (p, c, row) -> row.path("flat").asBoolean()
                    ? 0
                    : c.chars().filter(ch -> ch == '7').count());

    /**
     * Reward: a spread of the completion's characters over [0, 1); two completions of a group get the same value only
     * when they are equal (mod 997), so a group of sampled completions has reward variance, and an update, whatever
     * the kernels sample.
     */
    private static final RewardFunction SPREAD =
            RewardFunction.perCompletion("spread", (p, c, row) -> Math.floorMod(c.hashCode(), 997) / 997.0);

    private static Path dir() {
        return Golden.resourceDir("golden/llama-tiny");
    }

    private static List<Rollouts.Prompt> prompts(Tokenizer tok, int n, int flatEvery) {
        List<Rollouts.Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String text = i + "+" + (i * 3 % 10) + "=";
            out.add(new Rollouts.Prompt(
                    tok.encode(text), text, JSON.createObjectNode().put("flat", flatEvery > 0 && i % flatEvery == 0)));
        }
        return out;
    }

    private static GrpoConfig config(
            Path out, int steps, int iterations, double beta, boolean dynamic, GrpoConfig.Chord chord) {
        TrainingArgs a = TrainingArgs.defaults(out).withSteps(steps, 4, 2, 1e-3).withLogging(1, 0);
        GrpoLoss.Config loss = new GrpoLoss.Config("dapo", 0.2, null, null, beta, "token", 6);
        return GrpoConfig.builder(a, loss)
                .numGenerations(4)
                .numIterations(iterations)
                .dynamicSampling(dynamic)
                .chord(chord)
                .build();
    }

    @Test
    void aStepLogsTrlMetricsRecomputedLogProbsMatchSamplingAndTheReferenceStaysPut(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer policy = Checkpoints.load(dir());
                Transformer ref = Checkpoints.load(dir())) {
            Map<String, float[]> before = snapshot(policy), refBefore = snapshot(ref);
            GrpoTrainer.train(
                    policy,
                    ref,
                    tok,
                    prompts(tok, 8, 0),
                    new WeightedRewards(List.of(SPREAD), null),
                    config(tmp, 2, 1, 0.04, false, null),
                    Map.of());
            List<JsonNode> rows = MetricsLog.read(tmp);
            assertEquals(2, rows.size());
            for (JsonNode r : rows) {
                for (String k : new String[] {
                    "loss",
                    "grad_norm",
                    "reward",
                    "reward_std",
                    "rewards/spread/mean",
                    "rewards/spread/std",
                    "frac_reward_zero_std",
                    "kl",
                    "entropy",
                    "clip_ratio/low_mean",
                    "clip_ratio/high_mean",
                    "clip_ratio/region_mean",
                    "completions/mean_length",
                    "completions/clipped_ratio",
                    "completions/min_terminated_length",
                    "completions/max_terminated_length",
                    "clip_ratio/low_min",
                    "clip_ratio/high_max",
                    "sampling/sampling_logp_difference/mean",
                    "sampling/sampling_logp_difference/max",
                    "num_tokens"
                }) assertTrue(r.has(k) && Double.isFinite(r.get(k).asDouble()), "row lacks a finite " + k + ": " + r);
                // the generator's KV-cached log-probs and the trainer's full forward agree to float32 noise
                assertTrue(r.get("sampling/sampling_logp_difference/max").asDouble() < 1e-4, r.toString());
                // num_iterations 1: pi_old is the policy itself, so the ratio is exactly 1 and nothing clips
                assertEquals(0.0, r.get("clip_ratio/region_mean").asDouble(), 0.0);
            }
            assertEquals(0.0, rows.get(0).get("kl").asDouble(), 1e-6, "policy == reference at step 1");
            assertTrue(
                    rows.get(0).get("frac_reward_zero_std").asDouble() < 1,
                    "some group has reward variance, so step 1 has a policy gradient: " + rows.get(0));
            assertTrue(
                    rows.get(1).get("kl").asDouble() > 0, "the first update moves the policy away from the reference");
            for (var e : snapshot(ref).entrySet())
                assertArrayEquals(refBefore.get(e.getKey()), e.getValue(), "reference " + e.getKey() + " changed");
            assertTrue(snapshot(policy).entrySet().stream()
                    .anyMatch(e -> !java.util.Arrays.equals(before.get(e.getKey()), e.getValue())));
            try (Transformer saved = Checkpoints.load(tmp)) {
                assertArrayEquals(
                        Tensors.toFloats(policy.parameters().get("lm_head.weight")),
                        Tensors.toFloats(saved.parameters().get("lm_head.weight")));
            }
        }
    }

    @Test
    void numIterationsReusesTheGenerationWithPiOldFromBeforeTheFirstUpdate(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer policy = Checkpoints.load(dir())) {
            GrpoConfig cfg = config(tmp, 2, 2, 0.0, false, null);
            cfg = cfg.toBuilder()
                    .args(cfg.args().withSteps(2, 4, 2, 5e-2))
                    .numIterations(2)
                    .chord(null)
                    .build();
            GrpoTrainer.train(
                    policy, null, tok, prompts(tok, 8, 0), new WeightedRewards(List.of(SEVENS), null), cfg, Map.of());
            List<JsonNode> rows = MetricsLog.read(tmp);
            assertEquals(
                    rows.get(0).get("reward").asDouble(),
                    rows.get(1).get("reward").asDouble(),
                    0.0,
                    "step 2 trains on step 1's samples");
            assertEquals(
                    rows.get(0).get("completions/mean_length").asDouble(),
                    rows.get(1).get("completions/mean_length").asDouble(),
                    0.0);
            assertFalse(
                    rows.get(1).has("sampling/sampling_logp_difference/mean"),
                    "only a fresh generation is compared with its sampling log-probs");
            assertTrue(
                    rows.get(1).get("num_tokens").asLong()
                            == rows.get(0).get("num_tokens").asLong(),
                    "reused samples are not counted twice");
        }
    }

    @Test
    void dynamicSamplingDropsGroupsWithoutSignalAndRefillsTheBatch(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer policy = Checkpoints.load(dir())) {
            // every second prompt is "flat" (all rewards 0): its group is dropped and another prompt is sampled instead
            GrpoTrainer.train(
                    policy,
                    null,
                    tok,
                    prompts(tok, 16, 2),
                    new WeightedRewards(List.of(SEVENS), null),
                    config(tmp, 2, 1, 0.0, true, null),
                    Map.of());
            for (JsonNode r : MetricsLog.read(tmp)) {
                assertTrue(
                        r.get("dynamic_sampling/rounds").asDouble() >= 2,
                        "the first round has flat groups, so a second one is needed: " + r);
                assertTrue(
                        r.get("frac_reward_zero_std").asDouble() >= 0.5,
                        "the logged rewards are those of the first round: " + r);
            }
        }
    }

    @Test
    void chordAddsTheExpertTermOnItsScheduleAndResumeReproducesTheRun(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(dir())) {
            List<Sequence> expert = new ArrayList<>();
            for (int i = 0; i < 6; i++)
                expert.add(Sequence.promptCompletion(tok.encode(i + "+1="), new long[] {'7', tok.eosTokenId()}));
            GrpoConfig.Chord chord = new GrpoConfig.Chord(expert, 2, 0, 2, 0.9, 0.1, true, 1.0);
            GrpoConfig cfg = config(tmp.resolve("full"), 4, 1, 0.0, false, chord);
            cfg = cfg.toBuilder()
                    .args(cfg.args().withLogging(1, 2))
                    .numIterations(1)
                    .chord(chord)
                    .build();
            Map<String, float[]> full;
            try (Transformer policy = Checkpoints.load(dir())) {
                GrpoTrainer.train(
                        policy,
                        null,
                        tok,
                        prompts(tok, 8, 0),
                        new WeightedRewards(List.of(SEVENS), null),
                        cfg,
                        Map.of());
                full = snapshot(policy);
            }
            List<JsonNode> rows = MetricsLog.read(tmp.resolve("full"));
            // mu: cosine from peak 0.9 at step 0 to valley 0.1 at step 2, then flat (docs/algorithms.md §4.3)
            assertEquals(0.9, rows.get(0).get("chord/mu").asDouble(), 1e-12);
            assertEquals(0.5, rows.get(1).get("chord/mu").asDouble(), 1e-12);
            assertEquals(0.1, rows.get(3).get("chord/mu").asDouble(), 1e-12);
            assertTrue(rows.get(0).get("chord/sft_loss").asDouble() > 0);
            Path resumed = tmp.resolve("resumed");
            org.align4j.io.AtomicFiles.writeDirAtomically(
                    resumed.resolve("checkpoint-2"),
                    d -> {
                        try (var files = Files.list(tmp.resolve("full/checkpoint-2"))) {
                            for (Path f : files.toList()) Files.copy(f, d.resolve(f.getFileName()));
                        }
                    },
                    false);
            try (Transformer policy = Checkpoints.load(dir())) {
                GrpoTrainer.train(
                        policy,
                        null,
                        tok,
                        prompts(tok, 8, 0),
                        new WeightedRewards(List.of(SEVENS), null),
                        cfg.toBuilder()
                                .args(cfg.args().withResume("latest", resumed))
                                .numIterations(1)
                                .chord(chord)
                                .build(),
                        Map.of());
                for (var e : snapshot(policy).entrySet())
                    assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
            }
            assertEquals(2, MetricsLog.read(resumed).size());
            assertResumedRowsEqual(tmp.resolve("full"), resumed, 3);
        }
    }

    @Test
    void resumingInsideAReusedGenerationBatchContinuesExactly(@TempDir Path tmp) throws Exception {
        // num_iterations 2: steps 1-2 share one generation, 3-4 the next; checkpoint-1 is saved between the two
        // updates of the first, so the resumed run must carry the batch and its pi_old over, and num_tokens with them
        try (Tokenizer tok = Tokenizer.load(dir())) {
            GrpoConfig base = config(tmp.resolve("full"), 4, 2, 0.04, false, null);
            GrpoConfig cfg =
                    base.toBuilder().args(base.args().withLogging(1, 1)).build();
            Map<String, float[]> full;
            try (Transformer policy = Checkpoints.load(dir());
                    Transformer ref = Checkpoints.load(dir())) {
                GrpoTrainer.train(policy, ref, tok, prompts(tok, 8, 0), rewards(), cfg, Map.of());
                full = snapshot(policy);
            }
            Path resumed = tmp.resolve("resumed");
            copyCheckpoint(tmp.resolve("full/checkpoint-1"), resumed.resolve("checkpoint-1"));
            try (Transformer policy = Checkpoints.load(dir());
                    Transformer ref = Checkpoints.load(dir())) {
                GrpoTrainer.train(
                        policy,
                        ref,
                        tok,
                        prompts(tok, 8, 0),
                        rewards(),
                        cfg.toBuilder()
                                .args(cfg.args().withResume("latest", resumed))
                                .build(),
                        Map.of());
                for (var e : snapshot(policy).entrySet())
                    assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
            }
            assertResumedRowsEqual(tmp.resolve("full"), resumed, 2);
            assertTrue(MetricsLog.read(resumed).get(0).get("num_tokens").asLong() > 0, "num_tokens carried over");
        }
    }

    @Test
    void gradientCheckpointingLogsTheSameStep(@TempDir Path tmp) throws Exception {
        // the metrics are read out of tensors that a checkpointed forward-backward frees when it returns
        try (Tokenizer tok = Tokenizer.load(dir())) {
            List<JsonNode> rows = new ArrayList<>();
            for (boolean checkpointed : new boolean[] {false, true}) {
                GrpoConfig base = config(tmp.resolve("c" + checkpointed), 1, 1, 0.04, false, null);
                GrpoConfig cfg = base.toBuilder()
                        .args(base.args().toBuilder()
                                .gradientCheckpointing(checkpointed)
                                .build())
                        .build();
                try (Transformer policy = Checkpoints.load(dir());
                        Transformer ref = Checkpoints.load(dir())) {
                    GrpoTrainer.train(policy, ref, tok, prompts(tok, 8, 0), rewards(), cfg, Map.of());
                }
                rows.add(MetricsLog.read(tmp.resolve("c" + checkpointed)).get(0));
            }
            for (String k : new String[] {"loss", "entropy", "reward", "sampling/sampling_logp_difference/max"})
                assertEquals(rows.get(0).get(k).asDouble(), rows.get(1).get(k).asDouble(), 1e-5, k);
        }
    }

    private static WeightedRewards rewards() {
        return new WeightedRewards(List.of(SPREAD), null);
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
