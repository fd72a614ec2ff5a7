// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reading and writing the JSON files of a Hugging Face model folder ({@code config.json},
 * {@code generation_config.json}, {@code model.safetensors.index.json}, ...).
 */
public final class HfJson {
    /** Accepts what Python's {@code json.load} accepts: NaN/Infinity literals; rejects trailing data. */
    private static final ObjectMapper READER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /**
     * Python's {@code json.dumps(obj, indent=2)} layout, which transformers uses: 2-space indent,
     * {@code "key": value}, one array element per line, {@code {}} and {@code []} when empty.
     * Number formatting follows Jackson ({@code 1.0E-6} where Python writes {@code 1e-06}).
     */
    private static final ObjectWriter WRITER = new ObjectMapper().writer(pythonIndent2());

    private HfJson() {}

    /**
     * Parses {@code file} as JSON.
     *
     * @throws CheckpointException naming the file, line and column if it is malformed or missing
     */
    public static JsonNode readJson(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            JsonNode node = READER.readTree(in);
            if (node == null || node.isMissingNode()) throw new CheckpointException(file, "empty file, expected JSON");
            return node;
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "file not found", e);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new CheckpointException(file, "malformed JSON" + where + ": " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Writes {@code value} (a {@link JsonNode}, a {@code Map}, a record, ...) as pretty JSON with a
     * trailing newline, the way transformers writes {@code config.json}, atomically (see
     * {@link AtomicFiles}). Key order is the value's own; transformers sorts keys, so pass a
     * {@code TreeMap} (or sorted node) to match it.
     *
     * @param overwrite replace an existing file; when false an existing file is an error
     */
    public static void writeJson(Path file, Object value, boolean overwrite) throws IOException {
        byte[] bytes = toJson(value).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.writeAtomically(
                file,
                tmp -> {
                    try (OutputStream out = Files.newOutputStream(tmp)) {
                        out.write(bytes);
                    }
                },
                overwrite);
    }

    /** The text {@link #writeJson} writes, trailing newline included. */
    public static String toJson(Object value) throws JsonProcessingException {
        return WRITER.writeValueAsString(value) + "\n";
    }

    private static DefaultPrettyPrinter pythonIndent2() {
        Separators seps = Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator("");
        DefaultIndenter indent = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter(seps);
        pp.indentObjectsWith(indent);
        pp.indentArraysWith(indent);
        return pp;
    }
}
