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

    /** align4j's best-vs-worst pairing of G = 3 samples (the pairing the APO loop uses). */
    private static OnlineDpoConfig config(Path out, int steps, int batch, int accumulation, int saveSteps) {
        return OnlineDpoConfig.builder(TrainingArgs.defaults(out)
                        .withSteps(steps, batch, accumulation, 1e-3)
                        .withLogging(1, saveSteps))
                .pairing(OnlineDpoConfig.BEST_VS_WORST)
                .numGenerations(G)
                .sampling(SAMPLING)
                .build();
    }

    @Test
    void bestVsWorstStepOnePairsEachPromptsBestWithItsWorstSkipsTiesAndLeavesTheReferenceUntouched(@TempDir Path tmp)
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

    /**
     * TRL's default run: 2 samples per prompt, first vs second, ties kept, with a reference that differs from the
     * policy (golden/preference/ref: llama-tiny plus noise) so the KL terms are not 0. Step 1 is recomputed here from
     * the seeded samples and checked against TRL's definitions (online_dpo_trainer.py:1203-1277).
     */
    @Test
    void firstVsSecondStepOneLogsTrlObjectivesByTheirDefinitions(@TempDir Path tmp) throws Exception {
        double beta = 0.1;
        SamplingParams sampling = new SamplingParams(0.9, 0, 1.0, 6, 0);
        Path refDir = org.align4j.testing.Golden.resourceDir("golden/preference/ref");
        try (Tokenizer tok = Tokenizer.load(RjsTrainerTest.modelDir());
                Transformer fresh = Checkpoints.load(RjsTrainerTest.modelDir());
                Transformer refCopy = Checkpoints.load(refDir)) {
            List<Rollouts.Prompt> prompts = prompts(tok, false, true, false, true, false);
            int n = prompts.size();
            int[] order = DataCursor.permutation(n, SEED, 0);
            List<Rollouts.Prompt> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) batch.add(prompts.get(order[i]));
            List<Rollouts.Rollout> rs = Rollouts.sample(fresh, tok, batch, 2, sampling.withSeed(SEED));
            double[] r = new double[2 * n];
            for (int i = 0; i < r.length; i++)
                r[i] = rs.get(i).prompt().row().get("tie").asBoolean()
                        ? 0
                        : RjsTrainerTest.alnum(rs.get(i).completionText());
            List<long[]> ps = new ArrayList<>(), cs = new ArrayList<>();
            for (Rollouts.Rollout x : rs) {
                ps.add(x.prompt().ids());
                cs.add(x.completion());
            }
            float[][] pol = LogProbs.completionTokenLogps(fresh, ps, cs, PAD),
                    ref = LogProbs.completionTokenLogps(refCopy, ps, cs, PAD);
            double kl = 0, entropy = 0, scores = 0, rlhf = 0, margin = 0, sigmoid = 0, ipo = 0, chosenLogps = 0;
            int ties = 0;
            for (int i = 0; i < 2 * n; i++) {
                double k = LogProbs.sum(pol[i]) - LogProbs.sum(ref[i]);
                kl += k / (2 * n);
                entropy -= LogProbs.sum(pol[i]) / (2 * n);
                scores += r[i] / (2 * n);
                rlhf += (r[i] - beta * k) / (2 * n);
            }
            for (int p = 0; p < n; p++) {
                int first = 2 * p, second = first + 1;
                if (r[first] == r[second]) ties++;
                int c = r[first] >= r[second] ? first : second, l = c == first ? second : first;
                margin += (r[c] - r[l]) / n;
                double logits =
                        (LogProbs.sum(pol[c]) - LogProbs.sum(pol[l])) - (LogProbs.sum(ref[c]) - LogProbs.sum(ref[l]));
                sigmoid += Math.log1p(Math.exp(-beta * logits)) / n; // -log sigmoid(beta * logits)
                ipo += Math.pow(logits - 1 / (2 * beta), 2) / n; // on sums, not length-normalised
                chosenLogps += LogProbs.sum(pol[c]) / n;
            }
            assertTrue(ties >= 2, "the fixture's tied prompts still pair: " + ties + " ties");

            for (String lossType : List.of("sigmoid", "ipo")) {
                Path out = tmp.resolve(lossType);
                try (Transformer policy = Checkpoints.load(RjsTrainerTest.modelDir());
                        Transformer refModel = Checkpoints.load(refDir)) {
                    OnlineDpoConfig cfg = OnlineDpoConfig.builder(TrainingArgs.defaults(out)
                                    .withSteps(2, n, 1, 1e-3)
                                    .withLogging(1, 0))
                            .lossType(lossType)
                            .beta(beta)
                            .sampling(sampling)
                            .build();
                    OnlineDpoTrainer.train(policy, refModel, tok, prompts, rewards(), cfg, Map.of());
                }
                List<JsonNode> rows = MetricsLog.read(out);
                assertEquals(2, rows.size());
                JsonNode first = rows.get(0);
                double tol = 1e-4; // log-probs batched differently here (float32 sums of up to 7 tokens)
                assertEquals(
                        lossType.equals("sigmoid") ? sigmoid : ipo,
                        first.get("loss").asDouble(),
                        lossType.equals("sigmoid")
                                ? 1e-5
                                : 1e-3, // ipo: 2 |logits - 1/(2 beta)| ~ 10 times the sums' error
                        lossType);
                assertEquals(kl, first.get("objective/kl").asDouble(), tol, first.toString());
                assertEquals(entropy, first.get("objective/entropy").asDouble(), tol);
                assertEquals(-beta * kl, first.get("objective/non_score_reward").asDouble(), tol);
                assertEquals(rlhf, first.get("objective/rlhf_reward").asDouble(), tol);
                assertEquals(scores, first.get("objective/scores").asDouble(), 1e-9);
                assertEquals(margin, first.get("objective/scores_margin").asDouble(), 1e-9);
                assertEquals(beta, first.get("beta").asDouble(), 0.0);
                assertEquals((double) ties / n, first.get("frac_ties").asDouble(), 1e-12);
                assertEquals(chosenLogps, first.get("logps/chosen").asDouble(), tol);
                assertTrue(Math.abs(kl) > 1e-3, "the reference differs from the policy: KL " + kl);
                for (JsonNode row : rows)
                    for (String k : new String[] {"rewards/chosen", "rewards/margins", "val/contain_eos_token"})
                        assertTrue(row.has(k) && Double.isFinite(row.get(k).asDouble()), "missing " + k + ": " + row);
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
                cfg = cfg.toBuilder()
                        .args(cfg.args().withResume("latest", resumed))
                        .build();
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
    void bestVsWorstTakesTheFirstHighestAndFirstLowestAndDropsTies() {
        Rollouts.Prompt a = new Rollouts.Prompt(new long[] {1}, "a", null),
                b = new Rollouts.Prompt(new long[] {2}, "b", null),
                c = new Rollouts.Prompt(new long[] {3}, "c", null);
        List<Rollouts.Rollout> rs = new ArrayList<>();
        for (Rollouts.Prompt p : List.of(a, b, c))
            for (int i = 0; i < 4; i++)
                rs.add(new Rollouts.Rollout(p, new long[] {p.ids()[0] * 10 + i}, new float[] {0f}, true, "x"));
        double[] totals = {1, 3, 3, 0, /* tie */ 2, 2, 2, 2, /* */ 5, 1, 1, 5};
        OnlineDpoTrainer.Pairing pairing = OnlineDpoTrainer.bestVsWorst(rs, totals, 4);
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
                () -> OnlineDpoConfig.builder(TrainingArgs.defaults(Path.of("x")))
                        .pairing(OnlineDpoConfig.BEST_VS_WORST)
                        .numGenerations(1)
                        .build());
    }

    @Test
    void firstVsSecondKeepsTiesAndPrefersTheFirstOnATie() {
        // TRL (online_dpo_trainer.py:1203-1209): mask = first >= second; chosen = first where mask, else second
        Rollouts.Prompt a = new Rollouts.Prompt(new long[] {1}, "a", null),
                b = new Rollouts.Prompt(new long[] {2}, "b", null),
                c = new Rollouts.Prompt(new long[] {3}, "c", null);
        List<Rollouts.Rollout> rs = new ArrayList<>();
        for (Rollouts.Prompt p : List.of(a, b, c))
            for (int i = 0; i < 2; i++)
                rs.add(new Rollouts.Rollout(p, new long[] {p.ids()[0] * 10 + i}, new float[] {0f}, true, "x"));
        double[] totals = {0.5, 2.0, /* tie */ 1.0, 1.0, /* */ 3.0, -1.0};
        OnlineDpoTrainer.Pairing pairing = OnlineDpoTrainer.firstVsSecond(rs, totals);
        assertEquals(3, pairing.pairs().size(), "every prompt gives a pair, the tied one too");
        assertEquals(1, pairing.ties());
        assertArrayEquals(new long[] {11}, pairing.pairs().get(0).chosen(), "second wins");
        assertArrayEquals(new long[] {10}, pairing.pairs().get(0).rejected());
        assertArrayEquals(new long[] {20}, pairing.pairs().get(1).chosen(), "a tie: the first is chosen");
        assertArrayEquals(new long[] {21}, pairing.pairs().get(1).rejected());
        assertArrayEquals(new long[] {30}, pairing.pairs().get(2).chosen(), "first wins");
        assertArrayEquals(new long[] {2}, pairing.pairs().get(1).prompt());
        assertArrayEquals(new double[] {2.0, 1.0, 3.0}, pairing.chosenRewards());
        assertArrayEquals(new double[] {0.5, 1.0, -1.0}, pairing.rejectedRewards());
    }

    @Test
    void trlDefaultsAndClearErrorsForWhatTrlDoesNotAllow() {
        OnlineDpoConfig d =
                OnlineDpoConfig.builder(TrainingArgs.defaults(Path.of("x"))).build();
        // online_dpo_config.py at f2cd577: temperature 0.9, max_new_tokens 64, top_k 0, top_p 1.0, beta 0.1, sigmoid
        assertEquals(0.9, d.sampling().temperature());
        assertEquals(64, d.sampling().maxNewTokens());
        assertEquals(0, d.sampling().topK());
        assertEquals(1.0, d.sampling().topP());
        assertEquals(0.1, d.beta());
        assertEquals("sigmoid", d.lossType());
        assertEquals(OnlineDpoConfig.FIRST_VS_SECOND, d.pairing());
        assertEquals(2, d.numGenerations());
        IllegalArgumentException three = assertThrows(
                IllegalArgumentException.class,
                () -> d.toBuilder().numGenerations(3).build());
        assertTrue(three.getMessage().contains("num_generations must be 2"), three.getMessage());
        IllegalArgumentException hinge = assertThrows(
                IllegalArgumentException.class,
                () -> d.toBuilder().lossType("hinge").build());
        assertTrue(hinge.getMessage().contains("sigmoid, ipo"), hinge.getMessage());
        IllegalArgumentException pairing = assertThrows(
                IllegalArgumentException.class,
                () -> d.toBuilder().pairing("all").build());
        assertTrue(pairing.getMessage().contains("best_vs_worst"), pairing.getMessage());
    }
}
