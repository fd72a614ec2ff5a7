// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.data.JsonRows.Row;
import org.align4j.tokenizer.Tokenizer;

/**
 * Turns a row's {@code prompt} / {@code completion} fields into token ids the way TRL does
 * (DESIGN.md, "Tokenization of plain strings follows TRL"): a plain prompt is encoded as the
 * tokenizer encodes it (BOS only if its post-processor adds one); a conversational prompt (a list
 * of {role, content} messages) is rendered by the chat template with the generation prompt and
 * encoded without extra special tokens (the template writes its own). A completion's ids follow
 * the prompt's, then EOS.
 */
final class PromptEncoding {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptEncoding() {}

    static boolean isConversational(JsonNode field) {
        return field.isArray();
    }

    static long[] promptIds(Tokenizer tok, Row row) {
        JsonNode prompt = row.require("prompt");
        if (prompt.isTextual()) return tok.encode(prompt.asText());
        if (isConversational(prompt)) return tok.encodeNoSpecial(tok.applyChatTemplate(messages(prompt, row, "prompt"), true, Map.of()));
        throw new DatasetException(row.where() + ": field 'prompt' must be a string or a list of {role, content} messages");
    }

    /** Completion ids followed by EOS. A conversational completion is the template's text after the prompt. */
    static long[] completionIds(Tokenizer tok, Row row) {
        JsonNode prompt = row.require("prompt"), completion = row.require("completion");
        String text;
        if (prompt.isTextual() && completion.isTextual()) {
            text = completion.asText();
        } else if (isConversational(prompt) && isConversational(completion)) {
            List<Map<String, Object>> p = messages(prompt, row, "prompt"), all = new ArrayList<>(p);
            all.addAll(messages(completion, row, "completion"));
            String promptText = tok.applyChatTemplate(p, true, Map.of());
            String fullText = tok.applyChatTemplate(all, false, Map.of());
            if (!fullText.startsWith(promptText))
                throw new DatasetException(row.where() + ": the chat template renders prompt+completion so that it does not start with the rendered prompt; cannot split the completion");
            text = fullText.substring(promptText.length());
        } else {
            throw new DatasetException(row.where() + ": 'prompt' and 'completion' must both be strings or both be message lists");
        }
        long[] ids = tok.encodeNoSpecial(text);
        long[] withEos = java.util.Arrays.copyOf(ids, ids.length + 1);
        withEos[ids.length] = tok.eosTokenId();
        return withEos;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> messages(JsonNode list, Row row, String field) {
        List<Map<String, Object>> out = new ArrayList<>();
        int i = 0;
        for (JsonNode m : list) {
            if (!m.isObject() || !m.hasNonNull("role") || !m.has("content"))
                throw new DatasetException(row.where() + ": " + field + "[" + i + "] must be an object with 'role' and 'content'");
            out.add(JSON.convertValue(m, Map.class));
            i++;
        }
        if (out.isEmpty()) throw new DatasetException(row.where() + ": '" + field + "' is an empty message list");
        return out;
    }
}
