// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;

/**
 * The policy's own samples for online training (GRPO, rejection sampling, online DPO): G
 * completions per prompt from the batched KV-cached generator, each with the log-prob of every
 * sampled token (log softmax(logits / T) at that token) so the trainer can check its recomputed
 * log-probs against them.
 */
public final class Rollouts {
    private Rollouts() {}

    /** A prompt as ids, the text reward functions see, and its dataset row (reference answers and other columns). */
    public record Prompt(long[] ids, String text, JsonNode row) {}

    /**
     * One sampled completion.
     *
     * @param samplingLogps the log-prob of each completion token when it was sampled
     * @param terminated true when it ended on a stop id, false when max_completion_length cut it
     */
    public record Rollout(Prompt prompt, long[] completion, float[] samplingLogps, boolean terminated, String completionText) {}

    /**
     * {@code numGenerations} completions per prompt, prompt-major: rows g*G .. g*G+G-1 are the group of
     * prompt g (the groups GRPO's advantages are taken over). Stops at the tokenizer's stop ids
     * (EOS and generation_config's eos_token_id list).
     */
    public static List<Rollout> sample(Transformer policy, Tokenizer tok, List<Prompt> prompts, int numGenerations, SamplingParams params) {
        if (numGenerations < 1) throw new IllegalArgumentException("num_generations must be >= 1, got " + numGenerations);
        List<long[]> batch = new ArrayList<>();
        for (Prompt p : prompts) for (int g = 0; g < numGenerations; g++) batch.add(p.ids());
        Generator.Result r = Generator.generate(policy, batch, params, tok.stopTokenIds(), tok.padTokenId());
        List<Rollout> out = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++)
            out.add(new Rollout(prompts.get(i / numGenerations), r.tokens()[i], r.logps()[i], r.stopped()[i], tok.decode(r.tokens()[i], true)));
        return out;
    }
}
