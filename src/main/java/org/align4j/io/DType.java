// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.nio.file.Path;

/**
 * Element types align4j reads and writes in safetensors files. Values are stored little-endian,
 * row-major ("C" order), with no padding between elements.
 *
 * <p>The declaration order here is not significant; {@link #alignmentRank()} carries the order
 * the official writer sorts by.
 */
public enum DType {
    F64(8, "F64", 12),
    F32(4, "F32", 11),
    F16(2, "F16", 7),
    BF16(2, "BF16", 8),
    I64(8, "I64", 13),
    I32(4, "I32", 9),
    I16(2, "I16", 5),
    I8(1, "I8", 2),
    U8(1, "U8", 1),
    BOOL(1, "BOOL", 0);

    private final int byteSize;
    private final String safetensorsName;
    private final int alignmentRank;

    DType(int byteSize, String safetensorsName, int alignmentRank) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.alignmentRank = alignmentRank;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The name used in the safetensors header, e.g. {@code "BF16"}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /**
     * Position of this dtype in the Rust {@code safetensors::Dtype} enum, whose derived {@code Ord}
     * the official writer sorts by (descending, then by name). That enum, in declaration order, is
     * BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 (newer
     * versions insert more 4/6/8-bit types and C64 between these, which keeps the relative order of
     * the ten types here). Only the relative order matters.
     */
    int alignmentRank() {
        return alignmentRank;
    }

    /**
     * The dtype a safetensors header names.
     *
     * @param name   the header's {@code dtype} string
     * @param file   the file being read, for the error message
     * @param tensor the tensor being read, for the error message
     * @throws CheckpointException if align4j does not support this dtype
     */
    public static DType fromSafetensors(String name, Path file, String tensor) throws CheckpointException {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) return t;
        }
        StringBuilder known = new StringBuilder();
        for (DType t : values()) known.append(known.isEmpty() ? "" : ", ").append(t.safetensorsName);
        throw new CheckpointException(file, tensor, "unsupported dtype '" + name + "' (align4j reads " + known + ")");
    }
}
