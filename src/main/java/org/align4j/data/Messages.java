// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.JsonRows.Row;

/** Conversational fields: lists of {@code {"role", "content"}} messages, and TRL's implicit-prompt split. */
public final class Messages {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Messages() {}

    /**
     * The message list in {@code field}, as the maps the chat template reads (keys in file order).
     * Every message needs a string 'role' and a string 'content'.
     */
    public static List<Map<String, Object>> of(Row row, String field) {
        return of(row.require(field), row, field);
    }

    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> of(JsonNode list, Row row, String field) {
        if (!list.isArray())
            throw new DatasetException(row.where() + ": field '" + field
                    + "' must be a list of {role, content} messages, found " + JsonRows.typeName(list));
        if (list.isEmpty())
            throw new DatasetException(row.where() + ": field '" + field + "' is an empty message list");
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String at = row.where() + ": " + field + "[" + i + "]";
            if (!m.isObject())
                throw new DatasetException(
                        at + " must be an object with 'role' and 'content', found " + JsonRows.typeName(m));
            if (!m.hasNonNull("role") || !m.get("role").isTextual())
                throw new DatasetException(at + ".role must be a string, found " + JsonRows.typeName(m.get("role")));
            if (!m.has("content") || !m.get("content").isTextual())
                throw new DatasetException(
                        at + ".content must be a string, found " + JsonRows.typeName(m.get("content")));
            out.add(JSON.convertValue(m, LinkedHashMap.class));
        }
        return out;
    }

    /** Template variables a row may carry, as TRL reads them: 'tools' (a list or its JSON text) and 'chat_template_kwargs'. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> templateVars(Row row) {
        Map<String, Object> vars = new LinkedHashMap<>();
        JsonNode tools = row.json().get("tools");
        if (tools != null && !tools.isNull()) {
            if (tools.isTextual()) {
                try {
                    tools = JSON.readTree(tools.asText());
                } catch (java.io.IOException e) {
                    throw new DatasetException(
                            row.where() + ": field 'tools' is a string that is not JSON (" + e.getMessage() + ")");
                }
            }
            if (!tools.isArray())
                throw new DatasetException(row.where() + ": field 'tools' must be a list of tool schemas, found "
                        + JsonRows.typeName(tools));
            vars.put("tools", JSON.convertValue(tools, List.class));
        }
        JsonNode kwargs = row.json().get("chat_template_kwargs");
        if (kwargs != null && !kwargs.isNull()) {
            if (!kwargs.isObject())
                throw new DatasetException(row.where() + ": field 'chat_template_kwargs' must be an object, found "
                        + JsonRows.typeName(kwargs));
            vars.putAll(JSON.convertValue(kwargs, LinkedHashMap.class));
        }
        return vars;
    }

    /** An implicit-prompt split: the shared prompt, then the chosen and rejected remainders (strings or message lists). */
    public record Split(JsonNode prompt, JsonNode chosen, JsonNode rejected) {}

    /**
     * TRL's {@code extract_prompt} (data_utils.py): the prompt is the longest common prefix of
     * chosen and rejected (characters for strings, whole messages for conversations); when the
     * character before the first difference is a space, the space goes to the completions. As in
     * TRL, when one is a prefix of the other the split falls before the last shared element.
     */
    public static Split extractPrompt(Row row) {
        JsonNode chosen = row.require("chosen"), rejected = row.require("rejected");
        if (chosen.isTextual() && rejected.isTextual()) {
            int[] c = chosen.asText().codePoints().toArray(),
                    r = rejected.asText().codePoints().toArray();
            int idx = splitIndex(c.length, r.length, i -> c[i] == r[i], i -> c[i] == ' ');
            if (idx <= 0) throw noSharedPrompt(row);
            return new Split(
                    new TextNode(new String(c, 0, idx)),
                    new TextNode(new String(c, idx, c.length - idx)),
                    new TextNode(new String(r, idx, r.length - idx)));
        }
        if (chosen.isArray() && rejected.isArray()) {
            int idx = splitIndex(
                    chosen.size(), rejected.size(), i -> chosen.get(i).equals(rejected.get(i)), i -> false);
            if (idx <= 0) throw noSharedPrompt(row);
            return new Split(
                    slice(chosen, 0, idx), slice(chosen, idx, chosen.size()), slice(rejected, idx, rejected.size()));
        }
        throw new DatasetException(
                row.where() + ": 'chosen' and 'rejected' must both be strings or both be message lists (found "
                        + JsonRows.typeName(chosen) + " and " + JsonRows.typeName(rejected) + ")");
    }

    private static int splitIndex(
            int lenC, int lenR, java.util.function.IntPredicate same, java.util.function.IntPredicate spaceAt) {
        int n = Math.min(lenC, lenR);
        for (int idx = 0; idx < n; idx++) {
            if (!same.test(idx)) return idx > 0 && spaceAt.test(idx - 1) ? idx - 1 : idx;
        }
        return n - 1; // Python's loop variable keeps its last value when nothing differs
    }

    private static ArrayNode slice(JsonNode list, int from, int to) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (int i = from; i < to; i++) a.add(list.get(i));
        return a;
    }

    private static DatasetException noSharedPrompt(Row row) {
        return new DatasetException(row.where()
                + ": the row has no 'prompt' and 'chosen' and 'rejected' share no leading part to take as the "
                + "implicit prompt; add a 'prompt' field");
    }
}
