// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.Arrays;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * GRPO's group advantages and clipped policy loss as in TRL's {@code GRPOTrainer}
 * (docs/algorithms.md §5; huggingface/trl {@code trl/trainer/grpo_trainer.py},
 * {@code _generate_and_score_completions} and {@code _compute_loss}, v1.9; RLOO baseline from
 * {@code trl/trainer/rloo_trainer.py}). With m the completion mask, A_i the advantage of completion i:
 * <pre>
 *   ρ_{i,t}  = exp(logπ_θ − logπ_old)                          (token level, (N, T))
 *   ρ_i      = exp(Σ_t (logπ_θ − logπ_old)·m / max(Σ_t m, 1))  (sequence level = GSPO, (N, 1) broadcast over t)
 *   ρ̄        = clamp(ρ, 1 − ε, 1 + ε_high)
 *   ρ        = min(ρ, δ)                                       (only when delta is set; after ρ̄ is formed, as TRL)
 *   l_{i,t}  = −min(ρ·A_i, ρ̄·A_i) + β·(exp(ref − logπ_θ) − (ref − logπ_θ) − 1)     (k3 KL, only when β > 0)
 *   cispo:   l_{i,t} = −sg(min(ρ, ε_high))·A_i·logπ_θ + β·k3          (CISPO, MiniMax-M1 arXiv 2506.13585: the importance
 *            weight is clipped from above at ε_high itself, not 1 + ε_high, and carries no gradient; delta is not applied)
 * </pre>
 * GSPO in TRL is the plain sequence-level ratio above: no stop-gradient trick (the "GSPO-token" variant is not
 * what TRL implements), so every completion token of a sequence receives ∂/∂logπ_t = m_t / Σ m of the ratio's
 * gradient.
 *
 * <p>Aggregation per micro-batch, chosen so that the micro-batches of one accumulation window add up to TRL's
 * step loss (TRL divides grpo / bnpo / dr_grpo by {@code current_gradient_accumulation_steps}, and dapo by the
 * active-token count {@code num_items_in_batch} of the whole generation batch, which equals the accumulation
 * window with TRL's default {@code steps_per_generation}):
 * <pre>
 *   dapo     Σ l·m / max(windowTokens, 1)              (cispo aggregates as dapo, as TRL does)
 *   bnpo     Σ l·m / max(Σ m, 1) / accumulationSteps
 *   dr_grpo  Σ l·m / (N · maxCompletionLength) / accumulationSteps
 *   grpo     mean_i(Σ_t l·m / max(Σ_t m, 1)) / accumulationSteps
 * </pre>
 * Differences from a literal transcription, none of which changes a value or gradient for finite inputs:
 * positions outside the mask are replaced by 0 before exp (TRL multiplies by the mask afterwards, which turns
 * a padded −inf log-prob into NaN); {@code oldLogps} and {@code refLogps} are detached here.
 */
public final class GrpoLoss {
    public static final List<String> LOSS_TYPES = List.of("dapo", "grpo", "bnpo", "dr_grpo", "cispo");
    public static final List<String> IMPORTANCE_SAMPLING_LEVELS = List.of("token", "sequence");
    public static final List<String> SCALE_REWARDS = List.of("group", "batch", "none");

    /** Added to the standard deviation before dividing (TRL's {@code std + 1e-4}). */
    public static final double STD_EPS = 1e-4;
    /** A group's rewards "all agree" when their std is within torch.isclose(std, 0)'s atol, as TRL tests it. */
    public static final double ZERO_STD_ATOL = 1e-8;

    private GrpoLoss() {}

    /**
     * TRL's GRPOConfig loss settings (TRL names in the messages). Defaults: dapo, epsilon 0.2, epsilonHigh null
     * (= epsilon), delta null (off), beta 0 (no reference model), importance sampling "token", maxCompletionLength 512.
     */
    public record Config(
            String lossType,
            double epsilon,
            Double epsilonHigh,
            Double delta,
            double beta,
            String importanceSamplingLevel,
            int maxCompletionLength) {

        public Config {
            if (lossType == null || !LOSS_TYPES.contains(lossType))
                throw new IllegalArgumentException("GRPO loss_type '" + lossType + "' is unknown; valid: "
                        + String.join(", ", LOSS_TYPES) + " (TRL's sapo, luspo and vespo are not implemented)");
            LossOps.requireNonNegative("GRPO epsilon", epsilon);
            if (epsilonHigh != null) LossOps.requireNonNegative("GRPO epsilon_high", epsilonHigh);
            if (delta != null && !(delta > 1.0 && !delta.isInfinite()))
                throw new IllegalArgumentException(
                        "GRPO delta (two-sided clipping, INTELLECT-2) must be a finite number > 1 (TRL recommends > 1 + epsilon_high = "
                                + (1 + (epsilonHigh != null ? epsilonHigh : epsilon))
                                + "), or null to turn it off; got " + delta);
            LossOps.requireNonNegative("GRPO beta", beta);
            if (importanceSamplingLevel == null || !IMPORTANCE_SAMPLING_LEVELS.contains(importanceSamplingLevel))
                throw new IllegalArgumentException("GRPO importance_sampling_level '" + importanceSamplingLevel
                        + "' is unknown; valid: token, sequence (GSPO)");
            if (maxCompletionLength < 1)
                throw new IllegalArgumentException(
                        "GRPO max_completion_length must be >= 1, got " + maxCompletionLength);
        }

        public static Config defaults() {
            return new Config("dapo", 0.2, null, null, 0.0, "token", 512);
        }

        /** The same loss for completions of at most {@code n} tokens. */
        public Config withMaxCompletionLength(int n) {
            return new Config(lossType, epsilon, epsilonHigh, delta, beta, importanceSamplingLevel, n);
        }

        /** ε_low = epsilon. */
        public double epsilonLow() {
            return epsilon;
        }

        /** ε_high = epsilonHigh, or epsilon when unset. */
        public double epsilonHighOrDefault() {
            return epsilonHigh != null ? epsilonHigh : epsilon;
        }

        public boolean sequenceLevel() {
            return importanceSamplingLevel.equals("sequence");
        }
    }

    /**
     * One micro-batch's loss and the sums from which the trainer forms TRL's metrics (TRL appends one value per
     * micro-batch and averages the list at logging time; {@code global_masked_mean} there is sum / count):
     * <ul>
     *   <li>{@code loss}: scalar, differentiable w.r.t. logps, already normalised as in the class comment.</li>
     *   <li>{@code klSum}: Σ k3·m (0 when β = 0); TRL's {@code kl} for this micro-batch is klSum / max(maskedTokens, 1).</li>
     *   <li>{@code lowClipped}, {@code highClipped}, {@code regionClipped}: counts of ratios below 1 − ε with A &lt; 0,
     *       above 1 + ε_high with A &gt; 0, and either (evaluated on ρ after the delta cap, as TRL). At token level they count
     *       masked tokens; at sequence level they count sequences (fully masked ones included), as TRL does.</li>
     *   <li>{@code maskedTokens}: Σ m of this micro-batch.</li>
     *   <li>{@code clipUnits}: the denominator of the clip fractions: maskedTokens (token level) or N (sequence level).</li>
     *   <li>{@code lowMin}, {@code highMax}: TRL's {@code clip_ratio/low_min} and {@code clip_ratio/high_max} for this
     *       micro-batch on one process: the min / max over sequences of each sequence's clipped fraction (sequences
     *       without tokens are skipped at token level; NaN when none is left).</li>
     * </ul>
     */
    public record Output(
            Tensor loss,
            double klSum,
            double lowClipped,
            double highClipped,
            double regionClipped,
            double maskedTokens,
            double clipUnits,
            double lowMin,
            double highMax) {

        /** TRL's {@code clip_ratio/low_mean} of this micro-batch. */
        public double lowClipMean() {
            return lowClipped / Math.max(clipUnits, 1.0);
        }

        /** TRL's {@code clip_ratio/high_mean} of this micro-batch. */
        public double highClipMean() {
            return highClipped / Math.max(clipUnits, 1.0);
        }

        /** TRL's {@code clip_ratio/region_mean} of this micro-batch. */
        public double regionClipMean() {
            return regionClipped / Math.max(clipUnits, 1.0);
        }

        /** TRL's {@code kl} of this micro-batch (0 when β = 0). */
        public double klMean() {
            return klSum / Math.max(maskedTokens, 1.0);
        }
    }

    // ------------------------------------------------------------------ advantages (plain doubles)

    /**
     * Group advantages (docs/algorithms.md §5.1). {@code rewards} (N) are the per-completion total rewards, the
     * G = groupSize completions of one prompt consecutive (TRL's {@code rewards.view(-1, num_generations)}).
     * <pre>
     *   leaveOneOut = false (GRPO):  A_i = r_i − mean_g                                 scaleRewards "none"
     *                                A_i = (r_i − mean_g) / (std_g + 1e-4)              "group" (TRL default)
     *                                A_i = (r_i − mean_g) / (std_batch + 1e-4)          "batch"
     *   leaveOneOut = true (RLOO):   A_i = r_i − (Σ_g r − r_i)/(G − 1)  = G/(G−1)·(r_i − mean_g)        "none" (TRL RLOOTrainer default)
     *                                A_i = (r_i − (Σ_g r − r_i)/(G − 1)) / (std_g + 1e-4)             "group" (GRPO's group scaling)
     *                                A_i = (a_i − mean(a)) / (std(a) + 1e-4), a the "none" values     "batch" (TRL RLOOTrainer
     *                                      with normalize_advantages=True: mean and std of the advantages over the batch)
     * </pre>
     * Standard deviations use Bessel's correction (torch.std); a group of 1 has std 0 (TRL's num_generations == 1
     * branch), a batch of 1 too. RLOO needs G ≥ 2.
     *
     * <p>NaN: TRL never sees NaN here, because it forms each completion's total with {@code nansum} over the
     * reward functions (a function returning None contributes nothing; see {@code org.align4j.reward.WeightedRewards},
     * which does the same). A NaN or infinite total therefore means a bug upstream and is rejected.
     */
    public static double[] advantages(double[] rewards, int groupSize, String scaleRewards, boolean leaveOneOut) {
        checkGroups(rewards, groupSize);
        if (scaleRewards == null || !SCALE_REWARDS.contains(scaleRewards))
            throw new IllegalArgumentException("GRPO scale_rewards '" + scaleRewards
                    + "' is unknown; valid: group (TRL's True), batch, none (TRL's False)");
        if (leaveOneOut && groupSize < 2)
            throw new IllegalArgumentException(
                    "RLOO (leave-one-out baseline) needs at least 2 completions per prompt (num_generations), got "
                            + groupSize);
        int n = rewards.length, groups = n / groupSize;
        double[] a = new double[n];
        for (int g = 0; g < groups; g++) {
            int from = g * groupSize;
            double sum = 0;
            for (int i = from; i < from + groupSize; i++) sum += rewards[i];
            double mean = sum / groupSize;
            for (int i = from; i < from + groupSize; i++)
                a[i] = leaveOneOut ? rewards[i] - (sum - rewards[i]) / (groupSize - 1) : rewards[i] - mean;
            if (scaleRewards.equals("group")) {
                double std = std(rewards, from, groupSize);
                for (int i = from; i < from + groupSize; i++) a[i] /= std + STD_EPS;
            }
        }
        if (scaleRewards.equals("batch")) {
            double[] basis = leaveOneOut ? a : rewards; // RLOO: std of the advantages; GRPO: std of the rewards
            double std = std(basis, 0, n);
            double shift = leaveOneOut ? mean(a) : 0.0;
            for (int i = 0; i < n; i++) a[i] = (a[i] - shift) / (std + STD_EPS);
        }
        return a;
    }

    /**
     * One flag per group (N / groupSize of them): true when the group's rewards all agree (Bessel std ≤ 1e-8, TRL's
     * {@code torch.isclose(std, 0)}). These groups carry no GRPO signal; DAPO's dynamic sampling drops them.
     */
    public static boolean[] zeroStdGroups(double[] rewards, int groupSize) {
        checkGroups(rewards, groupSize);
        boolean[] zero = new boolean[rewards.length / groupSize];
        for (int g = 0; g < zero.length; g++) zero[g] = std(rewards, g * groupSize, groupSize) <= ZERO_STD_ATOL;
        return zero;
    }

    /** TRL's {@code frac_reward_zero_std} under scale_rewards "group" / "none": the share of groups whose rewards all agree. */
    public static double fracRewardZeroStd(double[] rewards, int groupSize) {
        boolean[] zero = zeroStdGroups(rewards, groupSize);
        int k = 0;
        for (boolean z : zero) if (z) k++;
        return (double) k / zero.length;
    }

    private static void checkGroups(double[] rewards, int groupSize) {
        if (rewards == null || rewards.length == 0) throw new IllegalArgumentException("GRPO rewards are empty");
        if (groupSize < 1)
            throw new IllegalArgumentException("GRPO num_generations (group size) must be >= 1, got " + groupSize);
        if (rewards.length % groupSize != 0)
            throw new IllegalArgumentException(
                    "GRPO: " + rewards.length + " rewards do not split into groups of num_generations = " + groupSize
                            + " (the batch must hold whole groups: a multiple of " + groupSize + " completions)");
        for (int i = 0; i < rewards.length; i++)
            if (!Double.isFinite(rewards[i]))
                throw new IllegalArgumentException("GRPO reward " + i + " is " + rewards[i]
                        + "; totals must be finite (reward functions' NaN (\"no reward\") "
                        + "values are summed with nansum before this point, as TRL does)");
    }

    /** Bessel-corrected standard deviation of x[from, from + n); 0 when n == 1 (TRL's single-generation branch). */
    static double std(double[] x, int from, int n) {
        if (n < 2) return 0.0;
        double mean = 0;
        for (int i = from; i < from + n; i++) mean += x[i];
        mean /= n;
        double ss = 0;
        for (int i = from; i < from + n; i++) ss += (x[i] - mean) * (x[i] - mean);
        return Math.sqrt(ss / (n - 1));
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    // ------------------------------------------------------------------ loss (libtorch)

    /**
     * The loss of one micro-batch and its statistics (see {@link Output}).
     *
     * @param logps            (N, T) current policy log-probs of the completion tokens, with gradient
     * @param oldLogps         (N, T) log-probs under the policy that generated the completions; pass {@code logps.detach()}
     *                         when num_iterations == 1 (then ρ ≡ 1 in value); detached here
     * @param refLogps         (N, T) reference-model log-probs; needed when β &gt; 0, ignored (may be null) when β = 0
     * @param advantages       (N,) from {@link #advantages}
     * @param mask             (N, T) 1 on completion tokens, 0 elsewhere (0 on a whole row for a masked truncated completion)
     * @param windowTokens     dapo only: active tokens in the whole accumulation window (≥ this micro-batch's Σ m)
     * @param accumulationSteps grpo / bnpo / dr_grpo: micro-batches per optimizer step (≥ 1)
     */
    public static Output compute(
            Tensor logps,
            Tensor oldLogps,
            Tensor refLogps,
            Tensor advantages,
            Tensor mask,
            Config c,
            long windowTokens,
            int accumulationSteps) {
        long[] shape = check2d("GRPO logps (current policy)", logps, null);
        check2d("GRPO oldLogps", oldLogps, shape);
        check2d("GRPO mask", mask, shape);
        if (c.beta() > 0)
            check2d("GRPO refLogps (beta = " + c.beta() + " > 0 needs reference log-probs)", refLogps, shape);
        LossOps.check1d("GRPO advantages", advantages, shape[0]);
        if (accumulationSteps < 1)
            throw new IllegalArgumentException("GRPO accumulationSteps must be >= 1, got " + accumulationSteps);
        boolean cispo = c.lossType().equals("cispo"),
                perWindow = cispo || c.lossType().equals("dapo");
        if (perWindow && windowTokens < 0)
            throw new IllegalArgumentException(
                    "GRPO dapo: windowTokens (active tokens of the accumulation window) must be >= 0, got "
                            + windowTokens);
        float[] adv = Tensors.toFloats(advantages);
        for (int i = 0; i < adv.length; i++)
            if (!Float.isFinite(adv[i])) throw new IllegalArgumentException("GRPO advantage " + i + " is " + adv[i]);

        double[] stats = new double[8];
        Tensor loss = Tensors.scoped(() -> {
            Tensor m = mask.detach().to(logps.scalar_type());
            if (m.mul(LossOps.oneMinus(m)).abs().sum().item_double() != 0)
                throw new IllegalArgumentException("GRPO mask must hold only 0 and 1 (1 on completion tokens)");
            Tensor inside = m.gt(scalar(0.0));
            Tensor tokensPerRow = m.sum(1L); // (N,)
            double masked = m.sum().item_double();
            if (perWindow && windowTokens < masked)
                throw new IllegalArgumentException("GRPO dapo: windowTokens = " + windowTokens
                        + " is less than this micro-batch's own " + (long) masked
                        + " active tokens; pass the active-token count of the whole accumulation window");
            Tensor a = advantages.detach().to(logps.scalar_type()).unsqueeze(1); // (N, 1)

            Tensor logRatio = torch.where(inside, logps.sub(oldLogps.detach()), scalar(0.0)); // (N, T), 0 off the mask
            Tensor logWeights = c.sequenceLevel()
                    ? logRatio.sum(1L).div(tokensPerRow.clamp_min(scalar(1.0))).unsqueeze(1)
                    : logRatio; // (N, 1) or (N, T)
            Tensor coef1 = logWeights.exp();
            Tensor perToken;
            if (cispo) {
                Tensor weight =
                        coef1.clamp_max(scalar(c.epsilonHighOrDefault())).detach(); // (N, T) or (N, 1)
                perToken = weight.mul(a)
                        .mul(torch.where(inside, logps, scalar(0.0)))
                        .neg(); // (N, T)
            } else {
                Tensor coef2 = LossOps.clamp(coef1, 1 - c.epsilonLow(), 1 + c.epsilonHighOrDefault());
                if (c.delta() != null) coef1 = coef1.clamp_max(scalar(c.delta()));
                perToken = torch.minimum(coef1.mul(a), coef2.mul(a)).neg(); // (N, T) or (N, 1)
            }
            Tensor kl = null;
            if (c.beta() > 0) {
                Tensor d = torch.where(inside, refLogps.detach().sub(logps), scalar(0.0)); // ref − logπ
                kl = d.exp().sub(d).sub(scalar(1.0)); // k3, (N, T)
                perToken = perToken.add(kl.mul(scalar(c.beta())));
            }
            Tensor weighted = perToken.mul(m); // (N, T)
            Tensor out = switch (c.lossType()) {
                case "dapo", "cispo" -> weighted.sum().div(scalar((double) Math.max(windowTokens, 1L)));
                case "bnpo" -> weighted.sum().div(scalar(Math.max(masked, 1.0) * accumulationSteps));
                case "dr_grpo" ->
                    weighted.sum().div(scalar((double) shape[0] * c.maxCompletionLength() * accumulationSteps));
                case "grpo" ->
                    weighted.sum(1L)
                            .div(tokensPerRow.clamp_min(scalar(1.0)))
                            .mean()
                            .div(scalar((double) accumulationSteps));
                default -> throw new IllegalStateException(c.lossType());
            };

            // statistics (TRL's _compute_loss metrics block), on ρ after the delta cap
            Tensor c1 = coef1.detach();
            // cispo: only TRL's cispo_clip_ratio, ρ > ε_high with A > 0 (reported as "high"; nothing is low-clipped)
            Tensor low = cispo
                    ? c1.mul(scalar(0.0))
                    : c1.lt(scalar(1 - c.epsilonLow()))
                            .logical_and(a.lt(scalar(0.0)))
                            .to(logps.scalar_type());
            Tensor high = c1.gt(scalar(cispo ? c.epsilonHighOrDefault() : 1 + c.epsilonHighOrDefault()))
                    .logical_and(a.gt(scalar(0.0)))
                    .to(logps.scalar_type());
            Tensor region = low.add(high).clamp_max(scalar(1.0)); // low and high are exclusive (A < 0 vs A > 0)
            stats[0] = kl == null ? 0.0 : kl.detach().mul(m).sum().item_double();
            if (c.sequenceLevel()) { // (N, 1): one value per sequence, fully masked ones included
                stats[1] = low.sum().item_double();
                stats[2] = high.sum().item_double();
                stats[3] = region.sum().item_double();
                stats[5] = shape[0];
                stats[6] = low.min().item_double();
                stats[7] = high.max().item_double();
            } else {
                stats[1] = low.mul(m).sum().item_double();
                stats[2] = high.mul(m).sum().item_double();
                stats[3] = region.mul(m).sum().item_double();
                stats[5] = masked;
                Tensor rowLow =
                        low.mul(m).sum(1L).div(tokensPerRow); // NaN for empty rows, skipped below (TRL's nanmin)
                Tensor rowHigh = high.mul(m).sum(1L).div(tokensPerRow);
                stats[6] = nanExtreme(rowLow, true);
                stats[7] = nanExtreme(rowHigh, false);
            }
            stats[4] = masked;
            return out;
        });
        return new Output(loss, stats[0], stats[1], stats[2], stats[3], stats[4], stats[5], stats[6], stats[7]);
    }

    /** min (or max) ignoring NaN; NaN when every element is NaN (TRL's nanmin / nanmax). */
    private static double nanExtreme(Tensor x, boolean min) {
        Tensor filled = torch.where(x.isnan(), scalar(min ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY), x);
        double v = min ? filled.min().item_double() : filled.max().item_double();
        return Double.isInfinite(v) ? Double.NaN : v;
    }

    private static long[] check2d(String what, Tensor t, long[] expected) {
        if (t == null || t.isNull() || !t.defined())
            throw new IllegalArgumentException(what + " is missing (expected an (N, T) tensor)");
        if (t.dim() != 2)
            throw new IllegalArgumentException(what + " must have shape (N, T), got " + t.dim() + " dimensions");
        long[] s = Tensors.shape(t);
        if (expected != null && !Arrays.equals(s, expected))
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(s) + ", expected "
                    + Arrays.toString(expected) + " like logps");
        return s;
    }
}
