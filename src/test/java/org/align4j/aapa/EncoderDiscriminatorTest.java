// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.align4j.io.HfJson;
import org.align4j.io.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The discriminator on real all-MiniLM-L6-v2 embeddings: it separates two text styles on held-out data and round-trips. */
class EncoderDiscriminatorTest {
    static final SentenceEncoder ENC = SentenceEncoderTestSupport.memoMiniLm();
    static final int N = 48;
    static final List<EncoderDiscriminator.Example> EXPERT =
            DiscriminatorTestData.examples(DiscriminatorTestData.prompts(N, 1), DiscriminatorTestData.expert(N, 2));
    static final List<EncoderDiscriminator.Example> POLICY =
            DiscriminatorTestData.examples(DiscriminatorTestData.prompts(N, 3), DiscriminatorTestData.policy(N, 4));
    static final DiscriminatorConfig CFG = DiscriminatorConfig.builder()
            .head("logistic")
            .hiddenSize(32)
            .epochs(30)
            .learningRate(1e-2)
            .batchSize(16)
            .weightDecay(0.01)
            .seed(7L)
            .evalFraction(0.25)
            .includePrompt(false)
            .build();

    @Test
    void logisticHeadSeparatesTheStylesOnHeldOutData() {
        EncoderDiscriminator d = EncoderDiscriminator.train(ENC, EXPERT, POLICY, CFG);
        EncoderDiscriminator.Report r = d.report();
        System.err.printf(
                "discriminator (logistic): held-out accuracy %.3f, ROC-AUC %.3f, train accuracy %.3f, embed %.1f s, train %.2f s%n",
                r.eval().accuracy(), r.eval().rocAuc(), r.train().accuracy(), r.embedSeconds(), r.trainSeconds());
        assertEquals(12, r.eval().expert(), "round(0.25 · 48) held out per class");
        assertEquals(12, r.eval().policy());
        assertTrue(r.eval().accuracy() > 0.9, "held-out accuracy " + r.eval().accuracy());
        assertTrue(r.eval().rocAuc() > 0.9, "held-out ROC-AUC " + r.eval().rocAuc());
        assertTrue(
                r.eval().meanLogitExpert() > 0 && r.eval().meanLogitPolicy() < 0,
                "expert logits positive, policy negative: " + r.eval());
        // fresh texts of each style, never seen
        double[] z = d.logits(
                List.of("", ""),
                List.of(
                        "17 + 25 = 42\n#### 42",
                        "Hmm, I wonder about that. There are many ways to see it, and numbers are fascinating."));
        assertTrue(z[0] > 0 && z[1] < 0, Arrays.toString(z));
        assertEquals(z[0], d.logit("", "17 + 25 = 42\n#### 42"), 1e-12, "single and batched logits agree");
    }

    @Test
    void mlpHeadSeparatesTheStylesToo() {
        EncoderDiscriminator d = EncoderDiscriminator.train(ENC, EXPERT, POLICY, CFG.withHead("mlp", 32));
        EncoderDiscriminator.Report r = d.report();
        System.err.printf(
                "discriminator (mlp 32): held-out accuracy %.3f, ROC-AUC %.3f%n",
                r.eval().accuracy(), r.eval().rocAuc());
        assertEquals(32, d.head().hiddenSize());
        assertTrue(r.eval().accuracy() > 0.9, "held-out accuracy " + r.eval().accuracy());
        assertTrue(r.eval().rocAuc() > 0.9, "held-out ROC-AUC " + r.eval().rocAuc());
    }

    @Test
    void trainingIsDeterministicFromTheSeed() {
        float[] a = EncoderDiscriminator.train(ENC, EXPERT.subList(0, 16), POLICY.subList(0, 16), CFG)
                .head()
                .parameters();
        float[] b = EncoderDiscriminator.train(ENC, EXPERT.subList(0, 16), POLICY.subList(0, 16), CFG)
                .head()
                .parameters();
        assertArrayEquals(a, b);
    }

    @Test
    void saveLoadRoundTripGivesIdenticalLogits(@TempDir Path tmp) throws Exception {
        for (String head : List.of("logistic", "mlp")) {
            EncoderDiscriminator d = EncoderDiscriminator.train(
                    ENC, EXPERT.subList(0, 20), POLICY.subList(0, 20), CFG.withHead(head, 32));
            Path dir = tmp.resolve(head);
            d.save(dir);
            List<String> prompts = List.of("p1", "p2", "p3"),
                    texts = List.of("#### 3", "Let me think about apples for a while.", "");
            EncoderDiscriminator back = EncoderDiscriminator.load(dir, ENC);
            assertArrayEquals(
                    d.logits(prompts, texts),
                    back.logits(prompts, texts),
                    0.0,
                    head + ": bit-identical logits after reload");
            assertArrayEquals(d.head().parameters(), back.head().parameters());
            assertEquals(d.config(), back.config());
            assertEquals(d.report().eval(), back.report().eval(), "held-out metrics survive the round trip");

            JsonNode j = HfJson.readJson(dir.resolve(EncoderDiscriminator.CONFIG_FILE));
            assertEquals(
                    MiniLmSentenceEncoder.NAME, j.path("encoder").path("name").asText());
            assertEquals(384, j.path("head").path("input_dim").asInt());
            assertEquals(head, j.path("head").path("type").asText());
            assertEquals(
                    d.report().eval().rocAuc(),
                    j.path("eval_metrics").path("roc_auc").asDouble());
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(EncoderDiscriminator.HEAD_FILE))) {
                Map<String, long[]> expected = head.equals("mlp")
                        ? Map.of(
                                "hidden.weight",
                                new long[] {32, 384},
                                "hidden.bias",
                                new long[] {32},
                                "out.weight",
                                new long[] {1, 32},
                                "out.bias",
                                new long[] {1})
                        : Map.of("out.weight", new long[] {1, 384}, "out.bias", new long[] {1});
                assertEquals(expected.keySet(), f.tensors().keySet());
                for (var e : expected.entrySet())
                    assertArrayEquals(e.getValue(), f.info(e.getKey()).shape(), e.getKey());
            }
            assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> d.save(dir));
        }
    }

    @Test
    void includePromptChangesTheEncodedText() {
        assertEquals("resp", EncoderDiscriminator.text(false, "prompt", "resp"));
        assertEquals("prompt\nresp", EncoderDiscriminator.text(true, "prompt", "resp"));
    }

    @Test
    void rejectsEmptyClassesAndTooFewToHoldOut() {
        assertThrows(IllegalArgumentException.class, () -> EncoderDiscriminator.train(ENC, List.of(), POLICY, CFG));
        assertThrows(
                IllegalArgumentException.class,
                () -> EncoderDiscriminator.train(ENC, EXPERT.subList(0, 1), POLICY, CFG));
        assertNotNull(EncoderDiscriminator.train(
                        ENC,
                        EXPERT.subList(0, 1),
                        POLICY.subList(0, 1),
                        DiscriminatorConfig.builder()
                                .head("logistic")
                                .hiddenSize(1)
                                .epochs(1)
                                .learningRate(1e-2)
                                .batchSize(4)
                                .weightDecay(0)
                                .seed(1)
                                .evalFraction(0.0)
                                .includePrompt(false)
                                .build())
                .report()
                .train());
    }
}
