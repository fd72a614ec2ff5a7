// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.align4j.loss.ApoLoss;
import org.align4j.model.ClassifierBatch;
import org.align4j.model.Lora;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;

/**
 * The reward-model step of APO (Cheng et al., arXiv 2311.08045; docs/algorithms.md
 * §2.2, §2.3 and §2.6): a sequence-classification reward model (as
 * {@link RewardTrainer#rewardModel} builds it) learns from the human preference pairs D_P and the
 * APO pairs D_APO = {(x, y_gold preferred over y_sample)} together, with the loss of
 * {@link ApoLoss}, one weighted mean over every pair of the accumulation window:
 *
 * <pre>
 * 1/N * ( rm_kl_coeff * sum_{D_P pairs} BT  +  (apo_loss_coeff / apo_sample_num) * sum_{D_APO pairs} APO_term )
 * </pre>
 *
 * N the window's pairs of both kinds, as APO's {@code trainer.py:103-124,166-169} divides both
 * terms by the pair count of the whole batch, so the update does not depend on how the window is
 * split into micro-batches. As in the APO code ({@code trainer.py}, {@code reward_datasets.py:53-58}),
 * the two sets are concatenated and shuffled together (by the run's seed, {@link DataCursor}),
 * and every item is routed to its term by a per-item flag (the code's {@code apo_data_mask}).
 *
 * <p>Scoring follows RewardTrainer's: a micro-batch of B items is one right-padded batch of 2B rows
 * (chosen / gold first, rejected / sample after), the reward read at each row's last token that is
 * not pad_token_id, as transformers' *ForSequenceClassification pools. (RewardTrainer's scorer is
 * private and fixed to its Bradley-Terry loss, so the batch is laid out here the same way; the
 * golden test checks rewards, loss and gradients against PyTorch.)
 *
 * <p>Logged: {@code loss}, {@code learning_rate}, {@code grad_norm}, {@code epoch},
 * {@code num_tokens}, {@code human/accuracy} (r_chosen > r_rejected), {@code human/margin} (mean
 * r_chosen - r_rejected), {@code human/loss} (the unweighted BT mean), {@code apo/accuracy}
 * (r_gold > r_sample), {@code apo/gold_sample_gap} (mean r_gold - r_sample), {@code apo/loss}
 * (the unweighted APO_term mean); each per pair of its kind within a step, averaged over the
 * steps of a logging interval (a step without pairs of a kind leaves its metrics out). With a
 * held-out human set, {@link RewardTrainer#evaluate} every eval_steps and at the end
 * ({@code eval_loss} is there the plain BT mean, {@code eval_accuracy}, {@code eval_ece}, ...).
 */
public final class ApoRewardTrainer {
    /** One training item: a pair and which term it feeds (the APO code's {@code apo_data_mask}). */
    record Item(RewardTrainer.Pair pair, boolean apo) {}

    /** One micro-batch's rewards by kind (pair i of a kind = index i of its two arrays), its loss share and its tokens. */
    record Scored(float[] humanChosen, float[] humanRejected, float[] gold, float[] sample, double loss, long tokens) {}

    private ApoRewardTrainer() {}

    /**
     * D_APO from the policy's rollouts (apo_data_converter.py): for query q, one pair
     * (gold_q preferred, sample_q,k rejected) per sample k. Sequences are full token sequences
     * (prompt + response + EOS), as {@link RewardTrainer.Pair} holds them.
     *
     * @param goldSequences one golden sequence per query
     * @param sampleSequencesPerQuery the policy samples of each query, in the same query order
     */
    public static List<RewardTrainer.Pair> apoPairs(
            List<long[]> goldSequences, List<List<long[]>> sampleSequencesPerQuery) {
        if (goldSequences.size() != sampleSequencesPerQuery.size())
            throw new IllegalArgumentException("APO pairs: " + goldSequences.size()
                    + " golden sequences but samples for " + sampleSequencesPerQuery.size()
                    + " queries; give one list of samples per golden sequence, in the same order");
        List<RewardTrainer.Pair> out = new ArrayList<>();
        for (int q = 0; q < goldSequences.size(); q++) {
            long[] gold = goldSequences.get(q);
            List<long[]> samples = sampleSequencesPerQuery.get(q);
            if (gold == null || gold.length == 0)
                throw new IllegalArgumentException("APO pairs: query " + q + " has an empty golden sequence");
            if (samples == null || samples.isEmpty())
                throw new IllegalArgumentException("APO pairs: query " + q + " has no policy samples");
            for (int k = 0; k < samples.size(); k++) {
                long[] s = samples.get(k);
                if (s == null || s.length == 0)
                    throw new IllegalArgumentException("APO pairs: sample " + k + " of query " + q + " is empty");
                out.add(new RewardTrainer.Pair(gold, s));
            }
        }
        return out;
    }

    /**
     * Trains {@code rm} in place on {@code human} (D_P) and {@code apo} (D_APO; either may be
     * empty, not both) and saves it to {@code cfg.args().outputDir()} as RewardTrainer does.
     * Pairs longer than max_length are dropped (TRL) or left-truncated (APO) as {@code cfg.truncation()} says. APO's objective has no margin and no
     * reward centering: pairs with a non-zero margin and a non-zero center_rewards_coefficient are
     * refused rather than ignored.
     */
    public static TrainResult train(
            Transformer rm,
            List<RewardTrainer.Pair> human,
            List<RewardTrainer.Pair> apo,
            List<RewardTrainer.Pair> evalHuman,
            ApoLoss.Config loss,
            RewardConfig cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        if (loss == null)
            throw new IllegalArgumentException("APO: loss config is null (use ApoLoss.Config.defaults())");
        RewardTrainer.checkRewardModel(rm, padId);
        if (Lora.attached(rm)) throw new IllegalArgumentException(RewardTrainer.LORA_UNSUPPORTED);
        if (cfg.centerRewardsCoefficient() != 0)
            throw new IllegalArgumentException("APO: center_rewards_coefficient " + cfg.centerRewardsCoefficient()
                    + " is not part of APO's objective (ApoLoss has no centering term); set it to 0 (None)");
        if (human.isEmpty() && apo.isEmpty())
            throw new IllegalArgumentException("APO: both the human pairs (D_P) and the APO pairs (D_APO) are empty");
        checkNoMargins(human, "human");
        checkNoMargins(apo, "APO");
        if (evalHuman != null) checkNoMargins(evalHuman, "eval");
        List<Item> items = new ArrayList<>();
        if (!human.isEmpty())
            for (RewardTrainer.Pair p : RewardTrainer.fitToMaxLength(human, cfg, "human train"))
                items.add(new Item(p, false));
        if (!apo.isEmpty())
            for (RewardTrainer.Pair p : RewardTrainer.fitToMaxLength(apo, cfg, "APO train"))
                items.add(new Item(p, true));
        List<RewardTrainer.Pair> evalData = evalHuman == null || evalHuman.isEmpty()
                ? List.of()
                : RewardTrainer.fitToMaxLength(evalHuman, cfg, "eval");
        boolean checkpointed = cfg.args().gradientCheckpointing();
        TrainLoop.MicroBatch<Item> step = (mb, window, training) -> {
            Scored s = microBatch(rm, mb, padId, window.size(), loss, checkpointed);
            return metrics(s, loss.apoLossType());
        };
        TrainLoop.Evaluation evaluation = evalData.isEmpty()
                ? null
                : new TrainLoop.Evaluation(
                        cfg.evalInterval(), done -> RewardTrainer.evaluate(rm, evalData, cfg, padId));
        return TrainLoop.train(
                "apo",
                rm,
                new TrainLoop.Rows<>(items, ApoRewardTrainer::tokens, ApoRewardTrainer::tokens),
                cfg.args(),
                evaluation,
                resolvedConfig,
                step,
                true); // each pair's loss term and logged sums are its own: a micro-batch's pairs may run as parts
    }

    private static long tokens(Item i) {
        return i.pair().chosen().length + i.pair().rejected().length;
    }

    /** Per-pair sums of one micro-batch, each logged divided by its kind's pair count (human/loss and apo/loss unweighted). */
    static StepSums metrics(Scored s, String apoLossType) {
        StepSums m = StepSums.empty()
                .withLoss(s.loss())
                .count("human_pairs", s.humanChosen().length)
                .count("apo_pairs", s.gold().length);
        double correct = 0, margin = 0, bt = 0;
        for (int i = 0; i < s.humanChosen().length; i++) {
            double d = (double) s.humanChosen()[i] - s.humanRejected()[i];
            if (d > 0) correct++;
            margin += d;
            bt += softplus(-d);
        }
        double won = 0, gap = 0, term = 0;
        for (int j = 0; j < s.gold().length; j++) {
            double d = (double) s.gold()[j] - s.sample()[j];
            if (d > 0) won++;
            gap += d;
            term += ApoLoss.RANKING.equals(apoLossType) ? softplus(-d) : -d;
        }
        m.add("human/loss", bt, "human_pairs")
                .add("human/accuracy", correct, "human_pairs")
                .add("human/margin", margin, "human_pairs");
        m.add("apo/loss", term, "apo_pairs")
                .add("apo/accuracy", won, "apo_pairs")
                .add("apo/gold_sample_gap", gap, "apo_pairs");
        return m;
    }

    /** log(1 + e^x), stable for any x. */
    private static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    /**
     * Forward and backward of one micro-batch (items in any order): the loss is
     * {@link ApoLoss#loss} over the window's pair count (both kinds), so the micro-batches of a
     * window add up to the window's weighted mean. Gradients accumulate into the parameters.
     */
    static Scored microBatch(
            Transformer model, List<Item> mb, long padId, long windowPairs, ApoLoss.Config c, boolean checkpointed) {
        // human items first, then APO items: each kind is then one contiguous slice of the rewards
        List<Item> ordered = new ArrayList<>(mb.size());
        for (Item i : mb) if (!i.apo()) ordered.add(i);
        int h = ordered.size();
        for (Item i : mb) if (i.apo()) ordered.add(i);
        int b = ordered.size(), a = b - h;
        if (b == 0) throw new IllegalArgumentException("APO: empty micro-batch");
        // rows 0..B-1 chosen (human chosen, then gold), B..2B-1 rejected (human rejected, then sample)
        List<long[]> rows = new ArrayList<>(2 * b);
        for (Item i : ordered) rows.add(i.pair().chosen());
        for (Item i : ordered) rows.add(i.pair().rejected());
        long tokens = 0;
        for (long[] r : rows) tokens += r.length;
        ClassifierBatch.Forward f = ClassifierBatch.forward(
                model,
                rows,
                padId,
                Pass.of(true, checkpointed),
                r -> ApoLoss.loss(
                        r.narrow(0, 0, h),
                        r.narrow(0, b, h),
                        r.narrow(0, h, a),
                        r.narrow(0, b + h, a),
                        c,
                        windowPairs));
        float[] r = f.scores();
        return new Scored(
                Arrays.copyOfRange(r, 0, h),
                Arrays.copyOfRange(r, b, b + h),
                Arrays.copyOfRange(r, h, b),
                Arrays.copyOfRange(r, b + h, 2 * b),
                f.loss(),
                tokens);
    }

    private static void checkNoMargins(List<RewardTrainer.Pair> pairs, String split) {
        for (int i = 0; i < pairs.size(); i++)
            if (pairs.get(i).margin() != 0)
                throw new IllegalArgumentException(
                        "APO: " + split + " pair " + i + " has margin "
                                + pairs.get(i).margin()
                                + "; APO's Bradley-Terry term has no margin column (drop it, or train with the plain reward command)");
    }
}
