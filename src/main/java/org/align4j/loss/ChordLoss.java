// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.Arrays;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * CHORD (Zhang et al., arXiv 2508.11408) as implemented in Trinity-RFT
 * ({@code trinity/algorithm/policy_loss_fn/chord_policy_loss.py}, {@code sft_loss.py}; docs/algorithms.md
 * §4): the step loss is {@code (1 − μ(step))·L_GRPO + μ(step)·L_SFT}, with L_GRPO from {@link GrpoLoss} on the
 * on-policy rollouts and L_SFT below on the expert demonstrations. The trainer mixes the two.
 */
public final class ChordLoss {
    private ChordLoss() {}

    /**
     * Trinity's {@code mu_schedule_function}, exactly: linear warm-up from 0 to {@code peak} over W steps, then a
     * half-cosine from peak to {@code valley} over D steps, then valley.
     * <pre>
     *   step &lt; W          μ = step / W · peak
     *   step ≥ W + D      μ = valley
     *   otherwise         μ = valley + (peak − valley) · ½(1 + cos(π (step − W) / D))
     * </pre>
     * Trinity's defaults W = D = 0, peak = valley = 0.1 give a constant 0.1 (CHORD-φ); CHORD-μ uses W = 0, D = 200,
     * peak 0.9, valley 0.05.
     */
    public static double mu(int step, int warmupSteps, int decaySteps, double peak, double valley) {
        if (step < 0) throw new IllegalArgumentException("CHORD mu: step must be >= 0, got " + step);
        if (warmupSteps < 0 || decaySteps < 0)
            throw new IllegalArgumentException(
                    "CHORD mu_warmup_steps and mu_decay_steps must be >= 0, got " + warmupSteps + " and " + decaySteps);
        if (!(peak >= 0 && peak <= 1) || !(valley >= 0 && valley <= 1))
            throw new IllegalArgumentException(
                    "CHORD mu_peak and mu_valley weigh (1 − μ)·GRPO + μ·SFT and must lie in [0, 1], got " + peak
                            + " and " + valley);
        if (step < warmupSteps) return (double) step / warmupSteps * peak;
        if (step >= warmupSteps + decaySteps) return valley;
        double cosine = 0.5 * (1 + Math.cos(Math.PI * (step - warmupSteps) / decaySteps));
        return (peak - valley) * cosine + valley;
    }

    /**
     * The SFT term on expert tokens, one micro-batch's share of the window's token-level mean:
     * <pre>
     *   usePhi:   Σ −φ(p_t)·log p_t · m / windowExpertTokens,   φ(p) = p(1 − p) DETACHED, p_t = exp(log p_t)   (Trinity sft_phi)
     *   else:     Σ −log p_t · m / windowExpertTokens                                                    (Trinity sft)
     * </pre>
     * With cutoffProb &lt; 1, log p_t is clamped to ≤ log(cutoffProb) in the −log p factor (so tokens the policy already
     * gives more than cutoffProb get no gradient), while φ keeps the unclamped p, as Trinity's {@code SFTPhiLossFn}
     * does. Trinity's plain {@code sft} loss has no cutoff; here the same clamp applies to it (pass 1.0 for Trinity's).
     * Summed over the micro-batches of a window, the result is Trinity's token-level {@code masked_mean} over all
     * expert tokens of the window ({@code use_token_level_loss_in_sft = true}, its default).
     *
     * @param logps               (N, T) log-probs of the expert tokens under the current policy, with gradient
     * @param mask                (N, T) 1 on expert completion tokens
     * @param cutoffProb          in (0, 1]; 1 turns the clamp off
     * @param windowExpertTokens  expert tokens in the whole accumulation window (≥ this micro-batch's Σ m)
     * @return scalar loss
     */
    public static Tensor sft(Tensor logps, Tensor mask, boolean usePhi, double cutoffProb, long windowExpertTokens) {
        if (logps == null || logps.isNull() || !logps.defined() || logps.dim() != 2)
            throw new IllegalArgumentException("CHORD sft: logps must be an (N, T) tensor");
        if (mask == null
                || mask.isNull()
                || !mask.defined()
                || !Arrays.equals(Tensors.shape(mask), Tensors.shape(logps)))
            throw new IllegalArgumentException("CHORD sft: mask must be an (N, T) tensor shaped like logps "
                    + Arrays.toString(Tensors.shape(logps)));
        if (!(cutoffProb > 0 && cutoffProb <= 1))
            throw new IllegalArgumentException(
                    "CHORD cutoff_prob must be in (0, 1] (1 = no cutoff), got " + cutoffProb);
        if (windowExpertTokens < 1)
            throw new IllegalArgumentException(
                    "CHORD sft: windowExpertTokens (expert tokens of the accumulation window) must be >= 1, got "
                            + windowExpertTokens);
        return Tensors.scoped(() -> {
            Tensor m = mask.detach().to(logps.scalar_type());
            double local = m.sum().item_double();
            if (local > windowExpertTokens)
                throw new IllegalArgumentException("CHORD sft: windowExpertTokens = " + windowExpertTokens
                        + " is less than this micro-batch's own " + (long) local
                        + " expert tokens; pass the count of the whole accumulation window");
            Tensor inside = m.gt(scalar(0.0));
            Tensor lp = torch.where(inside, logps, scalar(0.0)); // off-mask padding (even -inf) cannot reach the sum
            Tensor nll = (cutoffProb < 1 ? lp.clamp_max(scalar(Math.log(cutoffProb))) : lp).neg();
            if (usePhi) {
                Tensor p = lp.detach().exp();
                nll = nll.mul(p.mul(LossOps.oneMinus(p))); // φ(p) = p(1 − p), no gradient through the weight
            }
            return nll.mul(m).sum().div(scalar((double) windowExpertTokens));
        });
    }
}
