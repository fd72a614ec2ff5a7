// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code output_dir/metrics.jsonl}: one JSON object per logging step with {@code step},
 * {@code epoch}, {@code loss}, {@code learning_rate}, {@code grad_norm} and the method's metrics
 * under TRL's names. Each line is flushed as written, so a killed run keeps what it logged. On
 * resume, lines past the checkpoint's step are dropped so the file reads as one uninterrupted run.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String FILE = "metrics.jsonl";
    private final BufferedWriter out;

    private MetricsLog(BufferedWriter out) {
        this.out = out;
    }

    /** Opens for a fresh run (the file must not exist yet) or a resumed one at {@code resumedStep}. */
    public static MetricsLog open(Path outputDir, int resumedStep) throws IOException {
        Path file = outputDir.resolve(FILE);
        Files.createDirectories(outputDir);
        if (resumedStep > 0 && Files.exists(file)) {
            List<String> keep = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode row;
                try {
                    row = JSON.readTree(line);
                } catch (IOException e) {
                    break; // a torn last line from a killed run
                }
                if (row.path("step").asInt(Integer.MAX_VALUE) <= resumedStep) keep.add(line);
            }
            Files.write(file, keep, StandardCharsets.UTF_8);
        } else if (Files.exists(file)) {
            throw new IOException(
                    file + " already exists: this output_dir holds another run; use resume_from_checkpoint, "
                            + "another output_dir, or --overwrite_output_dir true");
        }
        return new MetricsLog(Files.newBufferedWriter(
                file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    public void log(Map<String, Object> row) throws IOException {
        out.write(JSON.writeValueAsString(row));
        out.write('\n');
        out.flush();
    }

    public static List<JsonNode> read(Path outputDir) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve(FILE), StandardCharsets.UTF_8))
            if (!line.isBlank()) rows.add(JSON.readTree(line));
        return rows;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
