// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.align4j.io.HfJson;
import org.align4j.reward.RewardModelReward;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The causal-LM discriminator's folder contract on the tiny golden one-label classifier (golden/qwen3-tiny-rm, byte-level
 * tokenizer, EOS 258): opened through {@link Discriminator#open} by its kind, it scores as the reward model of
 * the same folder does, reads prompt + response + EOS, and refuses co-training.
 */
class LmDiscriminatorTest {
    /** A copy of the classifier folder with a discriminator.json of this {@code kind} and {@code format}. */
    private static Path folder(Path tmp, String kind, String format) throws Exception {
        Path rm = Golden.resourceDir("golden/qwen3-tiny-rm"), dir = tmp.resolve(kind + "-" + format);
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"))
            Files.copy(rm.resolve(f), dir.resolve(f));
        HfJson.writeJson(
                dir.resolve(EncoderDiscriminator.CONFIG_FILE),
                Map.of("format", format, "format_version", 1, "kind", kind),
                false);
        return dir;
    }

    @Test
    void opensByKindAndScoresAsTheRewardModelOfTheSameFolder(@TempDir Path tmp) throws Exception {
        Path dir = folder(tmp, Discriminator.CAUSAL_LM, EncoderDiscriminator.FORMAT);
        List<String> prompts = List.of("Q: 2+2? ", "", "Tell me a story. ");
        List<String> responses = List.of("#### 4", "Well, it depends.", "Once upon a time<|im_end|>");
        try (Discriminator d = Discriminator.open(dir);
                RewardModelReward rm = RewardModelReward.load(dir, 2)) {
            assertTrue(d instanceof LmDiscriminator, d.getClass().getName());
            assertEquals(Discriminator.CAUSAL_LM, d.kind());
            double[] z = d.logits(prompts, responses), r = rm.score(prompts, responses, null);
            assertArrayEquals(r, z, 1e-6);
            assertTrue(
                    Arrays.stream(z).distinct().count() == 3,
                    "three different texts, three different logits: " + Arrays.toString(z));
            // always prompt + response + EOS, the text the trainer encodes; no second EOS
            try (Tokenizer tok = Tokenizer.load(dir)) {
                long[] q = tok.encode("Q: 2+2? #### 4"), expected = Arrays.copyOf(q, q.length + 1);
                expected[q.length] = 258;
                assertArrayEquals(expected, ((LmDiscriminator) d).encode("Q: 2+2? ", "#### 4"));
                assertArrayEquals(
                        tok.encode("Once upon a time<|im_end|>"),
                        ((LmDiscriminator) d).encode(null, "Once upon a time<|im_end|>"));
            }
            assertThrows(IllegalArgumentException.class, () -> d.logits(List.of("a"), List.of("b", "c")));
        }
    }

    @Test
    void coTrainingIsRefusedWithTheInterfacesMessage(@TempDir Path tmp) throws Exception {
        try (Discriminator d = Discriminator.open(folder(tmp, Discriminator.CAUSAL_LM, EncoderDiscriminator.FORMAT))) {
            UnsupportedOperationException e = assertThrows(
                    UnsupportedOperationException.class,
                    () -> d.coTrain(List.of("q"), List.of("a"), new Discriminator.CoTraining(1e-3, 1, 1, 0)));
            assertEquals(
                    "the causal_lm discriminator cannot be co-trained; co-training is implemented for the sentence_encoder kind "
                            + "(drop aapa_cotrain or train a sentence_encoder discriminator)",
                    e.getMessage());
        }
    }

    @Test
    void aFolderOfAnotherFormatOrKindIsRefused(@TempDir Path tmp) throws Exception {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> LmDiscriminator.open(folder(tmp, Discriminator.CAUSAL_LM, "something-else")));
        assertTrue(e.getMessage().contains("format is 'something-else'"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> LmDiscriminator.open(folder(tmp, Discriminator.SENTENCE_ENCODER, EncoderDiscriminator.FORMAT)));
        assertTrue(e.getMessage().contains("kind is 'sentence_encoder'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LmDiscriminator.open(tmp.resolve("missing")));
        assertTrue(e.getMessage().contains("has no discriminator.json"), e.getMessage());
    }
}
