// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows.Row;

/**
 * Where a trainer's rows come from: a local file or folder ({@link Datasets}: .jsonl, .json, .parquet, a hub-style
 * folder of splits, or a dataset id in the local Hugging Face cache), or rows given in memory as maps in TRL's shapes
 * ({@code {"prompt": ..., "chosen": ..., "rejected": ...}}, {@code {"messages": [...]}}, ...).
 */
record DatasetSource(Path fileOrFolder, String split, List<Row> rows) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The name rows given in memory have in errors (file:row) and in training_args.json. */
    private static final Path IN_MEMORY = Path.of("rows");

    static DatasetSource of(Path fileOrFolder, String split) {
        if (fileOrFolder == null) throw new IllegalArgumentException("the dataset path is null");
        if (split == null || split.isBlank()) throw new IllegalArgumentException("the split name is empty");
        return new DatasetSource(fileOrFolder, split, null);
    }

    static DatasetSource of(List<? extends Map<String, ?>> rows) {
        if (rows == null || rows.isEmpty()) throw new IllegalArgumentException("the dataset has no rows");
        List<Row> out = new ArrayList<>(rows.size());
        for (Map<String, ?> r : rows) {
            JsonNode json = JSON.valueToTree(r);
            if (!(json instanceof ObjectNode o))
                throw new IllegalArgumentException("row " + (out.size() + 1) + " is not a map of fields: " + r);
            out.add(new Row(o, IN_MEMORY, out.size() + 1));
        }
        return new DatasetSource(null, null, List.copyOf(out));
    }

    /**
     * The rows, read now (a file is read at each call). Rows given in memory are copied, so an encoder that adds a
     * field leaves the caller's rows alone.
     */
    List<Row> read() {
        if (rows == null) return Datasets.read(fileOrFolder, split);
        return rows.stream()
                .map(r -> new Row(r.json().deepCopy(), r.file(), r.line()))
                .toList();
    }

    /** What training_args.json records as dataset_name / eval_dataset_name. */
    String name() {
        return rows == null ? fileOrFolder.toString() : rows.size() + " rows in memory";
    }

    /** Whether the split name applies (a folder, or a dataset id in the cache, is read by split). */
    boolean hasSplits() {
        return rows == null && (Files.isDirectory(fileOrFolder) || !Files.exists(fileOrFolder));
    }
}
