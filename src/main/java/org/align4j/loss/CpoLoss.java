// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Reference-free preference losses of TRL's {@code CPOTrainer.cpo_loss} (trl/experimental/cpo;
 * docs/algorithms.md §9): CPO (Xu et al. 2024), SimPO (Meng et al. 2024) and
 * AlphaPO (Gupta et al. 2025). With lp = policy log-prob of a response (token SUM for sigmoid / hinge,
 * token AVERAGE for ipo / simpo / alphapo, see {@link #averagesTokens}):
 * <pre>
 *   z = lp_w − lp_l                                  (alpha = 0)
 *   z = u(lp_w) − u(lp_l),  u(lp) = (1 − e^{−α·lp})/α   (alpha ≠ 0: AlphaPO's reward (1 − p^{−α})/α)
 *   sigmoid          −(1−ε)logσ(βz) − ε logσ(−βz)
 *   hinge            max(0, 1 − βz)
 *   ipo              (z − 1/(2β))²
 *   simpo, alphapo   z' = z − γ/β;  −(1−ε)logσ(βz') − ε logσ(−βz')   (= −logσ(β·z − γ) when ε = 0)
 * </pre>
 * The trainer adds {@code cpoAlpha}·NLL(y_w) (CPO's behaviour-cloning term; SimPO is simpo with cpoAlpha 0).
 * In TRL, loss_type "alphapo" is sugar that sets loss_type "simpo" and cpo_alpha 0; here "alphapo" is kept
 * as a type of its own that computes exactly the simpo formula (with the AlphaPO transform whenever alpha ≠ 0,
 * as the transform applies to every type) and leaves cpoAlpha as given: use {@link Config#alphapo} for TRL's
 * settings. u is computed as −expm1(−α·lp)/α (accurate for small α·lp).
 */
public final class CpoLoss {
    public static final List<String> LOSS_TYPES = List.of("sigmoid", "hinge", "ipo", "simpo", "alphapo");

    private CpoLoss() {}

    /**
     * lossType sigmoid | hinge | ipo | simpo | alphapo; beta 0.1, labelSmoothing 0, simpoGamma 0.5, alpha 0
     * (AlphaPO), cpoAlpha 1.0 (weight of the NLL term the trainer adds) — TRL's CPOConfig defaults.
     */
    public record Config(
            String lossType, double beta, double labelSmoothing, double simpoGamma, double alpha, double cpoAlpha) {
        public Config {
            if (lossType == null || !LOSS_TYPES.contains(lossType))
                throw new IllegalArgumentException(
                        "CPO loss_type '" + lossType + "' is unknown; valid: " + String.join(", ", LOSS_TYPES));
            LossOps.requirePositive("CPO beta", beta);
            if (!(labelSmoothing >= 0 && labelSmoothing < 0.5))
                throw new IllegalArgumentException("CPO label_smoothing must be in [0, 0.5), got " + labelSmoothing);
            LossOps.requireFinite("CPO simpo_gamma", simpoGamma);
            LossOps.requireFinite("CPO alpha", alpha);
            LossOps.requireNonNegative("CPO cpo_alpha", cpoAlpha);
        }

        public static Config defaults() {
            return new Config("sigmoid", 0.1, 0.0, 0.5, 0.0, 1.0);
        }

        /** SimPO: loss_type simpo, no NLL term (cpo_alpha 0). */
        public static Config simpo(double beta, double gamma) {
            return new Config("simpo", beta, 0.0, gamma, 0.0, 0.0);
        }

        /** AlphaPO as TRL's loss_type="alphapo" sets it up: the simpo loss with the AlphaPO reward, cpo_alpha 0. */
        public static Config alphapo(double alpha, double beta, double gamma) {
            return new Config("alphapo", beta, 0.0, gamma, alpha, 0.0);
        }
    }

    /** True when the loss uses per-token AVERAGE log-probs (ipo, simpo, alphapo), false for token sums. */
    public static boolean averagesTokens(Config c) {
        return switch (c.lossType()) {
            case "ipo", "simpo", "alphapo" -> true;
            default -> false;
        };
    }

    /** Per-pair preference loss (B,) from lp_w, lp_l (token sums or averages per {@link #averagesTokens}). */
    public static Tensor perPair(Tensor chosen, Tensor rejected, Config c) {
        long b = LossOps.check1d("CPO chosen log-probs", chosen);
        LossOps.check1d("CPO rejected log-probs", rejected, b);
        return Tensors.scoped(() -> {
            Tensor z = c.alpha() != 0.0
                    ? reward(chosen, c.alpha()).sub(reward(rejected, c.alpha()))
                    : chosen.sub(rejected);
            double beta = c.beta();
            return switch (c.lossType()) {
                case "sigmoid" -> LossOps.smoothedLogistic(z.mul(scalar(beta)), c.labelSmoothing());
                case "hinge" -> LossOps.oneMinus(z.mul(scalar(beta))).relu();
                case "ipo" -> z.sub(scalar(1 / (2 * beta))).square();
                case "simpo", "alphapo" ->
                    LossOps.smoothedLogistic(
                            z.sub(scalar(c.simpoGamma() / beta)).mul(scalar(beta)), c.labelSmoothing());
                default -> throw new IllegalStateException(c.lossType());
            };
        });
    }

    /** AlphaPO's reward (1 − p^{−α})/α with p = e^{lp}, as −expm1(−α·lp)/α. */
    private static Tensor reward(Tensor lp, double alpha) {
        return lp.mul(scalar(-alpha)).expm1().div(scalar(-alpha));
    }
}
