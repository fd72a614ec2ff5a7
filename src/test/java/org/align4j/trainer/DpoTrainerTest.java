// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertPartsAddUp;
import static org.align4j.trainer.TrainerFixtures.assertResumedRowsEqual;
import static org.align4j.trainer.TrainerFixtures.assertSameGradients;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.align4j.trainer.TrainerFixtures.stepGradients;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.data.PreferencePair;
import org.align4j.engine.Tensors;
import org.align4j.loss.DpoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DPO on the tiny golden llama: "a+b=" with the right sum preferred over a wrong one (byte-level ids). */
class DpoTrainerTest {
    private static final long PAD = 256, EOS = 258;

    static List<PreferencePair> arithmeticPairs(int n, long seed) {
        Random rng = new Random(seed);
        List<PreferencePair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = rng.nextInt(50), b = rng.nextInt(50), wrong = a + b + 1 + rng.nextInt(9);
            out.add(new PreferencePair(
                    bytes(a + "+" + b + "="),
                    withEos(bytes(Integer.toString(a + b))),
                    withEos(bytes(Integer.toString(wrong)))));
        }
        return out;
    }

    private static long[] bytes(String s) {
        byte[] b = s.getBytes();
        long[] ids = new long[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i];
        return ids;
    }

    private static long[] withEos(long[] ids) {
        long[] out = java.util.Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = EOS;
        return out;
    }

    private static Transformer tiny() throws IOException {
        return Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    /** The tiny llama with seeded noise on every weight: a reference that differs from the policy. */
    private static Transformer perturbed(long seed) throws IOException {
        Transformer m = tiny();
        torch.manual_seed(seed);
        try (NoGradGuard g = new NoGradGuard();
                PointerScope s = new PointerScope()) {
            for (var p : m.parameters().values()) p.add_(torch.randn_like(p).mul(Tensors.scalar(0.05)));
        }
        return m;
    }

    private static DpoConfig config(Path out, int steps, int batch, int accumulation) {
        return DpoConfig.defaults(TrainingArgs.defaults(out)
                .withSteps(steps, batch, accumulation, 1e-3)
                .withLogging(1, 0));
    }

    private static DpoLoss.Config loss(List<String> types, List<Double> weights, double beta) {
        DpoLoss.Config d = DpoLoss.Config.defaults();
        return new DpoLoss.Config(
                types,
                weights,
                beta,
                d.labelSmoothing(),
                d.fDivergenceType(),
                d.fAlphaDivergenceCoef(),
                d.discopopTau());
    }

    @Test
    void firstStepLogsTheUntrainedBatchUnderTrlNamesEveryParameterMovesAndTheReferenceStaysBitForBit(@TempDir Path tmp)
            throws Exception {
        try (Transformer policy = tiny();
                Transformer ref = tiny()) {
            Map<String, float[]> before = snapshot(policy), refBefore = snapshot(ref);
            DpoTrainer.train(
                    policy, ref, arithmeticPairs(16, 1), List.of(), config(tmp, 3, 4, 1), PAD, Map.of("beta", 0.1));
            for (var e : snapshot(policy).entrySet())
                assertFalse(
                        java.util.Arrays.equals(before.get(e.getKey()), e.getValue()), e.getKey() + " did not move");
            for (var e : snapshot(ref).entrySet())
                assertArrayEquals(refBefore.get(e.getKey()), e.getValue(), "reference " + e.getKey() + " changed");
            List<JsonNode> rows = MetricsLog.read(tmp);
            assertEquals(3, rows.size());
            for (JsonNode r : rows)
                for (String k : new String[] {
                    "step",
                    "epoch",
                    "loss",
                    "learning_rate",
                    "grad_norm",
                    "rewards/chosen",
                    "rewards/rejected",
                    "rewards/margins",
                    "rewards/accuracies",
                    "logps/chosen",
                    "logps/rejected",
                    "logits/chosen",
                    "logits/rejected",
                    "entropy",
                    "mean_token_accuracy",
                    "num_tokens"
                })
                    assertTrue(
                            r.has(k) && Double.isFinite(r.get(k).asDouble()),
                            "metrics.jsonl row lacks a finite " + k + ": " + r);
            // policy == reference before the first update: every implicit reward is 0 and -log sigmoid(0) = ln 2
            JsonNode first = rows.get(0);
            assertEquals(Math.log(2), first.get("loss").asDouble(), 1e-6);
            // policy and reference are two copies of one checkpoint, but the reference is scored without a graph, a
            // path whose kernels may sum in another order: the reward is 0 up to float32 rounding of the log-probs
            assertEquals(
                    0.0,
                    first.get("rewards/chosen").asDouble(),
                    1e-6 * 0.1 * Math.abs(first.get("logps/chosen").asDouble()) + 1e-9);
            assertTrue(
                    rows.get(2).get("rewards/margins").asDouble() > 0, "the policy moves towards the chosen answers");
            try (Transformer saved = Checkpoints.load(tmp)) {
                assertArrayEquals(
                        Tensors.toFloats(policy.parameters().get("lm_head.weight")),
                        Tensors.toFloats(saved.parameters().get("lm_head.weight")));
            }
        }
    }

    @Test
    void firstStepMetricsMatchLogProbsScoredOneRowAtATime(@TempDir Path tmp) throws Exception {
        List<PreferencePair> pairs = arithmeticPairs(4, 2);
        double beta = 0.5;
        double[] pc = new double[4], pr = new double[4], rc = new double[4], rr = new double[4];
        try (Transformer policy = tiny();
                Transformer ref = perturbed(11)) {
            for (int i = 0; i < 4; i++) { // unpadded, one row at a time, through LogProbs (not CompletionBatch)
                PreferencePair p = pairs.get(i);
                pc[i] = LogProbs.sum(
                        LogProbs.completionTokenLogps(policy, List.of(p.prompt()), List.of(p.chosen()), PAD)[0]);
                pr[i] = LogProbs.sum(
                        LogProbs.completionTokenLogps(policy, List.of(p.prompt()), List.of(p.rejected()), PAD)[0]);
                rc[i] = LogProbs.sum(
                        LogProbs.completionTokenLogps(ref, List.of(p.prompt()), List.of(p.chosen()), PAD)[0]);
                rr[i] = LogProbs.sum(
                        LogProbs.completionTokenLogps(ref, List.of(p.prompt()), List.of(p.rejected()), PAD)[0]);
            }
            DpoConfig cfg = config(tmp, 1, 4, 1).withLoss(loss(List.of("sigmoid"), List.of(1.0), beta));
            DpoTrainer.train(policy, ref, pairs, List.of(), cfg, PAD, Map.of());
            JsonNode first = MetricsLog.read(tmp).get(0);
            double loss = 0, chosen = 0, rejected = 0, acc = 0, lpc = 0;
            for (int i = 0; i < 4; i++) {
                double d = beta * ((pc[i] - rc[i]) - (pr[i] - rr[i]));
                loss += Math.log1p(Math.exp(-d)) / 4; // -log sigmoid(d)
                chosen += beta * (pc[i] - rc[i]) / 4;
                rejected += beta * (pr[i] - rr[i]) / 4;
                acc += (pc[i] - rc[i] > pr[i] - rr[i] ? 1.0 : 0.0) / 4;
                lpc += pc[i] / 4;
            }
            assertEquals(loss, first.get("loss").asDouble(), 1e-5);
            assertEquals(chosen, first.get("rewards/chosen").asDouble(), 1e-5);
            assertEquals(rejected, first.get("rewards/rejected").asDouble(), 1e-5);
            assertEquals(chosen - rejected, first.get("rewards/margins").asDouble(), 1e-5);
            assertEquals(acc, first.get("rewards/accuracies").asDouble(), 0.0);
            assertEquals(lpc, first.get("logps/chosen").asDouble(), 1e-4);
        }
    }

    @Test
    void withLoraTheReferenceIsTheBaseWithAdaptersOffAndTheBaseNeverMoves(@TempDir Path tmp) throws Exception {
        try (Transformer policy = tiny()) {
            Lora.attach(policy, new Lora.Config(4, 8, 0.0, List.of("q_proj", "v_proj")), 3);
            Map<String, float[]> base = snapshot(policy), adapters = new LinkedHashMap<>();
            policy.trainableParameters().forEach((k, v) -> adapters.put(k, Tensors.toFloats(v)));
            DpoTrainer.train(policy, null, arithmeticPairs(8, 3), List.of(), config(tmp, 3, 4, 1), PAD, Map.of());
            for (var e : snapshot(policy).entrySet())
                assertArrayEquals(
                        base.get(e.getKey()), e.getValue(), "base weight " + e.getKey() + " changed under LoRA");
            for (var e : policy.trainableParameters().entrySet())
                if (e.getKey()
                        .endsWith(
                                "lora_B.weight")) // B starts at 0 and is what the first steps move (A gets no gradient
                    // while B = 0)
                    assertFalse(
                            java.util.Arrays.equals(adapters.get(e.getKey()), Tensors.toFloats(e.getValue())),
                            e.getKey() + " did not move");
            assertEquals(
                    Math.log(2),
                    MetricsLog.read(tmp).get(0).get("loss").asDouble(),
                    1e-6,
                    "B = 0 at init: policy == base == reference");
            assertTrue(
                    Files.exists(tmp.resolve("adapter_model.safetensors")),
                    "the final LoRA model is saved in PEFT's format");
        }
    }

    /**
     * A micro-batch's pairs run as parts at once (RowParallel) log what the whole micro-batch logs and leave its
     * gradients: with a reference model of its own, and with LoRA, whose reference pass switches the adapters off on
     * its own thread while the other parts run the policy with them.
     */
    @Test
    void pairsAsPartsGiveTheMicroBatchsLossMetricsAndGradients(@TempDir Path tmp) throws Exception {
        List<DpoTrainer.Item> items = DpoTrainer.onTheFly(arithmeticPairs(5, 11));
        DpoConfig cfg = config(tmp, 1, 5, 1)
                .withLoss(loss(List.of("sigmoid", "sft"), List.of(1.0, 0.5), 0.1)); // the NLL term splits too
        for (boolean lora : new boolean[] {false, true}) {
            try (Transformer policy = tiny();
                    Transformer refModel = lora ? null : perturbed(3)) {
                if (lora) {
                    Lora.attach(policy, new Lora.Config(4, 8, 0.0, List.of("q_proj", "v_proj")), 3);
                    torch.manual_seed(4); // B = 0 would make the adapters, and so the reference's switch, do nothing
                    try (NoGradGuard g = new NoGradGuard();
                            PointerScope s = new PointerScope()) {
                        for (var e : policy.trainableParameters().entrySet())
                            if (e.getKey().endsWith("lora_B.weight"))
                                e.getValue().add_(torch.randn_like(e.getValue()).mul(Tensors.scalar(0.1)));
                    }
                }
                Reference ref = new Reference(policy, refModel, false, "dpo");
                assertPartsAddUp(
                        policy,
                        items,
                        it -> it.pair().chosen().length,
                        (rows, w, train) -> DpoTrainer.microBatch(policy, ref, rows, cfg, PAD, w, train),
                        lora ? "LoRA" : "reference model");
            }
        }
    }

    /** Which DPO configurations split a micro-batch's pairs into parts: those whose pairs' losses are independent. */
    @Test
    void onlyLossesOfIndependentPairsRunAsParts(@TempDir Path tmp) {
        DpoConfig sigmoid = config(tmp, 1, 4, 1);
        assertTrue(DpoTrainer.splitsPairs(sigmoid));
        assertTrue(DpoTrainer.splitsPairs(sigmoid.withLoss(loss(List.of("ipo", "sft"), List.of(1.0, 1.0), 0.1))));
        assertFalse(DpoTrainer.splitsPairs(sigmoid.withLoss(loss(List.of("aot"), List.of(1.0), 0.1))), "aot sorts");
        assertFalse(
                DpoTrainer.splitsPairs(
                        sigmoid.withLoss(loss(List.of("sigmoid", "aot_unpaired"), List.of(1.0, 1.0), 0.1))),
                "aot_unpaired sorts");
        assertFalse(
                DpoTrainer.splitsPairs(sigmoid.withRefSync(new DpoConfig.RefSync(0.5, 2))),
                "TR-DPO moves the reference from inside the micro-batch function");
        DpoConfig wpo = sigmoid.withOptions(false, true, false, 0);
        assertTrue(wpo.useWeighting(), "the fixture sets use_weighting");
        assertTrue(DpoTrainer.splitsPairs(wpo), "WPO weighs each pair by its own weight");
        assertFalse(
                DpoTrainer.splitsPairs(wpo.withLoss(loss(List.of("sigmoid", "sft"), List.of(1.0, 1.0), 0.1))),
                "WPO's NLL takes the micro-batch's mean weight");
    }

    @Test
    void rewardAccuracyCountsOnlyStrictlyGreaterChosenRewards() {
        try (PointerScope scope = new PointerScope()) {
            Tensor z = Tensors.floats(new float[] {0, 0, 0}, 3), zz = Tensors.floats(new float[6], 3, 2);
            CompletionBatch.Output side = new CompletionBatch.Output(z, z, zz, z, z, z, null);
            // tied, greater, smaller: TRL's (chosen_rewards > rejected_rewards).float().mean() gives 1/3
            Tensor chosen = Tensors.floats(new float[] {0.5f, 0.7f, 0.1f}, 3),
                    rejected = Tensors.floats(new float[] {0.5f, 0.2f, 0.3f}, 3);
            Map<String, Double> m =
                    StepSums.pairs(side, side, chosen, rejected, z, z, 0).metrics();
            assertEquals(1.0 / 3, m.get("rewards/accuracies"), 1e-12);
        }
    }

    @Test
    void oneMicroBatchOfEightEqualsEightMicroBatchesOfOne(@TempDir Path tmp) throws Exception {
        List<PreferencePair> pairs = arithmeticPairs(8, 4);
        DpoLoss.Config rpo =
                loss(List.of("sigmoid", "sft"), List.of(1.0, 0.5), 0.1); // the sft term normalises by chosen tokens
        JsonNode one;
        try (Transformer policy = tiny();
                Transformer ref = perturbed(5)) {
            DpoTrainer.train(
                    policy,
                    ref,
                    pairs,
                    List.of(),
                    config(tmp.resolve("a"), 1, 8, 1).withLoss(rpo),
                    PAD,
                    Map.of());
            one = MetricsLog.read(tmp.resolve("a")).get(0);
        }
        try (Transformer policy = tiny();
                Transformer ref = perturbed(5)) {
            DpoTrainer.train(
                    policy,
                    ref,
                    pairs,
                    List.of(),
                    config(tmp.resolve("b"), 1, 1, 8).withLoss(rpo),
                    PAD,
                    Map.of());
            JsonNode row = MetricsLog.read(tmp.resolve("b")).get(0);
            assertEquals(one.get("loss").asDouble(), row.get("loss").asDouble(), 1e-6);
            // the gradient norm is what a wrong normalisation would change (Adam's first step is scale-invariant)
            double norm = one.get("grad_norm").asDouble();
            assertEquals(norm, row.get("grad_norm").asDouble(), 1e-5 * norm);
            // and the gradients themselves, before the update
            DpoConfig cfg = config(tmp.resolve("c"), 1, 8, 1).withLoss(rpo);
            Reference r = new Reference(policy, ref, false, "dpo");
            List<DpoTrainer.Item> items = DpoTrainer.onTheFly(pairs);
            TrainLoop.MicroBatch<DpoTrainer.Item> mb =
                    (rows, w, train) -> DpoTrainer.microBatch(policy, r, rows, cfg, PAD, w, train);
            assertSameGradients(stepGradients(policy, items, 8, 1, mb), stepGradients(policy, items, 1, 8, mb));
        }
    }

    @Test
    void precomputedReferenceLogProbsAndGradientCheckpointingChangeNothing(@TempDir Path tmp) throws Exception {
        List<PreferencePair> pairs = arithmeticPairs(8, 6);
        List<JsonNode> plainRows;
        try (Transformer policy = tiny();
                Transformer ref = perturbed(7)) {
            DpoTrainer.train(policy, ref, pairs, List.of(), config(tmp.resolve("a"), 3, 4, 1), PAD, Map.of());
            plainRows = MetricsLog.read(tmp.resolve("a"));
        }
        DpoConfig plain = config(tmp.resolve("x"), 3, 4, 1);
        DpoConfig both = plain.withArgs(
                        plain.args().toBuilder().gradientCheckpointing(true).build())
                .withOptions(false, false, true, 0);
        try (Transformer policy = tiny();
                Transformer ref = perturbed(7)) {
            DpoTrainer.train(
                    policy,
                    ref,
                    pairs,
                    List.of(),
                    both.withArgs(
                            both.args().toBuilder().outputDir(tmp.resolve("b")).build()),
                    PAD,
                    Map.of());
            List<JsonNode> rows = MetricsLog.read(tmp.resolve("b"));
            for (int i = 0; i < 3; i++) {
                assertEquals(
                        plainRows.get(i).get("loss").asDouble(),
                        rows.get(i).get("loss").asDouble(),
                        1e-6);
                assertEquals(
                        plainRows.get(i).get("grad_norm").asDouble(),
                        rows.get(i).get("grad_norm").asDouble(),
                        1e-5 * plainRows.get(i).get("grad_norm").asDouble());
            }
        }
        // the first step's gradients: reference scored on the fly vs precomputed, plain vs checkpointed backward
        try (Transformer policy = tiny();
                Transformer ref = perturbed(7)) {
            Reference r = new Reference(policy, ref, false, "dpo");
            TrainLoop.MicroBatch<DpoTrainer.Item> a =
                    (rows, w, train) -> DpoTrainer.microBatch(policy, r, rows, plain, PAD, w, train);
            TrainLoop.MicroBatch<DpoTrainer.Item> b =
                    (rows, w, train) -> DpoTrainer.microBatch(policy, r, rows, both, PAD, w, train);
            assertSameGradients(
                    stepGradients(policy, DpoTrainer.onTheFly(pairs), 4, 1, a),
                    stepGradients(policy, DpoTrainer.precomputed(r, pairs, 4, PAD, null), 4, 1, b));
        }
    }

    @Test
    void resumingFromACheckpointContinuesExactlyAsTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<PreferencePair> pairs = arithmeticPairs(12, 8);
        DpoConfig cfg = config(tmp.resolve("full"), 5, 4, 1);
        cfg = cfg.withArgs(cfg.args().withLogging(1, 2));
        Map<String, float[]> full;
        try (Transformer policy = tiny();
                Transformer ref = tiny()) {
            DpoTrainer.train(policy, ref, pairs, List.of(), cfg, PAD, Map.of());
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
        try (Transformer policy = tiny();
                Transformer ref = tiny()) {
            DpoTrainer.train(
                    policy,
                    ref,
                    pairs,
                    List.of(),
                    cfg.withArgs(cfg.args().withResume("latest", resumed)),
                    PAD,
                    Map.of());
            for (var e : snapshot(policy).entrySet()) assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
        }
        List<JsonNode> lf = MetricsLog.read(tmp.resolve("full")), lr = MetricsLog.read(resumed);
        assertEquals(3, lr.size());
        assertEquals(5, lf.size());
        assertResumedRowsEqual(tmp.resolve("full"), resumed, 3);
    }

    @Test
    void evalRowsCarryTheEvalPrefixAndReferenceFreeUsesZeroReferenceLogProbs(@TempDir Path tmp) throws Exception {
        try (Transformer policy = tiny()) {
            DpoConfig cfg = config(tmp, 2, 4, 1).withOptions(true, false, false, 1);
            DpoTrainer.train(policy, null, arithmeticPairs(8, 9), arithmeticPairs(4, 10), cfg, PAD, Map.of());
            List<JsonNode> rows = MetricsLog.read(tmp);
            JsonNode train1 = rows.get(0);
            // reference-free: rewards are beta * policy log-probs
            assertEquals(
                    0.1 * train1.get("logps/chosen").asDouble(),
                    train1.get("rewards/chosen").asDouble(),
                    1e-6);
            assertTrue(
                    rows.stream()
                            .anyMatch(r -> r.has("eval_loss")
                                    && r.has("eval_rewards/accuracies")
                                    && r.get("step").asInt() == 1),
                    "eval at step 1: " + rows);
            assertTrue(
                    rows.stream().filter(r -> r.has("eval_loss")).count() == 2,
                    "eval every step (eval_steps 1): " + rows);
        }
    }

    @Test
    void withoutAReferenceTheErrorSaysWhatToPass(@TempDir Path tmp) throws Exception {
        try (Transformer policy = tiny()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> DpoTrainer.train(
                            policy, null, arithmeticPairs(4, 1), List.of(), config(tmp, 1, 4, 1), PAD, Map.of()));
            assertTrue(
                    e.getMessage().contains("reference_free") && e.getMessage().contains("ref_model_name_or_path"),
                    e.getMessage());
        }
    }

    @Test
    void ldDpoWithAlphaOneIsPlainDpoAndWithAlphaBelowOneRaisesThePolicyLogpsOfLongerResponses(@TempDir Path tmp)
            throws Exception {
        // rejected answers with chatter: longer than the chosen ones, so LD-DPO has a part past the shared length to
        // weigh
        List<PreferencePair> pairs = new ArrayList<>();
        for (PreferencePair p : arithmeticPairs(8, 3)) {
            long[] body = java.util.Arrays.copyOf(p.rejected(), p.rejected().length - 1), chatter = bytes(" is it");
            long[] longer = java.util.Arrays.copyOf(body, body.length + chatter.length);
            System.arraycopy(chatter, 0, longer, body.length, chatter.length);
            pairs.add(new PreferencePair(p.prompt(), p.chosen(), withEos(longer)));
        }
        List<List<JsonNode>> runs = new java.util.ArrayList<>();
        List<float[]> heads = new java.util.ArrayList<>();
        for (Double alpha : new Double[] {null, 1.0, 0.5}) {
            Path out = tmp.resolve(String.valueOf(alpha));
            try (Transformer policy = tiny();
                    Transformer ref = perturbed(7)) {
                DpoTrainer.train(
                        policy, ref, pairs, List.of(), config(out, 2, 4, 1).withLdAlpha(alpha), PAD, Map.of());
                heads.add(Tensors.toFloats(policy.parameters().get("lm_head.weight")));
            }
            runs.add(MetricsLog.read(out));
        }
        for (int step = 0; step < 2; step++)
            for (String k : new String[] {"loss", "logps/chosen", "logps/rejected", "rewards/margins", "grad_norm"})
                assertEquals(
                        runs.get(0).get(step).get(k).asDouble(),
                        runs.get(1).get(step).get(k).asDouble(),
                        1e-5,
                        "ld_alpha 1 vs plain, step " + step + " " + k);
        assertArrayEquals(heads.get(0), heads.get(1), 1e-6f);
        // the policy's summed log-probs are negative: down-weighting the part past the shared length raises them
        double plain = runs.get(0).get(0).get("logps/chosen").asDouble()
                + runs.get(0).get(0).get("logps/rejected").asDouble();
        double ld = runs.get(2).get(0).get("logps/chosen").asDouble()
                + runs.get(2).get(0).get("logps/rejected").asDouble();
        assertTrue(ld > plain + 1e-3, "ld_alpha 0.5 must raise the logged policy log-probs: " + ld + " vs " + plain);
        assertThrows(IllegalArgumentException.class, () -> config(tmp, 1, 1, 1).withLdAlpha(-1.0));
        // TRL documents ld_alpha in [0, 1] (trl/trainer/dpo_config.py:88-92)
        IllegalArgumentException above = assertThrows(
                IllegalArgumentException.class, () -> config(tmp, 1, 1, 1).withLdAlpha(1.5));
        assertTrue(
                above.getMessage().contains("ld_alpha") && above.getMessage().contains("[0, 1]"), above.getMessage());
    }

    /**
     * TRL v1.x desensitises the reference like the policy (trl/trainer/dpo_trainer.py:1349-1361, :1386-1393,
     * precomputed :1204-1216): with π = π_ref every log-ratio is 0, so at step 0 the sigmoid loss is ln 2 for every pair
     * whatever its lengths, rewards are 0 and no pair counts as accurate. A policy-only split would give
     * βΔ = β(α − 1)(tail_w − tail_l) ≠ 0 here, where every pair's rejected answer is 6 tokens longer.
     */
    @Test
    void ldDpoWithPolicyEqualToTheReferenceGivesLn2PerPairOnTheFlyAndPrecomputed(@TempDir Path tmp) throws Exception {
        List<PreferencePair> pairs = new ArrayList<>();
        for (PreferencePair p : arithmeticPairs(8, 3)) {
            long[] body = java.util.Arrays.copyOf(p.rejected(), p.rejected().length - 1), chatter = bytes(" is it");
            long[] longer = java.util.Arrays.copyOf(body, body.length + chatter.length);
            System.arraycopy(chatter, 0, longer, body.length, chatter.length);
            pairs.add(new PreferencePair(p.prompt(), p.chosen(), withEos(longer)));
        }
        for (boolean precompute : new boolean[] {false, true}) {
            Path out = tmp.resolve("precompute-" + precompute);
            DpoConfig cfg = config(out, 1, 4, 2).withLdAlpha(0.5).withOptions(false, false, precompute, 0);
            try (Transformer policy = tiny();
                    Transformer ref = tiny()) {
                DpoTrainer.train(policy, ref, pairs, List.of(), cfg, PAD, Map.of());
            }
            JsonNode row = MetricsLog.read(out).get(0);
            String what = precompute ? "precomputed reference: " : "reference on the fly: ";
            // policy and reference log-probs come from two forwards of equal weights (with and without a graph):
            // float32
            // noise of ~1e-6 nats per sum, ~1e-7 in βΔ
            assertEquals(Math.log(2), row.get("loss").asDouble(), 1e-5, what + row);
            assertEquals(0.0, row.get("rewards/margins").asDouble(), 1e-5, what + row);
            assertEquals(0.0, row.get("rewards/chosen").asDouble(), 1e-5, what + row);
            assertEquals(0.0, row.get("rewards/rejected").asDouble(), 1e-5, what + row);
        }
        // the same data under a policy-only split is far from ln 2: what the test tells apart
        try (PointerScope s = new PointerScope();
                Transformer policy = tiny()) {
            CompletionBatch.Inputs in = CompletionBatch.pairs(pairs, PAD);
            Tensor tok = CompletionBatch.tokenLogpsNoGrad(policy, in, 1.0);
            Tensor ld = org.align4j.loss.LengthDesensitized.pairLogps(tok, in.completionMask(), 0.5),
                    plain = Tensors.sum(tok.mul(in.completionMask()), 1);
            int b = pairs.size();
            Tensor delta = ld.sub(plain); // policy-only log-ratios
            double betaDelta = 0.1
                    * delta.narrow(0, 0, b)
                            .sub(delta.narrow(0, b, b))
                            .abs()
                            .mean()
                            .item_double();
            assertTrue(betaDelta > 0.2, "a policy-only split would give |βΔ| = " + betaDelta + " at step 0");
        }
    }

    @Test
    void wpoIsRefusedWithTheSortingLossTypesAsTrlRefusesIt(@TempDir Path tmp) {
        for (String sorted : new String[] {"aot", "aot_unpaired"}) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> config(tmp, 1, 4, 1)
                            .withLoss(loss(List.of("sigmoid", sorted), null, 0.1))
                            .withOptions(false, true, false, 0));
            assertTrue(
                    e.getMessage().contains("use_weighting") && e.getMessage().contains("loss_type " + sorted),
                    e.getMessage());
        }
    }

    @Test
    void trDpoMixesThePolicyIntoTheReferenceAfterEverySyncStepAndRefusesWhatItCannotDo(@TempDir Path tmp)
            throws Exception {
        List<PreferencePair> pairs = arithmeticPairs(8, 4);
        double alpha = 0.6;
        // the policy after one step (deterministic), and the reference as it started
        Map<String, float[]> policyAfter1, ref0;
        try (Transformer policy = tiny();
                Transformer ref = perturbed(11)) {
            ref0 = snapshot(ref);
            DpoTrainer.train(policy, ref, pairs, List.of(), config(tmp.resolve("one"), 1, 4, 1), PAD, Map.of());
            policyAfter1 = snapshot(policy);
        }
        try (Transformer policy = tiny();
                Transformer ref = perturbed(11)) {
            DpoTrainer.train(
                    policy,
                    ref,
                    pairs,
                    List.of(),
                    config(tmp.resolve("two"), 2, 4, 1).withRefSync(new DpoConfig.RefSync(alpha, 1)),
                    PAD,
                    Map.of());
            // synced once, after step 1 (before step 2); step 2 moves only the policy
            for (var e : snapshot(ref).entrySet()) {
                float[] r0 = ref0.get(e.getKey()), p1 = policyAfter1.get(e.getKey()), got = e.getValue();
                for (int i = 0; i < got.length; i += Math.max(1, got.length / 64))
                    assertEquals((1 - alpha) * r0[i] + alpha * p1[i], got[i], 1e-6, e.getKey() + "[" + i + "]");
            }
        }
        try (Transformer policy = tiny();
                Transformer ref = perturbed(11)) {
            Map<String, float[]> before = snapshot(ref);
            DpoTrainer.train(
                    policy,
                    ref,
                    pairs,
                    List.of(),
                    config(tmp.resolve("never"), 2, 4, 1).withRefSync(new DpoConfig.RefSync(alpha, 5)),
                    PAD,
                    Map.of());
            for (var e : snapshot(ref).entrySet())
                assertArrayEquals(before.get(e.getKey()), e.getValue(), "no sync before step 5: " + e.getKey());
        }
        try (Transformer policy = tiny();
                Transformer ref = tiny()) {
            DpoConfig sync = config(tmp.resolve("bad"), 1, 4, 1).withRefSync(new DpoConfig.RefSync(alpha, 1));
            var e = assertThrows(
                    IllegalArgumentException.class,
                    () -> DpoTrainer.train(
                            policy, ref, pairs, List.of(), sync.withOptions(true, false, false, 0), PAD, Map.of()));
            assertTrue(
                    e.getMessage().contains("sync_ref_model") && e.getMessage().contains("reference_free"),
                    e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> DpoTrainer.train(
                            policy, ref, pairs, List.of(), sync.withOptions(false, false, true, 0), PAD, Map.of()));
            assertTrue(e.getMessage().contains("precompute_ref_log_probs"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new DpoConfig.RefSync(1.5, 1));
        assertThrows(IllegalArgumentException.class, () -> new DpoConfig.RefSync(0.5, 0));
    }
}
