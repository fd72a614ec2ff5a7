// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.generate.SamplingParams;

/**
 * Settings of {@link RlooTrainer}: TRL's RLOOConfig (huggingface/trl {@code trl/trainer/rloo_config.py} at f2cd577):
 * learning_rate 1e-6 (:250-253), num_generations 2 (:297-298), max_completion_length 512 (:311-312), temperature 1.0,
 * top_p 1.0, top_k 0 (:345-357), beta 0.05 (:494-495), num_iterations 1, epsilon 0.2, epsilon_high = epsilon
 * (:501-515), normalize_advantages false, reward_clip_range none, mask_truncated_completions false (:523-540).
 *
 * <p>One optimizer step trains on per_device_train_batch_size x gradient_accumulation_steps completions, (that number /
 * num_generations) prompts with num_generations samples each: TRL's generation batch with its default
 * steps_per_generation = gradient_accumulation_steps (:645-647). A generation batch serves num_iterations steps.
 *
 * @param beta weight of the k1 KL penalty subtracted from each completion's reward (0: no reference model)
 * @param epsilonHigh upper clip range of the sequence ratio; null = epsilon
 * @param rewardClipRange {min, max} the reward totals are clamped to before the KL penalty, or null
 * @param logCompletions TRL's log_completions and num_completions_to_print (off by default)
 */
public record RlooConfig(
        TrainingArgs args,
        double beta,
        double epsilon,
        Double epsilonHigh,
        int numGenerations,
        int maxCompletionLength,
        double temperature,
        double topP,
        int topK,
        int numIterations,
        boolean normalizeAdvantages,
        double[] rewardClipRange,
        boolean maskTruncatedCompletions,
        LogCompletions logCompletions) {
    /** RLOOConfig's learning_rate (rloo_config.py:250-253), overriding transformers' 5e-5. */
    public static final double LEARNING_RATE = 1e-6;

    public RlooConfig {
        if (numGenerations < 2)
            throw new IllegalArgumentException("RLOO requires at least 2 generations per prompt (num_generations) to "
                    + "compute its leave-one-out baseline, got " + numGenerations);
        int perStep = args.perDeviceTrainBatchSize() * args.gradientAccumulationSteps();
        if (perStep % numGenerations != 0)
            throw new IllegalArgumentException("per_device_train_batch_size x gradient_accumulation_steps = " + perStep
                    + " completions per step must be divisible by num_generations " + numGenerations
                    + " (each prompt's samples form one group)");
        if (!(beta >= 0 && Double.isFinite(beta)))
            throw new IllegalArgumentException("beta must be a finite number >= 0 (0: no KL penalty), got " + beta);
        if (!(epsilon >= 0 && epsilon < 1))
            throw new IllegalArgumentException("epsilon must be in [0, 1), got " + epsilon);
        if (epsilonHigh != null && !(epsilonHigh >= 0 && Double.isFinite(epsilonHigh)))
            throw new IllegalArgumentException("epsilon_high must be a finite number >= 0, got " + epsilonHigh);
        if (maxCompletionLength < 1)
            throw new IllegalArgumentException("max_completion_length must be >= 1, got " + maxCompletionLength);
        if (!(temperature > 0 && Double.isFinite(temperature)))
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0 (0: off), got " + topK);
        if (numIterations < 1) throw new IllegalArgumentException("num_iterations must be >= 1, got " + numIterations);
        if (rewardClipRange != null) {
            if (rewardClipRange.length != 2
                    || !Double.isFinite(rewardClipRange[0])
                    || !Double.isFinite(rewardClipRange[1])
                    || rewardClipRange[0] > rewardClipRange[1])
                throw new IllegalArgumentException(
                        "reward_clip_range must be two finite numbers min,max with min <= max, got "
                                + java.util.Arrays.toString(rewardClipRange));
            rewardClipRange = rewardClipRange.clone();
        }
        if (logCompletions == null) logCompletions = LogCompletions.OFF;
    }

    /** epsilon_high, or epsilon when unset (rloo_trainer.py:558-559). */
    public double epsilonHighOrDefault() {
        return epsilonHigh != null ? epsilonHigh : epsilon;
    }

    /** Prompts per optimizer step. */
    public int promptsPerStep() {
        return args.perDeviceTrainBatchSize() * args.gradientAccumulationSteps() / numGenerations;
    }

    /** The training sampling settings with {@code seed}. */
    public SamplingParams sampling(long seed) {
        return new SamplingParams(temperature, topK, topP, maxCompletionLength, seed);
    }

    /** TRL's RLOOConfig defaults with {@code args}. */
    public static Builder builder(TrainingArgs args) {
        return new Builder(args);
    }

    public Builder toBuilder() {
        return new Builder(args)
                .beta(beta)
                .epsilon(epsilon)
                .epsilonHigh(epsilonHigh)
                .numGenerations(numGenerations)
                .maxCompletionLength(maxCompletionLength)
                .temperature(temperature)
                .topP(topP)
                .topK(topK)
                .numIterations(numIterations)
                .normalizeAdvantages(normalizeAdvantages)
                .rewardClipRange(rewardClipRange)
                .maskTruncatedCompletions(maskTruncatedCompletions)
                .logCompletions(logCompletions);
    }

    /** Builds {@link RlooConfig} by name; unset keys keep TRL's defaults. */
    public static final class Builder {
        private TrainingArgs args;
        private double beta = 0.05, epsilon = 0.2, temperature = 1.0, topP = 1.0;
        private Double epsilonHigh;
        private int numGenerations = 2, maxCompletionLength = 512, topK, numIterations = 1;
        private boolean normalizeAdvantages, maskTruncatedCompletions;
        private double[] rewardClipRange;
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

        public Builder epsilon(double v) {
            epsilon = v;
            return this;
        }

        public Builder epsilonHigh(Double v) {
            epsilonHigh = v;
            return this;
        }

        public Builder numGenerations(int v) {
            numGenerations = v;
            return this;
        }

        public Builder maxCompletionLength(int v) {
            maxCompletionLength = v;
            return this;
        }

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder numIterations(int v) {
            numIterations = v;
            return this;
        }

        public Builder normalizeAdvantages(boolean v) {
            normalizeAdvantages = v;
            return this;
        }

        public Builder rewardClipRange(double[] v) {
            rewardClipRange = v;
            return this;
        }

        public Builder maskTruncatedCompletions(boolean v) {
            maskTruncatedCompletions = v;
            return this;
        }

        public Builder logCompletions(LogCompletions v) {
            logCompletions = v;
            return this;
        }

        public RlooConfig build() {
            return new RlooConfig(
                    args,
                    beta,
                    epsilon,
                    epsilonHigh,
                    numGenerations,
                    maxCompletionLength,
                    temperature,
                    topP,
                    topK,
                    numIterations,
                    normalizeAdvantages,
                    rewardClipRange,
                    maskTruncatedCompletions,
                    logCompletions);
        }
    }
}
