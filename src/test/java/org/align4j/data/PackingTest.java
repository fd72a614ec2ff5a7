// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Best-fit-decreasing packing: which examples share a row, their positions, segments and masks. */
class PackingTest {
    /** An example of n tokens whose ids are tag*100 + position, all targets. */
    private static Sequence example(int tag, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = tag * 100L + i;
        return Sequence.allTargets(ids);
    }

    private static List<Integer> tags(PackedSequence row) {
        List<Integer> tags = new ArrayList<>();
        int at = 0;
        for (int len : row.lengths()) {
            tags.add((int) (row.inputIds()[at] / 100));
            at += len;
        }
        return tags;
    }

    @Test
    void examplesGoLongestFirstIntoTheTightestRowThatFits() {
        // lengths 5, 6, 2, 3, 4, 2 into rows of 8, by hand:
        // 6 (tag 1) opens row A (room 2); 5 (tag 0) opens row B (room 3); 4 (tag 4) opens row C (room 4);
        // 3 (tag 3) fits B exactly (room 3 is the tightest >= 3); 2 (tag 2) fits A exactly; 2 (tag 5) goes to C (room
        // 4)
        List<Sequence> ex =
                List.of(example(0, 5), example(1, 6), example(2, 2), example(3, 3), example(4, 4), example(5, 2));
        List<PackedSequence> rows = Packing.bestFitDecreasing(ex, 8);
        assertEquals(3, rows.size());
        assertEquals(List.of(1, 2), tags(rows.get(0)));
        assertEquals(List.of(0, 3), tags(rows.get(1)));
        assertEquals(List.of(4, 5), tags(rows.get(2)));
        int total = 0;
        for (PackedSequence r : rows) {
            assertTrue(r.length() <= 8);
            total += r.length();
        }
        assertEquals(22, total, "every token of every example is packed once");
    }

    @Test
    void positionsRestartAndTheFirstTokenOfEachExampleIsNoTarget() {
        Sequence a = Sequence.promptCompletion(new long[] {1, 2}, new long[] {3}); // mask 0 0 1
        Sequence b = Sequence.allTargets(new long[] {4, 5, 6, 7}); // mask 1 1 1 1
        PackedSequence p = Packing.pack(List.of(a, b));
        assertArrayEquals(new long[] {1, 2, 3, 4, 5, 6, 7}, p.inputIds());
        assertArrayEquals(new long[] {0, 1, 2, 0, 1, 2, 3}, p.positionIds());
        assertArrayEquals(new long[] {0, 0, 0, 1, 1, 1, 1}, p.segmentIds());
        assertArrayEquals(
                new float[] {0, 0, 1, 0, 1, 1, 1},
                p.targetMask(),
                "token 4 would be predicted from the other example's last token");
        assertEquals(a.targets() + b.targets(), p.targets(), "packing keeps exactly the examples' own targets");
    }

    @Test
    void anExampleLongerThanTheRowIsRefused() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Packing.bestFitDecreasing(List.of(example(0, 9)), 8));
        assertTrue(e.getMessage().contains("9 tokens") && e.getMessage().contains("max_length 8"), e.getMessage());
    }
}
