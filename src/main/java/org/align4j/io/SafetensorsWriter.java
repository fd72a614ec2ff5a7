// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files byte for byte as Hugging Face's safetensors library does
 * ({@code safetensors.torch.save_file}, which calls the Rust {@code serialize_to_file}).
 *
 * <p>What the official writer does (huggingface/safetensors, {@code safetensors/src/tensor.rs},
 * {@code fn prepare} and {@code impl Serialize for Metadata}), mirrored here:
 * <ol>
 *   <li>Tensors are sorted by dtype, <b>descending</b> in the Rust {@code Dtype} enum order
 *       (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL for the types here; the comment says
 *       "descending dtype alignment"), then by name (byte-wise, Rust {@code String} order).</li>
 *   <li>Data offsets are assigned in that order, contiguously from 0; the data is written in
 *       that order with no padding.</li>
 *   <li>The header is compact JSON (serde_json, no spaces): {@code "__metadata__"} first when
 *       given, then the tensors in that order, each {@code {"dtype":..,"shape":[..],"data_offsets":[b,e]}}.</li>
 *   <li>The header is padded with spaces to a multiple of 8 bytes; its length is a u64 LE.</li>
 * </ol>
 * One deviation: the official {@code __metadata__} is a Rust {@code HashMap}, so with two or more
 * keys its order is arbitrary; here it is the map's iteration order (pass a {@code LinkedHashMap};
 * what {@link SafetensorsFile#metadata()} returns preserves the file's order). A null or empty
 * map writes no {@code __metadata__} (the official writer writes {@code {}} for an empty one).
 * transformers passes {@code {"format": "pt"}}.
 */
public final class SafetensorsWriter {
    private static final int CHUNK = 8 << 20;

    private SafetensorsWriter() {}

    /** {@link #write(Path, List, Map, boolean)} refusing to replace an existing file. */
    public static void write(Path file, List<TensorBlob> tensors, Map<String, String> metadata) throws IOException {
        write(file, tensors, metadata, false);
    }

    /**
     * Writes {@code tensors} and {@code metadata} to {@code file} atomically (see {@link AtomicFiles}).
     *
     * @param overwrite replace an existing file; when false an existing file is an error
     * @throws IllegalArgumentException if two tensors share a name
     */
    public static void write(Path file, List<TensorBlob> tensors, Map<String, String> metadata, boolean overwrite)
            throws IOException {
        List<TensorBlob> ordered = officialOrder(tensors);
        byte[] header = header(ordered, metadata);
        AtomicFiles.writeAtomically(file, tmp -> writeTo(tmp, header, ordered), overwrite);
    }

    /** The tensors in the order the official writer lays them out; rejects duplicate names. */
    static List<TensorBlob> officialOrder(List<TensorBlob> tensors) {
        Set<String> seen = new HashSet<>();
        for (TensorBlob t : tensors) {
            if (!seen.add(t.name())) throw new IllegalArgumentException("tensor '" + t.name() + "' is given twice");
        }
        List<TensorBlob> ordered = new ArrayList<>(tensors);
        ordered.sort(Comparator.comparingInt((TensorBlob t) -> -t.dtype().alignmentRank())
                .thenComparing((a, b) -> Arrays.compareUnsigned(utf8(a.name()), utf8(b.name()))));
        return ordered;
    }

    /** The padded header bytes (without the 8-byte length) for tensors already in official order. */
    static byte[] header(List<TensorBlob> ordered, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            json.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (!first) json.append(',');
                first = false;
                appendString(json, e.getKey()).append(':');
                appendString(json, e.getValue());
            }
            json.append('}');
        }
        long offset = 0;
        for (TensorBlob t : ordered) {
            if (json.length() > 1) json.append(',');
            appendString(json, t.name())
                    .append(":{\"dtype\":\"")
                    .append(t.dtype().safetensorsName())
                    .append("\",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++)
                json.append(i == 0 ? "" : ",").append(shape[i]);
            long end = offset + t.data().byteSize();
            json.append("],\"data_offsets\":[")
                    .append(offset)
                    .append(',')
                    .append(end)
                    .append("]}");
            offset = end;
        }
        json.append('}');
        byte[] raw = utf8(json.toString());
        int padded = (raw.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }

    /** JSON string escaping exactly as serde_json does it (lower-case hex, non-ASCII kept as UTF-8). */
    private static StringBuilder appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"');
    }

    private static void writeTo(Path tmp, byte[] header, List<TensorBlob> ordered) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                Arena arena = Arena.ofConfined()) {
            ByteBuffer len = ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(header.length)
                    .flip();
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            // a native staging buffer accepts every kind of source segment (heap arrays of any type,
            // mapped files, torch memory) and any size; the copy costs far less than the disk write
            MemorySegment staging = arena.allocate(CHUNK);
            for (TensorBlob t : ordered) {
                MemorySegment src = t.data();
                for (long pos = 0; pos < src.byteSize(); pos += CHUNK) {
                    long n = Math.min(CHUNK, src.byteSize() - pos);
                    MemorySegment.copy(src, pos, staging, 0, n);
                    writeFully(ch, staging.asSlice(0, n).asByteBuffer());
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
