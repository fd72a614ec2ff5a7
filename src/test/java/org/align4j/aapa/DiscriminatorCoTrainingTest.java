// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.io.HfJson;
import org.align4j.io.SafetensorsWriter;
import org.align4j.io.TensorBlob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AAPA discriminator co-training (an option, off by default; docs/aapa.md): the update against a closed form of the
 * first AdamW step, its effect on a policy that drifts towards the expert's features, and the anchor's wiring
 * (score first, then update; every N steps; once per step; saved and reloaded).
 */
class DiscriminatorCoTrainingTest {
    /** The hand-written discriminator of AnchorRewardTest with one expert embedding saved beside it. */
    private static final float[] EXPERT_X = {0.6f, 2f}; // "#### 1" has 6 characters and two '#'

    private static EncoderDiscriminator withExpert(Path dir) throws Exception {
        EncoderDiscriminator d = AnchorRewardTest.handWritten(dir);
        SafetensorsWriter.write(
                dir.resolve(EncoderDiscriminator.EXPERT_FILE),
                List.of(TensorBlob.ofFloats("embeddings", EXPERT_X, 1, 2)),
                Map.of());
        return EncoderDiscriminator.load(dir, new AnchorRewardTest.CountingEncoder());
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    @Test
    void oneUpdateIsTheClosedFormFirstAdamWStep(@TempDir Path tmp) throws Exception {
        EncoderDiscriminator d = withExpert(tmp.resolve("d"));
        List<String> responses = List.of("blah blah blah", "#", "a much longer rambling answer"),
                prompts = List.of("p", "p", "p");
        double lr = 0.05;
        Discriminator.CoTrainStats st = d.coTrain(prompts, responses, new Discriminator.CoTraining(lr, 1, 1, 7));
        // the batch: the one expert embedding drawn 3 times (label 1), then the 3 responses (label 0); class weights 1
        List<float[]> x = new ArrayList<>();
        for (int i = 0; i < 3; i++) x.add(EXPERT_X);
        for (String r : responses) x.add(AnchorRewardTest.CountingEncoder.features(r));
        double[] g = new double[3]; // d(mean BCE)/d(w0, w1, b)
        double loss = 0;
        int right = 0;
        for (int i = 0; i < 6; i++) {
            double y = i < 3 ? 1 : 0,
                    z =
                            (double) AnchorRewardTest.W0 * x.get(i)[0]
                                    + (double) AnchorRewardTest.W1 * x.get(i)[1]
                                    + AnchorRewardTest.B;
            loss += (Math.log1p(Math.exp(z)) - y * z) / 6;
            if ((z > 0) == (y == 1)) right++;
            double e = (sigmoid(z) - y) / 6;
            g[0] += e * x.get(i)[0];
            g[1] += e * x.get(i)[1];
            g[2] += e;
        }
        assertEquals(loss, st.loss(), 1e-12, "the batch's BCE before the update");
        assertEquals(right / 6.0, st.accuracy(), 0.0);
        assertEquals(1, st.updates());
        // Adam's first bias-corrected step is lr·g/(|g| + ε); the hand-written head has weight decay 0
        float[] before = {AnchorRewardTest.W0, AnchorRewardTest.W1, AnchorRewardTest.B},
                after = d.head().parameters();
        for (int p = 0; p < 3; p++)
            assertEquals(before[p] - lr * g[p] / (Math.abs(g[p]) + 1e-8), after[p], 1e-6, "parameter " + p);
        assertTrue(d.coTrained());
    }

    @Test
    void coTrainingPushesDownAPolicyThatLearnedToLookLikeTheExpert(@TempDir Path tmp) throws Exception {
        EncoderDiscriminator d = withExpert(tmp.resolve("d"));
        // the policy learned the expert's '#' marks but still rambles: the fixed head calls it expert-like
        List<String> drifted = List.of("## and so on and so on", "## well, let me think", "## it could be many things");
        List<String> prompts = List.of("p", "p", "p");
        double[] fixed = d.logits(prompts, drifted);
        for (double z : fixed) assertTrue(z > 0, "before co-training the drifted policy fools the discriminator: " + z);
        Discriminator.CoTraining c = new Discriminator.CoTraining(0.05, 5, 1, 3);
        for (int k = 0; k < 20; k++) d.coTrain(prompts, drifted, c);
        for (double z : d.logits(prompts, drifted)) assertTrue(z < 0, "after co-training it is caught: " + z);
        assertTrue(d.logits(List.of("p"), List.of("#### 1"))[0] > 0, "and the expert is still recognised");
    }

    @Test
    void anchorScoresWithTheDiscriminatorBeforeItsUpdateEveryNStepsOncePerStep(@TempDir Path tmp) throws Exception {
        EncoderDiscriminator d = withExpert(tmp.resolve("d"));
        AnchorReward a = new AnchorReward(d, AnchorSchedule.constant(1.0))
                .withCoTraining(new Discriminator.CoTraining(0.05, 1, 2, 1));
        List<String> prompts = List.of("p", "p"), responses = List.of("## drifted text", "plain");
        assertFalse(a.metrics().containsKey("aapa/cotrain_loss"), "no update yet");
        double[] expected = d.logits(prompts, responses);
        a.setStep(0);
        assertArrayEquals(
                expected,
                a.score(prompts, responses, null),
                0.0,
                "rewards come from the head before this batch's update");
        assertEquals(1.0, a.metrics().get("aapa/cotrain_updates"));
        float[] afterStep0 = d.head().parameters();
        a.score(prompts, responses, null); // the same step again: no second update
        assertArrayEquals(afterStep0, d.head().parameters());
        a.setStep(1); // 1 % 2 != 0: no update
        a.score(prompts, responses, null);
        assertArrayEquals(afterStep0, d.head().parameters());
        a.setStep(2);
        a.score(prompts, responses, null);
        assertEquals(2.0, a.metrics().get("aapa/cotrain_updates"));
        assertFalse(java.util.Arrays.equals(afterStep0, d.head().parameters()));
    }

    @Test
    void aCoTrainedDiscriminatorSavesAndReloadsWithItsExpertsAndRecordsTheUpdates(@TempDir Path tmp) throws Exception {
        EncoderDiscriminator d = withExpert(tmp.resolve("d"));
        d.coTrain(List.of("p"), List.of("## drifted"), new Discriminator.CoTraining(0.05, 2, 1, 1));
        Path out = tmp.resolve("saved");
        d.save(out);
        EncoderDiscriminator back = EncoderDiscriminator.load(out, new AnchorRewardTest.CountingEncoder());
        assertArrayEquals(d.head().parameters(), back.head().parameters());
        JsonNode j = HfJson.readJson(out.resolve(EncoderDiscriminator.CONFIG_FILE));
        assertEquals(1, j.path("co_training").path("updates").asInt());
        assertEquals(Discriminator.SENTENCE_ENCODER, j.path("kind").asText());
        assertTrue(Files.exists(out.resolve(EncoderDiscriminator.EXPERT_FILE)));
        back.coTrain(
                List.of("p"),
                List.of("## drifted"),
                new Discriminator.CoTraining(0.05, 1, 1, 1)); // reads the saved experts
    }

    @Test
    void aFolderWithoutExpertEmbeddingsRefusesCoTrainingWithTheFix(@TempDir Path tmp) throws Exception {
        EncoderDiscriminator d = AnchorRewardTest.handWritten(tmp.resolve("old"));
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> d.coTrain(List.of("p"), List.of("x"), new Discriminator.CoTraining(0.05, 1, 1, 1)));
        assertTrue(
                e.getMessage().contains(EncoderDiscriminator.EXPERT_FILE)
                        && e.getMessage().contains("retrain"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Discriminator.CoTraining(0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Discriminator.CoTraining(0.1, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Discriminator.CoTraining(0.1, 1, 0, 1));
    }

    @Test
    void trainingKeepsTheExpertEmbeddingsOfItsTrainingSplit(@TempDir Path tmp) throws Exception {
        List<EncoderDiscriminator.Example> expert = new ArrayList<>(), policy = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            expert.add(new EncoderDiscriminator.Example("p", "#".repeat(1 + i % 3) + " " + i));
            policy.add(new EncoderDiscriminator.Example("p", "rambling on and on " + "x".repeat(i)));
        }
        DiscriminatorConfig c = DiscriminatorConfig.defaults();
        EncoderDiscriminator d = EncoderDiscriminator.train(new AnchorRewardTest.CountingEncoder(), expert, policy, c);
        d.save(tmp.resolve("d"));
        try (var f = org.align4j.io.SafetensorsFile.open(tmp.resolve("d").resolve(EncoderDiscriminator.EXPERT_FILE))) {
            assertArrayEquals(
                    new long[] {9, 2},
                    f.info("embeddings").shape(),
                    "the 9 expert examples of the training split (1 of 10 held out)");
            float[] flat = f.toFloats("embeddings");
            for (int i = 0; i < 9; i++)
                assertTrue(flat[2 * i + 1] >= 1, "row " + i + " is an expert embedding (has '#')");
        }
    }

    @Test
    void aCoTrainingStepEmbedsTheBatchOnceForScoringAndUpdating(@TempDir Path tmp) throws Exception {
        withExpert(tmp.resolve("d"));
        int[] calls = {0};
        AnchorRewardTest.CountingEncoder counting = new AnchorRewardTest.CountingEncoder() {
            @Override
            public float[][] embed(List<String> texts) {
                calls[0]++;
                return super.embed(texts);
            }
        };
        EncoderDiscriminator d = EncoderDiscriminator.load(tmp.resolve("d"), counting);
        AnchorReward a = new AnchorReward(d, AnchorSchedule.constant(1.0))
                .withCoTraining(new Discriminator.CoTraining(0.05, 1, 2, 1));
        List<String> prompts = List.of("p", "p"), responses = List.of("## drifted text", "plain");
        double[] expected = d.logits(prompts, responses);
        calls[0] = 0;
        a.setStep(0);
        assertArrayEquals(expected, a.score(prompts, responses, null), 0.0);
        assertEquals(1, calls[0], "scored and co-trained from one embedding of the batch");
        assertEquals(1.0, a.metrics().get("aapa/cotrain_updates"));
        a.setStep(1); // no update at step 1: a plain scoring, one embedding
        a.score(prompts, responses, null);
        assertEquals(2, calls[0]);
    }
}
