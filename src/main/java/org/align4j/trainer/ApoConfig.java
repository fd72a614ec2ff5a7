// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;
import org.align4j.generate.SamplingParams;
import org.align4j.loss.ApoLoss;
import org.align4j.loss.DpoLoss;
import org.align4j.loss.GrpoLoss;
import org.align4j.reward.RewardFunction;

/**
 * Settings of {@link ApoLoop} (APO, Cheng et al., arXiv 2311.08045): the rounds, the reward-model step ({@code rm},
 * {@code apoLoss}, the sampling of D_APO) and the alignment step ({@code align}, its method, learning rates and
 * sampling). Built by name: {@code ApoConfig.builder(rm, align).rounds(3)...build()}.
 *
 * @param apo true: the APO reward-model step each round; false: the baseline with the base reward model
 * @param rmFromBase each round's APO reward model starts from the base LM (the paper's default) or continues from the previous round's
 * @param alignMethod rjs, dpo or grpo
 * @param alignLearningRates the policy's learning rate per round (the last one repeats)
 * @param extraReward added to the reward model's score with weight 1 during alignment (the AAPA anchor), or null
 * @param alignReward aligns against this function instead of the round's reward model (e.g. a hidden gold reward, for
 *        an upper bound on what alignment can reach), or null for the reward model; the rounds' reward models are still trained and measured
 */
public record ApoConfig(
        int rounds,
        boolean apo,
        boolean rmFromBase,
        ApoLoss.Config apoLoss,
        SamplingParams apoSampling,
        RewardConfig rm,
        String alignMethod,
        TrainingArgs align,
        List<Double> alignLearningRates,
        int alignGenerations,
        SamplingParams alignSampling,
        DpoLoss.Config dpoLoss,
        GrpoLoss.Config grpoLoss,
        RewardFunction extraReward,
        RewardFunction alignReward) {
    public ApoConfig {
        if (rounds < 1) throw new IllegalArgumentException("apo_rounds must be >= 1, got " + rounds);
        if (!List.of("rjs", "dpo", "grpo").contains(alignMethod))
            throw new IllegalArgumentException("align_method '" + alignMethod + "' is unknown; use rjs, dpo or grpo");
        if (alignLearningRates.isEmpty())
            throw new IllegalArgumentException("give at least one alignment learning rate");
    }

    /**
     * The paper's settings around {@code rm} and {@code align}: 3 rounds of APO with a fresh reward model from the base
     * LM each round, APO's loss defaults, 4 samples per query at temperature 1.2 (top_p 1.0) for both the reward model's
     * samples and the alignment (rejection sampling, learning rates 5e-6, 2e-6, 9e-7), DPO/GRPO losses at TRL's
     * defaults.
     */
    public static Builder builder(RewardConfig rm, TrainingArgs align) {
        return new Builder(rm, align);
    }

    public static final class Builder {
        private int rounds = 3, alignGenerations = 4;
        private boolean apo = true, rmFromBase = true;
        private ApoLoss.Config apoLoss = ApoLoss.Config.defaults();
        private SamplingParams apoSampling = new SamplingParams(1.2, 0, 1.0, 256, 13);
        private final RewardConfig rm;
        private String alignMethod = "rjs";
        private final TrainingArgs align;
        private List<Double> alignLearningRates = List.of(5e-6, 2e-6, 9e-7);
        private SamplingParams alignSampling = new SamplingParams(1.2, 0, 1.0, 256, 17);
        private DpoLoss.Config dpoLoss = DpoLoss.Config.defaults();
        private GrpoLoss.Config grpoLoss = GrpoLoss.Config.defaults();
        private RewardFunction extraReward, alignReward;

        private Builder(RewardConfig rm, TrainingArgs align) {
            this.rm = rm;
            this.align = align;
        }

        public Builder rounds(int v) {
            rounds = v;
            return this;
        }

        /** False: the baseline, aligning against the base reward model without the APO step. */
        public Builder apo(boolean v) {
            apo = v;
            return this;
        }

        public Builder rmFromBase(boolean v) {
            rmFromBase = v;
            return this;
        }

        public Builder apoLoss(ApoLoss.Config v) {
            apoLoss = v;
            return this;
        }

        public Builder apoSampling(SamplingParams v) {
            apoSampling = v;
            return this;
        }

        public Builder alignMethod(String v) {
            alignMethod = v;
            return this;
        }

        public Builder alignLearningRates(List<Double> v) {
            alignLearningRates = v;
            return this;
        }

        public Builder alignGenerations(int v) {
            alignGenerations = v;
            return this;
        }

        public Builder alignSampling(SamplingParams v) {
            alignSampling = v;
            return this;
        }

        public Builder dpoLoss(DpoLoss.Config v) {
            dpoLoss = v;
            return this;
        }

        public Builder grpoLoss(GrpoLoss.Config v) {
            grpoLoss = v;
            return this;
        }

        public Builder extraReward(RewardFunction v) {
            extraReward = v;
            return this;
        }

        public Builder alignReward(RewardFunction v) {
            alignReward = v;
            return this;
        }

        public ApoConfig build() {
            return new ApoConfig(
                    rounds,
                    apo,
                    rmFromBase,
                    apoLoss,
                    apoSampling,
                    rm,
                    alignMethod,
                    align,
                    alignLearningRates,
                    alignGenerations,
                    alignSampling,
                    dpoLoss,
                    grpoLoss,
                    extraReward,
                    alignReward);
        }
    }
}
