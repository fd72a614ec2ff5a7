// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

    /** The parts' sums added in order (a micro-batch run as parts, {@link RowParallel}). */
    static StepSums sum(java.util.List<StepSums> parts) {
        StepSums s = empty();
        for (StepSums part : parts) s = s.plus(part);
        return s;
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

    /** The same sums with {@code n} as the input tokens. */
    StepSums withInputTokens(long n) {
        inputTokens = n;
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

    /**
     * These sums added over the data-parallel workers (every worker calls it with its own), so that the metrics divide
     * the job's sums by the job's counts as one worker with the whole batch would. The names of the lowest rank with
     * the most of them are the layout (a worker whose share of a batch was empty has none of its own: an offline
     * worker past the end of the data, an online DPO worker whose prompts all tied).
     */
    StepSums allReduce(org.align4j.dist.Collective dist) {
        if (dist.worldSize() == 1) return this;
        double[][] sizes = dist.allGather(new double[] {sums.size() + counts.size()});
        int root = 0;
        for (int r = 1; r < sizes.length; r++) if (sizes[r][0] > sizes[root][0]) root = r;
        // the layout, as the root writes it: sum names with their count names, then count names
        StringBuilder layout = new StringBuilder();
        if (dist.rank() == root) {
            sums.keySet()
                    .forEach(k -> layout.append(k)
                            .append('\u0001')
                            .append(countOf.get(k))
                            .append('\n'));
            layout.append('\u0002');
            counts.keySet().forEach(k -> layout.append(k).append('\n'));
        }
        String[] parts = dist.broadcastText(layout.toString(), root).split("\u0002", -1);
        List<String[]> sumNames = new ArrayList<>();
        for (String line : parts[0].split("\n")) if (!line.isEmpty()) sumNames.add(line.split("\u0001", -1));
        List<String> countNames = new ArrayList<>();
        for (String line : parts[1].split("\n")) if (!line.isEmpty()) countNames.add(line);
        for (String k : sums.keySet())
            if (sumNames.stream().noneMatch(n -> n[0].equals(k)))
                throw new IllegalStateException(
                        "bug: rank " + dist.rank() + " logs " + k + ", which rank " + root + " does not");
        double[] v = new double[2 + sumNames.size() + countNames.size()];
        v[0] = loss;
        v[1] = inputTokens;
        for (int i = 0; i < sumNames.size(); i++) v[2 + i] = sums.getOrDefault(sumNames.get(i)[0], 0.0);
        for (int i = 0; i < countNames.size(); i++)
            v[2 + sumNames.size() + i] = counts.getOrDefault(countNames.get(i), 0.0);
        dist.allReduceSum(v);
        StepSums r = new StepSums();
        r.loss = v[0];
        r.inputTokens = (long) v[1];
        for (int i = 0; i < sumNames.size(); i++) r.add(sumNames.get(i)[0], v[2 + i], sumNames.get(i)[1]);
        for (int i = 0; i < countNames.size(); i++) r.count(countNames.get(i), v[2 + sumNames.size() + i]);
        return r;
    }
}
