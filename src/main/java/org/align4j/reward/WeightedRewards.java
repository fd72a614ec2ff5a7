// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.align4j.loss.GrpoLoss;

/**
 * Several reward functions and their weights (TRL's {@code reward_funcs} and {@code reward_weights}, default 1.0
 * each): the per-completion total is Σ_k w_k·r_k, where a NaN r_k ("no reward", only from a function that declares
 * {@link RewardFunction#mayReturnNaN()}) is left out, as TRL's {@code nansum} does
 * ({@code trl/trainer/grpo_trainer.py}, {@code _generate_and_score_completions}).
 *
 * <p>Stricter than TRL, by design: an exception, an undeclared NaN, an infinite value or a wrong number of values from
 * a function raises {@link RewardException} naming the function, the row and the completion; so does a completion for
 * which every function returned NaN (TRL warns and uses 0).
 */
public final class WeightedRewards {
    private final List<RewardFunction> functions;
    private final double[] weights;

    /** @param weights one finite weight per function, or null for 1.0 each */
    public WeightedRewards(List<RewardFunction> functions, List<Double> weights) {
        if (functions == null || functions.isEmpty())
            throw new IllegalArgumentException("GRPO needs at least one reward function");
        Set<String> names = new HashSet<>();
        for (RewardFunction f : functions) {
            if (f == null) throw new IllegalArgumentException("reward function list contains null");
            if (!names.add(f.name()))
                throw new IllegalArgumentException("two reward functions are named '" + f.name()
                        + "'; names must be unique (they key the rewards/<name>/mean metrics)");
        }
        this.functions = List.copyOf(functions);
        this.weights = new double[functions.size()];
        if (weights == null) java.util.Arrays.fill(this.weights, 1.0);
        else {
            if (weights.size() != functions.size())
                throw new IllegalArgumentException("reward_weights has " + weights.size() + " entries but there are "
                        + functions.size() + " reward functions " + names()
                        + "; give one weight per function, or none for 1.0 each");
            for (int k = 0; k < weights.size(); k++) {
                Double w = weights.get(k);
                if (w == null || !Double.isFinite(w))
                    throw new IllegalArgumentException("reward_weights[" + k + "] (for "
                            + functions.get(k).name() + ") must be a finite number, got " + w);
                this.weights[k] = w;
            }
        }
    }

    /** Tells every function the optimizer step (see {@link RewardFunction#setStep}). */
    public void setStep(long step) {
        for (RewardFunction f : functions) f.setStep(step);
    }

    public List<String> names() {
        List<String> n = new ArrayList<>();
        for (RewardFunction f : functions) n.add(f.name());
        return n;
    }

    /** Every function's own {@link RewardFunction#metrics()} after the last batch, in function order. */
    public Map<String, Double> functionMetrics() {
        Map<String, Double> m = new LinkedHashMap<>();
        for (RewardFunction f : functions) m.putAll(f.metrics());
        return m;
    }

    public double[] weights() {
        return weights.clone();
    }

    /**
     * Scores one generation batch. The lists are aligned (prompt, completion and dataset row of each completion).
     *
     * @throws RewardException when a function fails or returns unusable values (see the class comment)
     */
    public Result score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        if (completions == null || completions.isEmpty()) throw new IllegalArgumentException("no completions to score");
        int n = completions.size();
        if (prompts == null || prompts.size() != n)
            throw new IllegalArgumentException("got " + (prompts == null ? "no" : prompts.size()) + " prompts for " + n
                    + " completions; pass the prompt of each completion");
        if (rows == null || rows.size() != n)
            throw new IllegalArgumentException("got " + (rows == null ? "no" : rows.size()) + " dataset rows for " + n
                    + " completions; pass the row of each completion");
        List<String> p = Collections.unmodifiableList(prompts), c = Collections.unmodifiableList(completions);
        List<JsonNode> r = Collections.unmodifiableList(rows);
        double[][] per = new double[functions.size()][];
        for (int k = 0; k < functions.size(); k++) per[k] = scoreOne(functions.get(k), p, c, r);
        double[] total = new double[n];
        for (int i = 0; i < n; i++) {
            boolean any = false;
            for (int k = 0; k < per.length; k++) {
                if (Double.isNaN(per[k][i])) continue; // nansum: "no reward" from this function
                total[i] += weights[k] * per[k][i];
                any = true;
            }
            if (!any)
                throw new RewardException(
                        String.join("', '", names()),
                        i,
                        completions.get(i),
                        "returned NaN (no reward) for every function",
                        null);
        }
        return new Result(names(), weights.clone(), per, total);
    }

    private static double[] scoreOne(
            RewardFunction f, List<String> prompts, List<String> completions, List<JsonNode> rows) {
        double[] v;
        try {
            v = f.score(prompts, completions, rows);
        } catch (RuntimeException e) {
            throw locate(f, prompts, completions, rows, e);
        }
        if (v == null || v.length != completions.size())
            throw new RewardException(
                    f.name(),
                    -1,
                    null,
                    "returned " + (v == null ? "null" : v.length + " values") + " for " + completions.size()
                            + " completions",
                    null);
        for (int i = 0; i < v.length; i++) {
            if (Double.isInfinite(v[i]))
                throw new RewardException(f.name(), i, completions.get(i), "returned " + v[i], null);
            if (Double.isNaN(v[i]) && !f.mayReturnNaN())
                throw new RewardException(
                        f.name(),
                        i,
                        completions.get(i),
                        "returned NaN but does not declare NaN as \"no reward\" (RewardFunction.mayReturnNaN)",
                        null);
        }
        return v;
    }

    /** The batch call threw: score the rows one at a time to name the completion that fails. */
    private static RewardException locate(
            RewardFunction f,
            List<String> prompts,
            List<String> completions,
            List<JsonNode> rows,
            RuntimeException batchError) {
        for (int i = 0; i < completions.size(); i++) {
            try {
                f.score(prompts.subList(i, i + 1), completions.subList(i, i + 1), rows.subList(i, i + 1));
            } catch (RuntimeException e) {
                return new RewardException(f.name(), i, completions.get(i), "threw " + e, e);
            }
        }
        return new RewardException(
                f.name(),
                -1,
                null,
                "threw " + batchError + " on the batch (each row alone scored without error)",
                batchError);
    }

    /**
     * The scores of one batch: {@code perFunction[k][i]} (NaN = no reward) and {@code total[i]} = Σ_k w_k·r_k,i over
     * the non-NaN values.
     */
    public record Result(List<String> names, double[] weights, double[][] perFunction, double[] total) {

        /**
         * TRL's reward metrics for this batch ({@code _generate_and_score_completions}):
         * <ul>
         *   <li>{@code rewards/<name>/mean}, {@code rewards/<name>/std}: nanmean and Bessel nanstd of each function's raw
         *       values over the completions it scored (NaN when it scored none, std NaN when it scored one);</li>
         *   <li>{@code reward}: mean of the totals;</li>
         *   <li>{@code reward_std}: the Bessel-corrected std of the totals over the WHOLE batch, whatever scaleRewards
         *       is (TRL >= 0.28, {@code trl/trainer/grpo_trainer.py:2749}: {@code nanstd(rewards)}; NaN for a batch of
         *       one). It includes the spread between prompts; TRL v0.22-v0.25 logged the mean of the group stds
         *       instead, which leaves that out;</li>
         *   <li>{@code frac_reward_zero_std}: "group"/"none": share of groups whose totals all agree; "batch": 1 when the
         *       whole batch agrees, else 0.</li>
         * </ul>
         */
        public Map<String, Double> metrics(int groupSize, String scaleRewards) {
            boolean batch = "batch".equals(scaleRewards);
            if (!batch && !"group".equals(scaleRewards) && !"none".equals(scaleRewards))
                throw new IllegalArgumentException(
                        "scale_rewards '" + scaleRewards + "' is unknown; valid: group, batch, none");
            Map<String, Double> m = new LinkedHashMap<>();
            for (int k = 0; k < names.size(); k++) {
                m.put("rewards/" + names.get(k) + "/mean", nanMean(perFunction[k]));
                m.put("rewards/" + names.get(k) + "/std", nanStd(perFunction[k]));
            }
            m.put("reward", nanMean(total));
            m.put("reward_std", nanStd(total));
            boolean[] zero = GrpoLoss.zeroStdGroups(total, groupSize); // also checks that the batch holds whole groups
            if (batch) {
                double std = total.length > 1 ? nanStd(total) : 0.0; // TRL: a batch of one has std 0 here
                m.put("frac_reward_zero_std", std <= GrpoLoss.ZERO_STD_ATOL ? 1.0 : 0.0);
            } else {
                int zeros = 0;
                for (boolean z : zero) if (z) zeros++;
                m.put("frac_reward_zero_std", (double) zeros / zero.length);
            }
            return m;
        }
    }

    /** Mean of the non-NaN values; NaN when there are none (torch.nanmean). */
    static double nanMean(double[] x) {
        double s = 0;
        int n = 0;
        for (double v : x)
            if (!Double.isNaN(v)) {
                s += v;
                n++;
            }
        return n == 0 ? Double.NaN : s / n;
    }

    /** Bessel-corrected std of the non-NaN values; NaN with fewer than two (TRL's nanstd: count / (count − 1)). */
    static double nanStd(double[] x) {
        double mean = nanMean(x);
        double ss = 0;
        int n = 0;
        for (double v : x)
            if (!Double.isNaN(v)) {
                ss += (v - mean) * (v - mean);
                n++;
            }
        return n < 2 ? Double.NaN : Math.sqrt(ss / (n - 1));
    }
}
