// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.UnpairedExample;
import org.align4j.engine.Tensors;
import org.align4j.loss.KtoLoss;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kahneman-Tversky optimisation (Ethayarajh et al., arXiv 2402.01306; TRL's KTOTrainer,
 * docs/algorithms.md §7) on unpaired rows labelled desirable or not. The reference point z0 is the
 * batch's KL estimate: policy minus reference log-probs of mismatched (prompt, completion) rows,
 * each prompt paired with the previous row's completion (TRL's KL dataset shifts completions by one
 * within the batch), computed without a graph and clamped at 0.
 *
 * <p>A training micro-batch's rows run as one part per core at once ({@link RowParallel}): the mismatched rows first,
 * for the one z0 of the whole micro-batch, then the rows against it.
 *
 * <p>Logged under TRL's names (trl/trainer/kto_trainer.py:1594-1655): rewards/chosen and logps/chosen
 * are means over the desirable rows, rewards/rejected and logps/rejected over the undesirable ones,
 * rewards/margins their difference, kl the step's z0; logits/chosen and logits/rejected the
 * vocab-mean logit averaged over the completion tokens of the desirable, resp. undesirable, rows,
 * and entropy the next-token entropy averaged over the completion tokens of all rows (not the KL
 * rows). A side without rows in the step is left out, as TRL does.
 */
public final class KtoTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(KtoTrainer.class);

    private KtoTrainer() {}

    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            List<UnpairedExample> train,
            List<UnpairedExample> eval,
            KtoConfig cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        if (cfg.args().perDeviceTrainBatchSize() < 2 && cfg.loss().lossType().equals("kto"))
            throw new IllegalArgumentException(
                    "kto needs per_device_train_batch_size >= 2: the KL reference point pairs each prompt with another row's completion");
        Reference ref = new Reference(policy, refModel, false, "kto");
        long desirable = train.stream().filter(UnpairedExample::desirable).count(),
                undesirable = train.size() - desirable;
        double ratio = cfg.loss().desirableWeight()
                * desirable
                / Math.max(1e-9, cfg.loss().undesirableWeight() * undesirable);
        if (ratio < 1 || ratio > 4.0 / 3.0) // TRL's warning: the paper recommends desirable_weight * n_D /
            // (undesirable_weight * n_U) in [1, 4/3]
            LOG.warn(String.format(
                    java.util.Locale.ROOT,
                    "kto: desirable_weight*n_desirable / (undesirable_weight*n_undesirable) = %.3f is outside [1, 4/3] (%d desirable, %d undesirable rows); "
                            + "consider adjusting desirable_weight/undesirable_weight",
                    ratio,
                    desirable,
                    undesirable));
        // a training micro-batch's rows run as parts at once on the cores (RowParallel), after its KL reference point
        TrainLoop.MicroBatch<UnpairedExample> step = (mb, window, training) -> microBatch(
                policy, ref, mb, cfg, padId, window, training, training ? RowParallel.parts(policy, mb.size()) : 1);
        return TrainLoop.train(
                "kto",
                policy,
                new TrainLoop.Rows<>(train, e -> e.completion().length, e -> e.prompt().length + e.completion().length),
                cfg.args(),
                TrainLoop.evaluation(
                        eval, cfg.evalSteps(), cfg.args().perDeviceTrainBatchSize(), e -> e.completion().length, step),
                resolvedConfig,
                step,
                false); // the step splits itself, after the micro-batch's z0
    }

    /**
     * loss = sum of per-row KTO losses / window rows (TRL: mean over the batch's desirable and undesirable rows), the
     * micro-batch run as {@code parts} parts of its rows at once ({@link RowParallel}; 1: whole). The reference point z0 is
     * the whole micro-batch's: its mismatched rows (row i's prompt with row i-1's completion, across the parts) are
     * scored first, in parts too, and every part's loss shifts by the same z0.
     */
    static StepSums microBatch(
            Transformer policy,
            Reference ref,
            List<UnpairedExample> mb,
            KtoConfig cfg,
            long padId,
            TrainLoop.Window<?> window,
            boolean train,
            int parts) {
        int b = mb.size();
        try (PointerScope scope = new PointerScope()) {
            Tensor klPolicy, klRef; // (B) each
            double z0 = 0.0; // apo_zero_unpaired has no reference point
            if (cfg.loss().lossType().equals("kto")) {
                List<Integer> rows =
                        java.util.stream.IntStream.range(0, b).boxed().toList();
                float[] p = new float[b], r = new float[b];
                int at = 0;
                for (float[][] part :
                        RowParallel.run(policy, rows, parts, part -> klLogps(policy, ref, mb, part, padId))) {
                    System.arraycopy(part[0], 0, p, at, part[0].length);
                    System.arraycopy(part[1], 0, r, at, part[1].length);
                    at += part[0].length;
                }
                klPolicy = Tensors.floats(p, b);
                klRef = Tensors.floats(r, b);
                // once per micro-batch, however many parts: TRL averages it over the interval's micro-batches
                z0 = KtoLoss.klBaseline(klPolicy, klRef);
            } else {
                klPolicy = klRef = Tensors.floats(new float[b], b); // unused by its loss
            }
            StepSums sums = StepSums.sum(RowParallel.run(
                    policy, mb, parts, part -> rows(policy, ref, part, klPolicy, klRef, cfg, padId, window, train)));
            return StepSums.empty()
                    .add("kl", z0, "micro_batches")
                    .count("micro_batches", 1)
                    .plus(sums);
        }
    }

    /**
     * The policy's and the reference's summed log-probs ([0], [1]: one per row of {@code rows}) of the mismatched
     * completions, without a graph (as TRL): row i's prompt with row i-1's completion, the first row with the last's
     * (TRL's KL dataset shifts completions by one within the batch).
     */
    private static float[][] klLogps(
            Transformer policy, Reference ref, List<UnpairedExample> mb, List<Integer> rows, long padId) {
        int b = mb.size();
        List<long[]> prompts = new ArrayList<>(), klCompletions = new ArrayList<>();
        for (int i : rows) {
            prompts.add(mb.get(i).prompt());
            klCompletions.add(mb.get((i + b - 1) % b).completion());
        }
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs kl = CompletionBatch.inputs(prompts, klCompletions, padId);
            return new float[][] {
                Tensors.toFloats(CompletionBatch.referenceLogps(policy, kl)), Tensors.toFloats(ref.logps(kl))
            };
        }
    }

    /** Forward and backward of {@code mb}'s rows against the micro-batch's mismatched log-probs (B each), and what they log. */
    private static StepSums rows(
            Transformer policy,
            Reference ref,
            List<UnpairedExample> mb,
            Tensor klPolicy,
            Tensor klRef,
            KtoConfig cfg,
            long padId,
            TrainLoop.Window<?> window,
            boolean train) {
        int b = mb.size();
        KtoLoss.Config lc = cfg.loss();
        List<long[]> prompts = new ArrayList<>(), completions = new ArrayList<>();
        float[] label = new float[b];
        for (int i = 0; i < b; i++) {
            prompts.add(mb.get(i).prompt());
            completions.add(mb.get(i).completion());
            label[i] = mb.get(i).desirable() ? 1f : 0f;
        }
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.inputs(prompts, completions, padId);
            Tensor refLogps = ref.logps(in), desirable = Tensors.floats(label, b);
            StepSums[] sums = new StepSums[1];
            double loss = CompletionBatch.forwardBackward(
                    policy, in, Pass.of(train, cfg.args().gradientCheckpointing()), hidden -> {
                        CompletionBatch.Output out = CompletionBatch.fromHidden(policy, hidden, in, false);
                        KtoLoss.Output k = KtoLoss.compute(out.logps(), refLogps, desirable, klPolicy, klRef, lc);
                        Tensor l = k.perExample().sum().div(Tensors.scalar((double) window.size()));
                        try (NoGradGuard g = new NoGradGuard()) {
                            float[] lp = Tensors.toFloats(out.logps().detach()), rl = Tensors.toFloats(refLogps);
                            float[] logits = Tensors.toFloats(out.logitsSum()),
                                    entropy = Tensors.toFloats(out.entropySum()),
                                    tokens = Tensors.toFloats(out.lengths()); // (B) each, completion tokens
                            StepSums s = StepSums.empty().inputTokens(in.tokens()); // kl: microBatch's
                            for (int i = 0; i < b; i++) {
                                boolean good = label[i] == 1f;
                                String side = good ? "chosen" : "rejected", count = "count/" + side;
                                String sideTokens = good ? StepSums.CHOSEN_TOKENS : StepSums.REJECTED_TOKENS;
                                s.count(count, 1)
                                        .add("rewards/" + side, lc.beta() * (lp[i] - rl[i]), count)
                                        .add("logps/" + side, lp[i], count)
                                        // TRL kto_trainer.py:1614-1631: vocab-mean logit over the side's completion
                                        // tokens; :1595-1606: entropy over every row's completion tokens
                                        .count(sideTokens, tokens[i])
                                        .add("logits/" + side, logits[i], sideTokens)
                                        .count(StepSums.TOKENS, tokens[i])
                                        .add("entropy", entropy[i], StepSums.TOKENS);
                            }
                            sums[0] = s;
                        }
                        return l;
                    });
            return sums[0].withLoss(loss);
        }
    }
}
