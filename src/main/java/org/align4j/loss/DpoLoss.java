// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;
import static org.align4j.loss.LossOps.logSigmoid;
import static org.align4j.loss.LossOps.oneMinus;
import static org.align4j.loss.LossOps.smoothedLogistic;
import static org.align4j.loss.LossOps.sorted;

import java.util.Collections;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The DPO family of per-pair losses, as in TRL's {@code DPOTrainer._compute_loss} (v1.x, the version
 * with f-divergence "scores"; docs/algorithms.md §6). With
 * <pre>
 *   ℓ_w = logπ(y_w) − logπ_ref(y_w),  ℓ_l = logπ(y_l) − logπ_ref(y_l)     (token sums)
 *   s = f(ℓ): reverse_kl s = ℓ; forward_kl s = −exp(−ℓ); js_divergence s = logσ(ℓ);
 *             alpha_divergence s = exp((α−1)ℓ)/(α−1)  (α = 1 falls back to reverse_kl)
 *   Δ = s_w − s_l,  z = βΔ,  ε = labelSmoothing
 * </pre>
 * the per-pair losses are
 * <pre>
 *   sigmoid       −logσ(z)  (ε > 0: cDPO −(1−ε)logσ(z) − ε logσ(−z), the legacy TRL v0.28 formula)
 *   hinge         max(0, 1 − z)
 *   ipo           (s_w/|y_w| − s_l/|y_l| − 1/(2β))²          (per-token averaged scores; lengths clamped ≥ 1)
 *   exo_pair      σ(z)(logσ(z) − log(1−ε)) + σ(−z)(logσ(−z) − log ε)
 *   nca_pair      −logσ(βs_w) − ½logσ(−βs_w) − ½logσ(−βs_l)
 *   robust        (−(1−ε)logσ(z) + ε logσ(−z)) / (1 − 2ε)
 *   bco_pair      −logσ(βs_w) − logσ(−βs_l)                  (v1.x: no running-mean shift)
 *   sppo_hard     (s_w − 1/(2β))² + (s_l + 1/(2β))²
 *   aot           d = sort(logπ_w − logπ_l) − sort(logπ_ref,w − logπ_ref,l); −(1−ε)logσ(βd) − ε logσ(−βd)
 *   aot_unpaired  d = sort(ℓ_w) − sort(ℓ_l); same
 *   apo_zero      (1 − σ(βℓ_w)) + σ(βℓ_l)
 *   apo_down      σ(βℓ_w) + (1 − σ(z))
 *   discopop      (1 − m)(−logσ(z)) + m·exp(−z),  m = σ(z/τ)
 *   sigmoid_norm  −logσ(β(s_w/|y_w| − s_l/|y_l|))
 *   sft           token-mean NLL of y_w: NOT computed here, the trainer adds it with {@link #sftWeight}
 * </pre>
 * Choices the formulas leave open, settled as TRL's code settles them or stated as our own (docs/algorithms.md
 * §6.1, §6.2; checked against TRL's dpo_trainer.py):
 * <ul>
 *   <li>aot / aot_unpaired / apo_zero read the plain log-ratios (ℓ or raw log-probs), never the
 *       f-divergence scores; apo_down's second term uses the score margin Δ (TRL's {@code delta_score}),
 *       which equals ℓ_w − ℓ_l under the default reverse_kl.</li>
 *   <li>aot / aot_unpaired return the per-position losses after sorting (position k pairs the k-th
 *       smallest policy margin with the k-th smallest reference margin), so element k no longer belongs
 *       to pair k; only their mean (the loss) is meaningful per pair.</li>
 *   <li>alpha_divergence clamps the exponent (α−1)ℓ at 80 as TRL does for float32; forward_kl gets the same
 *       clamp on −ℓ (TRL has none there and overflows to inf/NaN once ℓ &lt; −88 in float32).</li>
 *   <li>Numerically stable rewrites (same values): 1 − σ(x) is computed as σ(−x); DiscoPOP's
 *       m·exp(−z) as exp(logσ(z/τ) − z), so a very negative z gives no inf·0.</li>
 * </ul>
 * The batch loss is {@code perPair(...).mean()} (plus the sft term); TRL's Σ_k w_k·mean(loss_k) is the
 * same number because the mean is linear. WPO ({@link #wpoWeights}) multiplies the per-pair losses (the trainer also
 * scales the sft term by the weights' mean, as TRL does) and is refused with aot / aot_unpaired.
 */
public final class DpoLoss {
    public static final List<String> LOSS_TYPES = List.of(
            "sigmoid",
            "hinge",
            "ipo",
            "exo_pair",
            "nca_pair",
            "robust",
            "bco_pair",
            "sppo_hard",
            "aot",
            "aot_unpaired",
            "apo_zero",
            "apo_down",
            "discopop",
            "sft",
            "sigmoid_norm");
    public static final List<String> F_DIVERGENCE_TYPES =
            List.of("reverse_kl", "forward_kl", "js_divergence", "alpha_divergence");

    /** TRL clamps exp's argument here in float32 (alpha_divergence); also used for forward_kl. */
    private static final double EXP_CLAMP = 80.0;

    private DpoLoss() {}

    /**
     * DPOConfig's loss settings (TRL names in snake_case in the messages). Defaults: beta 0.1, labelSmoothing 0,
     * fDivergenceType "reverse_kl", fAlphaDivergenceCoef 0.5, discopopTau 0.05. A null {@code lossWeights}
     * means 1.0 for every type (TRL's {@code loss_weights=None}).
     */
    public record Config(
            List<String> lossTypes,
            List<Double> lossWeights,
            double beta,
            double labelSmoothing,
            String fDivergenceType,
            double fAlphaDivergenceCoef,
            double discopopTau) {

        public Config {
            if (lossTypes == null || lossTypes.isEmpty())
                throw new IllegalArgumentException("DPO loss_type is empty; give at least one of " + LOSS_TYPES);
            for (String t : lossTypes)
                if (!LOSS_TYPES.contains(t))
                    throw new IllegalArgumentException(
                            "DPO loss_type '" + t + "' is unknown; valid: " + String.join(", ", LOSS_TYPES));
            lossTypes = List.copyOf(lossTypes);
            if (lossWeights == null) lossWeights = Collections.nCopies(lossTypes.size(), 1.0);
            if (lossWeights.size() != lossTypes.size())
                throw new IllegalArgumentException(
                        "DPO loss_weights has " + lossWeights.size() + " entries but loss_type has " + lossTypes.size()
                                + " (" + lossTypes + "); give one weight per loss type, or none for 1.0 each");
            for (int i = 0; i < lossWeights.size(); i++) {
                Double w = lossWeights.get(i);
                if (w == null || !(w >= 0) || w.isInfinite())
                    throw new IllegalArgumentException("DPO loss_weights[" + i + "] (for " + lossTypes.get(i)
                            + ") must be a finite number >= 0, got " + w);
            }
            lossWeights = List.copyOf(lossWeights);
            LossOps.requirePositive("DPO beta", beta);
            if (!(labelSmoothing >= 0 && labelSmoothing < 1))
                throw new IllegalArgumentException("DPO label_smoothing must be in [0, 1), got " + labelSmoothing);
            if (lossTypes.contains("robust") && !(labelSmoothing < 0.5))
                throw new IllegalArgumentException(
                        "DPO loss_type robust needs label_smoothing in [0, 0.5) (it divides by 1 - 2*label_smoothing), got "
                                + labelSmoothing);
            if (lossTypes.contains("exo_pair") && !(labelSmoothing > 0))
                throw new IllegalArgumentException(
                        "DPO loss_type exo_pair needs label_smoothing in (0, 1) (it takes log(label_smoothing); the EXO paper uses 1e-3), got "
                                + labelSmoothing);
            if (fDivergenceType == null || !F_DIVERGENCE_TYPES.contains(fDivergenceType))
                throw new IllegalArgumentException("DPO f_divergence_type '" + fDivergenceType + "' is unknown; valid: "
                        + String.join(", ", F_DIVERGENCE_TYPES));
            LossOps.requireFinite("DPO f_alpha_divergence_coef", fAlphaDivergenceCoef);
            LossOps.requirePositive("DPO discopop_tau", discopopTau);
        }

        /** ["sigmoid"], [1.0], beta 0.1, label smoothing 0, reverse_kl, alpha coef 0.5, discopop tau 0.05 (TRL's DPOConfig). */
        public static Config defaults() {
            return new Config(List.of("sigmoid"), List.of(1.0), 0.1, 0.0, "reverse_kl", 0.5, 0.05);
        }

        /** The same losses with another beta. */
        public Config withBeta(double b) {
            return new Config(
                    lossTypes, lossWeights, b, labelSmoothing, fDivergenceType, fAlphaDivergenceCoef, discopopTau);
        }

        boolean averagesTokens() {
            return lossTypes.contains("ipo") || lossTypes.contains("sigmoid_norm");
        }

        /**
         * Whether a pair's loss depends on the other pairs of its batch (aot / aot_unpaired sort the batch), so the
         * batch cannot be split into parts whose losses add up to its own.
         */
        public boolean couplesPairs() {
            return lossTypes.contains("aot") || lossTypes.contains("aot_unpaired");
        }
    }

    /**
     * Weighted sum over the configured loss types of the per-pair losses, shape (B,), excluding "sft" (the
     * trainer adds the token-mean NLL of the chosen responses, weighted by {@link #sftWeight}). With only
     * "sft" configured the result is zeros with no graph. The batch loss is the mean of this.
     */
    public static Tensor perPair(PairLogps in, Config c) {
        in.checkedBatchSize(c.averagesTokens());
        return Tensors.scoped(() -> {
            Terms t = new Terms(in, c);
            Tensor total = null;
            for (int i = 0; i < c.lossTypes().size(); i++) {
                String type = c.lossTypes().get(i);
                if (type.equals("sft")) continue;
                Tensor term = one(type, t, c).mul(scalar(c.lossWeights().get(i)));
                total = total == null ? term : total.add(term);
            }
            return total != null ? total : torch.zeros_like(in.chosen());
        });
    }

    /** The weight of "sft" in the loss list (summed if listed twice), 0 if absent. */
    public static double sftWeight(Config c) {
        double w = 0;
        for (int i = 0; i < c.lossTypes().size(); i++)
            if (c.lossTypes().get(i).equals("sft")) w += c.lossWeights().get(i);
        return w;
    }

    /** Implicit rewards β(logπ(y_w) − logπ_ref(y_w)), (B,), detached (TRL's rewards/chosen). */
    public static Tensor chosenRewards(PairLogps in, double beta) {
        in.checkedBatchSize(false);
        return Tensors.scoped(
                () -> in.chosen().sub(in.refChosen()).mul(scalar(beta)).detach());
    }

    /** Implicit rewards β(logπ(y_l) − logπ_ref(y_l)), (B,), detached (TRL's rewards/rejected). */
    public static Tensor rejectedRewards(PairLogps in, double beta) {
        in.checkedBatchSize(false);
        return Tensors.scoped(
                () -> in.rejected().sub(in.refRejected()).mul(scalar(beta)).detach());
    }

    /**
     * WPO weights (B,) (Zhou et al. 2024, eq. 2; TRL's {@code use_weighting}): w = exp(mean over completion
     * tokens of [log p_t − log Σ_v p_v²]) for the chosen response times the same for the rejected one,
     * without gradient and without TRL v0.28's clamp at 1. Arguments per response, (B, T): the token
     * log-probs, log Σ_v p_v² of each position (= logsumexp(2·log_softmax(logits))), and the mask (1 on
     * completion tokens). Values outside the mask are ignored (even inf/NaN); an empty mask gives w = 1.
     */
    public static Tensor wpoWeights(
            Tensor chosenTokenLogps,
            Tensor chosenLogSumP2,
            Tensor chosenMask,
            Tensor rejectedTokenLogps,
            Tensor rejectedLogSumP2,
            Tensor rejectedMask) {
        checkWpo("chosen", chosenTokenLogps, chosenLogSumP2, chosenMask);
        checkWpo("rejected", rejectedTokenLogps, rejectedLogSumP2, rejectedMask);
        if (chosenTokenLogps.size(0) != rejectedTokenLogps.size(0))
            throw new IllegalArgumentException(
                    "WPO: chosen has " + chosenTokenLogps.size(0) + " rows, rejected " + rejectedTokenLogps.size(0));
        return Tensors.scoped(() -> wpoSide(chosenTokenLogps, chosenLogSumP2, chosenMask)
                .mul(wpoSide(rejectedTokenLogps, rejectedLogSumP2, rejectedMask)));
    }

    private static Tensor wpoSide(Tensor tokenLogps, Tensor logSumP2, Tensor mask) {
        Tensor m = mask.detach().to(tokenLogps.scalar_type());
        Tensor inside = m.gt(scalar(0.0));
        Tensor aligned = torch.where(inside, tokenLogps.detach().sub(logSumP2.detach()), scalar(0.0));
        Tensor count = m.sum(1L).clamp_min(scalar(1.0));
        return aligned.sum(1L).div(count).exp();
    }

    private static void checkWpo(String side, Tensor tok, Tensor lsp2, Tensor mask) {
        for (Tensor t : new Tensor[] {tok, lsp2, mask})
            if (t == null || t.isNull() || !t.defined() || t.dim() != 2)
                throw new IllegalArgumentException(
                        "WPO " + side + ": token log-probs, log sum p^2 and mask must all be (B, T) tensors");
        if (!java.util.Arrays.equals(Tensors.shape(tok), Tensors.shape(lsp2))
                || !java.util.Arrays.equals(Tensors.shape(tok), Tensors.shape(mask)))
            throw new IllegalArgumentException(
                    "WPO " + side + ": shapes differ: token log-probs " + java.util.Arrays.toString(Tensors.shape(tok))
                            + ", log sum p^2 " + java.util.Arrays.toString(Tensors.shape(lsp2)) + ", mask "
                            + java.util.Arrays.toString(Tensors.shape(mask)));
    }

    /** The shared quantities of one batch, (B,) each. */
    private static final class Terms {
        final PairLogps in;
        final Tensor lw, ll, sw, sl, delta;

        Terms(PairLogps in, Config c) {
            this.in = in;
            lw = in.chosen().sub(in.refChosen());
            ll = in.rejected().sub(in.refRejected());
            sw = score(lw, c);
            sl = score(ll, c);
            delta = sw.sub(sl);
        }

        /** s_w/|y_w| − s_l/|y_l|, lengths clamped to ≥ 1 as TRL does. */
        Tensor averagedDelta() {
            Tensor lenW = in.chosenLengths().to(sw.scalar_type()).clamp_min(scalar(1.0));
            Tensor lenL = in.rejectedLengths().to(sl.scalar_type()).clamp_min(scalar(1.0));
            return sw.div(lenW).sub(sl.div(lenL));
        }
    }

    /** The f-divergence score f(ℓ) (docs/algorithms.md §6.1, v1.x parametrisation). */
    private static Tensor score(Tensor logratio, Config c) {
        return switch (c.fDivergenceType()) {
            case "reverse_kl" -> logratio;
            case "forward_kl" ->
                logratio.neg().clamp_max(scalar(EXP_CLAMP)).exp().neg();
            case "js_divergence" -> logSigmoid(logratio);
            case "alpha_divergence" -> {
                double a = c.fAlphaDivergenceCoef();
                if (Math.abs(a - 1.0) < 1e-6) yield logratio; // the α → 1 limit is reverse KL
                yield logratio.mul(scalar(a - 1.0))
                        .clamp_max(scalar(EXP_CLAMP))
                        .exp()
                        .div(scalar(a - 1.0));
            }
            default -> throw new IllegalStateException(c.fDivergenceType());
        };
    }

    private static Tensor one(String type, Terms t, Config c) {
        double beta = c.beta(), eps = c.labelSmoothing();
        return switch (type) {
            case "sigmoid" -> smoothedLogistic(t.delta.mul(scalar(beta)), eps);
            case "hinge" -> oneMinus(t.delta.mul(scalar(beta))).relu();
            case "ipo" -> t.averagedDelta().sub(scalar(1 / (2 * beta))).square();
            case "exo_pair" -> {
                Tensor z = t.delta.mul(scalar(beta));
                Tensor winner = z.sigmoid().mul(logSigmoid(z).sub(scalar(Math.log1p(-eps))));
                Tensor loser = z.neg().sigmoid().mul(logSigmoid(z.neg()).sub(scalar(Math.log(eps))));
                yield winner.add(loser);
            }
            case "nca_pair" -> {
                Tensor rw = t.sw.mul(scalar(beta)), rl = t.sl.mul(scalar(beta));
                yield logSigmoid(rw)
                        .neg()
                        .sub(logSigmoid(rw.neg()).mul(scalar(0.5)))
                        .sub(logSigmoid(rl.neg()).mul(scalar(0.5)));
            }
            case "robust" -> {
                Tensor z = t.delta.mul(scalar(beta));
                Tensor clean = logSigmoid(z).mul(scalar(-(1 - eps)));
                Tensor flipped = logSigmoid(z.neg()).mul(scalar(eps));
                yield clean.add(flipped).div(scalar(1 - 2 * eps));
            }
            case "bco_pair" -> logSigmoid(t.sw.mul(scalar(beta))).neg().sub(logSigmoid(t.sl.mul(scalar(-beta))));
            case "sppo_hard" ->
                t.sw.sub(scalar(0.5 / beta))
                        .square()
                        .add(t.sl.add(scalar(0.5 / beta)).square());
            case "aot" -> {
                Tensor policy = sorted(t.in.chosen().sub(t.in.rejected()));
                Tensor ref = sorted(t.in.refChosen().sub(t.in.refRejected()));
                yield smoothedLogistic(policy.sub(ref).mul(scalar(beta)), eps);
            }
            case "aot_unpaired" ->
                smoothedLogistic(sorted(t.lw).sub(sorted(t.ll)).mul(scalar(beta)), eps);
            case "apo_zero" ->
                t.lw.mul(scalar(-beta)).sigmoid().add(t.ll.mul(scalar(beta)).sigmoid());
            case "apo_down" ->
                t.lw.mul(scalar(beta)).sigmoid().add(t.delta.mul(scalar(-beta)).sigmoid());
            case "discopop" -> {
                Tensor z = t.delta.mul(scalar(beta));
                Tensor zt = z.div(scalar(c.discopopTau()));
                Tensor logistic = logSigmoid(z).neg().mul(zt.neg().sigmoid()); // (1 − m)(−logσ(z))
                Tensor exponential = logSigmoid(zt).sub(z).exp(); // m·exp(−z)
                yield logistic.add(exponential);
            }
            case "sigmoid_norm" ->
                logSigmoid(t.averagedDelta().mul(scalar(beta))).neg();
            default -> throw new IllegalStateException("unhandled loss type " + type);
        };
    }
}
