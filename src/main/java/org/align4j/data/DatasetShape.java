// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import org.align4j.data.JsonRows.Row;

/**
 * TRL's dataset types (docs/source/dataset_formats.md), told apart by their fields. Each comes
 * plain (strings) or conversational (lists of {@code {"role", "content"}} messages).
 */
public enum DatasetShape {
    /** {@code text} (or the configured text field) or {@code messages}. */
    LANGUAGE_MODELING,
    /** {@code prompt} and {@code completion}. */
    PROMPT_COMPLETION,
    /** {@code chosen} and {@code rejected}, with an explicit {@code prompt} or one shared by both (implicit prompt). */
    PREFERENCE,
    /** {@code prompt}, {@code completion} and a boolean {@code label} (KTO). */
    UNPAIRED_PREFERENCE,
    /** {@code prompt} alone (GRPO, online methods). */
    PROMPT_ONLY;

    /** What error messages list as the accepted shapes. */
    public static final String ACCEPTED =
            "language modeling ('text' or 'messages'), prompt-completion ('prompt', 'completion'), "
                    + "preference (['prompt',] 'chosen', 'rejected'), unpaired preference ('prompt', 'completion', 'label'), prompt-only ('prompt')";

    /** The fields TRL's {@code is_conversational} looks at, in its order. */
    private static final String[] CONVERSATIONAL_KEYS = {"prompt", "chosen", "rejected", "completion", "messages"};

    public static DatasetShape detect(Row row) {
        return detect(row, "text");
    }

    /**
     * The shape of a row, checked most specific first (TRL's order: a row with {@code prompt} and
     * {@code completion} is prompt-completion even when it also has {@code text}).
     *
     * @param textField the language-modeling text field (TRL's {@code dataset_text_field})
     * @throws DatasetException naming the row, its fields and the accepted shapes
     */
    public static DatasetShape detect(Row row, String textField) {
        if (row.has("chosen") && row.has("rejected")) return PREFERENCE;
        if (row.has("prompt") && row.has("completion"))
            return row.has("label") ? UNPAIRED_PREFERENCE : PROMPT_COMPLETION;
        if (row.has("messages") || row.has(textField)) return LANGUAGE_MODELING;
        if (row.has("prompt")) return PROMPT_ONLY;
        String text = textField.equals("text") ? "" : " (text field '" + textField + "')";
        throw new DatasetException(row.where() + ": the row has fields " + row.fieldNames()
                + ", which match none of TRL's dataset shapes" + text + "; accepted: " + ACCEPTED);
    }

    /**
     * TRL's {@code is_conversational}: the first of prompt, chosen, rejected, completion, messages
     * that the row has is a list of messages.
     */
    public static boolean isConversational(Row row) {
        for (String k : CONVERSATIONAL_KEYS) {
            JsonNode v = row.json().get(k);
            if (v != null && !v.isNull()) return isMessageList(v);
        }
        return false;
    }

    /** A non-empty list whose first element is an object with 'role' and 'content'. */
    static boolean isMessageList(JsonNode v) {
        return v.isArray()
                && !v.isEmpty()
                && v.get(0).isObject()
                && v.get(0).has("role")
                && v.get(0).has("content");
    }
}
