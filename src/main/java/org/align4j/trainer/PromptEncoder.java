// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.function.Function;
import org.align4j.data.DatasetException;
import org.align4j.data.Encoder;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Truncation;
import org.align4j.tokenizer.Tokenizer;

/**
 * Prompt-only rows as the online methods (GRPO, RLOO, online DPO, rejection sampling) read them: the prompt as ids,
 * cut to max_prompt_length keeping its end, with the text the reward functions see (a plain prompt as written, or the
 * decoded ids when it was cut; a conversational one as the rendered template text with its special tokens) and the
 * row itself (reference answers and other columns). Use with {@link Encoder#encodeAll}.
 */
public final class PromptEncoder implements Function<Row, Rollouts.Prompt> {
    private final Tokenizer tok;
    private final String promptField;
    private final Truncation cut;
    private final Encoder encoder;
    private int truncated;

    /**
     * @param tok the policy's tokenizer
     * @param promptField the column holding the prompt (GSM8K: {@code question})
     * @param maxPromptLength the longest prompt in tokens (its last ones are kept), or null for no limit
     */
    public PromptEncoder(Tokenizer tok, String promptField, Integer maxPromptLength) {
        this.tok = tok;
        this.promptField = promptField;
        this.cut = new Truncation(Integer.MAX_VALUE, maxPromptLength, null, "keep_start");
        this.encoder = new Encoder(tok, Truncation.none());
    }

    @Override
    public Rollouts.Prompt apply(Row row) {
        if (!promptField.equals("prompt"))
            row.json().set("prompt", row.require(promptField)); // the encoder reads "prompt"
        JsonNode p = row.require("prompt");
        long[] full = encoder.promptIds(row), ids = cut.prompt(full);
        if (ids.length == 0)
            throw new DatasetException(
                    row.where() + ": the prompt encodes to no tokens; generation needs at least one");
        if (ids != full) truncated++;
        return new Rollouts.Prompt(ids, p.isTextual() && ids == full ? p.asText() : tok.decode(ids, false), row.json());
    }

    /** Prompts cut to max_prompt_length so far. */
    public int truncatedRows() {
        return truncated;
    }
}
