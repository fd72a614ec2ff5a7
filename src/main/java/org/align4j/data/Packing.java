// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

/**
 * TRL's {@code packing_strategy="bfd"} (best-fit decreasing, data_utils.pack_dataset): examples,
 * longest first, each go into the open row with the least room that still fits them, or start a
 * new row; a row holds at most {@code maxLength} tokens. Examples are never split (callers
 * truncate to max_length first, as TRL's bfd does).
 */
public final class Packing {
    private Packing() {}

    public static List<PackedSequence> bestFitDecreasing(List<Sequence> examples, int maxLength) {
        Integer[] order = new Integer[examples.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            if (examples.get(i).length() > maxLength)
                throw new IllegalArgumentException(
                        "example " + i + " has " + examples.get(i).length() + " tokens, more than max_length "
                                + maxLength + "; truncate before packing");
        }
        // longest first; equal lengths keep their input order, so packing is deterministic
        Arrays.sort(
                order,
                Comparator.comparingInt((Integer i) -> -examples.get(i).length())
                        .thenComparingInt(i -> i));
        List<List<Integer>> bins = new ArrayList<>();
        TreeMap<Integer, ArrayDeque<Integer>> byRoom =
                new TreeMap<>(); // room left -> bins with that room (oldest first)
        for (int i : order) {
            int len = examples.get(i).length();
            var fit = byRoom.ceilingEntry(len); // the tightest bin that fits
            int bin;
            if (fit == null) {
                bin = bins.size();
                bins.add(new ArrayList<>());
            } else {
                bin = fit.getValue().pollFirst();
                if (fit.getValue().isEmpty()) byRoom.remove(fit.getKey());
            }
            bins.get(bin).add(i);
            int room = (fit == null ? maxLength : fit.getKey()) - len;
            if (room > 0) byRoom.computeIfAbsent(room, k -> new ArrayDeque<>()).addLast(bin);
        }
        List<PackedSequence> rows = new ArrayList<>(bins.size());
        for (List<Integer> bin : bins)
            rows.add(pack(bin.stream().map(examples::get).toList()));
        return rows;
    }

    /** Lays examples end to end; each example's first token stops being a target. */
    public static PackedSequence pack(List<Sequence> examples) {
        int total = examples.stream().mapToInt(Sequence::length).sum(), at = 0;
        long[] ids = new long[total];
        float[] mask = new float[total];
        int[] lengths = new int[examples.size()];
        for (int k = 0; k < examples.size(); k++) {
            Sequence s = examples.get(k);
            System.arraycopy(s.inputIds(), 0, ids, at, s.length());
            System.arraycopy(s.targetMask(), 0, mask, at, s.length());
            mask[at] = 0f;
            lengths[k] = s.length();
            at += s.length();
        }
        return new PackedSequence(ids, mask, lengths);
    }
}
