// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.loss.DpoLoss;

/**
 * Settings of {@link DpoTrainer}: TRL's DPOConfig (learning_rate 1e-6, beta 0.1, loss_type sigmoid)
 * plus the legacy options TRL v0.28 had and v1.x dropped (reference_free, rpo_alpha, label
 * smoothing on sigmoid = cDPO), kept because recipes still use them.
 *
 * @param loss loss types, weights, beta, label smoothing, f-divergence (rpo_alpha arrives here as
 *     an extra "sft" loss type of weight alpha, as TRL v1.x expresses RPO)
 * @param referenceFree reference log-probs taken as 0 (legacy reference_free)
 * @param useWeighting WPO: each pair's loss times the detached w_chosen * w_rejected (the "sft" term times their mean);
 *     refused with aot / aot_unpaired, as TRL refuses it
 * @param precomputeRefLogProbs reference log-probs of every row computed once before training
 * @param evalSteps evaluate every N steps (and at the end) when an eval set is given; 0 = only at the end
 * @param ldAlpha LD-DPO (TRL's ld_alpha, in [0, 1]): the policy's and the reference's log-probs count the tokens past
 *     the pair's shared length with this weight ({@link org.align4j.loss.LengthDesensitized}); null = off
 * @param refSync TR-DPO (TRL's sync_ref_model): every {@code everySteps} optimizer steps the reference becomes
 *     alpha·policy + (1 − alpha)·reference (Gorbatovski et al., arXiv 2404.09656); null = off
 */
public record DpoConfig(
        TrainingArgs args,
        DpoLoss.Config loss,
        boolean referenceFree,
        boolean useWeighting,
        boolean precomputeRefLogProbs,
        int evalSteps,
        Double ldAlpha,
        RefSync refSync) {
    /** TRL's ref_model_mixup_alpha (default 0.6) and ref_model_sync_steps (default 512). */
    public record RefSync(double alpha, int everySteps) {
        public RefSync {
            if (!(alpha >= 0 && alpha <= 1))
                throw new IllegalArgumentException("ref_model_mixup_alpha must be in [0, 1], got " + alpha);
            if (everySteps < 1)
                throw new IllegalArgumentException("ref_model_sync_steps must be >= 1, got " + everySteps);
        }
    }

    public DpoConfig {
        if (evalSteps < 0) throw new IllegalArgumentException("eval_steps must be >= 0, got " + evalSteps);
        if (ldAlpha != null) org.align4j.loss.LengthDesensitized.checkAlpha(ldAlpha);
        if (useWeighting && loss != null)
            for (String sorted : new String[] {"aot", "aot_unpaired"})
                if (loss.lossTypes().contains(sorted))
                    // TRL raises NotImplementedError here (trl/trainer/dpo_trainer.py:769-773)
                    throw new IllegalArgumentException(
                            "use_weighting (WPO) cannot be combined with loss_type "
                                    + sorted
                                    + ": it sorts the batch's margins, so its per-position losses no longer belong"
                                    + " to the pairs the weights were computed for; drop use_weighting or use another loss_type");
    }

    public DpoConfig(
            TrainingArgs args,
            DpoLoss.Config loss,
            boolean referenceFree,
            boolean useWeighting,
            boolean precomputeRefLogProbs,
            int evalSteps) {
        this(args, loss, referenceFree, useWeighting, precomputeRefLogProbs, evalSteps, null, null);
    }

    public DpoConfig withLdAlpha(Double alpha) {
        return new DpoConfig(args, loss, referenceFree, useWeighting, precomputeRefLogProbs, evalSteps, alpha, refSync);
    }

    public DpoConfig withRefSync(RefSync sync) {
        return new DpoConfig(args, loss, referenceFree, useWeighting, precomputeRefLogProbs, evalSteps, ldAlpha, sync);
    }

    public static DpoConfig defaults(TrainingArgs args) {
        return new DpoConfig(args, DpoLoss.Config.defaults(), false, false, false, 0);
    }

    public DpoConfig withLoss(DpoLoss.Config loss) {
        return new DpoConfig(
                args, loss, referenceFree, useWeighting, precomputeRefLogProbs, evalSteps, ldAlpha, refSync);
    }

    public DpoConfig withArgs(TrainingArgs args) {
        return new DpoConfig(
                args, loss, referenceFree, useWeighting, precomputeRefLogProbs, evalSteps, ldAlpha, refSync);
    }

    public DpoConfig withOptions(
            boolean referenceFree, boolean useWeighting, boolean precomputeRefLogProbs, int evalSteps) {
        return new DpoConfig(
                args, loss, referenceFree, useWeighting, precomputeRefLogProbs, evalSteps, ldAlpha, refSync);
    }
}
