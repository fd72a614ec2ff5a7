// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The Bradley-Terry pairwise loss of reward modelling, as TRL's {@code RewardTrainer.compute_loss}
 * (trl/trainer/reward_trainer.py) computes it:
 *
 * <pre>
 * loss = mean_i [ -log sigmoid(r_w,i - r_l,i - m_i) ]  +  c * mean_i [ (r_w,i + r_l,i)^2 ]
 * </pre>
 *
 * with {@code m_i} the optional per-pair {@code margin} column (Llama 2, Touvron et al. 2023,
 * eq. 2) and {@code c} the {@code center_rewards_coefficient} (Eisenstein et al., arXiv
 * 2312.09244, eq. 2), which pulls the rewards toward mean zero. Both means run over the same
 * pairs, so the loss is the mean of the per-pair terms returned by {@link #perPair}; a trainer
 * that sums them and divides by the pairs of its whole accumulation window gets the same update
 * for any split of that window into micro-batches.
 *
 * <p>SCPO (see {@link ScpoWeighting}) multiplies each pair's Bradley-Terry term by a constant weight w_i from a
 * frozen global reward model and leaves the centering term as it is
 * (github.com/minsik-ai/Steerable-Cultural-Preference our_reward_trainer.py:48-53):
 *
 * <pre>
 * loss = mean_i [ -w_i * log sigmoid(r_w,i - r_l,i - m_i) ]  +  c * mean_i [ (r_w,i + r_l,i)^2 ]
 * </pre>
 *
 * still a mean over pairs (not divided by sum_i w_i), so the window normalisation is unchanged.
 */
public final class BradleyTerryLoss {
    private BradleyTerryLoss() {}

    /**
     * Per-pair losses (B,): {@code -logsigmoid(r_w - r_l - margin) + c * (r_w + r_l)^2}.
     *
     * @param chosenRewards r_w (B,) float32
     * @param rejectedRewards r_l (B,) float32
     * @param marginOrNull m (B,) float32, or null for no margin
     * @param centerRewardsCoefficient c; 0 turns the centering term off (TRL's None)
     */
    public static Tensor perPair(
            Tensor chosenRewards, Tensor rejectedRewards, Tensor marginOrNull, double centerRewardsCoefficient) {
        return perPair(chosenRewards, rejectedRewards, marginOrNull, centerRewardsCoefficient, null);
    }

    /**
     * Per-pair losses (B,) with SCPO's weights: {@code -w * logsigmoid(r_w - r_l - margin) + c * (r_w + r_l)^2}.
     *
     * @param weightsOrNull w (B,) float32, constants (no gradient flows into them), or null for w = 1
     */
    public static Tensor perPair(
            Tensor chosenRewards,
            Tensor rejectedRewards,
            Tensor marginOrNull,
            double centerRewardsCoefficient,
            Tensor weightsOrNull) {
        if (chosenRewards.dim() != 1
                || !java.util.Arrays.equals(Tensors.shape(chosenRewards), Tensors.shape(rejectedRewards)))
            throw new IllegalArgumentException("chosen and rejected rewards must both be (B,), got "
                    + java.util.Arrays.toString(Tensors.shape(chosenRewards)) + " and "
                    + java.util.Arrays.toString(Tensors.shape(rejectedRewards)));
        if (weightsOrNull != null
                && !java.util.Arrays.equals(Tensors.shape(weightsOrNull), Tensors.shape(chosenRewards)))
            throw new IllegalArgumentException("pair weights must be (B,) like the rewards, got "
                    + java.util.Arrays.toString(Tensors.shape(weightsOrNull)));
        Tensor diff = chosenRewards.sub(rejectedRewards);
        if (marginOrNull != null) diff = diff.sub(marginOrNull);
        Tensor loss = torch.log_sigmoid(diff).neg(); // -log sigma(z), computed stably as softplus(-z)
        if (weightsOrNull != null) loss = loss.mul(weightsOrNull.detach()); // the centering term stays unweighted
        if (centerRewardsCoefficient != 0) {
            Tensor sum = chosenRewards.add(rejectedRewards);
            loss = loss.add(sum.mul(sum).mul(Tensors.scalar(centerRewardsCoefficient)));
        }
        return loss;
    }

    /**
     * What TRL logs for a batch of pairs, under TRL's names: {@code accuracy} (share with r_w > r_l,
     * strict), {@code margin} (mean r_w - r_l, the margin column not subtracted), and
     * {@code min_reward} / {@code mean_reward} / {@code max_reward} over all 2B rewards.
     */
    public record Metrics(double accuracy, double margin, double minReward, double meanReward, double maxReward) {}

    public static Metrics metrics(float[] chosen, float[] rejected) {
        if (chosen.length != rejected.length || chosen.length == 0)
            throw new IllegalArgumentException("need the same positive number of chosen and rejected rewards, got "
                    + chosen.length + " and " + rejected.length);
        double correct = 0, margin = 0, sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < chosen.length; i++) {
            if (chosen[i] > rejected[i]) correct++;
            margin += (double) chosen[i] - rejected[i];
            sum += (double) chosen[i] + rejected[i];
            min = Math.min(min, Math.min(chosen[i], rejected[i]));
            max = Math.max(max, Math.max(chosen[i], rejected[i]));
        }
        int n = chosen.length;
        return new Metrics(correct / n, margin / n, min, sum / (2.0 * n), max);
    }
}
