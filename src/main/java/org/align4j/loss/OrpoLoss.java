// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * ORPO's odds-ratio term (Hong et al. 2024, eq. 6–7), reference-free, as in TRL's
 * {@code ORPOTrainer.odds_ratio_loss} (docs/algorithms.md §8):
 * <pre>
 *   lp        = AVERAGE token log-prob of y under the policy
 *   log_odds  = (lp_w − lp_l) − (log(1 − e^{lp_w}) − log(1 − e^{lp_l}))
 *   per pair  = −β · logσ(log_odds)          (β is the paper's λ, default 0.1)
 * </pre>
 * The trainer adds the NLL of the chosen responses: L = NLL(y_w) + mean(per pair).
 *
 * <p>log(1 − e^x) is computed with the stable log1mexp form (Mächler 2012): log(−expm1(x)) for
 * x &gt; −ln 2, log1p(−exp(x)) otherwise; TRL's plain {@code log1p(-exp(x))} loses all precision in
 * float32 when x is near 0 (a confident response). Each branch sees only inputs of its own range, so the
 * unused branch cannot put inf/NaN into the gradient. An average log-prob of exactly 0 (every token
 * certain in float32) is treated as −1e-30, which gives a large finite log-odds instead of inf.
 */
public final class OrpoLoss {
    private static final double LN2 = Math.log(2.0);
    private static final double TINY = 1e-30;

    private OrpoLoss() {}

    /** Per-pair −β·logσ(log_odds), (B,), and the log-odds, (B,), detached (for TRL's log_odds_ratio / log_odds_chosen metrics). */
    public record Output(Tensor perPair, Tensor logOdds) {}

    /** @param avgChosen, avgRejected (B,) AVERAGE token log-probs of the chosen / rejected completions */
    public static Output compute(Tensor avgChosen, Tensor avgRejected, double beta) {
        long b = LossOps.check1d("ORPO average chosen log-probs", avgChosen);
        LossOps.check1d("ORPO average rejected log-probs", avgRejected, b);
        LossOps.requireNonNegative("ORPO beta", beta);
        Tensor[] r = LossOps.scopedAll(() -> {
            Tensor logOdds = avgChosen.sub(avgRejected).sub(log1mexp(avgChosen).sub(log1mexp(avgRejected)));
            Tensor perPair = LossOps.logSigmoid(logOdds).mul(scalar(-beta));
            return new Tensor[] {perPair, logOdds.detach()};
        });
        return new Output(r[0], r[1]);
    }

    /** log(1 − e^x) for x ≤ 0, stable near 0 and for very negative x. */
    static Tensor log1mexp(Tensor x) {
        Tensor near0 = LossOps.clamp(x, -LN2, -TINY).expm1().neg().log(); // log(−expm1(x))
        Tensor far = x.clamp_max(scalar(-LN2)).exp().neg().log1p(); // log1p(−exp(x))
        return torch.where(x.gt(scalar(-LN2)), near0, far);
    }
}
