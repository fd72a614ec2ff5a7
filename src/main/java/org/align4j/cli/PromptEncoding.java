// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import org.align4j.data.Encoder;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Truncation;
import org.align4j.tokenizer.Tokenizer;

/**
 * A row's {@code prompt} / {@code completion} as token ids for the generate and logprobs tools,
 * untruncated; the rules live in {@link Encoder} (plain prompts encoded as the tokenizer encodes
 * them, plain completions followed by EOS, conversational fields rendered by the chat template).
 */
final class PromptEncoding {
    private PromptEncoding() {}

    static long[] promptIds(Tokenizer tok, Row row) {
        return new Encoder(tok, Truncation.none()).promptIds(row);
    }

    /** Completion ids: plain text then EOS, or the template's rendering of the completion after the prompt. */
    static long[] completionIds(Tokenizer tok, Row row) {
        return new Encoder(tok, Truncation.none()).completionIds(row);
    }
}
