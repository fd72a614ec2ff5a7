// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

/**
 * Decoding settings with transformers' meanings.
 *
 * @param temperature 0 = greedy (argmax); otherwise logits are divided by it before sampling
 * @param topK keep the k most likely tokens; 0 = off
 * @param topP nucleus: keep the smallest set whose probability reaches top_p; 1.0 = off
 * @param maxNewTokens tokens to generate at most per row
 * @param seed seeds the sampler's own generator: same seed, same prompts, same tokens
 */
public record SamplingParams(double temperature, int topK, double topP, int maxNewTokens, long seed) {
    public SamplingParams {
        if (temperature < 0 || Double.isNaN(temperature))
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (maxNewTokens < 1) throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(0, 0, 1.0, maxNewTokens, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    /** The same settings with another seed (each generation batch seeds its own sampling). */
    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(temperature, topK, topP, maxNewTokens, newSeed);
    }
}
