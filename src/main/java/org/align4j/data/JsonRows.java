// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads dataset rows from a local {@code .jsonl} (one object per line, optionally {@code .gz})
 * or {@code .json} (an array of objects). Every error names the file and the line.
 */
public final class JsonRows {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A row and where it came from, so later errors can name the line. */
    public record Row(ObjectNode json, Path file, int line) {
        public String where() {
            return file + ":" + line;
        }

        /** The field, or a clear error naming file, line, field and what the row has. */
        public JsonNode require(String field) {
            JsonNode v = json.get(field);
            if (v == null || v.isNull())
                throw new DatasetException(where() + ": missing field '" + field + "' (row has " + fieldNames() + ")");
            return v;
        }

        /** Whether the row has the field with a non-null value. */
        public boolean has(String field) {
            return json.hasNonNull(field);
        }

        /** The field as a string, or an error naming file, line, field and the JSON type found. */
        public String text(String field) {
            JsonNode v = require(field);
            if (!v.isTextual())
                throw new DatasetException(where() + ": field '" + field + "' must be a string, found " + typeName(v));
            return v.asText();
        }

        List<String> fieldNames() {
            List<String> names = new ArrayList<>();
            json.fieldNames().forEachRemaining(names::add);
            return names;
        }
    }

    private JsonRows() {}

    /** The JSON type of a value as error messages name it. */
    public static String typeName(JsonNode v) {
        if (v == null || v.isNull()) return "null";
        if (v.isTextual()) return "a string";
        if (v.isNumber()) return "a number (" + v + ")";
        if (v.isBoolean()) return "a boolean (" + v + ")";
        if (v.isArray()) return "a list";
        if (v.isObject()) return "an object";
        return v.getNodeType().toString().toLowerCase();
    }

    public static List<Row> read(Path file) {
        if (Files.isDirectory(file)) throw new DatasetException(file + " is a directory; pass a .jsonl or .json file");
        if (!Files.isRegularFile(file)) throw new DatasetException("dataset " + file + " does not exist");
        String name = file.getFileName().toString();
        try {
            if (name.endsWith(".jsonl") || name.endsWith(".jsonl.gz")) return readJsonl(file, name.endsWith(".gz"));
            if (name.endsWith(".json")) return readJsonArray(file);
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage());
        }
        throw new DatasetException(file + ": unsupported dataset format; use .jsonl, .jsonl.gz or .json");
    }

    private static List<Row> readJsonl(Path file, boolean gz) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (var in = gz ? new GZIPInputStream(Files.newInputStream(file)) : Files.newInputStream(file);
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new DatasetException(file + ":" + n + ": malformed JSON (" + e.getOriginalMessage() + ")");
                }
                if (!(node instanceof ObjectNode obj))
                    throw new DatasetException(file + ":" + n + ": each line must be a JSON object");
                rows.add(new Row(obj, file, n));
            }
        }
        return rows;
    }

    private static List<Row> readJsonArray(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new DatasetException(
                    file + ":" + e.getLocation().getLineNr() + ": malformed JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isArray())
            throw new DatasetException(file + ": a .json dataset must be an array of objects");
        List<Row> rows = new ArrayList<>();
        int i = 0;
        for (JsonNode node : root) {
            i++;
            if (!(node instanceof ObjectNode obj))
                throw new DatasetException(file + ": element " + i + " is not an object");
            rows.add(new Row(obj, file, i)); // for .json, "line" is the element number
        }
        return rows;
    }
}
