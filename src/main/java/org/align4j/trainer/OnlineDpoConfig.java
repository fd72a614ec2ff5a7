// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;
import org.align4j.generate.SamplingParams;
import org.align4j.loss.OnlineDpoLoss;

/**
 * Settings of {@link OnlineDpoTrainer}: TRL's experimental OnlineDPOConfig (huggingface/trl
 * {@code trl/experimental/online_dpo/online_dpo_config.py} at f2cd577, version 1.10.0.dev0): learning_rate 5e-7
 * (:167-170), max_new_tokens 64 (:180-183), temperature 0.9 (:192-195), top_p 1.0, top_k 0 (:196-207), beta 0.1
 * (:246-254), loss_type sigmoid or ipo (:255-261); 2 completions per prompt (online_dpo_trainer.py:358).
 *
 * @param lossType {@link OnlineDpoLoss#LOSS_TYPES}
 * @param pairing {@link #FIRST_VS_SECOND} (TRL: two samples, the first is chosen when its reward is &gt;= the
 *     second's, so ties are kept) or {@link #BEST_VS_WORST} (align4j: the best against the worst of
 *     num_generations samples, prompts whose rewards all tie dropped)
 * @param numGenerations completions per prompt: 2 for first_vs_second, &gt;= 2 for best_vs_worst
 * @param sampling temperature, top_k, top_p, max_new_tokens; its seed is replaced per micro-batch
 * @param missingEosPenalty subtracted from the reward of completions without a stop token; null = off
 * @param logCompletions log_completions and num_completions_to_print as GRPO's and RLOO's (TRL's OnlineDPOConfig has
 *     neither): each row is a sampled completion with its pair and whether it was chosen
 */
public record OnlineDpoConfig(
        TrainingArgs args,
        double beta,
        String lossType,
        String pairing,
        int numGenerations,
        SamplingParams sampling,
        Double missingEosPenalty,
        LogCompletions logCompletions) {
    /** OnlineDPOConfig's learning_rate (online_dpo_config.py:167-170), overriding transformers' 5e-5. */
    public static final double LEARNING_RATE = 5e-7;

    public static final String FIRST_VS_SECOND = "first_vs_second", BEST_VS_WORST = "best_vs_worst";
    public static final List<String> PAIRINGS = List.of(FIRST_VS_SECOND, BEST_VS_WORST);

    public OnlineDpoConfig {
        if (!(beta > 0 && Double.isFinite(beta)))
            throw new IllegalArgumentException("beta must be a finite number > 0, got " + beta);
        if (!OnlineDpoLoss.LOSS_TYPES.contains(lossType))
            throw new IllegalArgumentException("loss_type '" + lossType + "' is not an online DPO loss; valid: "
                    + String.join(", ", OnlineDpoLoss.LOSS_TYPES) + " (as TRL's OnlineDPOConfig)");
        if (!PAIRINGS.contains(pairing))
            throw new IllegalArgumentException(
                    "pairing '" + pairing + "' is unknown; valid: " + String.join(", ", PAIRINGS));
        if (pairing.equals(FIRST_VS_SECOND) && numGenerations != 2)
            throw new IllegalArgumentException("pairing first_vs_second (TRL's) pairs exactly 2 completions per "
                    + "prompt: num_generations must be 2, got " + numGenerations
                    + " (pairing best_vs_worst takes any num_generations >= 2)");
        if (numGenerations < 2)
            throw new IllegalArgumentException(
                    "online DPO pairs completions: num_generations must be >= 2, got " + numGenerations);
        if (missingEosPenalty != null && !(missingEosPenalty >= 0 && Double.isFinite(missingEosPenalty)))
            throw new IllegalArgumentException(
                    "missing_eos_penalty must be a finite number >= 0, got " + missingEosPenalty);
        if (logCompletions == null) logCompletions = LogCompletions.OFF;
    }

    /** TRL's OnlineDPOConfig defaults with {@code args}: sigmoid, beta 0.1, 2 samples at temperature 0.9, 64 new tokens. */
    public static Builder builder(TrainingArgs args) {
        return new Builder(args);
    }

    public Builder toBuilder() {
        return new Builder(args)
                .beta(beta)
                .lossType(lossType)
                .pairing(pairing)
                .numGenerations(numGenerations)
                .sampling(sampling)
                .missingEosPenalty(missingEosPenalty)
                .logCompletions(logCompletions);
    }

    /** Builds {@link OnlineDpoConfig} by name; unset keys keep TRL's defaults. */
    public static final class Builder {
        private TrainingArgs args;
        private double beta = 0.1;
        private String lossType = "sigmoid", pairing = FIRST_VS_SECOND;
        private int numGenerations = 2;
        private SamplingParams sampling = new SamplingParams(0.9, 0, 1.0, 64, 0);
        private Double missingEosPenalty;
        private LogCompletions logCompletions = LogCompletions.OFF;

        private Builder(TrainingArgs args) {
            this.args = args;
        }

        public Builder args(TrainingArgs v) {
            args = v;
            return this;
        }

        public Builder beta(double v) {
            beta = v;
            return this;
        }

        public Builder lossType(String v) {
            lossType = v;
            return this;
        }

        public Builder pairing(String v) {
            pairing = v;
            return this;
        }

        public Builder numGenerations(int v) {
            numGenerations = v;
            return this;
        }

        public Builder sampling(SamplingParams v) {
            sampling = v;
            return this;
        }

        public Builder missingEosPenalty(Double v) {
            missingEosPenalty = v;
            return this;
        }

        public Builder logCompletions(LogCompletions v) {
            logCompletions = v;
            return this;
        }

        public OnlineDpoConfig build() {
            return new OnlineDpoConfig(
                    args, beta, lossType, pairing, numGenerations, sampling, missingEosPenalty, logCompletions);
        }
    }
}
