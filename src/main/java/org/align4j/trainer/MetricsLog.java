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
import org.align4j.io.AtomicFiles;

/**
 * {@code output_dir/metrics.jsonl}: one JSON object per logging step with {@code step},
 * {@code epoch}, {@code loss}, {@code learning_rate}, {@code grad_norm} and the method's metrics
 * under TRL's names. Each line is flushed as written, so a killed run keeps what it logged. On
 * resume, lines past the checkpoint's step are dropped so the file reads as one uninterrupted run.
 *
 * <p>{@code output_dir/completions.jsonl} ({@link #COMPLETIONS}, written with log_completions) is the same kind of log,
 * one row per completion, keyed by {@code step} too: it is opened, cut on resume and read by the same functions.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String FILE = "metrics.jsonl";
    /** The completions log of log_completions ({@link LogCompletions}). */
    public static final String COMPLETIONS = "completions.jsonl";

    private final Path file;
    private BufferedWriter out; // opened at the first row: a run that fails before it leaves no file behind

    private MetricsLog(Path file) {
        this.file = file;
    }

    /**
     * Opens for a fresh run (the file must not exist yet, or be empty) or a resumed one at {@code resumedStep}, whose
     * rows past that step are dropped (written atomically: a kill during the cut loses nothing).
     */
    public static MetricsLog open(Path outputDir, int resumedStep) throws IOException {
        return open(outputDir, FILE, resumedStep);
    }

    /** {@link #open(Path, int)} for another step-keyed log of output_dir ({@link #COMPLETIONS}). */
    static MetricsLog open(Path outputDir, String name, int resumedStep) throws IOException {
        Path file = outputDir.resolve(name);
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
            AtomicFiles.writeAtomically(file, tmp -> Files.write(tmp, keep, StandardCharsets.UTF_8), true);
        } else if (resumedStep == 0 && Files.exists(file) && Files.size(file) > 0) {
            throw new IOException(
                    file + " already exists: this output_dir holds another run; use resume_from_checkpoint, "
                            + "another output_dir, or --overwrite_output_dir true");
        }
        return new MetricsLog(file);
    }

    public void log(Map<String, Object> row) throws IOException {
        if (out == null)
            out = Files.newBufferedWriter(
                    file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        out.write(JSON.writeValueAsString(row));
        out.write('\n');
        out.flush();
    }

    public static List<JsonNode> read(Path outputDir) throws IOException {
        return read(outputDir, FILE);
    }

    /** The rows of the step-keyed log {@code name} of output_dir ({@link #FILE}, {@link #COMPLETIONS}). */
    public static List<JsonNode> read(Path outputDir, String name) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve(name), StandardCharsets.UTF_8))
            if (!line.isBlank()) rows.add(JSON.readTree(line));
        return rows;
    }

    @Override
    public void close() throws IOException {
        if (out != null) out.close();
    }
}
