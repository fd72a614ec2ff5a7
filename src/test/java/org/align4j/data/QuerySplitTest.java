// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The query split APO's data needs: parts disjoint by query, sizes by fraction, the same parts for the same seed. */
class QuerySplitTest {
    private static final String[] NAMES = {"eval", "align", "rest"};

    /** 60 rows over 40 queries: query q has a second row when q % 2 == 0 (q < 40), rows in a scrambled order. */
    private static List<String> rows() {
        List<String> rows = new ArrayList<>();
        for (int q = 0; q < 40; q++) rows.add("q" + q + "|a");
        for (int q = 0; q < 40; q += 2) rows.add("q" + q + "|b");
        java.util.Collections.shuffle(rows, new java.util.Random(5));
        return rows;
    }

    private static final Function<String, String> QUERY = r -> r.substring(0, r.indexOf('|'));

    private static Set<String> queries(List<String> part) {
        Set<String> s = new HashSet<>();
        for (String r : part) s.add(QUERY.apply(r));
        return s;
    }

    @Test
    void noQueryIsInTwoPartsAndEachPartHasItsShareOfTheQueries() {
        List<String> rows = rows();
        List<List<String>> parts = QuerySplit.split(rows, QUERY, 42, new double[] {0.1, 0.5}, NAMES);
        assertEquals(3, parts.size());
        assertEquals(4, queries(parts.get(0)).size(), "round(0.1 * 40)");
        assertEquals(20, queries(parts.get(1)).size(), "round(0.5 * 40)");
        assertEquals(16, queries(parts.get(2)).size(), "the rest");
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++) {
                Set<String> both = queries(parts.get(a));
                both.retainAll(queries(parts.get(b)));
                assertTrue(both.isEmpty(), "parts " + a + " and " + b + " share queries " + both);
            }
        // every row is in exactly one part, and a part keeps the rows' order in the data
        assertEquals(rows.size(), parts.stream().mapToInt(List::size).sum());
        for (List<String> part : parts) {
            int[] at = part.stream().mapToInt(rows::indexOf).toArray();
            for (int i = 1; i < at.length; i++) assertTrue(at[i - 1] < at[i], "order kept: " + part);
            // both rows of a query with two rows are in the same part
            for (String r : part)
                if (Integer.parseInt(QUERY.apply(r).substring(1)) % 2 == 0)
                    assertTrue(part.contains(QUERY.apply(r) + "|a") && part.contains(QUERY.apply(r) + "|b"), r);
        }
    }

    @Test
    void theSameSeedGivesTheSamePartsAnotherSeedOthers() {
        List<String> rows = rows();
        double[] f = {0.2, 0.3};
        assertEquals(
                QuerySplit.split(rows, QUERY, 7, f, NAMES),
                QuerySplit.split(new ArrayList<>(rows), QUERY, 7, f, NAMES));
        assertNotEquals(
                queries(QuerySplit.split(rows, QUERY, 7, f, NAMES).get(1)),
                queries(QuerySplit.split(rows, QUERY, 8, f, NAMES).get(1)));
        // pinned (a change of the shuffle would silently move the queries of a recorded run between its parts): the
        // first 3 of q0..q9 shuffled with Random(42) are q4, q6, q2, as a separate Python re-implementation of
        // java.util.Random's LCG and Collections.shuffle's swap loop gives too
        List<String> first = QuerySplit.split(
                        IntStream.range(0, 10).mapToObj(i -> "q" + i + "|a").toList(),
                        QUERY,
                        42,
                        new double[] {0.3},
                        new String[] {"a", "b"})
                .get(0);
        assertEquals(List.of("q2|a", "q4|a", "q6|a"), first, "data order within the part");
    }

    @Test
    void aZeroFractionGivesAnEmptyPart() {
        List<List<String>> parts = QuerySplit.split(rows(), QUERY, 1, new double[] {0.0, 0.25}, NAMES);
        assertTrue(parts.get(0).isEmpty());
        assertEquals(10, queries(parts.get(1)).size());
        assertEquals(30, queries(parts.get(2)).size());
    }

    @Test
    void fractionsThatLeaveAPartEmptyAreRefusedWithTheKeyName() {
        List<String> rows = rows();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> QuerySplit.split(rows, QUERY, 1, new double[] {0.5, 0.5}, NAMES));
        assertTrue(e.getMessage().contains("rest") && e.getMessage().contains("less than 1"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuerySplit.split(rows, QUERY, 1, new double[] {0.01, 0.5}, NAMES));
        assertTrue(e.getMessage().contains("eval") && e.getMessage().contains("rounds to none"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> QuerySplit.split(rows, QUERY, 1, new double[] {0.1, 1.0}, NAMES));
        assertTrue(e.getMessage().contains("align must be in [0, 1)"), e.getMessage());
    }
}
