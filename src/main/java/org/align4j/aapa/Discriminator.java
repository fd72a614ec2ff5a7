// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.io.HfJson;

/**
 * AAPA's discriminator as the anchor sees it (arXiv 2509.25148, docs/aapa.md): one logit z = log D/(1 − D) per
 * (prompt, response), positive for "looks like the expert". Two kinds, told apart by {@code kind} in the folder's
 * {@value EncoderDiscriminator#CONFIG_FILE}:
 * <ul>
 *   <li>{@value #SENTENCE_ENCODER} (the default): a frozen sentence encoder with a small trained head ({@link EncoderDiscriminator});
 *   <li>{@value #CAUSAL_LM}: a small causal LM with a one-label {@code score} head, trained whole with the same
 *       class-balanced cross-entropy ({@code LmDiscriminator}).
 * </ul>
 */
public interface Discriminator extends AutoCloseable {
    String SENTENCE_ENCODER = "sentence_encoder", CAUSAL_LM = "causal_lm";

    /** One logit per (prompt, response); {@code prompts} and {@code responses} have the same length. */
    double[] logits(List<String> prompts, List<String> responses);

    /** {@value #SENTENCE_ENCODER} or {@value #CAUSAL_LM}. */
    String kind();

    /**
     * Co-training settings (off unless asked; docs/aapa.md): every {@code everySteps} optimizer steps of the policy,
     * {@code stepsPerBatch} AdamW steps of the discriminator at {@code learningRate} on the batch's rollouts against
     * as many expert examples, drawn with {@code seed}.
     */
    record CoTraining(double learningRate, int stepsPerBatch, int everySteps, long seed) {
        public CoTraining {
            if (!(learningRate > 0) || !Double.isFinite(learningRate))
                throw new IllegalArgumentException("aapa_cotrain_learning_rate must be > 0, got " + learningRate);
            if (stepsPerBatch < 1)
                throw new IllegalArgumentException("aapa_cotrain_steps must be >= 1, got " + stepsPerBatch);
            if (everySteps < 1)
                throw new IllegalArgumentException("aapa_cotrain_every must be >= 1, got " + everySteps);
        }
    }

    /** One co-training update: the batch's BCE before it, the discriminator's accuracy on the batch before it, updates so far. */
    record CoTrainStats(double loss, double accuracy, int updates) {}

    /** Updates the discriminator on these policy responses against expert examples; kinds that cannot co-train refuse. */
    default CoTrainStats coTrain(List<String> prompts, List<String> responses, CoTraining c) {
        throw new UnsupportedOperationException(
                "the " + kind() + " discriminator cannot be co-trained; co-training is implemented for the "
                        + SENTENCE_ENCODER + " kind (drop aapa_cotrain or train a sentence_encoder discriminator)");
    }

    /** The logits of a batch (from the discriminator before the update) and the co-training update made on it. */
    record ScoredAndCoTrained(double[] logits, CoTrainStats stats) {}

    /**
     * {@link #logits} of these responses, then {@link #coTrain} on them: the anchor's co-training step. A kind that
     * encodes its inputs (the sentence encoder) overrides this to encode the batch once for both.
     */
    default ScoredAndCoTrained logitsThenCoTrain(List<String> prompts, List<String> responses, CoTraining c) {
        double[] z = logits(prompts, responses);
        return new ScoredAndCoTrained(z, coTrain(prompts, responses, c));
    }

    /** Frees what the discriminator owns (its encoder or model); a caller's encoder stays open. */
    @Override
    void close();

    /** Opens a folder written by {@code ./align4j discriminator}, of either kind. */
    static Discriminator open(Path dir) throws IOException {
        Path cfg = dir.resolve(EncoderDiscriminator.CONFIG_FILE);
        if (!Files.isRegularFile(cfg))
            throw new IllegalArgumentException("discriminator folder " + dir + " has no "
                    + EncoderDiscriminator.CONFIG_FILE + "; train one with ./align4j discriminator");
        JsonNode j = HfJson.readJson(cfg);
        String kind = j.path("kind").asText(SENTENCE_ENCODER);
        return switch (kind) {
            case SENTENCE_ENCODER -> EncoderDiscriminator.open(dir);
            case CAUSAL_LM -> LmDiscriminator.open(dir);
            default ->
                throw new IllegalArgumentException(
                        cfg + ": kind '" + kind + "' is unknown; expected " + SENTENCE_ENCODER + " or " + CAUSAL_LM);
        };
    }
}
