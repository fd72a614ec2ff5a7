// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * REINFORCE leave-one-out (Ahmadian et al., "Back to Basics", arXiv 2402.14740) as TRL's {@code RLOOTrainer} computes
 * it (huggingface/trl {@code trl/trainer/rloo_trainer.py} at f2cd577, cited as :line). With r_i the weighted reward
 * total of completion i, m its completion mask and G completions per prompt (consecutive):
 * <pre>
 *   r_i  = clamp(r_i, lo, hi)                                    reward_clip_range, when set          (:1522-1523)
 *   r'_i = r_i − β·Σ_t (logπ_old − logπ_ref)·m                   k1 KL folded into the reward (β > 0) (:1526-1535)
 *   A_i  = r'_i − (Σ_{j∈g} r'_j − r'_i)/(G − 1)                  leave-one-out baseline               (:1547-1552)
 *   A_i  = (A_i − mean A)/(std A + 1e-4)                         normalize_advantages (Bessel std)    (:1557-1558)
 *   ρ_i  = exp(Σ_t logπ_θ·m − Σ_t logπ_old·m)                    one ratio per sequence, summed       (:1683-1689)
 *   loss = mean_i −min(ρ_i·A_i, clamp(ρ_i, 1 − ε_low, 1 + ε_high)·A_i)                                (:1690-1694)
 * </pre>
 * Unlike GRPO's k3 (always ≥ 0, added to the loss per token) the k1 term can be negative per token; TRL keeps it that
 * way on purpose (comment at :1527-1530). The loss is a mean over the micro-batch's sequences, a sequence whose mask
 * is all 0 (a masked truncated completion) included: its summed log-probs are 0, so ρ = 1 and it adds −A_i with no
 * gradient, as in TRL.
 */
public final class RlooLoss {
    private RlooLoss() {}

    /**
     * Each completion's summed k1 KL estimate Σ_t (logπ_old − logπ_ref)·m (B), from per-token log-probs (B, T) and the
     * completion mask (B, T), without a graph (:1531-1533).
     */
    public static Tensor sequenceKl(Tensor oldTokenLogps, Tensor refTokenLogps, Tensor mask) {
        return Tensors.scoped(() ->
                Tensors.sum(oldTokenLogps.detach().sub(refTokenLogps.detach()).mul(mask), 1));
    }

    /**
     * The rewards the baseline sees: clipped to {@code clipRange} when it is not null ({lo, hi}), then minus
     * {@code beta} times each completion's summed k1 KL (N). {@code klSums} may be null when beta is 0.
     */
    public static double[] penalisedRewards(double[] rewards, double[] klSums, double beta, double[] clipRange) {
        if (rewards == null || rewards.length == 0) throw new IllegalArgumentException("RLOO rewards are empty");
        if (beta != 0 && (klSums == null || klSums.length != rewards.length))
            throw new IllegalArgumentException("RLOO beta = " + beta + " needs one summed KL per completion ("
                    + rewards.length + "), got " + (klSums == null ? "none" : klSums.length));
        if (clipRange != null && (clipRange.length != 2 || !(clipRange[0] <= clipRange[1])))
            throw new IllegalArgumentException("RLOO reward_clip_range must be (min, max) with min <= max");
        double[] r = new double[rewards.length];
        for (int i = 0; i < r.length; i++) {
            double v = rewards[i];
            if (clipRange != null) v = Math.min(Math.max(v, clipRange[0]), clipRange[1]);
            r[i] = beta == 0 ? v : v - beta * klSums[i];
        }
        return r;
    }

    /**
     * Leave-one-out advantages over groups of {@code g} consecutive rewards (N), batch-normalised when {@code
     * normalize}: GRPO's leave-one-out branch with scale_rewards "none" / "batch", which transcribes these lines.
     */
    public static double[] advantages(double[] penalised, int g, boolean normalize) {
        if (g < 2)
            throw new IllegalArgumentException(
                    "RLOO needs at least 2 generations per prompt (num_generations) for its baseline, got " + g);
        return GrpoLoss.advantages(penalised, g, normalize ? "batch" : "none", true);
    }

    /**
     * One micro-batch's loss and TRL's clip statistics (:1710-1721), each over the micro-batch's sequences:
     * {@code lowClipMean} = share with ρ &lt; 1 − ε_low and A &lt; 0, {@code highClipMean} = share with ρ &gt; 1 + ε_high
     * and A &gt; 0, {@code regionClipMean} = share with either; {@code lowMin} and {@code highMax} the min and max of the
     * 0/1 indicators.
     */
    public record Output(
            Tensor loss,
            double lowClipMean,
            double highClipMean,
            double regionClipMean,
            double lowMin,
            double highMax) {}

    /**
     * @param logps (B) summed completion log-probs under the policy being trained, with gradient
     * @param oldLogps (B) the same under the policy that sampled (detached here); {@code logps.detach()} when
     *     num_iterations is 1
     * @param advantages (B) from {@link #advantages}
     */
    public static Output compute(
            Tensor logps, Tensor oldLogps, Tensor advantages, double epsilonLow, double epsilonHigh) {
        long b = LossOps.check1d("RLOO logps (summed per sequence)", logps);
        LossOps.check1d("RLOO oldLogps", oldLogps, b);
        LossOps.check1d("RLOO advantages", advantages, b);
        if (!(epsilonLow >= 0 && epsilonLow < 1))
            throw new IllegalArgumentException("RLOO epsilon must be in [0, 1), got " + epsilonLow);
        LossOps.requireNonNegative("RLOO epsilon_high", epsilonHigh);
        double[] stats = new double[5];
        Tensor loss = Tensors.scoped(() -> {
            Tensor a = advantages.detach().to(logps.scalar_type());
            Tensor coef1 = logps.sub(oldLogps.detach()).exp(); // (B)
            Tensor coef2 = LossOps.clamp(coef1, 1 - epsilonLow, 1 + epsilonHigh);
            Tensor perSequence = torch.minimum(coef1.mul(a), coef2.mul(a)).neg(); // (B)
            Tensor c1 = coef1.detach();
            Tensor low =
                    c1.lt(scalar(1 - epsilonLow)).logical_and(a.lt(scalar(0.0))).to(logps.scalar_type());
            Tensor high = c1.gt(scalar(1 + epsilonHigh))
                    .logical_and(a.gt(scalar(0.0)))
                    .to(logps.scalar_type());
            Tensor region = low.add(high).clamp_max(scalar(1.0)); // exclusive: A < 0 vs A > 0
            stats[0] = low.mean().item_double();
            stats[1] = high.mean().item_double();
            stats[2] = region.mean().item_double();
            stats[3] = low.min().item_double();
            stats[4] = high.max().item_double();
            return perSequence.mean();
        });
        return new Output(loss, stats[0], stats[1], stats[2], stats[3], stats[4]);
    }
}
