// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

/**
 * TRL's {@code log_completions} and {@code num_completions_to_print} (GRPOConfig, RLOOConfig; align4j's online DPO
 * takes them too): at every logging step, the completions of the step's last generation batch are appended to
 * {@code output_dir/completions.jsonl} (one JSON object per completion: {@code step}, {@code prompt}, {@code
 * completion}, each reward function's value under its name, the total {@code reward}, the {@code advantage}; online
 * DPO: the pair and which side was chosen instead of an advantage), and up to {@code numCompletionsToPrint} of them
 * are shown as a table with the progress lines ({@link TrainingListener#onCompletions}). Where TRL writes a parquet file
 * per logging step under {@code output_dir/completions/} and shows a rich table, align4j appends to one JSON-lines file
 * and prints a plain table.
 *
 * @param enabled log_completions (TRL's default: false)
 * @param numCompletionsToPrint how many to show, a sample drawn per step; null (TRL's default) shows all, 0 none
 */
public record LogCompletions(boolean enabled, Integer numCompletionsToPrint) {
    /** TRL's defaults: nothing logged. */
    public static final LogCompletions OFF = new LogCompletions(false, null);

    public LogCompletions {
        if (numCompletionsToPrint != null && numCompletionsToPrint < 0)
            throw new IllegalArgumentException(
                    "num_completions_to_print must be >= 0 (unset: all), got " + numCompletionsToPrint);
    }

    /** log_completions on, showing {@code numCompletionsToPrint} (null: all). */
    public static LogCompletions on(Integer numCompletionsToPrint) {
        return new LogCompletions(true, numCompletionsToPrint);
    }
}
