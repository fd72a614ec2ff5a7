// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Messages;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.RewardTrainer.Pair;

/**
 * Preference rows as reward-model pairs, with TRL's RewardTrainer tokenization: the prompt (if any) is put in front of
 * each response and the whole sequence is tokenized. Plain strings get the EOS token appended unless they end with it
 * and are encoded as the tokenizer encodes (its BOS, if any); message lists are rendered with the chat template (no
 * generation prompt) and encoded without extra special tokens. An optional numeric {@code margin} is carried along.
 * (Pairs for DPO-style methods are tokenized apart instead, by {@link org.align4j.data.Encoder}.)
 */
public final class RewardPairs {
    private RewardPairs() {}

    /**
     * Every row as a reward pair; all rows carry a numeric {@code margin} or none do.
     *
     * @throws DatasetException naming the row (file:line) and the field when a row does not fit
     */
    public static List<Pair> encode(Tokenizer tok, List<Row> rows) {
        if (rows.isEmpty()) throw new DatasetException("the dataset has no rows");
        boolean margins = rows.get(0).json().has("margin");
        List<Pair> out = new ArrayList<>();
        for (Row r : rows) {
            if (r.json().has("margin") != margins)
                throw new DatasetException(r.where() + ": "
                        + (margins
                                ? "no 'margin' field, but the first row has one"
                                : "a 'margin' field, but the first row has none")
                        + "; give every row a margin or none");
            out.add(encode(tok, r));
        }
        return out;
    }

    /** One row as a reward pair (see the class comment). */
    public static Pair encode(Tokenizer tok, Row r) {
        JsonNode chosen = r.require("chosen"),
                rejected = r.require("rejected"),
                prompt = r.json().get("prompt");
        if (prompt != null && prompt.isNull()) prompt = null;
        float margin = 0f;
        if (r.json().has("margin")) {
            JsonNode m = r.json().get("margin");
            if (!m.isNumber()) throw new DatasetException(r.where() + ": field 'margin' must be a number, got " + m);
            margin = m.floatValue();
        }
        if (chosen.isTextual() && rejected.isTextual() && (prompt == null || prompt.isTextual())) {
            String p = prompt == null ? "" : prompt.asText();
            return new Pair(encodeText(tok, p + chosen.asText()), encodeText(tok, p + rejected.asText()), margin);
        }
        if (chosen.isArray() && rejected.isArray() && (prompt == null || prompt.isArray())) {
            List<Map<String, Object>> p = prompt == null ? List.of() : Messages.of(prompt, r, "prompt");
            return new Pair(
                    encodeChat(tok, p, Messages.of(chosen, r, "chosen")),
                    encodeChat(tok, p, Messages.of(rejected, r, "rejected")),
                    margin);
        }
        throw new DatasetException(
                r.where()
                        + ": 'chosen', 'rejected' (and 'prompt' when present) must all be strings or all be lists of {role, content} messages");
    }

    private static long[] encodeText(Tokenizer tok, String text) {
        Object e = tok.specialTokens().get("eos_token");
        String eos = e instanceof String s ? s : tok.decode(new long[] {tok.eosTokenId()}, false);
        return tok.encode(text.endsWith(eos) ? text : text + eos);
    }

    private static long[] encodeChat(
            Tokenizer tok, List<Map<String, Object>> prompt, List<Map<String, Object>> response) {
        List<Map<String, Object>> all = new ArrayList<>(prompt);
        all.addAll(response);
        return tok.encodeNoSpecial(tok.applyChatTemplate(all, false, Map.of()));
    }
}
