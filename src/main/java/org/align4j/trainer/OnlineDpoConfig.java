// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.generate.SamplingParams;

/**
 * @param dpo the loss (loss_type, beta, ...), reference_free, use_weighting and the TrainingArgs;
 *     precompute_ref_log_probs does not apply (the pairs do not exist before training)
 * @param numGenerations completions per prompt, >= 2
 * @param sampling temperature, top_k, top_p, max_completion_length; its seed is replaced per micro-batch
 * @param missingEosPenalty subtracted from the reward of completions without a stop token; null = off
 */
public record OnlineDpoConfig(DpoConfig dpo, int numGenerations, SamplingParams sampling, Double missingEosPenalty) {
    public OnlineDpoConfig {
        if (numGenerations < 2)
            throw new IllegalArgumentException(
                    "online DPO pairs completions: num_generations must be >= 2, got " + numGenerations);
        if (dpo.precomputeRefLogProbs())
            throw new IllegalArgumentException(
                    "precompute_ref_log_probs does not apply to online DPO: its pairs are sampled during training");
        if (missingEosPenalty != null && !(missingEosPenalty >= 0 && Double.isFinite(missingEosPenalty)))
            throw new IllegalArgumentException(
                    "missing_eos_penalty must be a finite number >= 0, got " + missingEosPenalty);
    }
}
