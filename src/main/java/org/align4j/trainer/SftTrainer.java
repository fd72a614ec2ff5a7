// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.align4j.data.PackedSequence;
import org.align4j.data.Packing;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.model.ChunkedLmHead;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Supervised fine-tuning (TRL's SFTTrainer): next-token cross-entropy on the tokens each example
 * marks as targets (the completion for prompt-completion data, the assistant turns for
 * conversations, everything for plain text).
 *
 * <p>Gradient accumulation is normalised by the number of target tokens in the whole accumulated
 * batch (transformers' {@code num_items_in_batch}), so 1 micro-batch of 8 and 8 micro-batches of 1
 * give the same update.
 */
public final class SftTrainer {
    private SftTrainer() {}

    /** Trains on one sequence per row, right-padded into micro-batches; evaluates on {@code eval} (may be empty) every eval_steps. */
    public static TrainResult train(
            Transformer model,
            List<Sequence> data,
            List<Sequence> eval,
            int evalSteps,
            TrainingArgs cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainLoop.MicroBatch<Sequence> step = (mb, window, training) -> sums(
                microBatch(model, mb, padId, window.targetTokens(), cfg.gradientCheckpointing(), training),
                mb.stream().mapToLong(Sequence::targets).sum());
        return TrainLoop.train(
                "sft",
                model,
                new TrainLoop.Rows<>(data, Sequence::targets, Sequence::length),
                cfg,
                TrainLoop.evaluation(eval, evalSteps, cfg.perDeviceTrainBatchSize(), Sequence::targets, step),
                resolvedConfig,
                step,
                true); // a micro-batch touches only its rows and the weights: its rows may run as parts at once
    }

    public static TrainResult train(
            Transformer model, List<Sequence> data, TrainingArgs cfg, long padId, Map<String, Object> resolvedConfig)
            throws IOException {
        return train(model, data, List.of(), 0, cfg, padId, resolvedConfig);
    }

    /**
     * AAPA-anchored SFT (docs/aapa.md): beside each micro-batch's NLL, {@code rollouts} samples per
     * prompt from the current policy are scored by the fixed discriminator's anchor (told the
     * optimizer step for its schedule) and a REINFORCE term -mean((a - mean a) log pi(rollout))
     * is back-propagated ({@link org.align4j.loss.AnchorRewardTerm}), scaled by the micro-batch's
     * share of the window. Prompts are each sequence's context before its first target token.
     */
    public record Anchoring(
            org.align4j.reward.RewardFunction anchor,
            org.align4j.tokenizer.Tokenizer tok,
            int rollouts,
            org.align4j.generate.SamplingParams sampling) {}

    public static TrainResult trainAnchored(
            Transformer model,
            List<Sequence> data,
            TrainingArgs cfg,
            long padId,
            Anchoring a,
            Map<String, Object> resolvedConfig)
            throws IOException {
        // each worker would sample its slice of a micro-batch with the micro-batch's seed and co-train its own head
        TrainLoop.requireOneWorker("sft with the AAPA anchor (aapa_discriminator_path)");
        TrainLoop.MicroBatch<Sequence> step = (mb, window, training) -> {
            // the NLL's rows as parts at once, as plain SFT runs them; the anchor's sampling after, on this thread
            int parts = training ? RowParallel.parts(model, mb.size()) : 1;
            StepSums s = StepSums.sum(RowParallel.run(
                    model,
                    mb,
                    parts,
                    rows -> sums(
                            microBatch(
                                    model, rows, padId, window.targetTokens(), cfg.gradientCheckpointing(), training),
                            rows.stream().mapToLong(Sequence::targets).sum())));
            if (!training) return s;
            double term = anchorTerm(model, mb, a, window, padId);
            return s.withLoss(s.loss() + term)
                    .add("aapa/anchor_term", term, "micro_batches")
                    .count("micro_batches", 1);
        };
        return TrainLoop.train(
                "sft",
                model,
                new TrainLoop.Rows<>(data, Sequence::targets, Sequence::length),
                cfg,
                null,
                resolvedConfig,
                step,
                false); // the anchored step splits its NLL part itself; the anchor term samples
    }

    /** The anchor's REINFORCE term for one micro-batch's prompts, back-propagated; returns its (window-scaled) value. */
    private static double anchorTerm(
            Transformer model, List<Sequence> mb, Anchoring a, TrainLoop.Window<?> window, long padId) {
        List<Rollouts.Prompt> prompts = new ArrayList<>();
        for (Sequence s : mb) {
            int first = 1;
            while (first < s.length() && s.targetMask()[first] == 0) first++;
            long[] p = Arrays.copyOf(s.inputIds(), first);
            prompts.add(new Rollouts.Prompt(p, a.tok().decode(p, true), null));
        }
        model.requiresGrad(false);
        List<Rollouts.Rollout> rolls;
        try {
            var sp = a.sampling();
            rolls = Rollouts.sample(
                    model, a.tok(), prompts, a.rollouts(), sp.withSeed(sp.seed() * 1_000_003L + window.step()));
        } finally {
            model.requiresGrad(true);
        }
        a.anchor().setStep(window.step());
        double[] rewards = a.anchor()
                .score(
                        rolls.stream().map(r -> r.prompt().text()).toList(),
                        rolls.stream().map(Rollouts.Rollout::completionText).toList(),
                        java.util.Collections.nCopies(rolls.size(), null));
        List<long[]> ps = new ArrayList<>(), cs = new ArrayList<>();
        for (Rollouts.Rollout r : rolls) {
            ps.add(r.prompt().ids());
            cs.add(r.completion());
        }
        double share = (double) mb.size() / window.size();
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.inputs(ps, cs, padId);
            return CompletionBatch.forwardBackward(model, in, Pass.of(true, false), hidden -> {
                CompletionBatch.Output o = CompletionBatch.fromHidden(model, hidden, in, false);
                return org.align4j.loss.AnchorRewardTerm.reinforce(o.logps(), rewards)
                        .mul(Tensors.scalar(share));
            });
        }
    }

    /**
     * Trains on packed rows ({@link org.align4j.data.Packing}): each row holds several examples
     * with their own position ids and block-diagonal attention, so the loss and gradients equal
     * those of the examples unpacked.
     */
    public static TrainResult trainPacked(
            Transformer model,
            List<PackedSequence> data,
            TrainingArgs cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainLoop.MicroBatch<PackedSequence> step = (mb, window, training) -> sums(
                microBatchPacked(model, mb, padId, window.targetTokens(), cfg.gradientCheckpointing()),
                mb.stream().mapToLong(PackedSequence::targets).sum());
        return TrainLoop.train(
                "sft",
                model,
                new TrainLoop.Rows<>(data, PackedSequence::targets, PackedSequence::length),
                cfg,
                null,
                resolvedConfig,
                step,
                true);
    }

    /** TRL's SFT metrics from {loss, correct argmax predictions}: mean_token_accuracy over the target tokens. */
    private static StepSums sums(double[] lossAndCorrect, long targets) {
        return StepSums.empty()
                .withLoss(lossAndCorrect[0])
                .add("mean_token_accuracy", lossAndCorrect[1], "targets")
                .count("targets", targets);
    }

    /**
     * Forward and backward of one micro-batch; returns {summed loss contribution, correct argmax
     * predictions}. The loss is sum(-log p * mask) / windowTargets so accumulated micro-batches add
     * up to the mean over the whole window.
     */
    static double[] microBatch(
            Transformer model, List<Sequence> mb, long padId, long windowTargets, boolean checkpointed, boolean train) {
        List<PackedSequence> packed = packedWithin(mb);
        return packed != null
                ? microBatchPacked(model, packed, padId, windowTargets, checkpointed, train)
                : microBatchPadded(model, mb, padId, windowTargets, checkpointed, train);
    }

    /**
     * The micro-batch's rows packed best-fit-decreasing into rows of its longest row's length (TRL's padding_free, with
     * no row longer than a padded one, so attention costs no more), where that drops at least an eighth of the padded
     * tokens; else null. Packed rows compute what the rows compute padded ({@link PackedSequence}: own position ids,
     * block-diagonal attention), on fewer tokens: the demo's SFT (parts of 32 rows of 11 tokens on average, the longest
     * 17) ran 633k positions packed against 751k padded, for 503k real tokens.
     */
    static List<PackedSequence> packedWithin(List<Sequence> mb) {
        int b = mb.size(), t = mb.stream().mapToInt(Sequence::length).max().orElseThrow();
        if (b < 2) return null;
        List<PackedSequence> packed = Packing.bestFitDecreasing(mb, t);
        return (long) packed.size() * 8 <= (long) b * 7 ? packed : null;
    }

    /** {@link #microBatch} on the rows as they are, right-padded to the longest. */
    static double[] microBatchPadded(
            Transformer model, List<Sequence> mb, long padId, long windowTargets, boolean checkpointed, boolean train) {
        int b = mb.size(), t = mb.stream().mapToInt(Sequence::length).max().orElseThrow();
        long[] ids = new long[b * t], attn = new long[b * t];
        float[] mask = new float[b * (t - 1)];
        Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            Sequence e = mb.get(r);
            System.arraycopy(e.inputIds(), 0, ids, r * t, e.length());
            Arrays.fill(attn, r * t, r * t + e.length(), 1L);
            // position i predicts token i + 1: the target mask shifts left by one
            System.arraycopy(e.targetMask(), 1, mask, r * (t - 1), e.length() - 1);
        }
        try (PointerScope s = new PointerScope()) {
            Tensor idsT = Tensors.longs(ids, b, t), attnT = Tensors.longs(attn, b, t);
            return lossAndBackward(
                    model,
                    idsT,
                    Tensors.floats(mask, b, t - 1),
                    windowTargets,
                    checkpointed,
                    train,
                    fn -> model.forwardBackwardCheckpointed(idsT, attnT, fn),
                    () -> model.forward(idsT, attnT, null));
        }
    }

    /**
     * {@link #microBatch} for packed rows: explicit position ids and segment ids (block-diagonal
     * causal attention); right padding forms one more segment whose tokens are never targets.
     */
    static double[] microBatchPacked(
            Transformer model, List<PackedSequence> mb, long padId, long windowTargets, boolean checkpointed) {
        return microBatchPacked(model, mb, padId, windowTargets, checkpointed, true);
    }

    /** {@link #microBatchPacked}, back-propagated only when {@code train}. */
    static double[] microBatchPacked(
            Transformer model,
            List<PackedSequence> mb,
            long padId,
            long windowTargets,
            boolean checkpointed,
            boolean train) {
        int b = mb.size(),
                t = mb.stream().mapToInt(PackedSequence::length).max().orElseThrow();
        long[] ids = new long[b * t], pos = new long[b * t], seg = new long[b * t];
        float[] mask = new float[b * (t - 1)];
        Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            PackedSequence e = mb.get(r);
            int n = e.length();
            System.arraycopy(e.inputIds(), 0, ids, r * t, n);
            System.arraycopy(e.positionIds(), 0, pos, r * t, n);
            System.arraycopy(e.segmentIds(), 0, seg, r * t, n);
            Arrays.fill(seg, r * t + n, (r + 1) * t, e.lengths().length); // padding: a segment of its own
            for (int i = n; i < t; i++) pos[r * t + i] = i - n;
            if (n > 1) System.arraycopy(e.targetMask(), 1, mask, r * (t - 1), n - 1);
        }
        try (PointerScope s = new PointerScope()) {
            Tensor idsT = Tensors.longs(ids, b, t), posT = Tensors.longs(pos, b, t), segT = Tensors.longs(seg, b, t);
            return lossAndBackward(
                    model,
                    idsT,
                    Tensors.floats(mask, b, t - 1),
                    windowTargets,
                    checkpointed,
                    train,
                    fn -> model.forwardBackwardCheckpointedPacked(idsT, posT, segT, fn),
                    () -> model.forwardPacked(idsT, posT, segT));
        }
    }

    /** Masked next-token NLL over (B, T-1) positions, back-propagated when {@code train}; {loss, correct argmax predictions}. */
    private static double[] lossAndBackward(
            Transformer model,
            Tensor idsT,
            Tensor maskT,
            long windowTargets,
            boolean checkpointed,
            boolean train,
            Function<Function<Tensor, Tensor>, Double> checkpointedRun,
            java.util.function.Supplier<Tensor> forward) {
        long t = idsT.size(1);
        Tensor labels = idsT.narrow(1, 1, t - 1);
        double[] correct = {0};
        Function<Tensor, Tensor> lossFromHidden = hidden -> {
            // the LM head over chunks of the target positions: the (B, T-1, V) logits never exist whole
            ChunkedLmHead.Result head =
                    ChunkedLmHead.compute(model, hidden.narrow(1, 0, t - 1), labels, maskT, 1.0, true, false);
            Tensor lp = head.tokenLogps(); // (B, T-1), 0 off the targets
            try (NoGradGuard g = new NoGradGuard()) {
                correct[0] = head.correct().mul(maskT).sum().item_float();
            }
            return lp.mul(maskT).sum().neg().div(Tensors.scalar((double) windowTargets));
        };
        double loss;
        if (!train) {
            try (NoGradGuard g = new NoGradGuard()) {
                loss = lossFromHidden.apply(forward.get()).item_double();
            }
        } else if (checkpointed) {
            loss = checkpointedRun.apply(lossFromHidden);
        } else {
            Tensor l = lossFromHidden.apply(forward.get());
            l.backward();
            loss = l.item_double();
        }
        return new double[] {loss, correct[0]};
    }
}
