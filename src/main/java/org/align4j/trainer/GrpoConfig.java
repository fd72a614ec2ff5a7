// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;
import org.align4j.data.Sequence;
import org.align4j.loss.GrpoLoss;

/**
 * Settings of {@link GrpoTrainer}: TRL's GRPOConfig (algorithms.md 4.4; learning_rate 1e-6,
 * num_generations 8, max_completion_length 512, temperature 1.0, top_p 1.0, scale_rewards group,
 * num_iterations 1, loss in {@link GrpoLoss.Config}) and two things TRL does not have: DAPO's
 * dynamic sampling and CHORD's expert term.
 *
 * <p>One optimizer step trains on per_device_train_batch_size x gradient_accumulation_steps
 * completions, that is (that number / num_generations) prompts with num_generations samples each
 * (TRL's generation batch with steps_per_generation = gradient_accumulation_steps). A generation
 * batch serves num_iterations optimizer steps, the first of which defines pi_old.
 *
 * @param leaveOneOut RLOO baseline (mean of the other G-1 rewards) instead of the group mean
 * @param dynamicSampling DAPO (Yu et al., arXiv 2503.14476): drop groups whose rewards all agree and
 *     sample more prompts until the batch is full, at most {@code maxSamplingRounds} generation rounds
 * @param chord CHORD's expert SFT term, or null
 */
public record GrpoConfig(
        TrainingArgs args,
        GrpoLoss.Config loss,
        int numGenerations,
        double temperature,
        double topP,
        int topK,
        int maxCompletionLength,
        String scaleRewards,
        boolean leaveOneOut,
        int numIterations,
        boolean maskTruncatedCompletions,
        boolean dynamicSampling,
        int maxSamplingRounds,
        Chord chord) {

    public GrpoConfig {
        if (numGenerations < 2)
            throw new IllegalArgumentException(
                    "num_generations must be >= 2 (advantages compare samples of the same prompt), got "
                            + numGenerations);
        int perStep = args.perDeviceTrainBatchSize() * args.gradientAccumulationSteps();
        if (perStep % numGenerations != 0)
            throw new IllegalArgumentException("per_device_train_batch_size x gradient_accumulation_steps = " + perStep
                    + " completions per step must be divisible by num_generations " + numGenerations
                    + " (each prompt's samples form one group)");
        if (numIterations < 1) throw new IllegalArgumentException("num_iterations must be >= 1, got " + numIterations);
        if (maxSamplingRounds < 1)
            throw new IllegalArgumentException("max_sampling_rounds must be >= 1, got " + maxSamplingRounds);
        if (!GrpoLoss.SCALE_REWARDS.contains(scaleRewards))
            throw new IllegalArgumentException(
                    "scale_rewards '" + scaleRewards + "' is unknown; valid: " + GrpoLoss.SCALE_REWARDS);
        if (maxCompletionLength != loss.maxCompletionLength())
            throw new IllegalArgumentException("bug: max_completion_length " + maxCompletionLength
                    + " differs from the loss config's " + loss.maxCompletionLength());
    }

    /** Prompts per optimizer step. */
    public int promptsPerStep() {
        return args.perDeviceTrainBatchSize() * args.gradientAccumulationSteps() / numGenerations;
    }

    /**
     * CHORD (algorithms.md 3): loss = (1 - mu) GRPO + mu SFT(expert), mu on its schedule; phi = p(1-p)
     * token weights (detached) when {@code usePhi}; {@code expertPerStep} expert sequences per
     * optimizer step (Trinity's expert_data_ratio times the batch).
     */
    public record Chord(
            List<Sequence> expert,
            int expertPerStep,
            int muWarmupSteps,
            int muDecaySteps,
            double muPeak,
            double muValley,
            boolean usePhi,
            double cutoffProb) {
        public Chord {
            if (expert.isEmpty()) throw new IllegalArgumentException("CHORD needs expert data (chord_dataset_name)");
            if (expertPerStep < 1)
                throw new IllegalArgumentException("CHORD's expert rows per step must be >= 1, got " + expertPerStep);
        }
    }
}
