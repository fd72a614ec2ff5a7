// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.model.Checkpoints;
import org.align4j.model.ClassifierBatch;
import org.align4j.model.ModelConfig;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;

/**
 * A trained reward model (the {@code reward} command's output: a one-label
 * {@code *ForSequenceClassification} folder with its tokenizer) as a reward function.
 *
 * <p>Each completion is scored as the reward model was trained on plain-string pairs
 * ({@link org.align4j.trainer.RewardPairs}): the text prompt + completion, encoded as the tokenizer encodes it
 * (its BOS, if any) with the EOS token appended unless the text already ends with it. Rows are
 * right-padded in batches of {@code batchSize} and the score is read at each row's last token that
 * is not {@code pad_token_id}, as transformers' *ForSequenceClassification pools and as
 * {@code RewardTrainer} trains. Conversational prompts reach reward functions as the rendered
 * template text (special tokens kept), so a chat-trained model sees the text it was trained on,
 * minus the template's trailing newline after the end-of-turn token.
 *
 * <p>Not TRL's exact input: TRL's GRPO/online-DPO trainers tokenize prompt + completion without
 * special tokens and without EOS ({@code add_special_tokens=False}); align4j keeps the training-time
 * tokenization instead, because a model trained with EOS at the pooled position scores sequences
 * without it off-distribution.
 */
public final class RewardModelReward implements RewardFunction, AutoCloseable {
    public static final String NAME = "reward_model";

    private final String name;
    private final Transformer model;
    private final Tokenizer tok;
    private final long padId;
    private final int batchSize;
    private final String eosText;

    /** Loads {@code dir} (weights and tokenizer); the result owns both. */
    public static RewardModelReward load(Path dir, int batchSize) throws IOException {
        Tokenizer tok = Tokenizer.load(dir);
        Transformer model = null;
        try {
            model = Checkpoints.load(dir);
            return new RewardModelReward(NAME, model, tok, batchSize);
        } catch (IOException | RuntimeException e) {
            if (model != null) model.close();
            tok.close();
            if (e instanceof IllegalArgumentException)
                throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
            throw e;
        }
    }

    /** Takes ownership of {@code model} and {@code tok}: {@link #close()} closes them. */
    public RewardModelReward(String name, Transformer model, Tokenizer tok, int batchSize) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("reward function name is empty");
        if (batchSize < 1) throw new IllegalArgumentException("reward model batch size must be >= 1, got " + batchSize);
        ModelConfig c = model.config();
        if (!c.isSequenceClassification() || c.numLabels() != 1)
            throw new IllegalArgumentException(
                    "a reward model must be a *ForSequenceClassification with num_labels=1 (got "
                            + (c.isSequenceClassification() ? "num_labels=" + c.numLabels() : "a causal LM")
                            + "); train one with the reward command");
        if (tok.vocabSize() > c.vocabSize())
            throw new IllegalArgumentException(
                    "the tokenizer has " + tok.vocabSize() + " tokens but the reward model's vocab_size is "
                            + c.vocabSize() + "; this tokenizer does not belong to this model");
        this.name = name;
        this.model = model;
        this.tok = tok;
        // transformers pools at the last token that is not config.pad_token_id; a config without one is padded with the
        // tokenizer's pad id
        this.padId = c.padTokenId() != null ? c.padTokenId() : tok.padTokenId();
        this.batchSize = batchSize;
        Object e = tok.specialTokens().get("eos_token");
        this.eosText = e instanceof String s ? s : tok.decode(new long[] {tok.eosTokenId()}, false);
    }

    /** The model's own tokenizer (owned by this object), for inputs encoded another way than {@link #encode}. */
    public Tokenizer tokenizer() {
        return tok;
    }

    @Override
    public String name() {
        return name;
    }

    /** The ids scored for a (prompt, completion): encode(prompt + completion + EOS text), as the reward command tokenizes a pair. */
    public long[] encode(String prompt, String completion) {
        String text = prompt + completion;
        return tok.encode(text.endsWith(eosText) ? text : text + eosText);
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        if (prompts.size() != completions.size())
            throw new IllegalArgumentException(
                    name + ": " + prompts.size() + " prompts for " + completions.size() + " completions");
        List<long[]> seqs = new ArrayList<>(completions.size());
        for (int i = 0; i < completions.size(); i++) seqs.add(encode(prompts.get(i), completions.get(i)));
        float[] r = scoreIds(seqs);
        double[] out = new double[r.length];
        for (int i = 0; i < r.length; i++) out[i] = r[i];
        return out;
    }

    /** Scores of token sequences, {@code batchSize} at a time, without a graph; each read at the row's last non-pad token. */
    public float[] scoreIds(List<long[]> seqs) {
        float[] out = new float[seqs.size()];
        for (int from = 0; from < seqs.size(); from += batchSize) {
            List<long[]> mb = seqs.subList(from, Math.min(seqs.size(), from + batchSize));
            System.arraycopy(scoreBatch(mb), 0, out, from, mb.size());
        }
        return out;
    }

    private float[] scoreBatch(List<long[]> mb) {
        for (long[] seq : mb)
            if (seq.length == 0) throw new IllegalArgumentException(name + ": an empty sequence cannot be scored");
        // the reward command's batch layout and pooling (the last token that is not pad_token_id); the loss is unused
        return ClassifierBatch.forward(model, mb, padId, Pass.NO_GRAD, r -> r.sum())
                .scores();
    }

    @Override
    public void close() {
        model.close();
        tok.close();
    }
}
