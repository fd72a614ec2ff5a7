// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;
import org.align4j.data.Sequence;
import org.align4j.loss.GrpoLoss;

/**
 * Settings of {@link GrpoTrainer}: TRL's GRPOConfig (docs/algorithms.md §5.8; learning_rate 1e-6,
 * num_generations 8, max_completion_length 512, temperature 1.0, top_p 1.0, scale_rewards group,
 * num_iterations 1, loss in {@link GrpoLoss.Config}) and two things TRL does not have: DAPO's
 * dynamic sampling and CHORD's expert term.
 *
 * <p>One optimizer step trains on per_device_train_batch_size x gradient_accumulation_steps
 * completions, that is (that number / num_generations) prompts with num_generations samples each
 * (TRL's generation batch with steps_per_generation = gradient_accumulation_steps). A generation
 * batch serves num_iterations optimizer steps, the first of which defines pi_old.
 *
 * @param leaveOneOutBaseline leave-one-out baseline (mean of the other G-1 rewards) instead of the group mean, still
 *     GRPO's loss and scaling (TRL's RLOOTrainer, with its own loss and k1 KL reward, is {@link RlooTrainer})
 * @param dynamicSampling DAPO (Yu et al., arXiv 2503.14476): drop groups whose rewards all agree and
 *     sample more prompts until the batch is full, at most {@code maxSamplingRounds} generation rounds
 * @param chord CHORD's expert SFT term, or null
 * @param logCompletions TRL's log_completions and num_completions_to_print (off by default)
 */
public record GrpoConfig(
        TrainingArgs args,
        GrpoLoss.Config loss,
        int numGenerations,
        double temperature,
        double topP,
        int topK,
        String scaleRewards,
        boolean leaveOneOutBaseline,
        int numIterations,
        boolean maskTruncatedCompletions,
        boolean dynamicSampling,
        int maxSamplingRounds,
        Chord chord,
        LogCompletions logCompletions) {

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
        if (!(temperature > 0 && Double.isFinite(temperature)))
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0 (0: off), got " + topK);
        if (logCompletions == null) logCompletions = LogCompletions.OFF;
    }

    /** Tokens sampled at most per completion (the loss config holds it: dr_grpo normalises by it). */
    public int maxCompletionLength() {
        return loss.maxCompletionLength();
    }

    /** Prompts per optimizer step. */
    public int promptsPerStep() {
        return args.perDeviceTrainBatchSize() * args.gradientAccumulationSteps() / numGenerations;
    }

    /** TRL's GRPOConfig defaults with {@code args} and {@code loss}: 8 generations at temperature 1.0, top_p 1.0, scale_rewards group. */
    public static Builder builder(TrainingArgs args, GrpoLoss.Config loss) {
        return new Builder(args, loss);
    }

    public Builder toBuilder() {
        return new Builder(args, loss)
                .numGenerations(numGenerations)
                .temperature(temperature)
                .topP(topP)
                .topK(topK)
                .scaleRewards(scaleRewards)
                .leaveOneOutBaseline(leaveOneOutBaseline)
                .numIterations(numIterations)
                .maskTruncatedCompletions(maskTruncatedCompletions)
                .dynamicSampling(dynamicSampling)
                .maxSamplingRounds(maxSamplingRounds)
                .chord(chord)
                .logCompletions(logCompletions);
    }

    /** Builds {@link GrpoConfig} by name; unset keys keep TRL's defaults. */
    public static final class Builder {
        private TrainingArgs args;
        private GrpoLoss.Config loss;
        private int numGenerations = 8, topK, numIterations = 1, maxSamplingRounds = 4;
        private double temperature = 1.0, topP = 1.0;
        private String scaleRewards = "group";
        private boolean leaveOneOutBaseline, maskTruncatedCompletions, dynamicSampling;
        private Chord chord;
        private LogCompletions logCompletions = LogCompletions.OFF;

        private Builder(TrainingArgs args, GrpoLoss.Config loss) {
            this.args = args;
            this.loss = loss;
        }

        public Builder args(TrainingArgs v) {
            args = v;
            return this;
        }

        public Builder loss(GrpoLoss.Config v) {
            loss = v;
            return this;
        }

        public Builder numGenerations(int v) {
            numGenerations = v;
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

        public Builder scaleRewards(String v) {
            scaleRewards = v;
            return this;
        }

        public Builder leaveOneOutBaseline(boolean v) {
            leaveOneOutBaseline = v;
            return this;
        }

        public Builder numIterations(int v) {
            numIterations = v;
            return this;
        }

        public Builder maskTruncatedCompletions(boolean v) {
            maskTruncatedCompletions = v;
            return this;
        }

        public Builder dynamicSampling(boolean v) {
            dynamicSampling = v;
            return this;
        }

        public Builder maxSamplingRounds(int v) {
            maxSamplingRounds = v;
            return this;
        }

        public Builder chord(Chord v) {
            chord = v;
            return this;
        }

        public Builder logCompletions(LogCompletions v) {
            logCompletions = v;
            return this;
        }

        public GrpoConfig build() {
            return new GrpoConfig(
                    args,
                    loss,
                    numGenerations,
                    temperature,
                    topP,
                    topK,
                    scaleRewards,
                    leaveOneOutBaseline,
                    numIterations,
                    maskTruncatedCompletions,
                    dynamicSampling,
                    maxSamplingRounds,
                    chord,
                    logCompletions);
        }
    }

    /**
     * CHORD (docs/algorithms.md §4): loss = (1 - mu) GRPO + mu SFT(expert), mu on its schedule; phi = p(1-p)
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
