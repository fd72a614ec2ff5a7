// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Transformer;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;

/**
 * Held-out evaluation of an online trainer (grpo, online_dpo), as TRL's GRPOTrainer evaluates: every {@code everySteps}
 * steps and at the end (0: only at the end), G samples per held-out prompt with the training sampling settings, scored
 * by the training reward functions, logged as {@code eval_reward}, {@code eval_reward_std},
 * {@code eval_rewards/<name>/mean|std}, {@code eval_frac_reward_zero_std} and {@code eval_completions/*}. No
 * {@code eval_loss}: on fresh samples GRPO's ratio is 1 and its eval loss is only the advantage-weighted token mean.
 * The reward functions are not told a new step, so an AAPA anchor being co-trained does not learn from held-out samples.
 */
public record OnlineEval(List<Rollouts.Prompt> prompts, int everySteps) {
    public OnlineEval {
        if (prompts.isEmpty()) throw new IllegalArgumentException("the eval prompt set is empty");
        if (everySteps < 0) throw new IllegalArgumentException("eval_steps must be >= 0, got " + everySteps);
    }

    /** Whether to evaluate after {@code done} of {@code total} steps. */
    boolean due(int done, int total) {
        return done == total || (everySteps > 0 && done % everySteps == 0);
    }

    /**
     * The metrics (without the eval_ prefix, which the log adds) after {@code done} steps: prompts sampled {@code chunk}
     * at a time with {@code sampling} (its seed replaced by one fixed per step and chunk, so reruns score the same samples).
     */
    Map<String, Double> run(
            Transformer policy,
            Tokenizer tok,
            WeightedRewards rewards,
            int g,
            SamplingParams sampling,
            String scaleRewards,
            int chunk,
            long seed,
            int done) {
        List<Rollouts.Rollout> all = new ArrayList<>();
        int per = Math.max(1, chunk);
        policy.requiresGrad(false);
        try {
            for (int from = 0; from < prompts.size(); from += per) {
                long s = seed * 2_000_003L + done * 7_919L + from;
                all.addAll(Rollouts.sample(
                        policy,
                        tok,
                        prompts.subList(from, Math.min(prompts.size(), from + per)),
                        g,
                        sampling.withSeed(s)));
            }
        } finally {
            policy.requiresGrad(true);
        }
        Map<String, Double> m = new LinkedHashMap<>(Rollouts.score(rewards, all).metrics(g, scaleRewards));
        m.putAll(Rollouts.lengthMetrics(all));
        return m;
    }
}
