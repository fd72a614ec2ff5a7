// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * Reads dataset rows from a local {@code .jsonl} (one object per line, optionally {@code .gz})
 * or {@code .json} (an array of objects). Every error names the file and the line.
 *
 * <p>Nothing is changed silently: bytes that are not UTF-8 are an error (never replaced by U+FFFD,
 * as Python's {@code UnicodeDecodeError}), and so is anything after the JSON value on a line. A
 * {@code .jsonl} line that cannot be read (not UTF-8, malformed JSON, not an object, past a limit)
 * is an error, or, when the caller keeps such lines (skip_invalid_rows), an unreadable {@link Row}
 * that {@link Encoder#encodeAll} counts and reports with the rows it cannot encode.
 *
 * <p>Limits (Jackson's {@link StreamReadConstraints}): strings up to {@link #MAX_STRING_CHARS}
 * characters (Jackson's default of 20 million refused valid documents); nesting up to 1000 levels
 * and numbers up to 1000 characters, Jackson's defaults, kept because deeper nesting costs stack
 * and longer numbers cost quadratic time; lines and {@code .json} files up to
 * {@link #MAX_LINE_BYTES} bytes, so a file without line breaks fails cleanly instead of filling
 * the heap.
 */
public final class JsonRows {
    /** The longest JSON string value read, in characters (1 Gi). */
    public static final int MAX_STRING_CHARS = 1 << 30;
    /** The longest {@code .jsonl} line and the largest {@code .json} file read, in bytes (1 GiB). */
    public static final int MAX_LINE_BYTES = 1 << 30;

    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder()
            .maxStringLength(MAX_STRING_CHARS)
            .maxNestingDepth(StreamReadConstraints.DEFAULT_MAX_DEPTH)
            .maxNumberLength(StreamReadConstraints.DEFAULT_MAX_NUM_LEN)
            .build();
    /** Every dataset reader's JSON (parquet rows too): the limits above, and trailing content is an error. */
    static final ObjectMapper JSON = JsonMapper.builder(
                    JsonFactory.builder().streamReadConstraints(LIMITS).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /**
     * A row and where it came from, so later errors can name the line. An unreadable row has no
     * JSON, only {@code problem} (naming file and line): reading its content throws that problem.
     */
    public record Row(ObjectNode json, Path file, int line, String problem) {
        public Row(ObjectNode json, Path file, int line) {
            this(Objects.requireNonNull(json, "json"), file, line, null);
        }

        static Row unreadable(Path file, int line, String problem) {
            return new Row(null, file, line, problem);
        }

        /** False for a line that could not be read as a JSON object; {@link #problem()} says why. */
        public boolean readable() {
            return problem == null;
        }

        /** The row's object; for an unreadable row, its problem as a {@link DatasetException}. */
        @Override
        public ObjectNode json() {
            if (problem != null) throw new DatasetException(problem);
            return json;
        }

        public String where() {
            return file + ":" + line;
        }

        /** The field, or a clear error naming file, line, field and what the row has. */
        public JsonNode require(String field) {
            JsonNode v = json().get(field);
            if (v == null || v.isNull())
                throw new DatasetException(where() + ": missing field '" + field + "' (row has " + fieldNames() + ")");
            return v;
        }

        /** Whether the row has the field with a non-null value. */
        public boolean has(String field) {
            return json().hasNonNull(field);
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
            json().fieldNames().forEachRemaining(names::add);
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

    /** The rows of {@code file}; the first line that cannot be read is an error. */
    public static List<Row> read(Path file) {
        return read(file, false);
    }

    /**
     * The rows of {@code file}. With {@code keepUnreadable}, a {@code .jsonl} line that cannot be
     * read, or a {@code .json} element that is not an object, comes back in its place as an
     * unreadable row (for skip_invalid_rows). A {@code .json} file that is not UTF-8 or not valid
     * JSON has no rows to keep, so it is an error either way, as is a damaged {@code .gz}.
     */
    public static List<Row> read(Path file, boolean keepUnreadable) {
        if (Files.isDirectory(file)) throw new DatasetException(file + " is a directory; pass a .jsonl or .json file");
        if (!Files.isRegularFile(file)) throw new DatasetException("dataset " + file + " does not exist");
        String name = file.getFileName().toString();
        try {
            if (name.endsWith(".jsonl") || name.endsWith(".jsonl.gz"))
                return readJsonl(file, name.endsWith(".gz"), keepUnreadable);
            if (name.endsWith(".json")) return readJsonArray(file, keepUnreadable);
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage());
        }
        throw new DatasetException(file + ": unsupported dataset format; use .jsonl, .jsonl.gz or .json");
    }

    private static List<Row> readJsonl(Path file, boolean gz, boolean keepUnreadable) throws IOException {
        List<Row> rows = new ArrayList<>();
        CharsetDecoder utf8 = strictUtf8();
        try (InputStream raw = Files.newInputStream(file);
                InputStream in = gz ? new GZIPInputStream(raw, 1 << 16) : raw) {
            ByteLines lines = new ByteLines(in, MAX_LINE_BYTES);
            for (int n = 1; ; n++) {
                try {
                    if (!lines.next()) break;
                } catch (IOException e) { // a damaged .gz or an overlong line: what follows cannot be trusted
                    throw new DatasetException(file + ":" + n + ": cannot read this line: " + e.getMessage());
                }
                Row row = jsonlRow(file, n, lines.bytes(), lines.length(), utf8);
                if (row == null) continue;
                if (!row.readable() && !keepUnreadable) throw new DatasetException(row.problem());
                rows.add(row);
            }
        }
        return rows;
    }

    /** One line as a row, as an unreadable row, or null for a blank line. */
    private static Row jsonlRow(Path file, int n, byte[] bytes, int length, CharsetDecoder utf8) {
        String where = file + ":" + n;
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
        String line;
        try {
            line = utf8.decode(in).toString();
        } catch (CharacterCodingException e) {
            return Row.unreadable(file, n, where + ": " + notUtf8(bytes, in.position()));
        }
        if (line.isBlank()) return null;
        try {
            JsonNode node = parse(line, where);
            if (!(node instanceof ObjectNode obj))
                return Row.unreadable(file, n, where + ": each line must be a JSON object, found " + typeName(node));
            return new Row(obj, file, n);
        } catch (DatasetException e) {
            return Row.unreadable(file, n, e.getMessage());
        }
    }

    private static List<Row> readJsonArray(Path file, boolean keepUnreadable) throws IOException {
        long size = Files.size(file);
        if (size > MAX_LINE_BYTES)
            throw new DatasetException(file + ": a .json dataset of " + size + " bytes is past align4j's limit of "
                    + MAX_LINE_BYTES + " bytes; write it as .jsonl (one object per line)");
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        String text;
        try {
            text = strictUtf8().decode(in).toString();
        } catch (CharacterCodingException e) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) if (bytes[i] == '\n') line++;
            throw new DatasetException(file + ":" + line + ": " + notUtf8(bytes, in.position()));
        }
        JsonNode root = parse(text, file.toString());
        if (root == null || !root.isArray())
            throw new DatasetException(file + ": a .json dataset must be an array of objects, found " + typeName(root));
        List<Row> rows = new ArrayList<>();
        int i = 0;
        for (JsonNode node : root) {
            i++; // for .json, "line" is the element number
            String problem = file + ": element " + i + " is not an object, found " + typeName(node);
            if (node instanceof ObjectNode obj) rows.add(new Row(obj, file, i));
            else if (keepUnreadable) rows.add(Row.unreadable(file, i, problem));
            else throw new DatasetException(problem);
        }
        return rows;
    }

    /**
     * One JSON value under the dataset limits. {@code where} names the file and line (or row); a
     * syntax error is "malformed JSON" (with Jackson's line when the text has several); a limit
     * says which one, and that it is align4j's limit, not a syntax error.
     */
    static JsonNode parse(String text, String where) {
        try {
            return JSON.readTree(text);
        } catch (StreamConstraintsException e) {
            throw new DatasetException(where + ": " + limitExceeded(e));
        } catch (JsonProcessingException e) {
            String at = e.getLocation() != null && text.indexOf('\n') >= 0
                    ? ":" + e.getLocation().getLineNr()
                    : "";
            String bom = text.startsWith("\uFEFF")
                    ? "; the file starts with a UTF-8 byte-order mark: save it as UTF-8 without BOM"
                    : "";
            throw new DatasetException(where + at + ": malformed JSON (" + e.getOriginalMessage() + ")" + bom);
        }
    }

    private static String limitExceeded(StreamConstraintsException e) {
        String m = e.getOriginalMessage();
        String what;
        if (m.contains("getMaxNestingDepth"))
            what = "lists and objects nested more than " + LIMITS.getMaxNestingDepth() + " levels deep";
        else if (m.contains("getMaxNumberLength"))
            what = "a number longer than " + LIMITS.getMaxNumberLength() + " characters";
        else if (m.contains("getMaxStringLength"))
            what = "a string longer than " + LIMITS.getMaxStringLength() + " characters";
        else if (m.contains("getMaxNameLength"))
            what = "a field name longer than " + LIMITS.getMaxNameLength() + " characters";
        else what = "a value past a size limit";
        return "this may be valid JSON, but it has " + what + ", past align4j's limit (" + m + ")";
    }

    private static CharsetDecoder strictUtf8() {
        return StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    /** The message for a malformed sequence at {@code bad}: the byte, its column in its line, the fix. */
    private static String notUtf8(byte[] bytes, int bad) {
        int start = bad;
        while (start > 0 && bytes[start - 1] != '\n') start--;
        return String.format(
                "not valid UTF-8 (byte 0x%02X at byte %d of the line); align4j reads UTF-8 only, so convert the"
                        + " file (e.g. iconv -f latin1 -t utf-8) rather than let the bytes be guessed",
                bytes[bad] & 0xff, 1 + bad - start);
    }
}
