// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.Arrays;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * AAPA's anchoring term for SFT (docs/aapa.md): SFT has no reward, so the anchor enters as a REINFORCE term on rollouts
 * sampled from the policy, added beside the NLL of the expert data:
 * <pre>
 *   L_anchor = −(1/N) Σᵢ (aᵢ − ā) · log π(yᵢ | xᵢ),   ā = (1/N) Σⱼ aⱼ
 * </pre>
 * with aᵢ the anchor reward of rollout i (λ(step)·z from {@code org.align4j.aapa.AnchorReward}, a constant: no gradient through it) and
 * log π the rollout's summed token log-probabilities. The batch mean is the baseline (our choice; it keeps the
 * gradient unbiased up to the 1/N self-term and makes the term zero for a batch of one or of equal rewards).
 */
public final class AnchorRewardTerm {
    private AnchorRewardTerm() {}

    /**
     * @param summedLogps (N) log π(yᵢ | xᵢ), summed over each rollout's completion tokens, carrying grad
     * @param anchorRewards N anchor rewards aᵢ, finite
     * @return a 0-d float32 tensor in the caller's scope; its gradient w.r.t. log πᵢ is −(aᵢ − ā)/N
     */
    public static Tensor reinforce(Tensor summedLogps, double[] anchorRewards) {
        if (summedLogps == null || summedLogps.dim() != 1 || summedLogps.size(0) != anchorRewards.length)
            throw new IllegalArgumentException("summedLogps must be a 1-d tensor of " + anchorRewards.length
                    + " values (one per rollout), got shape "
                    + (summedLogps == null ? "null" : Arrays.toString(Tensors.shape(summedLogps))));
        if (anchorRewards.length == 0)
            throw new IllegalArgumentException("no rollouts: the anchor term needs at least one");
        double mean = 0;
        for (int i = 0; i < anchorRewards.length; i++) {
            if (!Double.isFinite(anchorRewards[i]))
                throw new IllegalArgumentException("anchor reward " + i + " is " + anchorRewards[i]);
            mean += anchorRewards[i];
        }
        mean /= anchorRewards.length;
        float[] adv = new float[anchorRewards.length];
        for (int i = 0; i < adv.length; i++) adv[i] = (float) (anchorRewards[i] - mean);
        return Tensors.scoped(() -> {
            Tensor a = Tensors.floats(adv, adv.length).to(summedLogps.device(), summedLogps.scalar_type());
            return a.mul(summedLogps).mean().mul(scalar(-1.0));
        });
    }
}
