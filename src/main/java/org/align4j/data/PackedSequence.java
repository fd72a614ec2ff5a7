// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

/**
 * Several {@link Sequence}s laid end to end in one row (packing). {@code lengths} are the
 * examples' lengths in order; each example restarts its position ids at 0 and attends only to
 * itself (block-diagonal causal attention), so it is computed exactly as alone. The first token of
 * each example is never a target: it would be predicted from the previous example's last token.
 */
public record PackedSequence(long[] inputIds, float[] targetMask, int[] lengths) {
    public PackedSequence {
        int sum = 0;
        for (int l : lengths) {
            if (l < 1) throw new IllegalArgumentException("packed example lengths must be positive");
            sum += l;
        }
        if (sum != inputIds.length || inputIds.length != targetMask.length)
            throw new IllegalArgumentException("packed lengths sum to " + sum + " but the row has " + inputIds.length
                    + " ids and " + targetMask.length + " mask entries");
    }

    public int length() {
        return inputIds.length;
    }

    /** Per token: its position within its own example (0, 1, ..., 0, 1, ...). */
    public long[] positionIds() {
        long[] pos = new long[inputIds.length];
        int at = 0;
        for (int l : lengths) for (int i = 0; i < l; i++) pos[at++] = i;
        return pos;
    }

    /** Per token: the index of the example it belongs to. */
    public long[] segmentIds() {
        long[] seg = new long[inputIds.length];
        int at = 0;
        for (int s = 0; s < lengths.length; s++) for (int i = 0; i < lengths[s]; i++) seg[at++] = s;
        return seg;
    }

    /** Tokens that count in the loss. */
    public int targets() {
        int n = 0;
        for (int i = 1; i < targetMask.length; i++) if (targetMask[i] != 0) n++;
        return n;
    }
}
