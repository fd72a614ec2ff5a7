// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.align4j.data.PackedSequence;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

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
    /** What a run did: the logged rows, in order. */
    public record Result(List<Map<String, Object>> logged, int globalStep) {}

    private SftTrainer() {}

    /** Trains on one sequence per row, right-padded into micro-batches. */
    public static Result train(Transformer model, List<Sequence> data, TrainingArgs cfg, long padId, Map<String, Object> resolvedConfig) throws IOException {
        return run(model, data, cfg, resolvedConfig, (mb, windowTargets) -> microBatch(model, mb, padId, windowTargets, cfg.gradientCheckpointing()), Sequence::targets);
    }

    /**
     * Trains on packed rows ({@link org.align4j.data.Packing}): each row holds several examples
     * with their own position ids and block-diagonal attention, so the loss and gradients equal
     * those of the examples unpacked.
     */
    public static Result trainPacked(Transformer model, List<PackedSequence> data, TrainingArgs cfg, long padId, Map<String, Object> resolvedConfig) throws IOException {
        return run(model, data, cfg, resolvedConfig, (mb, windowTargets) -> microBatchPacked(model, mb, padId, windowTargets, cfg.gradientCheckpointing()),
                PackedSequence::targets);
    }

    /** One micro-batch's forward and backward: {summed loss contribution, correct predictions}. */
    private interface MicroBatch<T> {
        double[] run(List<T> rows, long windowTargets);
    }

    private static <T> Result run(Transformer model, List<T> data, TrainingArgs cfg, Map<String, Object> resolvedConfig, MicroBatch<T> microBatch,
            java.util.function.ToIntFunction<T> targets) throws IOException {
        if (data.isEmpty()) throw new IllegalArgumentException("the training set is empty");
        int totalSteps = cfg.totalSteps(data.size());
        LrSchedule schedule = cfg.schedule(totalSteps);

        model.requiresGrad(true);
        List<Map<String, Object>> logged = new ArrayList<>();
        try (AdamW opt = AdamW.withDefaults(model.trainableParameters(), cfg.weightDecay())) {
            TrainCheckpoints.State state = new TrainCheckpoints.State(0, 0, 0, cfg.seed());
            Path resume = TrainCheckpoints.resumePath(cfg);
            if (resume != null) {
                state = TrainCheckpoints.restore(resume, model, opt);
                System.err.println("sft: resumed from " + resume + " at step " + state.globalStep());
            } else {
                TrainCheckpoints.prepareOutputDir(cfg);
            }
            DataCursor cursor = new DataCursor(data.size(), cfg.perDeviceTrainBatchSize(), cfg.seed(), state.epoch(), state.batchInEpoch());
            double lossSum = 0, accSum = 0;
            int lossCount = 0;
            long tokens = 0, startNanos = System.nanoTime();
            try (MetricsLog log = MetricsLog.open(cfg.outputDir(), state.globalStep());
                    TensorBoardWriter tb = cfg.reportTo().equals("tensorboard") ? new TensorBoardWriter(cfg.outputDir().resolve("runs")) : null) {
                for (int step = state.globalStep(); step < totalSteps; step++) {
                    // one optimizer step = gradient_accumulation_steps micro-batches
                    List<List<T>> window = new ArrayList<>();
                    for (int a = 0; a < cfg.gradientAccumulationSteps(); a++) window.add(cursor.next(data));
                    long windowTargets = 0;
                    for (List<T> mb : window) for (T e : mb) windowTargets += targets.applyAsInt(e);
                    if (windowTargets == 0) throw new IllegalStateException("step " + (step + 1) + ": no target tokens in the batch (every loss mask is empty)");
                    double stepLoss = 0, stepCorrect = 0;
                    for (List<T> mb : window) {
                        double[] lossAndCorrect = microBatch.run(mb, windowTargets);
                        stepLoss += lossAndCorrect[0];
                        stepCorrect += lossAndCorrect[1];
                    }
                    if (!Double.isFinite(stepLoss))
                        throw new IllegalStateException("step " + (step + 1) + ": loss is " + stepLoss + "; lower learning_rate or check the data (nothing was saved from this step)");
                    double gradNorm = torch.clip_grad_norm_(model.parameterVector(), cfg.maxGradNorm(), 2.0, false);
                    double lr = schedule.at(step);
                    opt.step(lr);
                    opt.zeroGrad();
                    tokens += windowTargets;
                    lossSum += stepLoss;
                    accSum += stepCorrect / windowTargets;
                    lossCount++;
                    int done = step + 1;
                    if (done == 1 || done % cfg.loggingSteps() == 0 || done == totalSteps) {
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("step", done);
                        row.put("epoch", cursor.epochFloat());
                        row.put("loss", lossSum / lossCount);
                        row.put("learning_rate", lr);
                        row.put("grad_norm", gradNorm);
                        row.put("mean_token_accuracy", accSum / lossCount);
                        row.put("num_tokens", tokens);
                        log.log(row);
                        if (tb != null) tb.scalars(done, row);
                        logged.add(row);
                        double secs = (System.nanoTime() - startNanos) / 1e9;
                        System.err.printf("sft: step %d/%d  loss %.4f  lr %.2e  %.0f target tokens/s  ETA %.0fs%n", done, totalSteps,
                                lossSum / lossCount, lr, tokens / secs, secs / (done - state.globalStep()) * (totalSteps - done));
                        lossSum = accSum = 0;
                        lossCount = 0;
                    }
                    if (cfg.saveSteps() > 0 && done % cfg.saveSteps() == 0 && done < totalSteps)
                        TrainCheckpoints.save(cfg.outputDir(), model, opt, new TrainCheckpoints.State(done, cursor.epoch(), cursor.batchInEpoch(), cfg.seed()), resolvedConfig);
                }
            }
            model.requiresGrad(false);
            TrainCheckpoints.saveFinal(model, cfg.outputDir(), resolvedConfig);
            return new Result(logged, totalSteps);
        }
    }

    /**
     * Forward and backward of one micro-batch; returns {summed loss contribution, correct argmax
     * predictions}. The loss is sum(-log p * mask) / windowTargets so accumulated micro-batches add
     * up to the mean over the whole window.
     */
    static double[] microBatch(Transformer model, List<Sequence> mb, long padId, long windowTargets, boolean checkpointed) {
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
            return lossAndBackward(model, idsT, Tensors.floats(mask, b, t - 1), windowTargets, checkpointed,
                    fn -> model.forwardBackwardCheckpointed(idsT, attnT, fn), () -> model.forward(idsT, attnT, null));
        }
    }

    /**
     * {@link #microBatch} for packed rows: explicit position ids and segment ids (block-diagonal
     * causal attention); right padding forms one more segment whose tokens are never targets.
     */
    static double[] microBatchPacked(Transformer model, List<PackedSequence> mb, long padId, long windowTargets, boolean checkpointed) {
        int b = mb.size(), t = mb.stream().mapToInt(PackedSequence::length).max().orElseThrow();
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
            return lossAndBackward(model, idsT, Tensors.floats(mask, b, t - 1), windowTargets, checkpointed,
                    fn -> model.forwardBackwardCheckpointedPacked(idsT, posT, segT, fn), () -> model.forwardPacked(idsT, posT, segT));
        }
    }

    /** Masked next-token NLL over (B, T-1) positions, back-propagated; {loss, correct argmax predictions}. */
    private static double[] lossAndBackward(Transformer model, Tensor idsT, Tensor maskT, long windowTargets, boolean checkpointed,
            Function<Function<Tensor, Tensor>, Double> checkpointedRun, java.util.function.Supplier<Tensor> forward) {
        long t = idsT.size(1);
        Tensor labels = idsT.narrow(1, 1, t - 1);
        double[] correct = {0};
        Function<Tensor, Tensor> lossFromHidden = hidden -> {
            Tensor logits = model.logits(hidden.narrow(1, 0, t - 1)); // (B, T-1, V)
            Tensor lp = LogProbs.tokenLogps(logits, labels); // (B, T-1)
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor argmax = logits.argmax(new org.bytedeco.pytorch.LongOptional(-1), false);
                correct[0] = argmax.eq(labels).to(torch.ScalarType.Float).mul(maskT).sum().item_float();
            }
            return lp.mul(maskT).sum().neg().div(Tensors.scalar((double) windowTargets));
        };
        double loss;
        if (checkpointed) {
            loss = checkpointedRun.apply(lossFromHidden);
        } else {
            Tensor l = lossFromHidden.apply(forward.get());
            l.backward();
            loss = l.item_double();
        }
        return new double[] {loss, correct[0]};
    }
}
