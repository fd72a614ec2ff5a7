// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.io.AtomicFiles;

/** Writes JSONL output atomically and never over an existing file unless asked. */
final class JsonlOutput {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonlOutput() {}

    static void checkWritable(Path file, boolean overwrite) {
        if (Files.exists(file) && !overwrite)
            throw new CliException(
                    "output_file " + file + " already exists; choose another path or pass --overwrite_output true");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent))
            throw new CliException("output_file " + file + ": directory " + parent + " does not exist");
    }

    static void write(Path file, List<?> rows, boolean overwrite) throws IOException {
        AtomicFiles.writeAtomically(
                file,
                tmp -> {
                    try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                        for (Object row : rows) {
                            w.write(JSON.writeValueAsString(row));
                            w.write('\n');
                        }
                    }
                },
                overwrite);
    }
}
