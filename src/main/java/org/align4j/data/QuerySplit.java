// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * A deterministic split of rows into parts by their query, so that no query lands in two parts: APO keeps the queries
 * the reward model learns from (HH-RM) apart from the queries the policy is aligned on (HH-LLM) and from the test
 * queries (Linear95/APO README, "Data and Annotation"; shared/research/algorithms.md 1.6). Rows that share a query (the
 * same prompt with several response pairs) always go to the same part.
 *
 * <p>The distinct queries, in order of first appearance, are shuffled with {@code java.util.Random(seed)}; the first
 * round(fraction_0 * Q) go to part 0, the next round(fraction_1 * Q) to part 1, and so on; the last part takes the
 * rest. Within a part the rows keep their order in the data. The same rows, key and seed give the same parts on any
 * JVM ({@code Random} and {@code Collections.shuffle} are specified exactly).
 */
public final class QuerySplit {
    private QuerySplit() {}

    /**
     * {@code fractions.length + 1} parts of {@code rows}: part i (i &lt; fractions.length) holds the rows of
     * round(fractions[i] * Q) of the Q distinct queries, the last part the rows of the remaining queries.
     *
     * @param key the query of a row (equal strings = the same query)
     * @param names the parts' names for error messages, one per fraction then the rest's
     * @throws IllegalArgumentException when a fraction is outside [0, 1), the fractions reach 1, or a part with a
     *     fraction > 0 (or the rest) would be empty
     */
    public static <T> List<List<T>> split(
            List<T> rows, Function<T, String> key, long seed, double[] fractions, String[] names) {
        if (names.length != fractions.length + 1)
            throw new IllegalArgumentException(
                    "bug: " + names.length + " names for " + (fractions.length + 1) + " parts");
        Map<String, List<Integer>> byQuery = new LinkedHashMap<>();
        for (int i = 0; i < rows.size(); i++)
            byQuery.computeIfAbsent(key.apply(rows.get(i)), k -> new ArrayList<>())
                    .add(i);
        List<String> queries = new ArrayList<>(byQuery.keySet());
        Collections.shuffle(queries, new Random(seed));
        int q = queries.size(), from = 0;
        double sum = 0;
        int[] partOfRow = new int[rows.size()];
        for (int p = 0; p <= fractions.length; p++) {
            int count;
            if (p < fractions.length) {
                double f = fractions[p];
                if (!(f >= 0 && f < 1)) throw new IllegalArgumentException(names[p] + " must be in [0, 1), got " + f);
                sum += f;
                count = (int) Math.min(Math.round(f * q), q - from);
                if (f > 0 && count == 0)
                    throw new IllegalArgumentException(names[p] + " " + f + " of " + q
                            + " distinct queries rounds to none; raise it or give more data");
            } else count = q - from;
            if (p == fractions.length && (sum >= 1 || count <= 0))
                throw new IllegalArgumentException("the " + names[p] + " get no query: the fractions of "
                        + String.join(", ", java.util.Arrays.copyOf(names, fractions.length)) + " take all " + q
                        + " distinct queries (they must add up to less than 1)");
            for (int i = from; i < from + count; i++) for (int row : byQuery.get(queries.get(i))) partOfRow[row] = p;
            from += count;
        }
        List<List<T>> parts = new ArrayList<>();
        for (int p = 0; p <= fractions.length; p++) parts.add(new ArrayList<>());
        for (int i = 0; i < rows.size(); i++) parts.get(partOfRow[i]).add(rows.get(i));
        return parts;
    }
}
