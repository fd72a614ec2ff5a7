// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A GRPO reward function, batched like TRL's custom reward functions ({@code reward_func(prompts, completions,
 * **kwargs)} in {@code trl/trainer/grpo_trainer.py}): one score per completion. {@code rows} are the dataset rows the
 * prompts came from (TRL passes the extra columns as keyword arguments), e.g. GSM8K's {@code answer}. The three lists
 * have the same length and are aligned; a prompt's row appears once per generated completion.
 *
 * <p>NaN means "no reward for this completion" (TRL's {@code None}, which TRL leaves out of the weighted sum) only for
 * a function whose {@link #mayReturnNaN()} is true. For any other function {@link WeightedRewards} treats a NaN, an
 * infinite value or an exception as an error ({@link RewardException}).
 */
public interface RewardFunction {

    /** The name in the metrics ({@code rewards/<name>/mean}); unique within one {@link WeightedRewards}. */
    String name();

    /** One reward per completion, {@code completions.size()} values. */
    double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows);

    /**
     * The trainer's optimizer step, told before each generation batch is scored; functions with a
     * schedule (the AAPA anchor's coefficient) read it, the rest ignore it.
     */
    default void setStep(long step) {}

    /** Extra metrics of the function's own (e.g. the AAPA anchor's coefficient), read after a batch is scored; logged as they are named. */
    default java.util.Map<String, Double> metrics() {
        return java.util.Map.of();
    }

    /** True when this function returns NaN for completions it does not apply to (multi-task data). */
    default boolean mayReturnNaN() {
        return false;
    }

    /** One completion's reward from its prompt, its text and its dataset row (null when the caller passes no rows). */
    @FunctionalInterface
    interface PerCompletion {
        double score(String prompt, String completion, JsonNode row);
    }

    /** A function named {@code name} that scores each completion on its own with {@code f}. */
    static RewardFunction perCompletion(String name, PerCompletion f) {
        return new RewardFunction() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
                double[] r = new double[completions.size()];
                for (int i = 0; i < r.length; i++)
                    r[i] = f.score(prompts.get(i), completions.get(i), rows == null ? null : rows.get(i));
                return r;
            }
        };
    }
}
