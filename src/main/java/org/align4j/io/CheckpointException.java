// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that align4j refuses to load: a malformed or inconsistent safetensors file, shard index or
 * JSON file. The message always names the file, and the tensor when one is concerned, and says
 * what is wrong. Every reader in this package throws this (never a JVM crash, never a silent
 * wrong load).
 */
public final class CheckpointException extends IOException {
    private final transient Path file;
    private final String tensor;

    /** A problem with one tensor (or index entry) of {@code file}. */
    public CheckpointException(Path file, String tensor, String problem) {
        super(file + ": tensor '" + tensor + "': " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    /** A problem with {@code file} as a whole. */
    public CheckpointException(Path file, String problem) {
        this(file, problem, (Throwable) null);
    }

    /** A problem with {@code file} as a whole, caused by {@code cause}. */
    public CheckpointException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
        this.tensor = null;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }

    /** The offending tensor's name, or null when the problem concerns the whole file. */
    public String tensor() {
        return tensor;
    }
}
