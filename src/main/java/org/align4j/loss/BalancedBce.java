// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Class-balanced binary cross-entropy with logits: the objective of AAPA's discriminator (arXiv 2509.25148;
 * docs/aapa.md), label y = 1 for an expert response, 0 for a base-policy rollout. Per example
 *
 * <pre>
 * ℓᵢ = wᵢ·(softplus(zᵢ) − yᵢ·zᵢ),   wᵢ = n / (2·n_class(i))
 * </pre>
 *
 * with n and the class counts taken over the whole training set (scikit-learn's "balanced" weights), so each class
 * carries half of the loss however unbalanced the data. This is PyTorch's
 * {@code binary_cross_entropy_with_logits(z, y, weight=w, reduction="sum")} and the formula the sentence-encoder head
 * trains with in plain Java ({@code reward.DiscriminatorTrainer}). A micro-batch contributes Σ ℓᵢ / windowRows, so the
 * micro-batches of an accumulation window add up to the window's mean, as for {@link BradleyTerryLoss} in the reward
 * trainer.
 */
public final class BalancedBce {
    private BalancedBce() {}

    /** The two class weights n/(2·n_expert) and n/(2·n_policy). */
    public record Weights(double expert, double policy) {
        public Weights {
            LossOps.requirePositive("expert class weight", expert);
            LossOps.requirePositive("policy class weight", policy);
        }

        /** The balanced weights of a training set with these class counts; both classes must be present. */
        public static Weights of(long expertCount, long policyCount) {
            if (expertCount < 1 || policyCount < 1)
                throw new IllegalArgumentException(
                        "class-balanced BCE needs expert and policy examples in the training set, got " + expertCount
                                + " expert and " + policyCount + " policy");
            double n = expertCount + policyCount;
            return new Weights(n / (2.0 * expertCount), n / (2.0 * policyCount));
        }
    }

    /**
     * Per-example losses (B,) in float32.
     *
     * @param logits z (B,), float32, may carry a graph
     * @param expert yᵢ = 1 where true
     */
    public static Tensor perExample(Tensor logits, boolean[] expert, Weights w) {
        LossOps.check1d("logits", logits, expert.length);
        float[] sign = new float[expert.length], weight = new float[expert.length];
        for (int i = 0; i < expert.length; i++) {
            sign[i] = expert[i] ? 1f : -1f;
            weight[i] = (float) (expert[i] ? w.expert() : w.policy());
        }
        // softplus(z) − y·z = −log σ(s·z) with s = 2y − 1 (y = 1: softplus(−z); y = 0: softplus(z)); log_sigmoid is
        // stable for any |z|, where log(1 + e^z) would overflow float32 at z ≈ 89
        Tensor s = Tensors.floats(sign, sign.length), wt = Tensors.floats(weight, weight.length);
        return LossOps.logSigmoid(logits.mul(s)).neg().mul(wt);
    }

    /** The micro-batch's share of its accumulation window: Σ ℓᵢ / windowRows (a 0-d tensor). */
    public static Tensor windowShare(Tensor logits, boolean[] expert, Weights w, long windowRows) {
        if (windowRows < expert.length)
            throw new IllegalArgumentException(
                    "the window has " + windowRows + " rows but the micro-batch alone has " + expert.length);
        return perExample(logits, expert, w).sum().div(Tensors.scalar((double) windowRows));
    }
}
