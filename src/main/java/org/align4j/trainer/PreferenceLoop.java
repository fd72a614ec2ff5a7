// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.align4j.model.Transformer;

/**
 * The optimizer loop of the preference trainers (DPO, CPO, ORPO, KTO); each passes its own
 * micro-batch function, which holds the method. A step is:
 * <ol>
 *   <li>read gradient_accumulation_steps micro-batches in the seeded order ({@link DataCursor});
 *   <li>run each micro-batch forward and backward with its loss scaled to the whole window
 *       (per-row losses summed and divided by the window's rows, token terms by the window's
 *       chosen tokens), so 1 micro-batch of 8 gives the update of 8 micro-batches of 1;
 *   <li>stop on a non-finite loss before anything is applied or saved;
 *   <li>clip, update, log (the first logged step describes the first batch before any update),
 *       evaluate and checkpoint when due.
 * </ol>
 */
final class PreferenceLoop {
    private PreferenceLoop() {}

    /** The accumulation window a micro-batch's loss is normalised to. */
    record Window(int rows, long chosenTokens) {}

    /** One micro-batch: forward, loss scaled to {@code window}, backward when {@code train}; returns what to log. */
    interface MicroBatch<T> {
        StepSums run(List<T> rows, Window window, boolean train);
    }

    static <T> TrainResult train(String command, Transformer policy, List<T> train, List<T> eval, ToLongFunction<T> chosenTokens,
            TrainingArgs a, int evalSteps, Map<String, Object> resolvedConfig, MicroBatch<T> microBatch) throws IOException {
        if (train.isEmpty()) throw new IllegalArgumentException(command + ": the training set is empty");
        int totalSteps = a.totalSteps(train.size());
        LrSchedule schedule = a.schedule(totalSteps);
        policy.requiresGrad(true);
        try (AdamW opt = AdamW.withDefaults(policy.trainableParameters(), a.weightDecay())) {
            TrainCheckpoints.State state = TrainCheckpoints.start(command, a, policy, opt);
            DataCursor cursor = new DataCursor(train.size(), a.perDeviceTrainBatchSize(), a.seed(), state.epoch(), state.batchInEpoch());
            long numTokens = 0;
            try (LogWindow log = new LogWindow(command, a, state.globalStep(), totalSteps)) {
                for (int step = state.globalStep(); step < totalSteps; step++) {
                    List<List<T>> window = cursor.window(train, a.gradientAccumulationSteps());
                    Window w = window(window.stream().flatMap(List::stream).toList(), chosenTokens);
                    StepSums sums = StepSums.empty();
                    for (List<T> mb : window) sums = sums.plus(microBatch.run(mb, w, true));
                    if (!Double.isFinite(sums.loss()))
                        throw new IllegalStateException(command + " step " + (step + 1) + ": loss is " + sums.loss()
                                + "; lower learning_rate or beta, or check the data (nothing was applied or saved from this step)");
                    double lr = schedule.at(step);
                    double gradNorm = opt.clipStepAndZero(policy, a.maxGradNorm(), lr);
                    numTokens += sums.inputTokens();
                    int done = step + 1;
                    log.add(sums.metrics(), sums.inputTokens());
                    log.maybeLog(done, cursor.epochFloat(), lr, gradNorm, numTokens);
                    boolean last = done == totalSteps;
                    if (!eval.isEmpty() && (last || (evalSteps > 0 && done % evalSteps == 0)))
                        log.logEval(done, cursor.epochFloat(), evaluate(eval, a.perDeviceTrainBatchSize(), chosenTokens, microBatch));
                    if (a.saveSteps() > 0 && done % a.saveSteps() == 0 && !last)
                        TrainCheckpoints.save(a.outputDir(), policy, opt, new TrainCheckpoints.State(done, cursor.epoch(), cursor.batchInEpoch(), a.seed()), resolvedConfig);
                }
                policy.requiresGrad(false);
                TrainCheckpoints.saveFinal(policy, a.outputDir(), resolvedConfig);
                return new TrainResult(log.logged(), totalSteps);
            }
        } finally {
            policy.requiresGrad(false);
        }
    }

    /** Loss and metrics over a held-out set without a graph; eval_loss is normalised over the whole set. */
    static <T> Map<String, Double> evaluate(List<T> eval, int batch, ToLongFunction<T> chosenTokens, MicroBatch<T> microBatch) {
        Window w = window(eval, chosenTokens);
        StepSums sums = StepSums.empty();
        for (int from = 0; from < eval.size(); from += batch) sums = sums.plus(microBatch.run(eval.subList(from, Math.min(eval.size(), from + batch)), w, false));
        return sums.metrics();
    }

    /**
     * Runs {@code lossFromHidden} on the policy's final hidden states for {@code in}: without a graph
     * when not training, with layer-wise recomputation when gradient_checkpointing is on, else a
     * plain forward and backward. Returns the loss value.
     */
    static double forwardBackward(Transformer policy, CompletionBatch.Inputs in, boolean train, boolean checkpointed,
            java.util.function.Function<org.bytedeco.pytorch.Tensor, org.bytedeco.pytorch.Tensor> lossFromHidden) {
        if (!train) {
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                return lossFromHidden.apply(policy.forward(in.ids(), in.attention(), null)).item_double();
            }
        }
        if (checkpointed) return policy.forwardBackwardCheckpointed(in.ids(), in.attention(), lossFromHidden);
        org.bytedeco.pytorch.Tensor loss = lossFromHidden.apply(policy.forward(in.ids(), in.attention(), null));
        loss.backward();
        return loss.item_double();
    }

    private static <T> Window window(List<T> rows, ToLongFunction<T> chosenTokens) {
        return new Window(rows.size(), rows.stream().mapToLong(chosenTokens).sum());
    }
}
