// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertSameGradients;
import static org.align4j.trainer.TrainerFixtures.evalRows;
import static org.align4j.trainer.TrainerFixtures.stepGradients;
import static org.align4j.trainer.TrainerFixtures.trainRows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.engine.Tensors;
import org.align4j.loss.ScpoWeighting;
import org.align4j.loss.ScpoWeighting.Weighting;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SCPO in the reward trainer (filter, weights, filtered eval) on the tiny golden Qwen3 reward model (pad 256). */
class ScpoRewardTrainerTest {
    private static final long PAD = 256;
    private static final ScpoConfig PAPER = ScpoConfig.defaults();
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

    /** yes/no pairs with global rewards r+ - r- drawn from [-3, 3): some kept by tau 0.7, some not; some ranked wrong. */
    private static List<RewardTrainer.Pair> withGlobal(List<RewardTrainer.Pair> pairs, long seed) {
        Random rng = new Random(seed);
        List<RewardTrainer.Pair> out = new ArrayList<>();
        for (RewardTrainer.Pair p : pairs) {
            float base = (float) rng.nextGaussian(), d = (float) (rng.nextDouble() * 6 - 3);
            out.add(p.withGlobal(base + d, base));
        }
        return out;
    }

    private static float reward(Transformer m, long[] ids) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.scores(m.forward(Tensors.longs(ids, 1, ids.length), null, null), null))[0];
        }
    }

    @Test
    void theWeightedFirstStepMatchesPyTorchRewardsLossAndGradients() throws Exception {
        try (Golden g = Golden.open("scpo")) {
            List<long[]> chosen = g.ragged("step.chosen_ids", "step.chosen_lens"),
                    rejected = g.ragged("step.rejected_ids", "step.rejected_lens");
            float[] gp = g.floats("step.global_chosen"), gm = g.floats("step.global_rejected");
            List<RewardTrainer.Pair> pairs = new ArrayList<>();
            for (int i = 0; i < chosen.size(); i++)
                pairs.add(new RewardTrainer.Pair(chosen.get(i), rejected.get(i)).withGlobal(gp[i], gm[i]));
            float[] w = new float[pairs.size()];
            for (int i = 0; i < w.length; i++)
                w[i] = (float) PAPER.weight(pairs.get(i).global());
            Golden.assertClose("weights", g.floats("step.weights"), w, 1e-6, 1e-5);
            assertTrue(w[0] < 1 && w[2] == 1, "the golden mixes down-weighted and unit-weight pairs");
            for (boolean checkpointed : new boolean[] {false, true}) {
                try (Transformer m = tinyRm()) {
                    m.requiresGrad(true);
                    RewardTrainer.Scored s = RewardTrainer.microBatch(
                            m, pairs, PAD, pairs.size(), g.floats("step.center_coefficient")[0], PAPER, checkpointed);
                    String how = checkpointed ? " (gradient checkpointing)" : "";
                    Golden.assertClose("rewards_chosen" + how, g.floats("step.rewards_chosen"), s.chosen(), 1e-4, 1e-4);
                    Golden.assertClose(
                            "rewards_rejected" + how, g.floats("step.rewards_rejected"), s.rejected(), 1e-4, 1e-4);
                    double expected = g.floats("step.loss")[0];
                    assertEquals(expected, s.loss(), 1e-5 + 1e-4 * Math.abs(expected), "loss" + how);
                    for (String n : GRAD_NAMES)
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

    /** The trainer's weighted micro-batch, as RewardTrainer.train runs it. */
    private static TrainLoop.MicroBatch<RewardTrainer.Pair> weighted(Transformer m, ScpoConfig scpo) {
        return (mb, w, train) -> StepSums.empty()
                .withLoss(RewardTrainer.microBatch(m, mb, PAD, w.size(), 0.05, scpo, false)
                        .loss());
    }

    @Test
    void weightedPairsAccumulateTheSameGradientInOneMicroBatchOfEightAsInEightOfOne() throws Exception {
        List<RewardTrainer.Pair> data = withGlobal(RewardTrainerTest.yesNo(8, 3, true), 5);
        for (ScpoConfig scpo : new ScpoConfig[] {PAPER, new ScpoConfig(Weighting.INVERSE, 1.1, 0.7)})
            try (Transformer m = tinyRm()) {
                Map<String, float[]> one = stepGradients(m, data, 8, 1, weighted(m, scpo)),
                        eight = stepGradients(m, data, 1, 8, weighted(m, scpo)),
                        plain = stepGradients(m, data, 8, 1, weighted(m, null));
                assertSameGradients(one, eight);
                float[] a = one.get("score.weight"), b = plain.get("score.weight");
                double diff = 0;
                for (int i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
                assertTrue(diff > 1e-3 * maxAbs(b), scpo.weighting() + ": the weights change the gradient");
            }
    }

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    @Test
    void trainingKeepsOnlyThePairsTheFilterKeepsAndLogsTheirTokens(@TempDir Path tmp) throws Exception {
        List<RewardTrainer.Pair> data = withGlobal(RewardTrainerTest.yesNo(12, 21, false), 8);
        List<RewardTrainer.Pair> kept = new ArrayList<>();
        for (RewardTrainer.Pair p : data) {
            double d = (double) p.global().chosen() - p.global().rejected();
            if (d < Math.log(0.7 / 0.3)) kept.add(p); // sigma(d) < 0.7
        }
        assertTrue(kept.size() > 0 && kept.size() < data.size(), "the data must straddle the filter: " + kept.size());
        assertEquals(kept, RewardTrainer.scpoTrainSet(data, List.of(), PAPER));
        try (Transformer m = tinyRm()) { // one epoch in one batch per step: num_tokens counts exactly the kept pairs
            RewardTrainer.train(
                    m,
                    data,
                    null,
                    RewardConfig.of(TrainingArgs.defaults(tmp)
                                    .withSteps(-1, 64, 1, 1e-3)
                                    .withLogging(1, 0))
                            .withScpo(PAPER),
                    PAD,
                    Map.of());
        }
        long tokens = kept.stream()
                .mapToLong(p -> p.chosen().length + p.rejected().length)
                .sum();
        List<JsonNode> rows = trainRows(tmp); // an epoch per step (num_train_epochs 3)
        assertEquals(3, rows.size());
        for (int i = 0; i < 3; i++)
            assertEquals((i + 1) * tokens, rows.get(i).get("num_tokens").asLong());
        // tau 1 turns the filter off
        assertEquals(data, RewardTrainer.scpoTrainSet(data, List.of(), new ScpoConfig(Weighting.SCPO, 1.1, 1.0)));
    }

    @Test
    void evaluationWeightsTheLossAndAddsTheAccuracyOnThePairsTheGlobalModelRanksWrong(@TempDir Path tmp)
            throws Exception {
        List<RewardTrainer.Pair> eval = withGlobal(RewardTrainerTest.yesNo(9, 31, true), 13);
        RewardConfig plain = RewardConfig.defaults(Path.of("unused")).withCenterRewards(0.02);
        RewardConfig scpo = plain.withScpo(PAPER);
        try (Transformer m = tinyRm()) {
            Map<String, Double> withScpo = RewardTrainer.evaluate(m, eval, scpo.withEval(0, 4), PAD),
                    without = RewardTrainer.evaluate(m, eval, plain.withEval(0, 4), PAD);
            assertFalse(without.containsKey("eval_filtered_accuracy"));
            assertEquals(without.get("eval_accuracy"), withScpo.get("eval_accuracy"), "the full test set's accuracy");
            // recomputed pair by pair in doubles from the model's own rewards
            double loss = 0;
            int filtered = 0, right = 0;
            for (RewardTrainer.Pair p : eval) {
                double rw = reward(m, p.chosen()), rl = reward(m, p.rejected()), z = rw - rl - p.margin();
                double w = ScpoWeighting.weight(
                        Weighting.SCPO, p.global().chosen(), p.global().rejected(), ScpoWeighting.DEFAULT_BETA);
                loss += w * (Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) + 0.02 * (rw + rl) * (rw + rl);
                if (p.global().chosen() < p.global().rejected()) {
                    filtered++;
                    if (rw > rl) right++;
                }
            }
            assertTrue(filtered > 0 && filtered < eval.size(), "the eval set must straddle the test filter");
            assertEquals(loss / eval.size(), withScpo.get("eval_loss"), 1e-5);
            assertEquals((double) right / filtered, withScpo.get("eval_filtered_accuracy"), 1e-12);
            // no pair ranked wrong by the global model: no filtered accuracy
            List<RewardTrainer.Pair> agreed =
                    eval.stream().map(p -> p.withGlobal(1f, 0f)).toList();
            assertFalse(RewardTrainer.evaluate(m, agreed, scpo, PAD).containsKey("eval_filtered_accuracy"));
        }
        try (Transformer m = tinyRm()) { // and the trainer logs it in every eval row
            RewardTrainer.train(
                    m,
                    withGlobal(RewardTrainerTest.yesNo(8, 2, false), 3),
                    eval,
                    RewardConfig.of(TrainingArgs.defaults(tmp)
                                    .withSteps(2, 4, 1, 1e-3)
                                    .withLogging(1, 0))
                            .withEval(1, 4)
                            .withScpo(PAPER),
                    PAD,
                    Map.of());
        }
        List<JsonNode> evals = evalRows(tmp);
        assertEquals(2, evals.size());
        for (JsonNode e : evals) assertTrue(e.has("eval_filtered_accuracy") && e.has("eval_accuracy"), e.toString());
    }

    @Test
    void missingGlobalRewardsAnEmptyFilterAndOverflowingWeightsAreRefusedWithTheFix() {
        List<RewardTrainer.Pair> plain = RewardTrainerTest.yesNo(3, 4, false);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> RewardTrainer.scpoTrainSet(plain, List.of(), PAPER));
        assertTrue(e.getMessage().contains("train pair 0 has no global reward model rewards"), e.getMessage());
        List<RewardTrainer.Pair> confident =
                plain.stream().map(p -> p.withGlobal(5f, 0f)).toList();
        e = assertThrows(IllegalArgumentException.class, () -> RewardTrainer.scpoTrainSet(confident, List.of(), PAPER));
        assertTrue(e.getMessage().contains("keeps none") && e.getMessage().contains("raise scpo_tau"), e.getMessage());
        List<RewardTrainer.Pair> extreme =
                plain.stream().map(p -> p.withGlobal(-60f, 40f)).toList();
        ScpoConfig inverse = new ScpoConfig(Weighting.INVERSE, 1.1, 0.7);
        e = assertThrows(IllegalArgumentException.class, () -> RewardTrainer.scpoTrainSet(extreme, List.of(), inverse));
        assertTrue(
                e.getMessage().contains("overflows float32") && e.getMessage().contains("inverse"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ScpoConfig(Weighting.SCPO, 0, 0.7));
        assertTrue(e.getMessage().contains("scpo_beta"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ScpoConfig(Weighting.SCPO, 1.1, 1.5));
        assertTrue(e.getMessage().contains("scpo_tau must be in (0, 1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plain.get(0).withGlobal(Float.NaN, 0f));
        assertTrue(e.getMessage().contains("finite"), e.getMessage());
    }
}
