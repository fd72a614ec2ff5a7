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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Online DPO on the tiny golden llama with a deterministic reward; rows marked "tie" score every completion 0. */
class OnlineDpoTrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long PAD = 256, SEED = 42;
    private static final int G = 3;
    private static final SamplingParams SAMPLING = new SamplingParams(1.0, 0, 1.0, 6, 0);

    static final RewardFunction TIE_OR_ALNUM = RewardFunction.perCompletion(
            "alnum", (p, c, row) -> row.path("tie").asBoolean() ? 0.0 : RjsTrainerTest.alnum(c));

    private static WeightedRewards rewards() {
        return new WeightedRewards(List.of(TIE_OR_ALNUM), null);
    }

    private static List<Rollouts.Prompt> prompts(Tokenizer tok, boolean... ties) {
        String[] texts = {"1+1=", "Name a colour:", "abc", "Q: 7*6? A:", "hi", "zz"};
        List<Rollouts.Prompt> out = new ArrayList<>();
        for (int i = 0; i < ties.length; i++)
            out.add(new Rollouts.Prompt(
                    tok.encode(texts[i]),
                    texts[i],
                    JSON.createObjectNode().put("prompt", texts[i]).put("tie", ties[i])));
        return out;
    }

    private static OnlineDpoConfig config(Path out, int steps, int batch, int accumulation, int saveSteps) {
        DpoConfig dpo = DpoConfig.defaults(TrainingArgs.defaults(out)
                .withSteps(steps, batch, accumulation, 1e-3)
                .withLogging(1, saveSteps));
        return new OnlineDpoConfig(dpo, G, SAMPLING, null);
    }

    @Test
    void stepOnePairsEachPromptsBestWithItsWorstSkipsTiesAndLeavesTheReferenceUntouched(@TempDir Path tmp)
            throws Exception {
        try (Tokenizer tok = Tokenizer.load(RjsTrainerTest.modelDir());
                Transformer policy = Checkpoints.load(RjsTrainerTest.modelDir());
                Transformer ref = Checkpoints.load(RjsTrainerTest.modelDir());
                Transformer fresh = Checkpoints.load(RjsTrainerTest.modelDir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, false, true, false, true, false);
            // step 1 recomputed here: the first batch in the seeded data order, sampled with seed + 0
            int[] order = DataCursor.permutation(prompts.size(), SEED, 0);
            List<Rollouts.Prompt> batch = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) batch.add(prompts.get(order[i]));
            List<Rollouts.Rollout> rs = Rollouts.sample(fresh, tok, batch, G, new SamplingParams(1.0, 0, 1.0, 6, SEED));
            double sum = 0, chosenSum = 0, rejectedSum = 0;
            int ties = 0;
            List<long[]> pPrompts = new ArrayList<>(), chosen = new ArrayList<>(), rejected = new ArrayList<>();
            for (int g = 0; g < batch.size(); g++) {
                double[] r = new double[G];
                for (int i = 0; i < G; i++) {
                    Rollouts.Rollout x = rs.get(g * G + i);
                    r[i] = batch.get(g).row().get("tie").asBoolean() ? 0 : RjsTrainerTest.alnum(x.completionText());
                    sum += r[i];
                }
                int hi = 0, lo = 0;
                for (int i = 1; i < G; i++) {
                    if (r[i] > r[hi]) hi = i;
                    if (r[i] < r[lo]) lo = i;
                }
                if (r[hi] == r[lo]) {
                    ties++;
                    continue;
                }
                chosenSum += r[hi];
                rejectedSum += r[lo];
                pPrompts.add(batch.get(g).ids());
                chosen.add(rs.get(g * G + hi).completion());
                rejected.add(rs.get(g * G + lo).completion());
            }
            int pairs = chosen.size();
            assertTrue(
                    pairs > 0 && ties >= 2, "the fixture needs pairs and ties: " + pairs + " pairs, " + ties + " ties");
            double logpChosen = 0, logpRejected = 0;
            for (float[] row : LogProbs.completionTokenLogps(fresh, pPrompts, chosen, PAD))
                logpChosen += LogProbs.sum(row) / pairs;
            for (float[] row : LogProbs.completionTokenLogps(fresh, pPrompts, rejected, PAD))
                logpRejected += LogProbs.sum(row) / pairs;

            Map<String, float[]> refBefore = snapshot(ref), policyBefore = snapshot(policy);
            OnlineDpoTrainer.train(
                    policy, ref, tok, prompts, rewards(), config(tmp, 3, prompts.size(), 1, 0), Map.of());
            List<JsonNode> rows = MetricsLog.read(tmp);
            assertEquals(3, rows.size());
            JsonNode first = rows.get(0);
            assertEquals(
                    Math.log(2), first.get("loss").asDouble(), 1e-6, "policy == reference before the first update");
            assertEquals(
                    sum / (G * batch.size()), first.get("reward").asDouble(), 1e-9, "mean reward over every sample");
            assertEquals(chosenSum / pairs, first.get("reward/chosen").asDouble(), 1e-9);
            assertEquals(rejectedSum / pairs, first.get("reward/rejected").asDouble(), 1e-9);
            assertEquals((double) ties / batch.size(), first.get("frac_ties").asDouble(), 1e-12);
            assertEquals(
                    logpChosen,
                    first.get("logps/chosen").asDouble(),
                    1e-4,
                    "the chosen completions are each prompt's best");
            assertEquals(
                    logpRejected,
                    first.get("logps/rejected").asDouble(),
                    1e-4,
                    "the rejected completions are each prompt's worst");
            assertEquals(
                    0.0,
                    first.get("rewards/chosen").asDouble(),
                    1e-6,
                    "policy == reference: implicit rewards 0 up to float noise");
            for (String k : new String[] {
                "rewards/margins",
                "rewards/accuracies",
                "reward_std",
                "rewards/alnum/mean",
                "val/contain_eos_token",
                "completions/mean_length",
                "grad_norm"
            }) assertTrue(first.has(k), "missing " + k + ": " + first);
            for (JsonNode r : rows) assertTrue(Double.isFinite(r.get("loss").asDouble()), r.toString());
            for (var e : snapshot(ref).entrySet())
                assertArrayEquals(refBefore.get(e.getKey()), e.getValue(), "reference " + e.getKey() + " changed");
            assertFalse(
                    java.util.Arrays.equals(
                            policyBefore.get("lm_head.weight"),
                            Tensors.toFloats(policy.parameters().get("lm_head.weight"))),
                    "the policy trains");
            try (Transformer saved = Checkpoints.load(tmp)) {
                assertArrayEquals(
                        Tensors.toFloats(policy.parameters().get("lm_head.weight")),
                        Tensors.toFloats(saved.parameters().get("lm_head.weight")));
            }
        }
    }

    @Test
    void resumingFromACheckpointSamplesAndTrainsAsTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        Map<String, float[]> full;
        try (Tokenizer tok = Tokenizer.load(RjsTrainerTest.modelDir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, false, false, true, false);
            try (Transformer policy = Checkpoints.load(RjsTrainerTest.modelDir());
                    Transformer ref = Checkpoints.load(RjsTrainerTest.modelDir())) {
                OnlineDpoTrainer.train(
                        policy, ref, tok, prompts, rewards(), config(tmp.resolve("full"), 4, 2, 1, 2), Map.of());
                full = snapshot(policy);
            }
            Path resumed = tmp.resolve("resumed");
            org.align4j.io.AtomicFiles.writeDirAtomically(
                    resumed.resolve("checkpoint-2"),
                    d -> {
                        try (var files = Files.list(tmp.resolve("full/checkpoint-2"))) {
                            for (Path f : files.toList()) Files.copy(f, d.resolve(f.getFileName()));
                        }
                    },
                    false);
            assertTrue(Files.exists(resumed.resolve("checkpoint-2/" + TrainCheckpoints.STATE_FILE)));
            try (Transformer policy = Checkpoints.load(RjsTrainerTest.modelDir());
                    Transformer ref = Checkpoints.load(RjsTrainerTest.modelDir())) {
                OnlineDpoConfig cfg = config(tmp.resolve("full"), 4, 2, 1, 2);
                cfg = new OnlineDpoConfig(
                        cfg.dpo().withArgs(cfg.dpo().args().withResume("latest", resumed)), G, SAMPLING, null);
                OnlineDpoTrainer.train(policy, ref, tok, prompts, rewards(), cfg, Map.of());
                for (var e : snapshot(policy).entrySet())
                    assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
            }
        }
        List<JsonNode> lf = MetricsLog.read(tmp.resolve("full")), lr = MetricsLog.read(resumed(tmp));
        assertEquals(2, lr.size(), "steps 3 and 4 after the resume");
        assertEquals(4, lf.size());
        assertResumedRowsEqual(tmp.resolve("full"), resumed(tmp), 3);
    }

    private static Path resumed(Path tmp) {
        return tmp.resolve("resumed");
    }

    @Test
    void aStepWhosePromptsAllTieUpdatesNothing(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(RjsTrainerTest.modelDir());
                Transformer policy = Checkpoints.load(RjsTrainerTest.modelDir());
                Transformer ref = Checkpoints.load(RjsTrainerTest.modelDir())) {
            Map<String, float[]> before = snapshot(policy);
            OnlineDpoTrainer.train(
                    policy, ref, tok, prompts(tok, true, true), rewards(), config(tmp, 1, 2, 1, 0), Map.of());
            for (var e : snapshot(policy).entrySet())
                assertArrayEquals(before.get(e.getKey()), e.getValue(), e.getKey() + " moved without a pair");
            JsonNode row = MetricsLog.read(tmp).get(0);
            assertEquals(1.0, row.get("frac_ties").asDouble(), 0.0);
            assertTrue(
                    Double.isNaN(row.get("loss").asDouble()) && !row.has("rewards/chosen"),
                    "no loss without a pair: " + row);
            assertEquals(0, row.get("num_tokens").asLong());
        }
    }

    @Test
    void withLoraTheBaseIsTheReferenceAndNeverMoves(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(RjsTrainerTest.modelDir());
                Transformer policy = Checkpoints.load(RjsTrainerTest.modelDir())) {
            Lora.attach(policy, new Lora.Config(4, 8, 0.0, List.of("q_proj", "v_proj")), 3);
            Map<String, float[]> base = snapshot(policy);
            OnlineDpoTrainer.train(
                    policy, null, tok, prompts(tok, false, false, false), rewards(), config(tmp, 2, 3, 1, 0), Map.of());
            for (var e : snapshot(policy).entrySet())
                assertArrayEquals(
                        base.get(e.getKey()), e.getValue(), "base weight " + e.getKey() + " changed under LoRA");
            assertEquals(
                    Math.log(2),
                    MetricsLog.read(tmp).get(0).get("loss").asDouble(),
                    1e-6,
                    "B = 0 at init: policy == base == reference");
            assertTrue(Files.exists(tmp.resolve("adapter_model.safetensors")));
        }
    }

    @Test
    void pairsTakeTheFirstHighestAndFirstLowestAndCountTies() {
        Rollouts.Prompt a = new Rollouts.Prompt(new long[] {1}, "a", null),
                b = new Rollouts.Prompt(new long[] {2}, "b", null),
                c = new Rollouts.Prompt(new long[] {3}, "c", null);
        List<Rollouts.Rollout> rs = new ArrayList<>();
        for (Rollouts.Prompt p : List.of(a, b, c))
            for (int i = 0; i < 4; i++)
                rs.add(new Rollouts.Rollout(p, new long[] {p.ids()[0] * 10 + i}, new float[] {0f}, true, "x"));
        double[] totals = {1, 3, 3, 0, /* tie */ 2, 2, 2, 2, /* */ 5, 1, 1, 5};
        OnlineDpoTrainer.Pairing pairing = OnlineDpoTrainer.pair(rs, totals, 4);
        assertEquals(1, pairing.ties());
        assertEquals(2, pairing.pairs().size());
        assertArrayEquals(new long[] {11}, pairing.pairs().get(0).chosen());
        assertArrayEquals(new long[] {13}, pairing.pairs().get(0).rejected());
        assertArrayEquals(new long[] {30}, pairing.pairs().get(1).chosen());
        assertArrayEquals(new long[] {31}, pairing.pairs().get(1).rejected());
        assertArrayEquals(new long[] {3}, pairing.pairs().get(1).prompt());
        assertArrayEquals(new double[] {3, 5}, pairing.chosenRewards());
        assertArrayEquals(new double[] {0, 1}, pairing.rejectedRewards());
        assertThrows(
                IllegalArgumentException.class,
                () -> new OnlineDpoConfig(DpoConfig.defaults(TrainingArgs.defaults(Path.of("x"))), 1, SAMPLING, null));
    }
}
