// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.align4j.data.JsonRows.Row;

/**
 * Local datasets as users bring them (DESIGN.md "Formats users bring"): one {@code .jsonl},
 * {@code .jsonl.gz}, {@code .json} or {@code .parquet} file, or a folder laid out as the Hugging
 * Face hub lays out datasets ({@code train.jsonl}, {@code test.parquet},
 * {@code data/train-00000-of-00001.parquet}, {@code train/part-0.jsonl}), of which the files of
 * one split are read, in path order.
 *
 * <p>Parquet is read with DuckDB ({@code SELECT to_json(t) FROM read_parquet(?) t}), which turns
 * each row into one JSON object with nested lists and structs intact; {@link Row#line()} is then
 * the 1-based row number. Null members of nested objects are dropped, as TRL's
 * {@code remove_none_values} does: Arrow fills the keys a struct lacks with nulls (a message
 * without {@code tool_calls} gets {@code "tool_calls": null}).
 */
public final class Datasets {
    private static final List<String> SUFFIXES = List.of(".jsonl", ".jsonl.gz", ".json", ".parquet");

    private Datasets() {}

    /**
     * The rows of a dataset file, or of the files of {@code split} in a dataset folder.
     *
     * @param split {@code train}, {@code test}, ...; ignored when {@code fileOrDir} is a file
     */
    public static List<Row> read(Path fileOrDir, String split) {
        return read(fileOrDir, split, false);
    }

    /**
     * {@link #read(Path, String)}, but with {@code keepUnreadable} (skip_invalid_rows) a JSONL line
     * that cannot be read comes back as an unreadable row ({@link Row#readable()} false) for
     * {@link Encoder#encodeAll} to count and report, instead of stopping the read.
     */
    public static List<Row> read(Path fileOrDir, String split, boolean keepUnreadable) {
        if (!Files.exists(fileOrDir) && org.align4j.io.HfCache.isRepoId(fileOrDir.toString())) {
            try { // a hub dataset id whose plain jsonl/json/parquet files are in the local cache
                fileOrDir = org.align4j.io.HfCache.dataset(fileOrDir.toString(), null);
            } catch (IOException e) {
                throw new DatasetException(e.getMessage());
            }
        }
        if (Files.isDirectory(fileOrDir)) {
            List<Row> rows = new ArrayList<>();
            for (Path f : splitFiles(fileOrDir, split)) rows.addAll(readFile(f, keepUnreadable));
            return rows;
        }
        return readFile(fileOrDir, keepUnreadable);
    }

    /** One file, by its suffix. */
    public static List<Row> readFile(Path file) {
        return readFile(file, false);
    }

    private static List<Row> readFile(Path file, boolean keepUnreadable) {
        if (!Files.isRegularFile(file)) throw new DatasetException("dataset " + file + " does not exist");
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".parquet")) return readParquet(file);
        if (name.endsWith(".jsonl") || name.endsWith(".jsonl.gz") || name.endsWith(".json"))
            return JsonRows.read(file, keepUnreadable);
        throw new DatasetException(file + ": unsupported dataset format; use .jsonl, .jsonl.gz, .json or .parquet");
    }

    /**
     * The data files of a split in a folder: files with a supported suffix whose name starts with
     * the split name followed by '.', '-' or '_' (train.jsonl, train-00000-of-00001.parquet), or
     * that sit in a folder named after the split (train/0000.parquet). Hidden paths (.cache, .git)
     * are skipped.
     */
    static List<Path> splitFiles(Path dir, String split) {
        List<Path> all;
        try (Stream<Path> walk = Files.walk(dir, 4)) {
            all = walk.filter(Files::isRegularFile)
                    .filter(p -> !hidden(dir.relativize(p)))
                    .filter(Datasets::supported)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new DatasetException("cannot list dataset folder " + dir + ": " + e.getMessage());
        }
        if (all.isEmpty())
            throw new DatasetException("dataset folder " + dir + " holds no " + String.join(", ", SUFFIXES) + " files");
        List<Path> mine = all.stream()
                .filter(p -> splitOf(dir.relativize(p)).contains(split))
                .toList();
        if (mine.isEmpty()) {
            TreeSet<String> splits = new TreeSet<>();
            for (Path p : all) splits.addAll(splitOf(dir.relativize(p)));
            throw new DatasetException("dataset folder " + dir + " has no files for split '" + split
                    + "'; splits found: " + splits + " (files: "
                    + all.stream()
                            .map(p -> dir.relativize(p).toString())
                            .limit(8)
                            .toList() + (all.size() > 8 ? ", ..." : "") + ")");
        }
        return mine;
    }

    private static boolean hidden(Path relative) {
        for (Path part : relative) if (part.toString().startsWith(".")) return true;
        return false;
    }

    private static boolean supported(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return SUFFIXES.stream().anyMatch(n::endsWith);
    }

    /**
     * The split names a file can belong to: the folders it sits in, and the start of its name when
     * that is followed by a '.' or by '-'/'_' and a digit (a shard number): train.jsonl and
     * train-00000-of-00001.parquet are "train"; test_socratic.jsonl belongs to no split.
     */
    private static List<String> splitOf(Path relative) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < relative.getNameCount() - 1; i++)
            names.add(relative.getName(i).toString());
        String file = relative.getFileName().toString();
        for (int i = 1; i < file.length(); i++) {
            char c = file.charAt(i);
            boolean shard = (c == '-' || c == '_') && i + 1 < file.length() && Character.isDigit(file.charAt(i + 1));
            if (c == '.' || shard) {
                names.add(file.substring(0, i));
                break;
            }
        }
        return names;
    }

    // ------------------------------------------------------------------ parquet

    private static List<Row> readParquet(Path file) {
        List<Row> rows = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                PreparedStatement st = c.prepareStatement("SELECT to_json(t) FROM read_parquet(?) t")) {
            st.setString(1, file.toAbsolutePath().toString());
            try (ResultSet rs = st.executeQuery()) {
                int n = 0;
                while (rs.next()) {
                    n++;
                    JsonNode node = JsonRows.parse(rs.getString(1), file + ": row " + n);
                    if (!(node instanceof ObjectNode obj))
                        throw new DatasetException(file + ": row " + n + " is not a record");
                    dropNullMembers(obj);
                    rows.add(new Row(obj, file, n));
                }
            }
        } catch (SQLException e) {
            throw new DatasetException("cannot read parquet file " + file + ": " + e.getMessage());
        }
        return rows;
    }

    /** Removes null members of nested objects (top-level nulls stay: they mean a column without a value). */
    private static void dropNullMembers(ObjectNode row) {
        for (JsonNode v : row) clean(v);
    }

    private static void clean(JsonNode v) {
        if (v instanceof ObjectNode o) {
            for (Iterator<java.util.Map.Entry<String, JsonNode>> it =
                            o.properties().iterator();
                    it.hasNext(); ) {
                JsonNode x = it.next().getValue();
                if (x.isNull()) it.remove();
                else clean(x);
            }
        } else if (v instanceof ArrayNode a) {
            for (JsonNode x : a) clean(x);
        }
    }
}
