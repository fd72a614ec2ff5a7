// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.generate.SamplingParams;

/**
 * @param args the SFT settings of each round; output_dir is the run's folder
 * @param numGenerations completions sampled per prompt (APO: 4)
 * @param sampling temperature, top_k, top_p and max_completion_length; its seed is replaced per generation batch
 * @param rounds sample-select-train rounds (APO's epochs; 1 = one best-of-n pass)
 * @param rewardThreshold keep a prompt's best only when its reward is greater than this; null keeps every prompt's best
 * @param generationBatchSize prompts sampled together (each with numGenerations rows)
 */
public record RjsConfig(
        TrainingArgs args,
        int numGenerations,
        SamplingParams sampling,
        int rounds,
        Double rewardThreshold,
        int generationBatchSize) {
    public RjsConfig {
        if (numGenerations < 1)
            throw new IllegalArgumentException("num_generations must be >= 1, got " + numGenerations);
        if (rounds < 1) throw new IllegalArgumentException("rjs_rounds must be >= 1, got " + rounds);
        if (generationBatchSize < 1)
            throw new IllegalArgumentException("generation batch size must be >= 1 prompt, got " + generationBatchSize);
        if (rewardThreshold != null && !Double.isFinite(rewardThreshold))
            throw new IllegalArgumentException("rjs_reward_threshold must be finite, got " + rewardThreshold);
    }
}
