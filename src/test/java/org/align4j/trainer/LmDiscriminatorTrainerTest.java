// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

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
import org.align4j.aapa.Discriminator;
import org.align4j.aapa.DiscriminatorTestData;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.io.HfJson;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The causal-LM discriminator trained on the tiny golden causal LM (golden/qwen3-tiny: 2 layers, hidden 64, byte-level
 * BPE tokenizer, EOS 258, pad 256) with two clearly separable styles (DiscriminatorTestData: short "#### n" answers
 * vs rambling text).
 */
class LmDiscriminatorTrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<EncoderDiscriminator.Example> examples(List<String> prompts, List<String> responses) {
        List<EncoderDiscriminator.Example> out = new ArrayList<>();
        for (int i = 0; i < responses.size(); i++)
            out.add(new EncoderDiscriminator.Example(prompts.get(i), responses.get(i)));
        return out;
    }

    private static TrainingArgs args(Path out, int epochs, double lr) {
        return TrainingArgs.builder(out)
                .learningRate(lr)
                .numTrainEpochs(epochs)
                .loggingSteps(1)
                .seed(7)
                .weightDecay(0.01)
                .build();
    }

    @Test
    void learnsTheStylesSavesAFolderThatScoresAsTheTrainedModel(@TempDir Path tmp) throws Exception {
        Path base = Golden.resourceDir("golden/qwen3-tiny"), out = tmp.resolve("disc");
        List<EncoderDiscriminator.Example> expert =
                examples(DiscriminatorTestData.prompts(24, 1), DiscriminatorTestData.expert(24, 2));
        List<EncoderDiscriminator.Example> policy =
                examples(DiscriminatorTestData.prompts(30, 3), DiscriminatorTestData.policy(30, 4));
        int maxLength = 300, tooLong = 0;
        List<Integer> lengths = new ArrayList<>();
        try (Tokenizer tok =
                Tokenizer.load(base)) { // prompt + response + EOS, counted apart from the trainer's encoding
            for (EncoderDiscriminator.Example e : policy) lengths.add(tok.encode(e.prompt() + e.response()).length + 1);
        }
        for (int len : lengths) if (len > maxLength) tooLong++;
        assertTrue(
                tooLong > 0 && tooLong < 20,
                "the fixture drops some, not most, policy examples: " + tooLong + " of " + lengths);
        long t0 = System.nanoTime();
        LmDiscriminatorTrainer.Settings s = new LmDiscriminatorTrainer.Settings(args(out, 5, 3e-3), 0.25, maxLength);
        try (LmDiscriminatorTrainer.Result r =
                LmDiscriminatorTrainer.train(base, expert, policy, s, Map.of("test", true))) {
            double seconds = (System.nanoTime() - t0) / 1e9;
            LmDiscriminatorTrainer.Report rep = r.report();
            System.err.printf(
                    "causal-LM discriminator: %d steps in %.1f s (%.1f s training); train %s; held-out %s%n",
                    rep.run().globalStep(), seconds, rep.trainSeconds(), rep.train(), rep.eval());
            assertEquals(tooLong, rep.dropped(), "examples longer than max_length are dropped and counted");
            // 6 of 24 expert and round(0.25·30) = 8 of 30 policy held out; the weights come from the kept training rows
            assertEquals(6, rep.eval().expert());
            assertEquals(18, rep.train().expert());
            int trainPolicy = rep.train().policy(), n = 18 + trainPolicy;
            assertEquals(n / (2.0 * 18), rep.weights().expert(), 1e-12);
            assertEquals(n / (2.0 * trainPolicy), rep.weights().policy(), 1e-12);
            assertEquals(
                    30 - 8,
                    trainPolicy + rep.dropped() - (8 - rep.eval().policy()),
                    "every policy example is kept in one split or dropped");
            assertTrue(rep.train().accuracy() >= 0.9, "training accuracy " + rep.train());
            assertTrue(rep.eval().accuracy() >= 0.8 && rep.eval().rocAuc() >= 0.9, "held-out " + rep.eval());
            assertTrue(
                    rep.eval().meanLogitExpert() > 0 && rep.eval().meanLogitPolicy() < 0,
                    rep.eval().toString());

            // logged: the first step describes the untrained model, the last one a better one; eval each epoch
            List<Map<String, Object>> logged = rep.run().logged();
            List<Map<String, Object>> train =
                    logged.stream().filter(m -> m.containsKey("loss")).toList();
            List<Map<String, Object>> eval =
                    logged.stream().filter(m -> m.containsKey("eval_loss")).toList();
            assertEquals(rep.run().globalStep(), train.size());
            for (String k : List.of("accuracy", "mean_logit_expert", "mean_logit_policy", "grad_norm"))
                assertTrue(train.get(0).containsKey(k), k + " in " + train.get(0));
            assertTrue(
                    (double) train.getLast().get("loss")
                            < (double) train.getFirst().get("loss"),
                    "loss falls: " + train.getFirst() + " → " + train.getLast());
            assertEquals(5, eval.size(), "held-out split scored after each of 5 epochs");
            assertEquals(rep.eval().rocAuc(), (double) eval.getLast().get("eval_roc_auc"), 1e-12);
            assertEquals(rep.eval().accuracy(), (double) eval.getLast().get("eval_accuracy"), 1e-12);

            // the folder: a one-label sequence classifier with its tokenizer, plus discriminator.json
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals(
                    "Qwen3ForSequenceClassification",
                    config.get("architectures").get(0).asText());
            assertEquals(1, config.get("id2label").size());
            assertEquals(256, config.get("pad_token_id").asInt());
            assertFalse(Files.exists(out.resolve("generation_config.json")));
            JsonNode dj = HfJson.readJson(out.resolve(EncoderDiscriminator.CONFIG_FILE));
            assertEquals("align4j-aapa-discriminator", dj.get("format").asText());
            assertEquals(1, dj.get("format_version").asInt());
            assertEquals("causal_lm", dj.get("kind").asText());
            assertEquals(base.toString(), dj.get("base_model").asText());
            assertEquals(
                    rep.weights().policy(),
                    dj.get("training").get("class_weight_policy").asDouble(),
                    1e-12);
            assertEquals(
                    tooLong,
                    dj.get("training").get("dropped_longer_than_max_length").asInt());
            assertEquals(
                    rep.eval().rocAuc(), dj.get("eval_metrics").get("roc_auc").asDouble(), 1e-12);
            assertEquals(
                    rep.train().meanLogitExpert(),
                    dj.get("train_metrics").get("mean_logit_expert").asDouble(),
                    1e-12);

            // the saved folder, opened by kind, scores new texts as the trained model in memory and the trainer's batch
            // path do
            List<String> prompts = DiscriminatorTestData.prompts(5, 11);
            List<String> responses = new ArrayList<>(DiscriminatorTestData.expert(3, 12));
            responses.addAll(DiscriminatorTestData.policy(2, 13));
            try (Discriminator opened = Discriminator.open(out);
                    Transformer saved = Checkpoints.load(out)) {
                assertEquals(Discriminator.CAUSAL_LM, opened.kind());
                double[] z = opened.logits(prompts, responses);
                assertArrayEquals(r.discriminator().logits(prompts, responses), z, 1e-5);
                List<LmDiscriminatorTrainer.Row> rows = new ArrayList<>();
                for (int i = 0; i < 5; i++)
                    rows.add(new LmDiscriminatorTrainer.Row(
                            r.discriminator().encode(prompts.get(i), responses.get(i)), i < 3));
                assertArrayEquals(
                        LmDiscriminatorTrainer.score(saved, rows, 256, 3, rep.weights())
                                .logits(),
                        z,
                        1e-5);
                for (int i = 0; i < 5; i++)
                    assertEquals(i < 3, z[i] > 0, "new text " + i + " classified by style, logit " + z[i]);
            }
        }
    }

    @Test
    void anExistingDiscriminatorIsKeptWithoutOverwriteAndAClassLostToMaxLengthIsAnError(@TempDir Path tmp)
            throws Exception {
        Path base = Golden.resourceDir("golden/qwen3-tiny"), out = tmp.resolve("disc");
        Files.createDirectories(out);
        Files.writeString(out.resolve(EncoderDiscriminator.CONFIG_FILE), "{}");
        List<EncoderDiscriminator.Example> expert =
                examples(DiscriminatorTestData.prompts(4, 1), DiscriminatorTestData.expert(4, 2));
        List<EncoderDiscriminator.Example> policy =
                examples(DiscriminatorTestData.prompts(4, 3), DiscriminatorTestData.policy(4, 4));
        var e = assertThrows(
                java.io.IOException.class,
                () -> LmDiscriminatorTrainer.train(
                        base,
                        expert,
                        policy,
                        new LmDiscriminatorTrainer.Settings(args(out, 1, 1e-3), 0, 64),
                        Map.of()));
        assertTrue(e.getMessage().contains("already holds a discriminator"), e.getMessage());
        assertEquals("{}", Files.readString(out.resolve(EncoderDiscriminator.CONFIG_FILE)));
        // every rambling policy text is longer than 100 tokens, no short expert answer is
        Path fresh = tmp.resolve("fresh");
        var e2 = assertThrows(
                IllegalArgumentException.class,
                () -> LmDiscriminatorTrainer.train(
                        base,
                        expert,
                        policy,
                        new LmDiscriminatorTrainer.Settings(args(fresh, 1, 1e-3), 0, 100),
                        Map.of()));
        assertTrue(
                e2.getMessage().contains("raise max_length") && e2.getMessage().contains("has 4 expert and 0 policy"),
                e2.getMessage());
    }
}
