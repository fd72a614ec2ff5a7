// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.util.Arrays;

/**
 * Length limits with TRL's semantics, applied in this order:
 * <ol>
 *   <li>the prompt is cut to {@code maxPromptLength} keeping its END (left truncation: the
 *       tokens nearest the completion stay, as in TRL's DPO/KTO {@code max_prompt_length});
 *   <li>each completion is cut to {@code maxCompletionLength} keeping its START;
 *   <li>the whole sequence is cut to {@code maxLength}: {@code keep_start} (TRL's default) drops
 *       the end, {@code keep_end} drops the start.
 * </ol>
 * For a prompt shared by two completions (a preference pair), step 3 is decided by the longer
 * completion: keep_start cuts each completion to {@code maxLength - prompt}; keep_end drops
 * prompt tokens from the start until the longer sequence fits, so both completions keep the same
 * prompt. A row that step 3 would leave without a completion (keep_start) or without a prompt
 * token (keep_end) is invalid: its error says which limit to change.
 *
 * @param maxLength the longest sequence (prompt + completion); {@link Integer#MAX_VALUE} = no limit
 * @param maxPromptLength null = no prompt limit
 * @param maxCompletionLength null = no completion limit
 * @param truncationMode {@code keep_start} or {@code keep_end}
 */
public record Truncation(int maxLength, Integer maxPromptLength, Integer maxCompletionLength, String truncationMode) {
    public Truncation {
        if (maxLength < 2) throw new IllegalArgumentException("max_length must be at least 2, got " + maxLength);
        if (maxPromptLength != null && maxPromptLength < 1)
            throw new IllegalArgumentException("max_prompt_length must be at least 1, got " + maxPromptLength);
        if (maxCompletionLength != null && maxCompletionLength < 1)
            throw new IllegalArgumentException("max_completion_length must be at least 1, got " + maxCompletionLength);
        if (truncationMode == null) truncationMode = "keep_start";
        if (!truncationMode.equals("keep_start") && !truncationMode.equals("keep_end"))
            throw new IllegalArgumentException(
                    "truncation_mode must be keep_start or keep_end, got '" + truncationMode + "'");
    }

    public static Truncation none() {
        return new Truncation(Integer.MAX_VALUE, null, null, "keep_start");
    }

    public static Truncation maxLength(int maxLength, String truncationMode) {
        return new Truncation(maxLength, null, null, truncationMode);
    }

    public boolean keepEnd() {
        return truncationMode.equals("keep_end");
    }

    /** Step 1: the last maxPromptLength tokens. */
    public long[] prompt(long[] prompt) {
        if (maxPromptLength == null || prompt.length <= maxPromptLength) return prompt;
        return Arrays.copyOfRange(prompt, prompt.length - maxPromptLength, prompt.length);
    }

    /** Step 2: the first maxCompletionLength tokens. */
    public long[] completion(long[] completion) {
        if (maxCompletionLength == null || completion.length <= maxCompletionLength) return completion;
        return Arrays.copyOf(completion, maxCompletionLength);
    }

    /** Step 3 on one sequence (SFT): its first or last maxLength tokens, the mask cut alike. */
    public Sequence sequence(Sequence s) {
        int n = s.length();
        if (n <= maxLength) return s;
        int from = keepEnd() ? n - maxLength : 0;
        return new Sequence(
                Arrays.copyOfRange(s.inputIds(), from, from + maxLength),
                Arrays.copyOfRange(s.targetMask(), from, from + maxLength));
    }

    /**
     * Steps 1 to 3 for a prompt shared by one or more completions.
     *
     * @return {prompt, completion 1, completion 2, ...}
     * @throws IllegalArgumentException when nothing of a completion, or of the prompt, would remain; the message says what to change
     */
    public long[][] promptAndCompletions(long[] prompt, long[]... completions) {
        long[] p = prompt(prompt);
        long[][] out = new long[completions.length + 1][];
        int longest = 0;
        for (int i = 0; i < completions.length; i++) {
            out[i + 1] = completion(completions[i]);
            longest = Math.max(longest, out[i + 1].length);
        }
        long over = (long) p.length + longest - maxLength; // long: maxLength may be Integer.MAX_VALUE
        if (over > 0 && !keepEnd()) {
            int room = maxLength - p.length;
            if (room < 1)
                throw new IllegalArgumentException("the prompt (" + p.length
                        + " tokens after max_prompt_length) leaves no room for the completion within max_length "
                        + maxLength + "; set max_prompt_length below max_length or raise max_length");
            for (int i = 1; i < out.length; i++) if (out[i].length > room) out[i] = Arrays.copyOf(out[i], room);
        } else if (over > 0) {
            if (over >= p.length)
                throw new IllegalArgumentException(
                        "the completion (" + longest + " tokens) does not fit max_length " + maxLength
                                + " with at least one prompt token (truncation_mode keep_end); set max_completion_length below max_length");
            p = Arrays.copyOfRange(p, (int) over, p.length);
        }
        out[0] = p;
        return out;
    }
}
