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
        TrainLoop.MicroBatch<UnpairedExample> step =
                (mb, window, training) -> microBatch(policy, ref, mb, cfg, padId, window, training);
        return TrainLoop.train(
                "kto",
                policy,
                new TrainLoop.Rows<>(train, e -> e.completion().length, e -> e.prompt().length + e.completion().length),
                cfg.args(),
                TrainLoop.evaluation(
                        eval, cfg.evalSteps(), cfg.args().perDeviceTrainBatchSize(), e -> e.completion().length, step),
                resolvedConfig,
                step);
    }

    /** loss = sum of per-row KTO losses / window rows (TRL: mean over the batch's desirable and undesirable rows). */
    static StepSums microBatch(
            Transformer policy,
            Reference ref,
            List<UnpairedExample> mb,
            KtoConfig cfg,
            long padId,
            TrainLoop.Window<?> window,
            boolean train) {
        int b = mb.size();
        KtoLoss.Config lc = cfg.loss();
        List<long[]> prompts = new ArrayList<>(), completions = new ArrayList<>(), klCompletions = new ArrayList<>();
        float[] label = new float[b];
        for (int i = 0; i < b; i++) {
            prompts.add(mb.get(i).prompt());
            completions.add(mb.get(i).completion());
            klCompletions.add(mb.get((i + b - 1) % b).completion()); // row i's prompt with row i-1's completion
            label[i] = mb.get(i).desirable() ? 1f : 0f;
        }
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.inputs(prompts, completions, padId);
            Tensor refLogps = ref.logps(in), desirable = Tensors.floats(label, b);
            Tensor klPolicy, klRef;
            if (lc.lossType().equals("kto")) {
                CompletionBatch.Inputs kl = CompletionBatch.inputs(prompts, klCompletions, padId);
                klPolicy = CompletionBatch.referenceLogps(policy, kl); // the policy's side, without a graph (as TRL)
                klRef = ref.logps(kl);
            } else {
                klPolicy = klRef = Tensors.floats(new float[b], b); // apo_zero_unpaired has no reference point
            }
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
                            StepSums s = StepSums.empty()
                                    .inputTokens(in.tokens())
                                    .add("kl", k.z0(), "micro_batches")
                                    .count("micro_batches", 1);
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
