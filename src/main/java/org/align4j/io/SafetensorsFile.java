// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file (format: https://github.com/huggingface/safetensors).
 *
 * <pre>
 * [8 bytes] N, the header length, unsigned little-endian
 * [N bytes] UTF-8 JSON object: {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
 * [rest]    the data section; every tensor's bytes lie at [begin, end) relative to its start
 * </pre>
 *
 * <p>{@link #open} validates everything before it returns: the header, every entry, and the
 * layout of the data section (tensors are contiguous, non-overlapping and cover it exactly, as the
 * official reader requires). A file that passes loads the same here as in Hugging Face.
 *
 * <p>Ownership: the mapping lives in a shared {@link Arena} owned by this object. Segments handed
 * out by {@link #data} are read-only views into it and become invalid at {@link #close()}; touching
 * one afterwards throws {@link IllegalStateException} (never a crash). Safe for concurrent reads.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The official reader's limit on the header length (safetensors/src/tensor.rs MAX_HEADER_SIZE). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper HEADER_JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final Arena arena;
    private final MemorySegment dataSection;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(
            Path path,
            Arena arena,
            MemorySegment dataSection,
            Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.dataSection = dataSection;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Maps {@code file} read-only and validates it.
     *
     * @throws CheckpointException naming the file (and tensor) if anything about it is wrong
     * @throws IOException         if the file cannot be read at all
     */
    public static SafetensorsFile open(Path file) throws IOException {
        // a directory fails later with "No such device"; a named pipe would block open() forever
        if (Files.exists(file) && !Files.isRegularFile(file))
            throw new CheckpointException(
                    file,
                    (Files.isDirectory(file) ? "is a directory" : "is not a regular file (a device or a pipe?)")
                            + ", not a safetensors file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8)
                throw new CheckpointException(
                        file,
                        "file is " + size
                                + " bytes, shorter than the 8-byte header length (empty or not a safetensors file)");
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = whole.get(U64_LE, 0);
            if (n < 0 || n > MAX_HEADER_BYTES)
                throw new CheckpointException(
                        file,
                        "header length " + Long.toUnsignedString(n) + " exceeds the " + MAX_HEADER_BYTES
                                + "-byte limit (corrupt or not a safetensors file)");
            if (8 + n > size)
                throw new CheckpointException(
                        file,
                        "header length " + n + " runs past the end of the file (" + size
                                + " bytes); the file is truncated or not a safetensors file");
            String headerText = decodeUtf8(file, whole.asSlice(8, n));
            MemorySegment data = whole.asSlice(8 + n).asReadOnly();
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(file, headerText, data.byteSize(), metadata);
            return new SafetensorsFile(
                    file, arena, data, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static String decodeUtf8(Path file, MemorySegment bytes) throws CheckpointException {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toArray(ValueLayout.JAVA_BYTE)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file, "header is not valid UTF-8", e);
        }
    }

    /** Parses and checks the header; fills {@code metadataOut}; returns tensors in header order. */
    private static Map<String, TensorInfo> parseHeader(
            Path file, String text, long dataBytes, Map<String, String> metadataOut) throws CheckpointException {
        JsonNode root;
        try {
            root = HEADER_JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(file, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject())
            throw new CheckpointException(
                    file,
                    "header is not a JSON object (found "
                            + (root == null
                                    ? "nothing"
                                    : root.getNodeType().toString().toLowerCase()) + ")");

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            JsonNode entry = e.getValue();
            if (name.equals(METADATA_KEY)) {
                readMetadata(file, entry, metadataOut);
                continue;
            }
            tensors.put(name, readEntry(file, name, entry, dataBytes));
        }
        checkLayout(file, tensors.values(), dataBytes);
        return tensors;
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) throws CheckpointException {
        if (node.isNull()) return;
        if (!node.isObject())
            throw new CheckpointException(
                    file,
                    "__metadata__ must be an object of strings, found "
                            + node.getNodeType().toString().toLowerCase());
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual())
                throw new CheckpointException(
                        file,
                        "__metadata__ value for key '" + m.getKey() + "' must be a string, found "
                                + m.getValue().getNodeType().toString().toLowerCase());
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static TensorInfo readEntry(Path file, String name, JsonNode entry, long dataBytes)
            throws CheckpointException {
        if (!entry.isObject())
            throw new CheckpointException(
                    file, name, "header entry must be an object with dtype, shape and data_offsets");
        JsonNode dtypeNode = required(file, name, entry, "dtype");
        if (!dtypeNode.isTextual())
            throw new CheckpointException(file, name, "'dtype' must be a string, found " + dtypeNode);
        DType dtype = DType.fromSafetensors(dtypeNode.textValue(), file, name);

        JsonNode shapeNode = required(file, name, entry, "shape");
        if (!shapeNode.isArray())
            throw new CheckpointException(
                    file, name, "'shape' must be an array of non-negative integers, found " + shapeNode);
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(file, name, shapeNode.get(i), "shape[" + i + "]");
        }

        JsonNode offsets = required(file, name, entry, "data_offsets");
        if (!offsets.isArray() || offsets.size() != 2)
            throw new CheckpointException(file, name, "'data_offsets' must be an array [begin, end], found " + offsets);
        long begin = nonNegativeLong(file, name, offsets.get(0), "data_offsets[0]");
        long end = nonNegativeLong(file, name, offsets.get(1), "data_offsets[1]");
        if (begin > end)
            throw new CheckpointException(file, name, "data_offsets begin " + begin + " is after end " + end);
        if (end > dataBytes)
            throw new CheckpointException(
                    file,
                    name,
                    "data_offsets end " + end + " is past the end of the data section (" + dataBytes
                            + " bytes); the file is truncated or its header is wrong");

        long expected;
        try {
            expected = 1;
            for (long d : shape) expected = Math.multiplyExact(expected, d);
            expected = Math.multiplyExact(expected, dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw new CheckpointException(file, name, "shape " + shapeNode + " overflows a 64-bit byte count");
        }
        if (end - begin != expected)
            throw new CheckpointException(
                    file,
                    name,
                    "data_offsets [" + begin + ", " + end + "] span " + (end - begin) + " bytes but shape " + shapeNode
                            + " of " + dtype.safetensorsName() + " needs " + expected);
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static JsonNode required(Path file, String name, JsonNode entry, String field) throws CheckpointException {
        JsonNode v = entry.get(field);
        if (v == null) throw new CheckpointException(file, name, "header entry is missing '" + field + "'");
        return v;
    }

    private static long nonNegativeLong(Path file, String name, JsonNode v, String what) throws CheckpointException {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong())
            throw new CheckpointException(file, name, what + " must be a non-negative integer, found " + v);
        long x = v.longValue();
        if (x < 0) throw new CheckpointException(file, name, what + " is negative (" + x + ")");
        return x;
    }

    /**
     * The official reader requires the tensors, ordered by offset, to tile the data section exactly:
     * no overlap, no gap, nothing after the last one. Overlap would alias two tensors' bytes.
     */
    private static void checkLayout(Path file, Iterable<TensorInfo> infos, long dataBytes) throws CheckpointException {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < pos)
                throw new CheckpointException(
                        file,
                        t.name(),
                        "bytes [" + t.begin() + ", " + t.end() + ") overlap tensor '" + prev.name() + "' at ["
                                + prev.begin() + ", " + prev.end() + ")");
            if (t.begin() > pos)
                throw new CheckpointException(
                        file,
                        t.name(),
                        "starts at byte " + t.begin() + " but the previous tensor"
                                + (prev == null ? "s end" : " '" + prev.name() + "' ends") + " at " + pos
                                + "; safetensors data must be contiguous (the official reader rejects gaps)");
            pos = t.end();
            prev = t;
        }
        if (pos != dataBytes)
            throw new CheckpointException(
                    file,
                    "the data section has " + dataBytes + " bytes but the tensors cover only " + pos
                            + "; the official reader rejects trailing bytes");
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Every tensor, in header order. Unmodifiable. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The header's {@code __metadata__} string map in header order (empty when absent). Unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The header entry of {@code name}; throws {@link IllegalArgumentException} naming the file if absent. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null)
            throw new IllegalArgumentException(
                    path + ": no tensor '" + name + "' (the file has " + tensors.size() + " tensors)");
        return t;
    }

    /**
     * The raw little-endian bytes of {@code name}: a read-only slice of the mapping,
     * {@code info(name).byteSize()} bytes, no copy. Valid until {@link #close()}.
     */
    public MemorySegment data(String name) {
        TensorInfo t = info(name);
        return dataSection.asSlice(t.begin(), t.byteSize());
    }

    /**
     * A copy of {@code name} converted to float32, row-major, {@code numel()} elements. F32 is
     * copied, BF16 and F16 are widened exactly, F64 is rounded to nearest. Other dtypes throw
     * {@link IllegalArgumentException}.
     */
    public float[] toFloats(String name) {
        TensorInfo t = info(name);
        long numel = t.numel();
        if (numel > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(path + ": tensor '" + name + "' has " + numel
                    + " elements, too many for a float[]; use data(name)");
        return Floats.toFloats(data(name), t.dtype(), (int) numel, () -> path + ": tensor '" + name + "'");
    }

    /** Unmaps the file. Segments from {@link #data} are invalid afterwards. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
