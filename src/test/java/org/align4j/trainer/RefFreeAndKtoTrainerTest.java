// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertPartsAddUp;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.PreferencePair;
import org.align4j.data.UnpairedExample;
import org.align4j.engine.Tensors;
import org.align4j.loss.CpoLoss;
import org.align4j.loss.KtoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CPO/SimPO, ORPO and KTO runs on the tiny llama (their first-step numbers are in PreferenceGoldenTest). */
class RefFreeAndKtoTrainerTest {
    private static final long PAD = 256;

    private static Transformer tiny() throws Exception {
        return Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    private static TrainingArgs args(Path out, int steps) {
        return TrainingArgs.defaults(out).withSteps(steps, 4, 1, 1e-3).withLogging(1, 0);
    }

    private static void assertTrainedAndLogged(Transformer m, Map<String, float[]> before, Path out, String... keys)
            throws Exception {
        for (var e : snapshot(m).entrySet())
            assertFalse(java.util.Arrays.equals(before.get(e.getKey()), e.getValue()), e.getKey() + " did not move");
        List<JsonNode> rows = MetricsLog.read(out);
        assertEquals(3, rows.size());
        for (JsonNode r : rows)
            for (String k : keys)
                assertTrue(r.has(k) && Double.isFinite(r.get(k).asDouble()), "row lacks a finite " + k + ": " + r);
        try (Transformer saved = Checkpoints.load(out)) {
            assertArrayEquals(
                    Tensors.toFloats(m.parameters().get("lm_head.weight")),
                    Tensors.toFloats(saved.parameters().get("lm_head.weight")));
        }
    }

    @Test
    void simpoTrainsEveryParameterAndLogsTrlNames(@TempDir Path tmp) throws Exception {
        try (Transformer m = tiny()) {
            Map<String, float[]> before = snapshot(m);
            CpoTrainer.train(
                    m,
                    DpoTrainerTest.arithmeticPairs(12, 1),
                    List.of(),
                    new CpoConfig(args(tmp, 3), CpoLoss.Config.simpo(0.1, 0.5), 0),
                    PAD,
                    Map.of());
            assertTrainedAndLogged(
                    m,
                    before,
                    tmp,
                    "loss",
                    "rewards/chosen",
                    "rewards/margins",
                    "rewards/accuracies",
                    "logps/chosen",
                    "nll_loss");
            assertEquals(
                    0.0,
                    MetricsLog.read(tmp).get(0).get("nll_loss").asDouble(),
                    0.0,
                    "SimPO has no NLL term (cpo_alpha 0), logged as 0 like TRL");
        }
    }

    /** CPO (with its NLL term), SimPO and ORPO micro-batches run as parts at once log and leave what they do whole. */
    @Test
    void cpoSimpoAndOrpoPairsAsPartsGiveTheMicroBatchsLossMetricsAndGradients(@TempDir Path tmp) throws Exception {
        List<PreferencePair> pairs = DpoTrainerTest.arithmeticPairs(5, 12);
        CpoConfig cpo = new CpoConfig(args(tmp, 1), CpoLoss.Config.defaults(), 0),
                simpo = new CpoConfig(args(tmp, 1), CpoLoss.Config.simpo(0.1, 0.5), 0);
        OrpoConfig orpo = new OrpoConfig(args(tmp, 1), 0.1, 0);
        assertTrue(cpo.loss().cpoAlpha() != 0, "the defaults carry CPO's NLL term");
        try (Transformer m = tiny()) {
            assertPartsAddUp(
                    m,
                    pairs,
                    p -> p.chosen().length,
                    (rows, w, train) -> CpoTrainer.microBatch(m, rows, cpo, PAD, w, train),
                    "cpo");
            assertPartsAddUp(
                    m,
                    pairs,
                    p -> p.chosen().length,
                    (rows, w, train) -> CpoTrainer.microBatch(m, rows, simpo, PAD, w, train),
                    "simpo");
            assertPartsAddUp(
                    m,
                    pairs,
                    OrpoTrainer::nllTokens,
                    (rows, w, train) -> OrpoTrainer.microBatch(m, rows, orpo, PAD, w, train),
                    "orpo");
        }
    }

    @Test
    void orpoTrainsEveryParameterAndItsFirstLossIsNllPlusTheOddsTerm(@TempDir Path tmp) throws Exception {
        try (Transformer m = tiny()) {
            Map<String, float[]> before = snapshot(m);
            OrpoTrainer.train(
                    m,
                    DpoTrainerTest.arithmeticPairs(12, 2),
                    List.of(),
                    new OrpoConfig(args(tmp, 3), 0.1, 0),
                    PAD,
                    Map.of());
            assertTrainedAndLogged(
                    m, before, tmp, "loss", "nll_loss", "log_odds_ratio", "log_odds_chosen", "rewards/chosen");
            JsonNode first = MetricsLog.read(tmp).get(0);
            // loss = nll - beta * mean logsigmoid(log odds), from the logged parts
            assertEquals(
                    first.get("nll_loss").asDouble()
                            - 0.1 * first.get("log_odds_ratio").asDouble(),
                    first.get("loss").asDouble(),
                    1e-5);
        }
    }

    /**
     * A KTO micro-batch as parts at once: z0 stays the whole micro-batch's (its mismatched rows cross the parts'
     * borders), so the loss, every metric (kl included) and the gradients are the whole micro-batch's; with a reference
     * model, and with LoRA's adapters-off reference.
     */
    @Test
    void ktoRowsAsPartsKeepTheMicroBatchsReferencePointLossMetricsAndGradients(@TempDir Path tmp) throws Exception {
        List<UnpairedExample> rows = new ArrayList<>();
        List<PreferencePair> pairs = DpoTrainerTest.arithmeticPairs(3, 13);
        for (int i = 0; i < 3; i++) {
            rows.add(new UnpairedExample(pairs.get(i).prompt(), pairs.get(i).chosen(), true));
            if (i < 2)
                rows.add(new UnpairedExample(pairs.get(i).prompt(), pairs.get(i).rejected(), false));
        }
        KtoConfig cfg = new KtoConfig(args(tmp, 1), KtoLoss.Config.defaults(), 0);
        TrainLoop.Window<UnpairedExample> w = TrainLoop.Window.of(rows, e -> e.completion().length, 0);
        for (boolean lora : new boolean[] {false, true}) {
            try (Transformer m = tiny();
                    Transformer refModel = lora ? null : tiny()) {
                // the policy away from its reference. With a reference model of its own: the reference's logits 3x as
                // sharp (its final norm scaled), which lowers its log-probs of the mismatched rows' tokens below the
                // policy's (E log softmax(3z) < E log softmax(z) for near-uniform logits), so z0 > 0 and the point
                // matters. With LoRA: random adapters (z0 may clamp to 0: that case checks the per-part adapter switch)
                org.bytedeco.pytorch.global.torch.manual_seed(5);
                try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard();
                        org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
                    if (lora) {
                        org.align4j.model.Lora.attach(
                                m, new org.align4j.model.Lora.Config(4, 8, 0.0, List.of("q_proj", "v_proj")), 3);
                        for (var e : m.trainableParameters().entrySet())
                            if (e.getKey().endsWith("lora_B.weight"))
                                e.getValue()
                                        .add_(org.bytedeco
                                                .pytorch
                                                .global
                                                .torch
                                                .randn_like(e.getValue())
                                                .mul(Tensors.scalar(0.3)));
                    } else refModel.parameters().get("model.norm.weight").mul_(Tensors.scalar(3.0));
                }
                Reference ref = new Reference(m, refModel, false, "kto");
                double z0 = KtoTrainer.microBatch(m, ref, rows, cfg, PAD, w, false, 1)
                        .metrics()
                        .get("kl");
                if (!lora)
                    assertTrue(
                            z0 > 0,
                            "z0 = 0 would leave the reference point untested: "
                                    + KtoTrainer.microBatch(m, ref, rows, cfg, PAD, w, false, 1)
                                            .metrics());
                assertPartsAddUp(
                        m,
                        rows.size(),
                        parts -> KtoTrainer.microBatch(m, ref, rows, cfg, PAD, w, true, parts),
                        lora ? "kto, LoRA" : "kto, reference model");
            }
        }
    }

    @Test
    void ktoLeavesTheReferenceUntouchedAndNeedsTwoRowsPerBatch(@TempDir Path tmp) throws Exception {
        List<UnpairedExample> rows = new ArrayList<>();
        for (PreferencePair p : DpoTrainerTest.arithmeticPairs(6, 3)) {
            rows.add(new UnpairedExample(p.prompt(), p.chosen(), true));
            rows.add(new UnpairedExample(p.prompt(), p.rejected(), false));
        }
        try (Transformer m = tiny();
                Transformer ref = tiny()) {
            Map<String, float[]> before = snapshot(m), refBefore = snapshot(ref);
            KtoTrainer.train(
                    m, ref, rows, List.of(), new KtoConfig(args(tmp, 3), KtoLoss.Config.defaults(), 0), PAD, Map.of());
            assertTrainedAndLogged(m, before, tmp, "loss", "kl");
            // per-class means appear when the step had rows of that class (TRL divides by the class count)
            assertTrue(
                    MetricsLog.read(tmp).stream()
                            .anyMatch(r -> r.has("rewards/chosen")
                                    && r.has("rewards/rejected")
                                    && r.has("rewards/margins")
                                    && r.has("logps/chosen")
                                    && r.has("logps/rejected")),
                    "no step logged both classes");
            for (var e : snapshot(ref).entrySet())
                assertArrayEquals(refBefore.get(e.getKey()), e.getValue(), "reference " + e.getKey() + " changed");
            // policy == reference at the first step: every reward and the KL estimate are 0, so each loss is lambda *
            // (1 - sigmoid(0)) = 0.5
            JsonNode first = MetricsLog.read(tmp).get(0);
            assertEquals(0.5, first.get("loss").asDouble(), 1e-6);
            assertEquals(0.0, first.get("kl").asDouble(), 1e-6);
            TrainingArgs one = TrainingArgs.defaults(tmp.resolve("b")).withSteps(1, 1, 1, 1e-3);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> KtoTrainer.train(
                            m, ref, rows, List.of(), new KtoConfig(one, KtoLoss.Config.defaults(), 0), PAD, Map.of()));
            assertTrue(e.getMessage().contains("per_device_train_batch_size"), e.getMessage());
        }
    }
}
