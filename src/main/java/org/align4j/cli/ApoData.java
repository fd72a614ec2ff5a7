// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.QuerySplit;

/**
 * The rows an {@code apo} run reads, with its query sets kept apart as APO keeps them (Linear95/APO README, "Data &
 * Annotation"; shared/research/algorithms.md 1.6): the reward model's human pairs and gold queries (APO's HH-RM
 * train), the queries the policy is aligned on (HH-LLM train; {@code tools/llm_response_gen.sh:20} samples on
 * {@code hh_split_llm.train.json}) and the pairs the reward models are measured on (HH test).
 *
 * <p>align_dataset_name and eval_dataset_name give the last two as files of their own. Without them, dataset_name's
 * distinct queries are split by the run's seed ({@link QuerySplit}): rm_eval_fraction of them are held out,
 * align_query_fraction go to alignment, the rest train the reward model; no query is in two parts.
 *
 * @param rm preference rows of the reward model (its human pairs D_P; by default also its gold queries)
 * @param heldOut preference rows the reward models are measured on each round (empty: not measured)
 * @param align rows whose prompts the policy is aligned on (preference rows from the split, or align_dataset_name's)
 * @param split what {@link #writeSplit} records (seed, fractions, per part its query count and row indices), or null
 *     when dataset_name was not split
 */
record ApoData(List<Row> rm, List<Row> heldOut, List<Row> align, Map<String, Object> split) {
    static final String SPLIT_FILE = "query_split.json";
    private static final String[] PARTS = {"held_out", "align", "reward_model"};

    /** Reads dataset_name (and align_dataset_name, eval_dataset_name when given); {@code queryOf} gives a preference row's query. */
    static ApoData read(Options o, Function<Row, String> queryOf) {
        for (String[] k : new String[][] {
            {"align_dataset_name", "align_query_fraction"}, {"eval_dataset_name", "rm_eval_fraction"}
        })
            if (o.has(k[0]) && o.given(k[1]))
                throw new CliException("apo: give " + k[0] + " or " + k[1] + ", not both (" + k[1]
                        + " splits dataset_name when there is no " + k[0] + ")");
        List<Row> rows = Datasets.read(o.path("dataset_name"), o.string("dataset_train_split"));
        double evalFraction = o.has("eval_dataset_name") ? 0 : o.number("rm_eval_fraction"),
                alignFraction = o.has("align_dataset_name") ? 0 : o.number("align_query_fraction");
        long seed = o.longValue("seed");
        // split the row indices, so the record names each row by its place in dataset_name
        List<List<Integer>> parts;
        try {
            parts = QuerySplit.split(
                    IntStream.range(0, rows.size()).boxed().toList(),
                    i -> queryOf.apply(rows.get(i)),
                    seed,
                    new double[] {evalFraction, alignFraction},
                    new String[] {"rm_eval_fraction", "align_query_fraction", "reward model's queries"});
        } catch (IllegalArgumentException e) {
            throw new CliException("apo: " + e.getMessage());
        }
        List<List<Row>> byPart =
                parts.stream().map(p -> p.stream().map(rows::get).toList()).toList();
        Map<String, Object> split = null;
        if (evalFraction > 0 || alignFraction > 0) {
            split = new LinkedHashMap<>();
            split.put("dataset_name", o.path("dataset_name").toString());
            split.put("seed", seed);
            split.put("rm_eval_fraction", evalFraction);
            split.put("align_query_fraction", alignFraction);
            Map<String, Object> queries = new LinkedHashMap<>(), rowIndices = new LinkedHashMap<>();
            for (int p = 0; p < 3; p++) {
                queries.put(
                        PARTS[p], byPart.get(p).stream().map(queryOf).distinct().count());
                rowIndices.put(PARTS[p], parts.get(p));
            }
            split.put("queries", queries);
            split.put("rows", rowIndices);
        }
        return new ApoData(
                byPart.get(2),
                o.has("eval_dataset_name")
                        ? Datasets.read(o.path("eval_dataset_name"), o.string("dataset_test_split"))
                        : byPart.get(0),
                o.has("align_dataset_name")
                        ? Datasets.read(o.path("align_dataset_name"), o.string("dataset_train_split"))
                        : byPart.get(1),
                split);
    }

    /**
     * Says how dataset_name was split and writes it to {@code outputDir}/query_split.json (row indices are 0-based, in
     * dataset_name's read order); nothing when it was not split.
     */
    void writeSplit(Path outputDir) throws IOException {
        if (split == null) return;
        Path file = outputDir.resolve(SPLIT_FILE);
        Files.createDirectories(outputDir);
        Files.writeString(file, new ObjectMapper().writeValueAsString(split) + "\n");
        Map<?, ?> queries = (Map<?, ?>) split.get("queries"), rows = (Map<?, ?>) split.get("rows");
        StringBuilder say = new StringBuilder();
        String[] what = {"held out to measure the reward models", "for alignment", "train the reward models"};
        for (int p = 0; p < 3; p++) {
            int n = ((List<?>) rows.get(PARTS[p])).size();
            if (n == 0) continue; // a part given as a file of its own
            say.append(say.isEmpty() ? "" : ", ")
                    .append(queries.get(PARTS[p]))
                    .append(" queries (")
                    .append(n)
                    .append(" rows) ")
                    .append(what[p]);
        }
        System.err.println("apo: dataset_name's queries split by seed " + split.get("seed") + ": " + say
                + "; no query is in two parts (rows listed in " + file + ")");
    }
}
