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
import org.align4j.loss.ApoLoss;
import org.align4j.loss.Calibration;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** APO reward-model training on the tiny golden Qwen3 reward model (byte-level ids, pad 256, eos 258). */
class ApoRewardTrainerTest {
    private static final long PAD = 256, EOS = 258;
    private static final String[] GRAD_NAMES = {
        "score.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "model.layers.1.mlp.down_proj.weight",
        "model.embed_tokens.weight"
    };

    private static Transformer tinyRm() throws IOException {
        try (Transformer stored = Checkpoints.load(Golden.resourceDir("golden/qwen3-tiny-rm"))) {
            return RewardTrainer.rewardModel(stored, PAD, 0);
        }
    }

    private static RewardConfig config(Path out, int steps, int batch, int accumulation) {
        return RewardConfig.of(TrainingArgs.defaults(out)
                .withSteps(steps, batch, accumulation, 1e-3)
                .withLogging(1, 0));
    }

    private static long[] seq(long[] prompt, long[] response) {
        long[] ids = Arrays.copyOf(prompt, prompt.length + response.length + 1);
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        ids[ids.length - 1] = EOS;
        return ids;
    }

    private static long[] bytes(String s) {
        return s.chars().mapToLong(c -> c).toArray();
    }

    /**
     * A synthetic APO set: per query, the golden answer "good" and {@code k} policy samples of 3 to
     * 6 random capital letters, built through {@link ApoRewardTrainer#apoPairs}.
     */
    static List<RewardTrainer.Pair> goldVsSamples(int queries, int k, long seed) {
        Random rng = new Random(seed);
        List<long[]> gold = new ArrayList<>();
        List<List<long[]>> samples = new ArrayList<>();
        for (int q = 0; q < queries; q++) {
            long[] prompt = new long[2 + rng.nextInt(5)];
            for (int j = 0; j < prompt.length; j++) prompt[j] = 97 + rng.nextInt(26);
            gold.add(seq(prompt, bytes("good")));
            List<long[]> s = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                long[] r = new long[3 + rng.nextInt(4)];
                for (int j = 0; j < r.length; j++) r[j] = 65 + rng.nextInt(26);
                s.add(seq(prompt, r));
            }
            samples.add(s);
        }
        return ApoRewardTrainer.apoPairs(gold, samples);
    }

    /** One unpadded sequence's reward straight from the model (Transformer.forward, score at its last position). */
    private static double reward(Transformer m, long[] ids) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.scores(m.forward(Tensors.longs(ids, 1, ids.length), null, null), null))[0];
        }
    }

    private static double meanGap(Transformer m, List<RewardTrainer.Pair> pairs) {
        double sum = 0;
        for (RewardTrainer.Pair p : pairs) sum += reward(m, p.chosen()) - reward(m, p.rejected());
        return sum / pairs.size();
    }

    private static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    @Test
    void aMixedMicroBatchMatchesPyTorchRewardsLossAndGradients() throws Exception {
        try (Golden g = Golden.open("apo")) {
            List<long[]> hc = g.ragged("step.human_chosen_ids", "step.human_chosen_lens"),
                    hr = g.ragged("step.human_rejected_ids", "step.human_rejected_lens");
            List<long[]> gold = g.ragged("step.gold_ids", "step.gold_lens"),
                    sample = g.ragged("step.sample_ids", "step.sample_lens");
            // interleaved on purpose: the micro-batch routes each item by its flag, whatever the order
            List<ApoRewardTrainer.Item> mb = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                mb.add(new ApoRewardTrainer.Item(new RewardTrainer.Pair(gold.get(i), sample.get(i)), true));
                if (i < 3) mb.add(new ApoRewardTrainer.Item(new RewardTrainer.Pair(hc.get(i), hr.get(i)), false));
            }
            for (String type : new String[] {ApoLoss.RANKING, ApoLoss.DIFF}) {
                for (boolean checkpointed : new boolean[] {false, true}) {
                    String how = " (" + type + (checkpointed ? ", gradient checkpointing)" : ")");
                    try (Transformer m = tinyRm()) {
                        m.requiresGrad(true);
                        ApoRewardTrainer.Scored s = ApoRewardTrainer.microBatch(
                                m, mb, PAD, 7, new ApoLoss.Config(0.7, 0.5, 2, type), checkpointed);
                        Golden.assertClose(
                                "human chosen" + how,
                                g.floats("step.rewards_human_chosen"),
                                s.humanChosen(),
                                1e-4,
                                1e-4);
                        Golden.assertClose(
                                "human rejected" + how,
                                g.floats("step.rewards_human_rejected"),
                                s.humanRejected(),
                                1e-4,
                                1e-4);
                        Golden.assertClose("gold" + how, g.floats("step.rewards_gold"), s.gold(), 1e-4, 1e-4);
                        Golden.assertClose("sample" + how, g.floats("step.rewards_sample"), s.sample(), 1e-4, 1e-4);
                        float want = g.floats("step." + type + ".loss")[0];
                        assertEquals(want, s.loss(), 1e-5 + 1e-4 * Math.abs(want), "loss" + how);
                        for (String n : GRAD_NAMES) {
                            try (PointerScope sc = new PointerScope()) {
                                Golden.assertClose(
                                        "grad " + n + how,
                                        g.floats("step." + type + ".grad." + n),
                                        Tensors.toFloats(m.parameters().get(n).grad()),
                                        1e-5,
                                        1e-3);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void theFirstStepLossAndMetricsEqualApoLossOfRewardsScoredOneSequenceAtATime(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(5, 21, false), apo = goldVsSamples(2, 3, 22);
        ApoLoss.Config c = new ApoLoss.Config(0.8, 0.6, 3, ApoLoss.RANKING);
        double expectedLoss = 0, humanCorrect = 0, apoCorrect = 0, gap = 0;
        try (Transformer m = tinyRm()) { // the independent path: each sequence alone, unpadded, in doubles
            for (RewardTrainer.Pair p : human) {
                double d = reward(m, p.chosen()) - reward(m, p.rejected());
                expectedLoss += 0.8 * softplus(-d) / 11; // one mean over the 5 + 6 pairs (trainer.py:121-124)
                if (d > 0) humanCorrect++;
            }
            for (RewardTrainer.Pair p : apo) {
                double d = reward(m, p.chosen()) - reward(m, p.rejected());
                expectedLoss += 0.6 / 3 * softplus(-d) / 11;
                if (d > 0) apoCorrect++;
                gap += d;
            }
        }
        try (Transformer m = tinyRm()) { // one micro-batch holding all 11 items: the first step sees every pair
            ApoRewardTrainer.train(m, human, apo, null, c, config(tmp, 2, 11, 1), PAD, Map.of());
        }
        JsonNode row = trainRows(tmp).get(0);
        assertEquals(expectedLoss, row.get("loss").asDouble(), 1e-5);
        assertEquals(humanCorrect / human.size(), row.get("human/accuracy").asDouble(), 1e-12);
        assertEquals(apoCorrect / apo.size(), row.get("apo/accuracy").asDouble(), 1e-12);
        assertEquals(gap / apo.size(), row.get("apo/gold_sample_gap").asDouble(), 1e-5);
        long tokens = 0;
        for (RewardTrainer.Pair p : human) tokens += p.chosen().length + p.rejected().length;
        for (RewardTrainer.Pair p : apo) tokens += p.chosen().length + p.rejected().length;
        assertEquals(tokens, row.get("num_tokens").asLong());
    }

    @Test
    void theApoTermPushesGoldAboveTheSamples(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(8, 23, false), apo = goldVsSamples(4, 2, 24);
        double before, withApo, without;
        try (Transformer m = tinyRm()) {
            before = meanGap(m, apo);
            ApoRewardTrainer.train(
                    m,
                    human,
                    apo,
                    null,
                    new ApoLoss.Config(1.0, 1.0, 1, ApoLoss.RANKING),
                    config(tmp.resolve("apo"), 6, 16, 1),
                    PAD,
                    Map.of());
            withApo = meanGap(m, apo);
        }
        try (Transformer m = tinyRm()) { // the same run with the APO term switched off
            ApoRewardTrainer.train(
                    m,
                    human,
                    apo,
                    null,
                    new ApoLoss.Config(1.0, 0.0, 1, ApoLoss.RANKING),
                    config(tmp.resolve("off"), 6, 16, 1),
                    PAD,
                    Map.of());
            without = meanGap(m, apo);
        }
        System.err.printf(
                "APO synthetic: mean r_gold - r_sample before %.4f, after 6 steps with the APO term %.4f, without %.4f%n",
                before, withApo, without);
        assertTrue(withApo > before + 0.5, "the gap must grow: before " + before + ", after " + withApo);
        assertTrue(
                withApo > without + 0.5,
                "the APO term must be what widens the gap: with " + withApo + ", without " + without);
        List<JsonNode> rows = trainRows(tmp.resolve("apo"));
        assertTrue(
                rows.get(rows.size() - 1).get("apo/gold_sample_gap").asDouble()
                        > rows.get(0).get("apo/gold_sample_gap").asDouble(),
                "the logged gap rises too");
        assertEquals(
                1.0,
                rows.get(rows.size() - 1).get("apo/accuracy").asDouble(),
                0.0,
                "every gold scored above its samples by the end");
    }

    @Test
    void oneMicroBatchOfEightTrainsLikeEightMicroBatchesOfOne(@TempDir Path tmp) throws Exception {
        // 8 human + 8 APO items: a window of 8 mixes the kinds unevenly, and some micro-batches of one hold no pair of
        // a kind
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(8, 25, false), apo = goldVsSamples(4, 2, 26);
        ApoLoss.Config c = new ApoLoss.Config(1.0, 0.4, 2, ApoLoss.DIFF);
        try (Transformer m = tinyRm()) {
            ApoRewardTrainer.train(m, human, apo, null, c, config(tmp.resolve("a"), 2, 8, 1), PAD, Map.of());
        }
        try (Transformer m = tinyRm()) {
            ApoRewardTrainer.train(m, human, apo, null, c, config(tmp.resolve("b"), 2, 1, 8), PAD, Map.of());
        }
        List<JsonNode> la = trainRows(tmp.resolve("a")), lb = trainRows(tmp.resolve("b"));
        // only step 1 is equal by construction: step 2 starts from weights AdamW moved by lr-sized amounts wherever a
        // gradient is float32 noise (the gradients themselves are compared below)
        assertEquals(
                la.get(1).get("num_tokens").asLong(),
                lb.get(1).get("num_tokens").asLong());
        for (int i = 0; i < 1; i++) {
            String at = " at step " + (i + 1);
            assertEquals(la.get(i).get("loss").asDouble(), lb.get(i).get("loss").asDouble(), 1e-6, "loss" + at);
            double ga = la.get(i).get("grad_norm").asDouble();
            assertEquals(ga, lb.get(i).get("grad_norm").asDouble(), 1e-5 * ga, "grad_norm" + at);
            for (String k : new String[] {"human/accuracy", "apo/accuracy"})
                assertEquals(la.get(i).get(k).asDouble(), lb.get(i).get(k).asDouble(), 1e-12, k + at);
            assertEquals(
                    la.get(i).get("apo/gold_sample_gap").asDouble(),
                    lb.get(i).get("apo/gold_sample_gap").asDouble(),
                    1e-5);
            assertEquals(
                    la.get(i).get("num_tokens").asLong(),
                    lb.get(i).get("num_tokens").asLong());
        }
        // the first step's gradients, before any update: equal up to summation order
        List<ApoRewardTrainer.Item> items = new ArrayList<>();
        for (RewardTrainer.Pair p : human) items.add(new ApoRewardTrainer.Item(p, false));
        for (RewardTrainer.Pair p : apo) items.add(new ApoRewardTrainer.Item(p, true));
        try (Transformer m = tinyRm()) {
            assertSameGradients(
                    stepGradients(m, items, 8, 1, apoStep(m, c)), stepGradients(m, items, 1, 8, apoStep(m, c)));
        }
    }

    /**
     * A mixed micro-batch's items as parts at once (RowParallel; some parts hold one kind only) log what it logs whole
     * (loss, human/* and apo/*) and leave its gradients.
     */
    @Test
    void itemsAsPartsGiveTheMicroBatchsLossMetricsAndGradients() throws Exception {
        List<ApoRewardTrainer.Item> items = new ArrayList<>();
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(3, 31, false), apo = goldVsSamples(2, 2, 32);
        for (int i = 0; i < 4; i++) { // interleaved: 7 items, the human pairs among the APO ones
            items.add(new ApoRewardTrainer.Item(apo.get(i), true));
            if (i < 3) items.add(new ApoRewardTrainer.Item(human.get(i), false));
        }
        ApoLoss.Config c = ApoLoss.Config.defaults();
        try (Transformer m = tinyRm()) {
            assertPartsAddUp(
                    m,
                    items,
                    it -> 1,
                    (mb, w, train) -> ApoRewardTrainer.metrics(
                            ApoRewardTrainer.microBatch(m, mb, PAD, w.size(), c, false), c.apoLossType()),
                    "apo");
        }
    }

    /** APO's micro-batch as ApoRewardTrainer.train runs it: normalised by the window's pairs of both kinds. */
    private static TrainLoop.MicroBatch<ApoRewardTrainer.Item> apoStep(Transformer m, ApoLoss.Config c) {
        return (mb, w, train) -> StepSums.empty()
                .withLoss(ApoRewardTrainer.microBatch(m, mb, PAD, w.size(), c, false)
                        .loss());
    }

    @Test
    void withApoLossCoeffZeroTheApoItemsStillCountInTheMeanAsInTheApoCode(@TempDir Path tmp) throws Exception {
        // trainer.py:121-124 divides by the pairs of the whole batch, APO items included: with apo_loss_coeff 0, 8
        // human and 8 APO items give half the Bradley-Terry mean over the 8 human pairs, loss and gradients alike
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(8, 27, false), apo = goldVsSamples(4, 2, 28);
        try (Transformer m = tinyRm()) { // every step sees all 8 human pairs
            RewardTrainer.train(m, human, null, config(tmp.resolve("bt"), 1, 8, 1), PAD, Map.of());
        }
        ApoLoss.Config zero = new ApoLoss.Config(1.0, 0.0, 4, ApoLoss.RANKING);
        try (Transformer m = tinyRm()) { // every step sees all 16 items; the 8 APO pairs weigh 0
            ApoRewardTrainer.train(m, human, apo, null, zero, config(tmp.resolve("apo"), 1, 16, 1), PAD, Map.of());
        }
        List<ApoRewardTrainer.Item> items = new ArrayList<>();
        for (RewardTrainer.Pair p : apo) items.add(new ApoRewardTrainer.Item(p, true));
        for (RewardTrainer.Pair p : human) items.add(new ApoRewardTrainer.Item(p, false));
        try (Transformer m = tinyRm()) {
            Map<String, float[]> bt = stepGradients(
                    m,
                    human,
                    8,
                    1,
                    (mb, w, train) -> StepSums.empty()
                            .withLoss(RewardTrainer.microBatch(m, mb, PAD, w.size(), 0.0, false)
                                    .loss()));
            for (float[] g : bt.values()) for (int i = 0; i < g.length; i++) g[i] *= 0.5f; // exact in float32
            assertSameGradients(bt, stepGradients(m, items, 16, 1, apoStep(m, zero)));
        }
        // the first step, before any update: half the loss and the gradient norm, the same human metrics
        JsonNode bt = trainRows(tmp.resolve("bt")).get(0),
                ap = trainRows(tmp.resolve("apo")).get(0);
        assertEquals(bt.get("loss").asDouble() / 2, ap.get("loss").asDouble(), 1e-6, "loss");
        double g = bt.get("grad_norm").asDouble();
        assertEquals(g / 2, ap.get("grad_norm").asDouble(), 1e-5 * g, "grad_norm");
        assertEquals(bt.get("accuracy").asDouble(), ap.get("human/accuracy").asDouble(), 1e-12, "accuracy");
        assertEquals(bt.get("margin").asDouble(), ap.get("human/margin").asDouble(), 1e-5, "margin");
        assertEquals(
                bt.get("loss").asDouble(),
                ap.get("human/loss").asDouble(),
                1e-5,
                "human/loss is the unweighted BT mean");
    }

    @Test
    void metricsAreLoggedAndHeldOutHumanPairsEvaluatedEveryEvalStepsAndAtTheEnd(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(8, 29, false),
                apo = goldVsSamples(2, 4, 30),
                eval = RewardTrainerTest.yesNo(6, 31, false);
        RewardConfig cfg = config(tmp, 3, 4, 1).withEval(2, 4);
        try (Transformer m = tinyRm()) {
            Map<String, float[]> before = snapshot(m);
            TrainResult r = ApoRewardTrainer.train(
                    m, human, apo, eval, ApoLoss.Config.defaults(), cfg, PAD, Map.of("apo_loss_coeff", 0.1));
            for (var e : snapshot(m).entrySet())
                assertFalse(Arrays.equals(before.get(e.getKey()), e.getValue()), e.getKey() + " did not move");
            assertEquals(3, r.globalStep());
            List<JsonNode> rows = trainRows(tmp);
            assertEquals(3, rows.size());
            for (JsonNode row : rows) {
                for (String k : new String[] {"step", "epoch", "loss", "learning_rate", "grad_norm", "num_tokens"})
                    assertTrue(row.has(k), "row lacks " + k + ": " + row);
                assertTrue(Double.isFinite(row.get("loss").asDouble())
                        && row.get("loss").asDouble() > 0);
                // a window of 4 out of 8 + 8 may miss a kind; every step here holds at least one pair (the metrics of a
                // missing kind are left out)
                assertTrue(row.has("human/accuracy") || row.has("apo/accuracy"), row.toString());
            }
            assertTrue(
                    rows.stream().anyMatch(x -> x.has("apo/gold_sample_gap") && x.has("apo/loss")),
                    "some step logs the APO metrics");
            assertTrue(
                    rows.stream().anyMatch(x -> x.has("human/margin") && x.has("human/loss")),
                    "some step logs the human metrics");
            List<JsonNode> evals = evalRows(tmp);
            assertEquals(
                    List.of(2, 3),
                    evals.stream().map(e -> e.get("step").asInt()).toList(),
                    "eval every 2 steps and at the end");
            // the final eval row is RewardTrainer.evaluate of the trained model on the held-out human pairs
            Map<String, Double> now = RewardTrainer.evaluate(m, eval, cfg, PAD);
            JsonNode last = evals.get(1);
            for (String k : new String[] {"eval_loss", "eval_accuracy", "eval_ece"})
                assertEquals(now.get(k), last.get(k).asDouble(), 1e-9, k);
            double[] diff = new double[eval.size()];
            for (int i = 0; i < eval.size(); i++)
                diff[i] =
                        reward(m, eval.get(i).chosen()) - reward(m, eval.get(i).rejected());
            assertEquals(
                    Calibration.expectedCalibrationError(diff, 10),
                    last.get("eval_ece").asDouble(),
                    1e-5);
            try (Transformer saved = Checkpoints.load(tmp)) {
                assertTrue(saved.config().isSequenceClassification());
                assertArrayEquals(
                        Tensors.toFloats(m.parameters().get("score.weight")),
                        Tensors.toFloats(saved.parameters().get("score.weight")));
            }
        }
    }

    @Test
    void resumingFromACheckpointContinuesExactlyAsTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(6, 33, false),
                apo = goldVsSamples(3, 2, 34),
                eval = RewardTrainerTest.yesNo(4, 35, false);
        RewardConfig base = config(tmp.resolve("full"), 5, 4, 1)
                .withEval(1, 2); // 12 items, 3 batches of 4: the resume crosses an epoch
        RewardConfig cfg = base.withArgs(base.args().withLogging(1, 2));
        ApoLoss.Config c = ApoLoss.Config.defaults();
        Map<String, float[]> full;
        try (Transformer m = tinyRm()) {
            ApoRewardTrainer.train(m, human, apo, eval, c, cfg, PAD, Map.of());
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
            ApoRewardTrainer.train(
                    m, human, apo, eval, c, cfg.withArgs(cfg.args().withResume("latest", resumed)), PAD, Map.of());
            for (var e : snapshot(m).entrySet()) assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
        }
        List<JsonNode> lf = trainRows(tmp.resolve("full")), lr = trainRows(resumed);
        assertEquals(3, lr.size(), "steps 3, 4, 5 logged after the resume");
        assertResumedRowsEqual(tmp.resolve("full"), resumed, 3);
        for (int i = 0; i < 3; i++) {
            JsonNode f = lf.get(i + 2), r = lr.get(i);
            var names = new ArrayList<String>();
            f.fieldNames().forEachRemaining(names::add);
            var namesR = new ArrayList<String>();
            r.fieldNames().forEachRemaining(namesR::add);
            assertEquals(names, namesR, "the same metrics at step " + (i + 3));
            for (String k : names)
                assertEquals(f.get(k).asDouble(), r.get(k).asDouble(), 0.0, k + " at step " + (i + 3));
        }
        List<JsonNode> ef = evalRows(tmp.resolve("full")), er = evalRows(resumed);
        assertEquals(3, er.size());
        for (int i = 0; i < 3; i++)
            assertEquals(
                    ef.get(i + 2).get("eval_loss").asDouble(),
                    er.get(i).get("eval_loss").asDouble(),
                    0.0);
    }

    @Test
    void apoPairsPairEachGoldenSequenceWithEverySampleOfItsQuery() {
        long[] g0 = {1, 2, EOS}, g1 = {3, EOS}, s00 = {1, 9, EOS}, s01 = {1, 8, 8, EOS}, s10 = {3, 7, EOS};
        List<RewardTrainer.Pair> pairs =
                ApoRewardTrainer.apoPairs(List.of(g0, g1), List.of(List.of(s00, s01), List.of(s10)));
        assertEquals(3, pairs.size());
        long[][][] want = {{g0, s00}, {g0, s01}, {g1, s10}};
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(want[i][0], pairs.get(i).chosen(), "gold is the chosen side");
            assertArrayEquals(want[i][1], pairs.get(i).rejected());
            assertEquals(0f, pairs.get(i).margin());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ApoRewardTrainer.apoPairs(List.of(g0), List.of()))
                .getMessage()
                .contains("one list of samples"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> ApoRewardTrainer.apoPairs(List.of(g0), List.of(List.of())))
                .getMessage()
                .contains("no policy samples"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> ApoRewardTrainer.apoPairs(List.of(g0), List.of(List.of(new long[0]))))
                .getMessage()
                .contains("empty"));
    }

    @Test
    void whatApoCannotHonourIsRefusedWithTheFix(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> human = RewardTrainerTest.yesNo(4, 36, false), apo = goldVsSamples(1, 2, 37);
        try (Transformer m = tinyRm()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoRewardTrainer.train(
                            m,
                            RewardTrainerTest.yesNo(4, 38, true).stream()
                                    .map(p -> new RewardTrainer.Pair(p.chosen(), p.rejected(), 1f))
                                    .toList(),
                            apo,
                            null,
                            ApoLoss.Config.defaults(),
                            config(tmp, 1, 4, 1),
                            PAD,
                            Map.of()));
            assertTrue(e.getMessage().contains("margin"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoRewardTrainer.train(
                            m,
                            human,
                            apo,
                            null,
                            ApoLoss.Config.defaults(),
                            config(tmp, 1, 4, 1).withCenterRewards(0.01),
                            PAD,
                            Map.of()));
            assertTrue(e.getMessage().contains("center_rewards_coefficient"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoRewardTrainer.train(
                            m,
                            List.of(),
                            List.of(),
                            null,
                            ApoLoss.Config.defaults(),
                            config(tmp, 1, 4, 1),
                            PAD,
                            Map.of()));
            assertTrue(e.getMessage().contains("empty"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoRewardTrainer.train(
                            m, human, apo, null, ApoLoss.Config.defaults(), config(tmp, 1, 4, 1), 258, Map.of()));
            assertTrue(e.getMessage().contains("pad_token_id"), e.getMessage());
        }
        try (Transformer lm = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoRewardTrainer.train(
                            lm, human, apo, null, ApoLoss.Config.defaults(), config(tmp, 1, 4, 1), PAD, Map.of()));
            assertTrue(e.getMessage().contains("RewardTrainer.rewardModel"), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("metrics.jsonl")), "nothing written by refused runs");
    }
}
