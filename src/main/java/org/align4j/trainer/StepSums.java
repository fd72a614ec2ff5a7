// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The numbers a preference step logs, kept as sums over its micro-batches and each divided by its
 * own count when the step is logged: per-pair means for rewards and log-probs, token means for
 * logits, entropy and token accuracy (as TRL weights them across devices), per-class means for
 * KTO. {@code loss} is already normalised to the step and is added up as is.
 */
final class StepSums {
    static final String PAIRS = "pairs",
            CHOSEN_TOKENS = "chosen_tokens",
            REJECTED_TOKENS = "rejected_tokens",
            TOKENS = "completion_tokens";

    private double loss;
    private long inputTokens;
    private final Map<String, Double> sums = new LinkedHashMap<>();
    private final Map<String, String> countOf = new LinkedHashMap<>();
    private final Map<String, Double> counts = new LinkedHashMap<>();

    /**
     * The metrics every paired method logs under TRL's names (docs/algorithms.md §12.3), from one micro-batch's
     * chosen rows {@code c}, rejected rows {@code r} and the method's implicit rewards (B) (DPO:
     * beta (logp - ref logp); CPO and ORPO: beta times the policy log-prob they use).
     */
    static StepSums pairs(
            CompletionBatch.Output c,
            CompletionBatch.Output r,
            Tensor chosenRewards,
            Tensor rejectedRewards,
            Tensor chosenLogps,
            Tensor rejectedLogps,
            long inputTokens) {
        StepSums s = new StepSums();
        s.inputTokens = inputTokens;
        s.count(PAIRS, c.logps().size(0));
        double chosenTokens = c.lengths().sum().item_double(),
                rejectedTokens = r.lengths().sum().item_double();
        s.count(CHOSEN_TOKENS, chosenTokens)
                .count(REJECTED_TOKENS, rejectedTokens)
                .count(TOKENS, chosenTokens + rejectedTokens);
        double rc = chosenRewards.sum().item_double(),
                rr = rejectedRewards.sum().item_double();
        s.add("rewards/chosen", rc, PAIRS);
        s.add("rewards/rejected", rr, PAIRS);
        s.add(
                "rewards/accuracies",
                chosenRewards
                        .gt(rejectedRewards)
                        .to(torch.ScalarType.Float)
                        .sum()
                        .item_double(),
                PAIRS); // strict, as TRL
        s.add("rewards/margins", rc - rr, PAIRS);
        s.add("logps/chosen", chosenLogps.detach().sum().item_double(), PAIRS);
        s.add("logps/rejected", rejectedLogps.detach().sum().item_double(), PAIRS);
        s.add("logits/chosen", c.logitsSum().sum().item_double(), CHOSEN_TOKENS);
        s.add("logits/rejected", r.logitsSum().sum().item_double(), REJECTED_TOKENS);
        s.add(
                "entropy",
                c.entropySum().sum().item_double() + r.entropySum().sum().item_double(),
                TOKENS);
        s.add("mean_token_accuracy", c.correct().sum().item_double(), CHOSEN_TOKENS);
        return s;
    }

    static StepSums empty() {
        return new StepSums();
    }

    /** Adds {@code sum} to metric {@code name}, which is logged divided by counter {@code count}. */
    StepSums add(String name, double sum, String count) {
        sums.merge(name, sum, Double::sum);
        countOf.put(name, count);
        return this;
    }

    StepSums count(String count, double n) {
        counts.merge(count, n, Double::sum);
        return this;
    }

    StepSums inputTokens(long n) {
        inputTokens += n;
        return this;
    }

    StepSums withLoss(double loss) {
        this.loss = loss;
        return this;
    }

    double loss() {
        return loss;
    }

    long inputTokens() {
        return inputTokens;
    }

    StepSums plus(StepSums o) {
        StepSums s = new StepSums();
        for (StepSums x : new StepSums[] {this, o}) {
            s.loss += x.loss;
            s.inputTokens += x.inputTokens;
            x.sums.forEach((k, v) -> s.add(k, v, x.countOf.get(k)));
            x.counts.forEach(s::count);
        }
        return s;
    }

    /** loss, then each metric divided by its count; a metric whose count is 0 (no undesirable rows in a KTO step) is left out. */
    Map<String, Double> metrics() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", loss);
        sums.forEach((k, v) -> {
            double n = counts.getOrDefault(countOf.get(k), 0.0);
            if (n > 0) m.put(k, v / n);
        });
        if (!m.containsKey("rewards/margins")
                && m.containsKey("rewards/chosen")
                && m.containsKey("rewards/rejected")) // KTO: difference of class means
        m.put("rewards/margins", m.get("rewards/chosen") - m.get("rewards/rejected"));
        return m;
    }
}
