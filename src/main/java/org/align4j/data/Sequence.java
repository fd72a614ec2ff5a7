// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.util.Arrays;

/**
 * One training sequence for SFT: token ids and, per position, whether that token is a target
 * (1, its log-prob enters the loss) or context (0). Position 0 is never a target: nothing
 * predicts the first token.
 */
public record Sequence(long[] inputIds, float[] targetMask) {
    public Sequence {
        if (inputIds.length != targetMask.length)
            throw new IllegalArgumentException(
                    "ids and mask lengths differ (" + inputIds.length + " vs " + targetMask.length + ")");
        if (inputIds.length < 2) throw new IllegalArgumentException("a training sequence needs at least 2 tokens");
    }

    /** prompt ids (context) followed by completion ids (targets; EOS already appended by the caller). */
    public static Sequence promptCompletion(long[] prompt, long[] completion) {
        long[] ids = Arrays.copyOf(prompt, prompt.length + completion.length);
        System.arraycopy(completion, 0, ids, prompt.length, completion.length);
        float[] mask = new float[ids.length];
        Arrays.fill(mask, prompt.length, ids.length, 1f);
        return new Sequence(ids, mask);
    }

    /** Every token after the first is a target (language modeling). */
    public static Sequence allTargets(long[] ids) {
        float[] mask = new float[ids.length];
        Arrays.fill(mask, 1f);
        return new Sequence(ids, mask);
    }

    public int length() {
        return inputIds.length;
    }

    /** Tokens that count in the loss: non-zero mask at positions 1.. (position 0 has no prediction). */
    public int targets() {
        int n = 0;
        for (int i = 1; i < targetMask.length; i++) if (targetMask[i] != 0) n++;
        return n;
    }
}
