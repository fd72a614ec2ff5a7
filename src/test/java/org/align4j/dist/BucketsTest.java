// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class BucketsTest {

    @Test
    void fillsBucketsInOrderUpToTheCap() {
        int[] f32 = {0, 0, 0, 0, 0};
        assertEquals(
                List.of(List.of(0, 1), List.of(2, 3), List.of(4)),
                Buckets.plan(
                        f32,
                        new long[] {40, 60, 70, 10, 30},
                        new boolean[5],
                        100)); // 40+60 = 100 fits; 70+10+30 would not
    }

    @Test
    void aTensorLargerThanTheCapGetsABucketOfItsOwn() {
        int[] f32 = {0, 0, 0};
        assertEquals(
                List.of(List.of(0), List.of(1), List.of(2)),
                Buckets.plan(f32, new long[] {10, 500, 10}, new boolean[3], 100));
    }

    @Test
    void dtypesNeverShareABucket() {
        // float, double, float, double: two buckets, each of one dtype, ordered by their first tensor
        assertEquals(
                List.of(List.of(0, 2), List.of(1, 3)),
                Buckets.plan(new int[] {6, 7, 6, 7}, new long[] {8, 8, 8, 8}, new boolean[4], 100));
    }

    @Test
    void largeContiguousTensorsGoAloneAndTheRestIsPacked() {
        // 0 and 2 are reduced in place; 1, 3 and 4 share a bucket though 2 lies between them
        assertEquals(
                List.of(List.of(0), List.of(1, 3, 4), List.of(2)),
                Buckets.plan(
                        new int[5],
                        new long[] {60, 10, 60, 10, 10},
                        new boolean[] {true, false, true, false, false},
                        100));
    }

    @Test
    void emptyInputHasNoBuckets() {
        assertEquals(List.of(), Buckets.plan(new int[0], new long[0], new boolean[0], 100));
    }
}
