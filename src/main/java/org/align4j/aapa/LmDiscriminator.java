// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.io.HfJson;
import org.align4j.model.ModelConfig;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardModelReward;
import org.align4j.tokenizer.Tokenizer;

/**
 * AAPA's discriminator of the {@value Discriminator#CAUSAL_LM} kind (arXiv 2509.25148 mentions "discriminator
 * variants" without describing them, so this kind is our choice; docs/aapa.md): a small causal LM made a one-label
 * {@code *ForSequenceClassification} (backbone + {@code score.weight} (1, H)) and trained whole with the class-balanced
 * cross-entropy ({@code trainer.LmDiscriminatorTrainer}). Its logit z = log D/(1 − D) is the score at the last token
 * that is not {@code pad_token_id}.
 *
 * <p>What it reads: always prompt + response + EOS, encoded by {@link RewardModelReward#encode} both when training and
 * when scoring, so the two agree token for token; unlike the sentence-encoder kind there is no {@code include_prompt}
 * switch. The folder is a Hugging Face sequence-classifier folder ({@code config.json}, {@code model.safetensors},
 * tokenizer files; it loads in transformers as it is) plus {@value EncoderDiscriminator#CONFIG_FILE}, written last.
 * Nothing here updates the weights: {@link #coTrain} refuses (the interface's default).
 */
public final class LmDiscriminator implements Discriminator {
    /** The reward-function name of the wrapped scorer (never logged: the anchor logs under its own name). */
    static final String NAME = "aapa_lm_discriminator";
    /** Sequences scored together by {@link #open}ed discriminators. */
    public static final int SCORE_BATCH_SIZE = 8;

    private final RewardModelReward scorer;

    private LmDiscriminator(RewardModelReward scorer) {
        this.scorer = scorer;
    }

    /**
     * A discriminator around a one-label classifier and its tokenizer, scoring {@code batchSize} sequences at a time.
     * Takes ownership of both: {@link #close()} closes them, and so does this method when they do not fit together.
     */
    public static LmDiscriminator of(Transformer model, Tokenizer tok, int batchSize) {
        try {
            return new LmDiscriminator(new RewardModelReward(NAME, model, tok, batchSize));
        } catch (RuntimeException e) {
            model.close();
            tok.close();
            throw e;
        }
    }

    /** Opens a folder written by {@code ./align4j discriminator --discriminator_type causal_lm}. */
    public static LmDiscriminator open(Path dir) throws IOException {
        Path cfg = dir.resolve(EncoderDiscriminator.CONFIG_FILE);
        if (!Files.isRegularFile(cfg))
            throw new IllegalArgumentException(dir + " has no " + EncoderDiscriminator.CONFIG_FILE
                    + "; it is not a folder written by ./align4j discriminator");
        JsonNode j = HfJson.readJson(cfg);
        if (!EncoderDiscriminator.FORMAT.equals(j.path("format").asText())
                || j.path("format_version").asInt() != EncoderDiscriminator.FORMAT_VERSION)
            throw new IllegalArgumentException(cfg + ": format is '"
                    + j.path("format").asText() + "' version "
                    + j.path("format_version").asText() + ", expected '" + EncoderDiscriminator.FORMAT + "' version "
                    + EncoderDiscriminator.FORMAT_VERSION);
        if (!CAUSAL_LM.equals(j.path("kind").asText()))
            throw new IllegalArgumentException(cfg + ": kind is '"
                    + j.path("kind").asText() + "', not " + CAUSAL_LM + "; open it with Discriminator.open");
        return new LmDiscriminator(RewardModelReward.load(dir, SCORE_BATCH_SIZE));
    }

    @Override
    public String kind() {
        return CAUSAL_LM;
    }

    /** The token ids the discriminator reads for one example: encode(prompt + response + EOS), as at training time. */
    public long[] encode(String prompt, String response) {
        return scorer.encode(prompt == null ? "" : prompt, response);
    }

    /** One logit per (prompt, response), scored in right-padded batches without a graph. */
    @Override
    public double[] logits(List<String> prompts, List<String> responses) {
        if (prompts.size() != responses.size())
            throw new IllegalArgumentException(
                    prompts.size() + " prompts for " + responses.size() + " responses; pass one prompt per response");
        return scorer.score(prompts.stream().map(p -> p == null ? "" : p).toList(), responses, null);
    }

    /**
     * Writes {@value EncoderDiscriminator#CONFIG_FILE} into {@code dir}, which must already hold the trained classifier and its
     * tokenizer: the file marks the folder as a complete discriminator, so it comes last (and atomically).
     *
     * @param training settings, counts, class weights and timings, as the trainer names them
     * @param eval null without a held-out split
     */
    public static void writeConfig(
            Path dir,
            ModelConfig model,
            String baseModel,
            int maxLength,
            Map<String, Object> training,
            DiscriminatorMetrics train,
            DiscriminatorMetrics eval)
            throws IOException {
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("text", "prompt + response + EOS, encoded as the tokenizer encodes (RewardModelReward.encode)");
        input.put("include_prompt", true);
        input.put("max_length", maxLength);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", model.raw().path("architectures").path(0).asText());
        m.put("num_labels", model.numLabels());
        m.put("pad_token_id", model.padTokenId());
        m.put("pooling", "score at the last token that is not pad_token_id (transformers' *ForSequenceClassification)");
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("format", EncoderDiscriminator.FORMAT);
        j.put("format_version", EncoderDiscriminator.FORMAT_VERSION);
        j.put("kind", CAUSAL_LM);
        j.put(
                "method",
                "AAPA (arXiv 2509.25148): fixed discriminator, expert responses vs policy rollouts; causal LM with a one-label score head");
        j.put("base_model", baseModel);
        j.put("input", input);
        j.put("model", m);
        j.put("training", training);
        j.put("train_metrics", train.toJson());
        j.put("eval_metrics", eval == null ? null : eval.toJson());
        HfJson.writeJson(dir.resolve(EncoderDiscriminator.CONFIG_FILE), j, false);
    }

    @Override
    public void close() {
        scorer.close();
    }
}
