// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Hears a training run as it goes, as transformers' {@code TrainerCallback} does: the start, every optimizer step,
 * every row written to {@code metrics.jsonl} (training and evaluation rows), and the end. Every method has an empty
 * default, so a listener implements only what it needs; {@link #logs} makes one from a lambda.
 *
 * <p>Listeners are bound to the runs a piece of code starts with {@link TrainingListeners#call}; the {@code
 * org.align4j.api} builders do that for the listeners they are given. The console progress ({@link ConsoleProgress})
 * is one listener among others. A listener runs on the training thread, between steps: what it does delays training,
 * and what it throws stops the run.
 */
public interface TrainingListener {

    /**
     * What a run is, told at its start.
     *
     * @param command the method ({@code sft}, {@code dpo}, {@code grpo}, ...)
     * @param startStep the steps already done: 0, or the checkpoint's step on resume
     * @param totalSteps the optimizer steps the run ends at
     * @param startNumTokens the tokens fed to the model before this start (a resumed run's num_tokens)
     * @param outputDir where the run writes
     * @param evalSet the evaluation set as a person would name it ({@code "the test split of hh-rlhf"}), or null when
     *     the run does not say
     */
    record RunInfo(
            String command, int startStep, int totalSteps, long startNumTokens, Path outputDir, String evalSet) {}

    /** Before the first step of the run (after a resume, before the first new step). */
    default void onTrainBegin(RunInfo run) {}

    /** After optimizer step {@code step} (1-based) of {@code totalSteps} has updated the weights. */
    default void onStep(int step, int totalSteps) {}

    /**
     * A training row as written to metrics.jsonl: {@code step}, {@code epoch}, {@code loss}, {@code learning_rate},
     * {@code grad_norm}, the method's metrics under TRL's names, {@code num_tokens}. The map is read-only.
     */
    default void onLog(Map<String, Object> row) {}

    /** An evaluation row as written to metrics.jsonl: {@code step}, {@code epoch} and {@code eval_*} metrics (read-only). */
    default void onEval(Map<String, Object> row) {}

    /**
     * With log_completions ({@link LogCompletions}), after the training row of a logging step: {@code shown}, up to
     * num_completions_to_print of the {@code total} completions of the step's last generation batch, each the row
     * written to completions.jsonl ({@code step}, {@code prompt}, {@code completion}, the rewards, ...; read-only).
     */
    default void onCompletions(int step, int total, java.util.List<Map<String, Object>> shown) {}

    /** After the last step, or when the run stops with an error; always called once per {@link #onTrainBegin}. */
    default void onTrainEnd() {}

    /** A listener that hands every training row to {@code rows} (and ignores the rest). */
    static TrainingListener logs(Consumer<Map<String, Object>> rows) {
        return new TrainingListener() {
            @Override
            public void onLog(Map<String, Object> row) {
                rows.accept(row);
            }
        };
    }
}
