// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

/**
 * A reward function failed, returned NaN without declaring it, returned a non-finite value or the wrong number
 * of values. Names the function, the row (-1 when it could not be pinned to one) and the start of the completion,
 * so that a run stops instead of training on garbage rewards.
 */
public final class RewardException extends RuntimeException {
    /** How much of the completion the message quotes. */
    public static final int SNIPPET_CHARS = 200;

    private final String function;
    private final int row;

    public RewardException(String function, int row, String completion, String problem, Throwable cause) {
        super(message(function, row, completion, problem), cause);
        this.function = function;
        this.row = row;
    }

    /** The failing function's name. */
    public String function() {
        return function;
    }

    /** Index of the completion in the batch, or -1 when the failure is not tied to one row. */
    public int row() {
        return row;
    }

    private static String message(String function, int row, String completion, String problem) {
        StringBuilder s = new StringBuilder("reward function '")
                .append(function)
                .append("' ")
                .append(problem);
        if (row >= 0) {
            s.append(" on row ").append(row);
            if (completion != null)
                s.append(" (completion: \"").append(snippet(completion)).append("\")");
        }
        return s.toString();
    }

    static String snippet(String completion) {
        if (completion.length() <= SNIPPET_CHARS) return completion;
        int end = SNIPPET_CHARS;
        if (Character.isHighSurrogate(completion.charAt(end - 1))) end--; // do not split a surrogate pair
        return completion.substring(0, end) + "…";
    }
}
