// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertPartsAddUp;
import static org.align4j.trainer.TrainerFixtures.assertResumedRowsEqual;
import static org.align4j.trainer.TrainerFixtures.assertSameGradients;
import static org.align4j.trainer.TrainerFixtures.evalRows;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.align4j.trainer.TrainerFixtures.stepGradients;
import static org.align4j.trainer.TrainerFixtures.trainRows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.engine.Tensors;
import org.align4j.io.HfJson;
import org.align4j.loss.BradleyTerryLoss;
import org.align4j.loss.Calibration;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reward training on the tiny golden Qwen3 reward model (byte-level ids, pad 256, eos 258). */
class RewardTrainerTest {
    private static final long PAD = 256, EOS = 258;

    /** prompt bytes, then "yes" (chosen) or "no" (rejected), then EOS; margins when asked. */
    static List<RewardTrainer.Pair> yesNo(int n, long seed, boolean margins) {
        Random rng = new Random(seed);
        List<RewardTrainer.Pair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long[] prompt = new long[2 + rng.nextInt(6)];
            for (int j = 0; j < prompt.length; j++) prompt[j] = 97 + rng.nextInt(26);
            out.add(new RewardTrainer.Pair(
                    withEos(prompt, "yes"), withEos(prompt, "no"), margins ? rng.nextInt(3) * 0.5f : 0f));
        }
        return out;
    }

    private static long[] withEos(long[] prompt, String answer) {
        byte[] a = answer.getBytes();
        long[] ids = Arrays.copyOf(prompt, prompt.length + a.length + 1);
        for (int j = 0; j < a.length; j++) ids[prompt.length + j] = a[j];
        ids[ids.length - 1] = EOS;
        return ids;
    }

    /** The golden reward model as the reward command prepares it (float32, pad_token_id 256). */
    private static Transformer tinyRm() throws IOException {
        try (Transformer stored = Checkpoints.load(Golden.resourceDir("golden/qwen3-tiny-rm"))) {
            return RewardTrainer.rewardModel(stored, PAD, 0);
        }
    }

    private static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    private static RewardConfig config(Path out, int steps, int batch, int accumulation) {
        return RewardConfig.of(TrainingArgs.defaults(out)
                .withSteps(steps, batch, accumulation, 1e-3)
                .withLogging(1, 0));
    }

    /** One unpadded sequence's reward, straight from the model (the score at its last position). */
    private static float reward(Transformer m, long[] ids) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.scores(m.forward(Tensors.longs(ids, 1, ids.length), null, null), null))[0];
        }
    }

    /**
     * A micro-batch's pairs as parts at once (RowParallel) log the whole micro-batch's min / mean / max reward, accuracy
     * and margin (not a mean of the parts'), and leave its gradients; margins and reward centering included.
     */
    @Test
    void pairsAsPartsLogTheWholeMicroBatchsRewardsAndLeaveItsGradients(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> mb = yesNo(5, 41, true);
        RewardConfig rc = config(tmp, 1, 5, 1).withCenterRewards(0.01);
        try (Transformer m = tinyRm()) {
            assertPartsAddUp(
                    m, mb.size(), parts -> RewardTrainer.loggedMicroBatch(m, mb, PAD, mb.size(), rc, parts), "reward");
        }
    }

    @Test
    void theFirstStepMatchesPyTorchRewardsLossAndGradients() throws Exception {
        try (Golden g = Golden.open("reward")) {
            List<long[]> chosen = g.ragged("step.chosen_ids", "step.chosen_lens"),
                    rejected = g.ragged("step.rejected_ids", "step.rejected_lens");
            float[] margin = g.floats("step.margin");
            List<RewardTrainer.Pair> pairs = new ArrayList<>();
            for (int i = 0; i < chosen.size(); i++)
                pairs.add(new RewardTrainer.Pair(chosen.get(i), rejected.get(i), margin[i]));
            for (boolean checkpointed : new boolean[] {false, true}) {
                try (Transformer m = tinyRm()) {
                    m.requiresGrad(true);
                    RewardTrainer.Scored s = RewardTrainer.microBatch(
                            m, pairs, PAD, pairs.size(), g.floats("step.center_coefficient")[0], checkpointed);
                    String how = checkpointed ? " (gradient checkpointing)" : "";
                    Golden.assertClose("rewards_chosen" + how, g.floats("step.rewards_chosen"), s.chosen(), 1e-4, 1e-4);
                    Golden.assertClose(
                            "rewards_rejected" + how, g.floats("step.rewards_rejected"), s.rejected(), 1e-4, 1e-4);
                    assertEquals(
                            g.floats("step.loss")[0],
                            s.loss(),
                            1e-5 + 1e-4 * Math.abs(g.floats("step.loss")[0]),
                            "loss" + how);
                    BradleyTerryLoss.Metrics metrics = BradleyTerryLoss.metrics(s.chosen(), s.rejected());
                    assertEquals(g.floats("step.accuracy")[0], metrics.accuracy(), 1e-6);
                    assertEquals(g.floats("step.reward_margin")[0], metrics.margin(), 1e-4);
                    for (String n : new String[] {
                        "score.weight",
                        "model.layers.0.self_attn.q_proj.weight",
                        "model.layers.1.mlp.down_proj.weight",
                        "model.embed_tokens.weight"
                    }) {
                        try (PointerScope sc = new PointerScope()) {
                            Golden.assertClose(
                                    "grad " + n + how,
                                    g.floats("step.grad." + n),
                                    Tensors.toFloats(m.parameters().get(n).grad()),
                                    1e-5,
                                    1e-3);
                        }
                    }
                }
            }
        }
    }

    @Test
    void lossIsFiniteLoggedUnderTrlNamesEvaluatedAndEveryParameterMoves(@TempDir Path tmp) throws Exception {
        try (Transformer m = tinyRm()) {
            Map<String, float[]> before = snapshot(m);
            TrainResult r = RewardTrainer.train(
                    m,
                    yesNo(16, 1, true),
                    yesNo(6, 9, false),
                    config(tmp, 3, 4, 1).withEval(2, 4).withCenterRewards(0.01),
                    PAD,
                    Map.of("learning_rate", 1e-3));
            for (var e : snapshot(m).entrySet())
                assertFalse(Arrays.equals(before.get(e.getKey()), e.getValue()), e.getKey() + " did not move");
            List<JsonNode> rows = trainRows(tmp);
            assertEquals(3, rows.size());
            for (JsonNode row : rows) {
                for (String k : new String[] {
                    "step",
                    "epoch",
                    "loss",
                    "learning_rate",
                    "grad_norm",
                    "num_tokens",
                    "accuracy",
                    "margin",
                    "min_reward",
                    "mean_reward",
                    "max_reward"
                }) assertTrue(row.has(k), "metrics.jsonl row lacks " + k + ": " + row);
                assertTrue(Double.isFinite(row.get("loss").asDouble())
                        && row.get("loss").asDouble() > 0);
                assertTrue(row.get("min_reward").asDouble()
                                <= row.get("mean_reward").asDouble()
                        && row.get("mean_reward").asDouble()
                                <= row.get("max_reward").asDouble());
            }
            List<JsonNode> evals = evalRows(tmp);
            assertEquals(
                    List.of(2, 3),
                    evals.stream().map(e -> e.get("step").asInt()).toList(),
                    "eval every 2 steps and at the end");
            for (JsonNode e : evals)
                for (String k : new String[] {
                    "epoch",
                    "eval_loss",
                    "eval_accuracy",
                    "eval_margin",
                    "eval_min_reward",
                    "eval_mean_reward",
                    "eval_max_reward",
                    "eval_ece"
                }) assertTrue(e.has(k), "eval row lacks " + k + ": " + e);
            assertEquals(5, r.logged().size());
            try (Transformer saved = Checkpoints.load(tmp)) { // the final model is a loadable HF sequence classifier
                assertTrue(saved.config().isSequenceClassification());
                assertArrayEquals(
                        Tensors.toFloats(m.parameters().get("score.weight")),
                        Tensors.toFloats(saved.parameters().get("score.weight")));
            }
        }
    }

    @Test
    void theFirstLoggedRowDescribesTheFirstBatchBeforeAnyUpdate(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> data = yesNo(8, 2, true);
        RewardTrainer.Scored first;
        try (Transformer m = tinyRm();
                PointerScope s = new PointerScope()) {
            List<RewardTrainer.Pair> batch = new DataCursor(8, 8, 42).next(data);
            m.requiresGrad(true);
            first = RewardTrainer.microBatch(m, batch, PAD, batch.size(), 0.0, false);
        }
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(m, data, null, config(tmp, 2, 8, 1), PAD, Map.of());
        }
        JsonNode row = trainRows(tmp).get(0);
        assertEquals(first.loss(), row.get("loss").asDouble(), 1e-6);
        // the logged metrics, recomputed here from the rewards in plain doubles
        int n = first.chosen().length, correct = 0;
        double margin = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            if (first.chosen()[i] > first.rejected()[i]) correct++;
            margin += (double) first.chosen()[i] - first.rejected()[i];
            min = Math.min(min, Math.min(first.chosen()[i], first.rejected()[i]));
            max = Math.max(max, Math.max(first.chosen()[i], first.rejected()[i]));
        }
        for (RewardTrainer.Pair p : data) tokens += p.chosen().length + p.rejected().length;
        assertEquals((double) correct / n, row.get("accuracy").asDouble(), 1e-12);
        assertEquals(margin / n, row.get("margin").asDouble(), 1e-6);
        // float32 noise: the run scores its micro-batch as parts at once (RowParallel), padded and multiplied apart
        assertEquals(min, row.get("min_reward").asDouble(), 1e-6);
        assertEquals(max, row.get("max_reward").asDouble(), 1e-6);
        assertEquals(tokens, row.get("num_tokens").asLong(), "one epoch of 8 pairs: every chosen and rejected token");
    }

    @Test
    void oneMicroBatchOfEightAccumulatesTheSameGradientAsEightMicroBatchesOfOne() throws Exception {
        List<RewardTrainer.Pair> data = yesNo(8, 3, true);
        try (Transformer m = tinyRm()) {
            assertSameGradients(
                    stepGradients(m, data, 8, 1, bt(m, 0.05, false)), stepGradients(m, data, 1, 8, bt(m, 0.05, false)));
        }
    }

    @Test
    void oneMicroBatchOfEightTrainsLikeEightMicroBatchesOfOne(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> data = yesNo(16, 3, true);
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(
                    m, data, null, config(tmp.resolve("a"), 2, 8, 1).withCenterRewards(0.05), PAD, Map.of());
        }
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(
                    m, data, null, config(tmp.resolve("b"), 2, 1, 8).withCenterRewards(0.05), PAD, Map.of());
        }
        List<JsonNode> la = trainRows(tmp.resolve("a")), lb = trainRows(tmp.resolve("b"));
        // only step 1 is equal by construction: step 2 starts from weights AdamW moved by lr-sized amounts wherever a
        // gradient is float32 noise (the gradients themselves are compared below)
        assertEquals(
                la.get(1).get("num_tokens").asLong(),
                lb.get(1).get("num_tokens").asLong());
        for (int i = 0; i < 1; i++) {
            assertEquals(
                    la.get(i).get("loss").asDouble(),
                    lb.get(i).get("loss").asDouble(),
                    1e-6,
                    "loss at step " + (i + 1));
            assertEquals(
                    la.get(i).get("accuracy").asDouble(),
                    lb.get(i).get("accuracy").asDouble(),
                    1e-12,
                    "accuracy at step " + (i + 1));
            assertEquals(
                    la.get(i).get("num_tokens").asLong(),
                    lb.get(i).get("num_tokens").asLong());
            double g = la.get(i).get("grad_norm").asDouble();
            assertEquals(g, lb.get(i).get("grad_norm").asDouble(), 1e-5 * g, "grad_norm at step " + (i + 1));
        }
    }

    /** The reward model's micro-batch as RewardTrainer.train runs it. */
    private static TrainLoop.MicroBatch<RewardTrainer.Pair> bt(Transformer m, double center, boolean checkpointed) {
        return (mb, w, train) -> StepSums.empty()
                .withLoss(RewardTrainer.microBatch(m, mb, PAD, w.size(), center, checkpointed)
                        .loss());
    }

    @Test
    void gradientCheckpointingGivesTheSameGradients() throws Exception {
        List<RewardTrainer.Pair> data = yesNo(8, 7, false);
        try (Transformer m = tinyRm()) {
            assertSameGradients(
                    stepGradients(m, data, 4, 2, bt(m, 0, false)), stepGradients(m, data, 4, 2, bt(m, 0, true)));
        }
    }

    @Test
    void resumingFromACheckpointContinuesExactlyAsTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> data = yesNo(12, 4, true),
                eval = yesNo(4, 5, false); // 3 batches of 4: the resume crosses an epoch
        RewardConfig base = config(tmp.resolve("full"), 5, 4, 1).withEval(1, 2);
        RewardConfig cfg = base.withArgs(base.args().withLogging(1, 2));
        Map<String, float[]> full;
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(m, data, eval, cfg, PAD, Map.of());
            full = snapshot(m);
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
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(m, data, eval, cfg.withArgs(cfg.args().withResume("latest", resumed)), PAD, Map.of());
            for (var e : snapshot(m).entrySet()) assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
        }
        List<JsonNode> lf = trainRows(tmp.resolve("full")), lr = trainRows(resumed);
        assertEquals(3, lr.size(), "steps 3, 4, 5 logged after the resume");
        assertResumedRowsEqual(tmp.resolve("full"), resumed, 3);
        List<JsonNode> ef = evalRows(tmp.resolve("full")), er = evalRows(resumed);
        assertEquals(3, er.size());
        for (int i = 0; i < 3; i++)
            assertEquals(
                    ef.get(i + 2).get("eval_loss").asDouble(),
                    er.get(i).get("eval_loss").asDouble(),
                    0.0);
    }

    @Test
    void theSavedModelReloadsAsASequenceClassifierWithIdenticalScores(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> eval = yesNo(5, 11, false);
        RewardConfig cfg = config(tmp, 2, 4, 1);
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(m, yesNo(8, 10, false), null, cfg, PAD, Map.of());
            JsonNode config = HfJson.readJson(tmp.resolve("config.json"));
            assertEquals(
                    "Qwen3ForSequenceClassification",
                    config.get("architectures").get(0).asText());
            assertEquals(1, config.get("id2label").size());
            assertEquals(PAD, config.get("pad_token_id").asLong());
            assertEquals("float32", config.get("torch_dtype").asText(), "trained and saved in float32, as TRL does");
            try (Transformer back = Checkpoints.load(tmp)) {
                assertEquals(1, back.config().numLabels());
                Map<String, Double> before = RewardTrainer.evaluate(m, eval, cfg, PAD),
                        after = RewardTrainer.evaluate(back, eval, cfg, PAD);
                assertEquals(before, after);
                for (RewardTrainer.Pair p : eval) {
                    assertEquals(reward(m, p.chosen()), reward(back, p.chosen()), 0.0);
                    assertEquals(reward(m, p.rejected()), reward(back, p.rejected()), 0.0);
                }
            }
        }
    }

    @Test
    void evaluationIsIndependentOfTheEvalBatchSizeAndMatchesItsDefinitions() throws Exception {
        List<RewardTrainer.Pair> eval = yesNo(7, 12, true);
        RewardConfig cfg = RewardConfig.defaults(Path.of("unused")).withCenterRewards(0.02);
        try (Transformer m = tinyRm();
                PointerScope s = new PointerScope()) {
            Map<String, Double> one = RewardTrainer.evaluate(m, eval, cfg.withEval(0, 1), PAD),
                    three = RewardTrainer.evaluate(m, eval, cfg.withEval(0, 3), PAD);
            for (String k : one.keySet()) assertEquals((double) one.get(k), (double) three.get(k), 1e-5, k);
            // the same rewards scored pair by pair, the loss and ECE recomputed from them in doubles
            double loss = 0;
            double[] diff = new double[eval.size()];
            for (int i = 0; i < eval.size(); i++) {
                RewardTrainer.Pair p = eval.get(i);
                double rw = reward(m, p.chosen()), rl = reward(m, p.rejected()), z = rw - rl - p.margin();
                loss += Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z))) + 0.02 * (rw + rl) * (rw + rl);
                diff[i] = rw - rl;
            }
            assertEquals(loss / eval.size(), (double) one.get("eval_loss"), 1e-5);
            assertEquals(Calibration.expectedCalibrationError(diff, 10), (double) one.get("eval_ece"), 1e-5);
        }
    }

    @Test
    void aCausalLmBecomesAOneLabelClassifierWithItsBackboneAndASeededHead(@TempDir Path tmp) throws Exception {
        try (Transformer lm = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
                Transformer rm = RewardTrainer.rewardModel(lm, PAD, 5);
                Transformer same = RewardTrainer.rewardModel(lm, PAD, 5);
                Transformer other = RewardTrainer.rewardModel(lm, PAD, 6)) {
            assertTrue(rm.config().isSequenceClassification());
            assertEquals(1, rm.config().numLabels());
            assertEquals((int) PAD, rm.config().padTokenId());
            assertNull(rm.parameters().get("lm_head.weight"), "the LM head is dropped");
            for (var e : lm.parameters().entrySet())
                if (!e.getKey().equals("lm_head.weight"))
                    assertArrayEquals(
                            Tensors.toFloats(e.getValue()),
                            Tensors.toFloats(rm.parameters().get(e.getKey())),
                            e.getKey());
            float[] head = Tensors.toFloats(rm.parameters().get("score.weight"));
            assertEquals(64, head.length);
            double sq = 0;
            for (float v : head) sq += v * v;
            double std = Math.sqrt(
                    sq / head.length); // N(0, 0.02): the sample std of 64 draws lies within +-30% with overwhelming
            // probability
            assertTrue(
                    std > 0.014 && std < 0.026, "score.weight std " + std + ", expected about initializer_range 0.02");
            assertArrayEquals(head, Tensors.toFloats(same.parameters().get("score.weight")), "same seed, same head");
            assertFalse(
                    Arrays.equals(head, Tensors.toFloats(other.parameters().get("score.weight"))),
                    "another seed, another head");
            // it trains and saves as transformers' LlamaForSequenceClassification
            RewardTrainer.train(rm, yesNo(4, 13, false), null, config(tmp, 1, 4, 1), PAD, Map.of());
            JsonNode config = HfJson.readJson(tmp.resolve("config.json"));
            assertEquals(
                    "LlamaForSequenceClassification",
                    config.get("architectures").get(0).asText());
            assertEquals("LABEL_0", config.get("id2label").get("0").asText());
            try (Transformer back = Checkpoints.load(tmp)) {
                assertNotNull(back.parameters().get("score.weight"));
            }
        }
    }

    @Test
    void misconfiguredModelsAreRefusedWithTheFix(@TempDir Path tmp) throws Exception {
        try (Transformer lm = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> RewardTrainer.train(lm, yesNo(4, 1, false), null, config(tmp, 1, 4, 1), PAD, Map.of()));
            assertTrue(e.getMessage().contains("RewardTrainer.rewardModel"), e.getMessage());
        }
        try (Transformer m = tinyRm()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> RewardTrainer.train(m, yesNo(4, 1, false), null, config(tmp, 1, 4, 1), 258, Map.of()));
            assertTrue(e.getMessage().contains("pad_token_id"), e.getMessage());
            Lora.attach(m, new Lora.Config(2, 4, 0, List.of("q_proj")), 1);
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> RewardTrainer.train(m, yesNo(4, 1, false), null, config(tmp, 1, 4, 1), PAD, Map.of()));
            assertTrue(e.getMessage().contains("use_peft"), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("metrics.jsonl")), "nothing written by refused runs");
    }

    @Test
    void pairsLongerThanMaxLengthAreDroppedAsTrlDoes(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> data = yesNo(8, 14, false);
        int maxLen = 8; // "yes" + EOS = 4 tokens after a 2..7-token prompt
        long fit = data.stream()
                .filter(p -> p.chosen().length <= maxLen && p.rejected().length <= maxLen)
                .count();
        assertTrue(fit > 0 && fit < 8, "the data must straddle max_length for this test: " + fit);
        assertEquals(fit, RewardTrainer.withinMaxLength(data, maxLen, "train").size());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> RewardTrainer.withinMaxLength(data, 3, "train"));
        assertTrue(e.getMessage().contains("max_length"), e.getMessage());
        try (Transformer m = tinyRm()) { // one epoch over the kept pairs only
            RewardTrainer.train(
                    m,
                    data,
                    null,
                    RewardConfig.of(TrainingArgs.defaults(tmp)
                                    .withSteps(-1, 64, 1, 1e-3)
                                    .withLogging(1, 0))
                            .withMaxLength(maxLen),
                    PAD,
                    Map.of());
        }
        long tokens = data.stream()
                .filter(p -> p.chosen().length <= maxLen && p.rejected().length <= maxLen)
                .mapToLong(p -> p.chosen().length + p.rejected().length)
                .sum();
        assertEquals(tokens, trainRows(tmp).get(0).get("num_tokens").asLong());
    }

    @Test
    void withTruncationLeftLongPairsKeepTheirLastMaxLengthTokensTheResponseIncludedAsApoDoes(@TempDir Path tmp)
            throws Exception {
        // a 20-token dialogue, then "yes" / "no" and EOS: 24 and 23 tokens; a short pair of 6 and 5 tokens
        long[] dialogue = new long[20];
        for (int j = 0; j < 20; j++) dialogue[j] = 97 + j;
        RewardTrainer.Pair longPair = new RewardTrainer.Pair(withEos(dialogue, "yes"), withEos(dialogue, "no")),
                shortPair =
                        new RewardTrainer.Pair(withEos(new long[] {97, 98}, "yes"), withEos(new long[] {97, 98}, "no"));
        int maxLen = 10;
        RewardConfig left = config(tmp, 1, 2, 1).withMaxLength(maxLen).withTruncation(RewardConfig.LEFT);
        List<RewardTrainer.Pair> fitted = RewardTrainer.fitToMaxLength(List.of(longPair, shortPair), left, "train");
        assertEquals(2, fitted.size(), "no pair is left out");
        // reward_datasets.py:117-121: inp_ids[-max_length:]
        assertArrayEquals(
                Arrays.copyOfRange(longPair.chosen(), 14, 24), fitted.get(0).chosen());
        assertArrayEquals(
                Arrays.copyOfRange(longPair.rejected(), 13, 23), fitted.get(0).rejected());
        assertArrayEquals(
                new long[] {'y', 'e', 's', EOS},
                Arrays.copyOfRange(fitted.get(0).chosen(), 6, 10),
                "response kept");
        assertArrayEquals(
                new long[] {'n', 'o', EOS}, Arrays.copyOfRange(fitted.get(0).rejected(), 7, 10), "response kept");
        assertEquals(97 + 14, fitted.get(0).chosen()[0], "the dialogue's last 6 tokens stay, its first 14 go");
        assertSame(shortPair, fitted.get(1), "a pair within max_length is unchanged");
        // TRL's default everywhere else (RewardConfig.of, the reward command): the long pair is left out
        assertEquals(RewardConfig.DROP, config(tmp, 1, 2, 1).truncation());
        assertEquals(
                List.of(shortPair),
                RewardTrainer.fitToMaxLength(
                        List.of(longPair, shortPair), config(tmp, 1, 2, 1).withMaxLength(maxLen), "train"));
        // training reads the truncated sequences: step 1's loss is BT of their rewards, each scored alone
        double expected;
        try (Transformer m = tinyRm()) {
            double
                    d0 =
                            reward(m, fitted.get(0).chosen())
                                    - reward(m, fitted.get(0).rejected()),
                    d1 = reward(m, shortPair.chosen()) - reward(m, shortPair.rejected());
            expected = (softplus(-d0) + softplus(-d1)) / 2; // -log sigmoid(d) = softplus(-d)
            RewardTrainer.train(m, List.of(longPair, shortPair), null, left, PAD, Map.of());
        }
        JsonNode row = trainRows(tmp).get(0);
        assertEquals(expected, row.get("loss").asDouble(), 1e-5);
        assertEquals(10 + 10 + 6 + 5, row.get("num_tokens").asLong(), "tokens of the truncated pairs");
        assertThrows(
                IllegalArgumentException.class,
                () -> config(tmp, 1, 2, 1).withTruncation("right"),
                "only left or drop");
    }

    @Test
    void anExistingRunIsNotClobbered(@TempDir Path tmp) throws Exception {
        try (Transformer m = tinyRm()) {
            RewardTrainer.train(m, yesNo(4, 6, false), null, config(tmp, 1, 4, 1), PAD, Map.of());
            byte[] metrics = Files.readAllBytes(tmp.resolve("metrics.jsonl"));
            IOException e = assertThrows(
                    IOException.class,
                    () -> RewardTrainer.train(m, yesNo(4, 6, false), null, config(tmp, 1, 4, 1), PAD, Map.of()));
            assertTrue(
                    e.getMessage().contains("already holds a run")
                            && e.getMessage().contains("--overwrite_output_dir"),
                    e.getMessage());
            assertArrayEquals(metrics, Files.readAllBytes(tmp.resolve("metrics.jsonl")));
        }
    }
}
