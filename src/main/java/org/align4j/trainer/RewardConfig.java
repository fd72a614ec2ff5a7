// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.nio.file.Path;

/**
 * TRL's RewardConfig: the shared {@link TrainingArgs} plus the reward-model keys, with TRL's names
 * and defaults (learning_rate 1e-4, max_length 1024, center_rewards_coefficient None; see
 * docs/algorithms.md §10). TRL's {@code disable_dropout=True} needs no field: the transformer
 * has no dropout layers, and LoRA (the only dropout) is not used for reward models yet.
 *
 * @param centerRewardsCoefficient weight of mean((r_w + r_l)^2) in the loss; 0 = off (TRL's None)
 * @param maxLength the longest chosen or rejected sequence, in tokens; what happens to longer ones is {@code truncation}
 * @param evalSteps evaluate every N optimizer steps (and at the end) when an eval set is given;
 *     0 or less means logging_steps, transformers' default for eval_steps
 * @param perDeviceEvalBatchSize pairs scored together during evaluation
 * @param eceBins equal-width confidence bins of {@code eval_ece}
 * @param truncation {@link #DROP} (TRL: a pair with a sequence over max_length is left out) or {@link #LEFT} (APO's
 *     reward model: each such sequence keeps its last max_length tokens, the end of the dialogue and the response;
 *     Linear95/APO reward_datasets.py:117-121 with the README's {@code --truncation_side left})
 * @param scpo SCPO's pair filter and weights from a frozen global reward model, or null for plain Bradley-Terry
 */
public record RewardConfig(
        TrainingArgs args,
        double centerRewardsCoefficient,
        int maxLength,
        int evalSteps,
        int perDeviceEvalBatchSize,
        int eceBins,
        String truncation,
        ScpoConfig scpo) {
    public static final double DEFAULT_LEARNING_RATE = 1e-4;
    /** The two ways to fit a pair to max_length: TRL's (leave the pair out) and APO's (keep the last tokens). */
    public static final String DROP = "drop", LEFT = "left";

    public RewardConfig {
        if (centerRewardsCoefficient < 0 || !Double.isFinite(centerRewardsCoefficient))
            throw new IllegalArgumentException(
                    "center_rewards_coefficient must be a finite number >= 0, got " + centerRewardsCoefficient);
        if (maxLength < 2) throw new IllegalArgumentException("max_length must be >= 2, got " + maxLength);
        if (perDeviceEvalBatchSize < 1)
            throw new IllegalArgumentException(
                    "per_device_eval_batch_size must be >= 1, got " + perDeviceEvalBatchSize);
        if (eceBins < 1) throw new IllegalArgumentException("ece bins must be >= 1, got " + eceBins);
        if (!DROP.equals(truncation) && !LEFT.equals(truncation))
            throw new IllegalArgumentException("reward-model truncation must be \"" + DROP
                    + "\" (leave out pairs over max_length, as TRL) or \"" + LEFT
                    + "\" (keep their last max_length tokens, as APO), got " + truncation);
    }

    /** TRL's defaults around {@code args} (whose learning rate is kept as given). */
    public static RewardConfig of(TrainingArgs args) {
        return new RewardConfig(args, 0.0, 1024, 0, 8, org.align4j.loss.Calibration.DEFAULT_BINS, DROP, null);
    }

    /** TrainingArguments defaults with RewardConfig's learning rate, writing to {@code outputDir}. */
    public static RewardConfig defaults(Path outputDir) {
        TrainingArgs a = TrainingArgs.defaults(outputDir);
        return of(a.withSteps(
                a.maxSteps(), a.perDeviceTrainBatchSize(), a.gradientAccumulationSteps(), DEFAULT_LEARNING_RATE));
    }

    public RewardConfig withArgs(TrainingArgs a) {
        return new RewardConfig(
                a, centerRewardsCoefficient, maxLength, evalSteps, perDeviceEvalBatchSize, eceBins, truncation, scpo);
    }

    public RewardConfig withCenterRewards(double coefficient) {
        return new RewardConfig(
                args, coefficient, maxLength, evalSteps, perDeviceEvalBatchSize, eceBins, truncation, scpo);
    }

    public RewardConfig withEval(int evalSteps, int perDeviceEvalBatchSize) {
        return new RewardConfig(
                args,
                centerRewardsCoefficient,
                maxLength,
                evalSteps,
                perDeviceEvalBatchSize,
                eceBins,
                truncation,
                scpo);
    }

    public RewardConfig withMaxLength(int maxLength) {
        return new RewardConfig(
                args,
                centerRewardsCoefficient,
                maxLength,
                evalSteps,
                perDeviceEvalBatchSize,
                eceBins,
                truncation,
                scpo);
    }

    /** {@link #DROP} or {@link #LEFT}. */
    public RewardConfig withTruncation(String truncation) {
        return new RewardConfig(
                args,
                centerRewardsCoefficient,
                maxLength,
                evalSteps,
                perDeviceEvalBatchSize,
                eceBins,
                truncation,
                scpo);
    }

    /** The same settings with SCPO's filter and weights ({@code null}: off). */
    public RewardConfig withScpo(ScpoConfig scpo) {
        return new RewardConfig(
                args,
                centerRewardsCoefficient,
                maxLength,
                evalSteps,
                perDeviceEvalBatchSize,
                eceBins,
                truncation,
                scpo);
    }

    /** The evaluation interval in optimizer steps. */
    public int evalInterval() {
        return evalSteps > 0 ? evalSteps : args.loggingSteps();
    }
}
