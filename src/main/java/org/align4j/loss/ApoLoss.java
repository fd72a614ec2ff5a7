// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.Arrays;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The reward-model objective of APO, Adversarial Preference Optimization (Cheng et al., arXiv
 * 2311.08045; docs/algorithms.md §2.2 and §2.3), as the authors' code computes
 * it ({@code github.com/Linear95/APO} at 4282775, {@code trainer.py:103-124,166-169}): ONE mean
 * over all the items of a batch, each item weighted by its kind,
 *
 * <pre>
 * total = 1/N * [ rm_kl_coeff * sum_{human pairs i} -log sigmoid(r_chosen,i - r_rejected,i)
 *               + (apo_loss_coeff / apo_sample_num) * sum_{APO pairs j} APO_term(r_gold,j - r_sample,j) ]
 *
 * N = human pairs + APO pairs (every item of the batch, whatever its kind)
 *
 * APO_term(d) = -log sigmoid(d)   ranking (default; the paper's Bradley-Terry approximation)
 *             = -d                diff    (the WGAN-like form)
 * </pre>
 *
 * The first term is the Bradley-Terry loss on the human preference set D_P, which is what APO's
 * "KL[P || Q_phi] &lt;= eta" constraint reduces to (up to a constant); the second pushes the reward of
 * each golden response above that of each policy sample for the same query (D_APO).
 *
 * <p>Why one mean: {@code reward_model_loss} (trainer.py:103-124) is called twice on the same
 * batch, with per-item coefficients {@code 1 - apo_data_mask} and {@code apo_data_mask}, and both
 * calls divide by {@code total_mask.sum()}, the pair count of the WHOLE batch (each 2-response
 * item counts its two orderings, which have the same loss). So a gold-vs-sample pair always weighs
 * (apo_loss_coeff / apo_sample_num) / rm_kl_coeff of a human pair (0.025 with the README recipe),
 * and the APO term's share of the loss grows with the number of APO pairs: with one human pair and
 * apo_sample_num samples per gold query, the query's samples together weigh apo_loss_coeff. The
 * README recipe trains with micro-batches of one item over 8 GPUs x 8 accumulation steps, so
 * transformers' Trainer averages the 64 per-item losses: one mean over the window. Here a
 * micro-batch returns its share of that mean, its weighted sum over the window's item count, so
 * any split of a window into micro-batches gives the same total and gradients.
 */
public final class ApoLoss {
    /** The two APO_term forms, under the code's {@code --apo_loss_type} names. */
    public static final String RANKING = "ranking", DIFF = "diff";

    private ApoLoss() {}

    /**
     * The APO reward-model keys, with the names and defaults of the APO code and README recipe.
     *
     * @param rmKlCoeff weight of the human Bradley-Terry term (arguments.py default 1.0)
     * @param apoLossCoeff weight of the APO term before division by apoSampleNum (README: 0.1)
     * @param apoSampleNum policy samples per query (README: 4); the APO term is divided by it so that
     *     a query's gold-vs-sample pairs together weigh apo_loss_coeff
     * @param apoLossType {@link #RANKING} or {@link #DIFF}
     */
    public record Config(double rmKlCoeff, double apoLossCoeff, int apoSampleNum, String apoLossType) {
        public Config {
            if (!(rmKlCoeff >= 0) || !Double.isFinite(rmKlCoeff))
                throw new IllegalArgumentException("rm_kl_coeff must be a finite number >= 0, got " + rmKlCoeff);
            if (!(apoLossCoeff >= 0) || !Double.isFinite(apoLossCoeff))
                throw new IllegalArgumentException("apo_loss_coeff must be a finite number >= 0, got " + apoLossCoeff);
            if (apoSampleNum < 1)
                throw new IllegalArgumentException(
                        "apo_sample_num (policy samples per query) must be >= 1, got " + apoSampleNum);
            if (!RANKING.equals(apoLossType) && !DIFF.equals(apoLossType))
                throw new IllegalArgumentException("apo_loss_type must be \"" + RANKING
                        + "\" (-log sigmoid(r_gold - r_sample)) or \"" + DIFF + "\" (-(r_gold - r_sample)), got "
                        + (apoLossType == null ? "null" : "\"" + apoLossType + "\""));
        }

        /**
         * The README recipe: rm_kl_coeff 1.0, apo_loss_coeff 0.1, apo_sample_num 4, ranking. Each gold-vs-sample pair
         * weighs 0.025 against 1.0 for a human pair in the one mean, whatever the mix of the batch.
         */
        public static Config defaults() {
            return new Config(1.0, 0.1, 4, RANKING);
        }

        /** The weight of one APO pair in the mean: apo_loss_coeff / apo_sample_num (a human pair weighs rm_kl_coeff). */
        public double apoWeight() {
            return apoLossCoeff / apoSampleNum;
        }
    }

    /** Per-pair APO terms (A,): -log sigmoid(r_gold - r_sample) (ranking, computed stably) or -(r_gold - r_sample) (diff). */
    public static Tensor apoTerm(Tensor gold, Tensor sample, String apoLossType) {
        checkPairs("gold", gold, "sample", sample);
        Tensor d = gold.sub(sample);
        return switch (apoLossType) {
            case RANKING -> torch.log_sigmoid(d).neg();
            case DIFF -> d.neg();
            default ->
                throw new IllegalArgumentException(
                        "apo_loss_type must be \"ranking\" or \"diff\", got \"" + apoLossType + "\"");
        };
    }

    /**
     * One micro-batch's share of its accumulation window's loss:
     *
     * <pre>
     * ( rm_kl_coeff * sum_i BT_i  +  (apo_loss_coeff / apo_sample_num) * sum_j APO_j ) / windowPairs
     * </pre>
     *
     * with windowPairs the pairs of both kinds in the whole window, so the shares of a window's
     * micro-batches add up to the one weighted mean of trainer.py for any split. Any of the four
     * tensors may be empty (0,) when the micro-batch has no pairs of that kind.
     *
     * @param humanChosen r_chosen of the micro-batch's human pairs (H,) float32
     * @param humanRejected r_rejected (H,)
     * @param gold r_gold of its APO pairs (A,)
     * @param sample r_sample (A,), pair j = (gold[j], sample[j])
     * @param windowPairs human + APO pairs in the whole window (>= H + A)
     * @return scalar loss
     */
    public static Tensor loss(
            Tensor humanChosen, Tensor humanRejected, Tensor gold, Tensor sample, Config c, long windowPairs) {
        if (c == null) throw new IllegalArgumentException("APO loss: config is null (use ApoLoss.Config.defaults())");
        checkPairs("human chosen", humanChosen, "human rejected", humanRejected);
        checkPairs("gold", gold, "sample", sample);
        long local = humanChosen.size(0) + gold.size(0);
        if (local > windowPairs)
            throw new IllegalArgumentException("APO loss: the micro-batch has " + local
                    + " pairs (human + APO) but its window only " + windowPairs
                    + "; pass the pair count of the whole accumulation window");
        return Tensors.scoped(() -> {
            Tensor total = null;
            if (humanChosen.size(0) > 0) {
                Tensor bt = BradleyTerryLoss.perPair(humanChosen, humanRejected, null, 0.0); // (H)
                total = bt.sum().mul(scalar(c.rmKlCoeff() / windowPairs));
            }
            if (gold.size(0) > 0) {
                Tensor apo = apoTerm(gold, sample, c.apoLossType())
                        .sum()
                        .mul(scalar(c.apoWeight() / windowPairs)); // (A) summed
                total = total == null ? apo : total.add(apo);
            }
            // no pairs at all: a constant 0 (nothing to differentiate)
            return total != null
                    ? total
                    : torch.zeros(new long[] {}, new org.bytedeco.pytorch.TensorOptions(humanChosen.scalar_type()));
        });
    }

    private static void checkPairs(String a, Tensor x, String b, Tensor y) {
        if (x == null
                || x.isNull()
                || !x.defined()
                || x.dim() != 1
                || y == null
                || y.isNull()
                || !y.defined()
                || !Arrays.equals(Tensors.shape(x), Tensors.shape(y)))
            throw new IllegalArgumentException(
                    "APO loss: " + a + " and " + b + " rewards must both be (N,) tensors of the same length, got "
                            + describe(x) + " and " + describe(y));
    }

    private static String describe(Tensor t) {
        return t == null || t.isNull() || !t.defined() ? "none" : Arrays.toString(Tensors.shape(t));
    }
}
