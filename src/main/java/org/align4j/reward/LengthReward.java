// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A length penalty on the completion text:
 * <pre>
 *   r = −penaltyPerChar · max(0, L − targetChars),   L = number of Unicode code points of the completion
 * </pre>
 * 0 up to the target, then linear in the excess (e.g. target 400, penalty 0.001: a 900-character completion gets −0.5).
 * It counts characters, not tokens: reward functions see decoded text, as in TRL.
 */
public final class LengthReward implements RewardFunction {
    private final String name;
    private final int targetChars;
    private final double penaltyPerChar;

    public LengthReward(String name, int targetChars, double penaltyPerChar) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("reward function name is empty");
        if (targetChars < 0)
            throw new IllegalArgumentException(
                    "length reward '" + name + "': target length must be >= 0 characters, got " + targetChars);
        if (!(penaltyPerChar >= 0) || Double.isInfinite(penaltyPerChar))
            throw new IllegalArgumentException("length reward '" + name
                    + "': penalty per character must be a finite number >= 0, got " + penaltyPerChar);
        this.name = name;
        this.targetChars = targetChars;
        this.penaltyPerChar = penaltyPerChar;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        double[] out = new double[completions.size()];
        for (int i = 0; i < out.length; i++) {
            String c = completions.get(i);
            int excess = c.codePointCount(0, c.length()) - targetChars;
            out[i] = excess > 0 ? -penaltyPerChar * excess : 0.0;
        }
        return out;
    }
}
