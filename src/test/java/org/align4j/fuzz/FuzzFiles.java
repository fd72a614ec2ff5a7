// SPDX-License-Identifier: Apache-2.0
package org.align4j.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One scratch folder per fuzz run, in RAM when {@code /dev/shm} exists: the readers under test
 * take paths (safetensors files are memory-mapped), and a million executions should not wear a
 * disk. Each execution overwrites the same file name, so nothing accumulates.
 */
final class FuzzFiles {
    private static final Path DIR = create();

    private FuzzFiles() {}

    private static Path create() {
        try {
            Path shm = Path.of("/dev/shm");
            Path dir = Files.isDirectory(shm) && Files.isWritable(shm)
                    ? Files.createTempDirectory(shm, "align4j-fuzz")
                    : Files.createTempDirectory("align4j-fuzz");
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the fuzz scratch folder", e);
        }
    }

    /** Writes {@code bytes} to {@code name} in the scratch folder and returns its path. */
    static Path write(String name, byte[] bytes) {
        Path p = DIR.resolve(name);
        try {
            Files.write(p, bytes);
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the fuzz input " + p, e);
        }
    }
}
