// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.align4j.model.Transformer;

/**
 * The optimizer loop every trainer runs (SFT, reward, DPO, CPO, ORPO, KTO); each passes its own
 * micro-batch function, which holds the method. A step is:
 * <ol>
 *   <li>read gradient_accumulation_steps micro-batches in the seeded order ({@link DataCursor});
 *   <li>run each micro-batch forward and backward with its loss scaled to the whole window
 *       (per-row losses summed and divided by the window's rows, token terms by the window's
 *       target tokens), so 1 micro-batch of 8 gives the update of 8 micro-batches of 1;
 *   <li>stop on a non-finite loss before anything is applied or saved;
 *   <li>clip, update, log (the first logged step describes the first batch before any update),
 *       evaluate and checkpoint when due.
 * </ol>
 * A resumed run replays the data order to continue {@code num_tokens} where it stood.
 */
final class TrainLoop {
    private TrainLoop() {}

    /** The accumulation window a micro-batch's loss is normalised to: its rows and target tokens; {@code step} is the optimizer step it belongs to (0-based). */
    record Window(int rows, long chosenTokens, int step) {
        Window(int rows, long chosenTokens) {
            this(rows, chosenTokens, 0);
        }
    }

    /** One micro-batch: forward, loss scaled to {@code window}, backward when {@code train}; returns what to log. */
    interface MicroBatch<T> {
        StepSums run(List<T> rows, Window window, boolean train);
    }

    /**
     * The training rows and how to count them: {@code targetTokens} are the tokens a token-mean
     * term divides by (SFT targets, chosen completion tokens), {@code inputTokens} what num_tokens
     * counts (every token fed to the model).
     */
    record Rows<T>(List<T> rows, ToLongFunction<T> targetTokens, ToLongFunction<T> inputTokens) {}

    /** Evaluation every {@code everySteps} steps (0: only at the end); null = no eval set. */
    record Evaluation(int everySteps, Supplier<Map<String, Double>> run) {}

    static <T> TrainResult train(
            String command,
            Transformer model,
            Rows<T> data,
            TrainingArgs a,
            Evaluation eval,
            Map<String, Object> resolvedConfig,
            MicroBatch<T> microBatch)
            throws IOException {
        List<T> train = data.rows();
        if (train.isEmpty()) throw new IllegalArgumentException(command + ": the training set is empty");
        int totalSteps = a.totalSteps(train.size());
        LrSchedule schedule = a.schedule(totalSteps);
        model.requiresGrad(true);
        try (AdamW opt = AdamW.withDefaults(model.trainableParameters(), a.weightDecay())) {
            TrainCheckpoints.State state = TrainCheckpoints.start(command, a, model, opt);
            DataCursor cursor = new DataCursor(
                    train.size(), a.perDeviceTrainBatchSize(), a.seed(), state.epoch(), state.batchInEpoch());
            long numTokens = DataCursor.tokensBefore(
                    train,
                    a.perDeviceTrainBatchSize(),
                    a.seed(),
                    state.globalStep() * a.gradientAccumulationSteps(),
                    data.inputTokens());
            try (LogWindow log = new LogWindow(command, a, state.globalStep(), totalSteps)) {
                for (int step = state.globalStep(); step < totalSteps; step++) {
                    List<List<T>> window = cursor.window(train, a.gradientAccumulationSteps());
                    List<T> all = window.stream().flatMap(List::stream).toList();
                    Window w = new Window(
                            all.size(),
                            all.stream().mapToLong(data.targetTokens()).sum(),
                            step);
                    if (w.chosenTokens() == 0)
                        throw new IllegalStateException(command + " step " + (step + 1)
                                + ": no target tokens in the batch (every loss mask is empty); check the data");
                    StepSums sums = StepSums.empty();
                    for (List<T> mb : window) sums = sums.plus(microBatch.run(mb, w, true));
                    if (!Double.isFinite(sums.loss()))
                        throw new IllegalStateException(
                                command + " step " + (step + 1) + ": loss is " + sums.loss()
                                        + "; lower learning_rate (or beta), or check the data (nothing was applied or saved from this step)");
                    double lr = schedule.at(step);
                    double gradNorm = opt.clipStepAndZero(model, a.maxGradNorm(), lr);
                    long stepTokens = all.stream().mapToLong(data.inputTokens()).sum();
                    numTokens += stepTokens;
                    int done = step + 1;
                    log.add(sums.metrics(), stepTokens);
                    log.maybeLog(done, cursor.epochFloat(), lr, gradNorm, numTokens);
                    boolean last = done == totalSteps;
                    if (eval != null && (last || (eval.everySteps() > 0 && done % eval.everySteps() == 0)))
                        log.logEval(done, cursor.epochFloat(), eval.run().get());
                    if (a.saveSteps() > 0 && done % a.saveSteps() == 0 && !last)
                        TrainCheckpoints.save(
                                a.outputDir(),
                                model,
                                opt,
                                new TrainCheckpoints.State(done, cursor.epoch(), cursor.batchInEpoch(), a.seed()),
                                resolvedConfig);
                }
                model.requiresGrad(false);
                TrainCheckpoints.saveFinal(model, a.outputDir(), resolvedConfig);
                return new TrainResult(log.logged(), totalSteps);
            }
        } finally {
            model.requiresGrad(false);
        }
    }

    /** Evaluation of {@code eval} through the trainer's own micro-batch function (no graph), or null when there is no eval set. */
    static <T> Evaluation evaluation(
            List<T> eval, int everySteps, int batch, ToLongFunction<T> targetTokens, MicroBatch<T> microBatch) {
        return eval.isEmpty()
                ? null
                : new Evaluation(everySteps, () -> evaluate(eval, batch, targetTokens, microBatch));
    }

    /** Every token a preference pair feeds the model: the prompt twice, then both completions. */
    static long pairTokens(org.align4j.data.PreferencePair p) {
        return 2L * p.prompt().length + p.chosen().length + p.rejected().length;
    }

    /** Loss and metrics over a held-out set without a graph; eval_loss is normalised over the whole set. */
    static <T> Map<String, Double> evaluate(
            List<T> eval, int batch, ToLongFunction<T> chosenTokens, MicroBatch<T> microBatch) {
        Window w = new Window(eval.size(), eval.stream().mapToLong(chosenTokens).sum());
        StepSums sums = StepSums.empty();
        for (int from = 0; from < eval.size(); from += batch)
            sums = sums.plus(microBatch.run(eval.subList(from, Math.min(eval.size(), from + batch)), w, false));
        return sums.metrics();
    }

    /**
     * Runs {@code lossFromHidden} on the policy's final hidden states for {@code in}: without a graph
     * when not training, with layer-wise recomputation when gradient_checkpointing is on, else a
     * plain forward and backward. Returns the loss value.
     */
    static double forwardBackward(
            Transformer policy,
            CompletionBatch.Inputs in,
            boolean train,
            boolean checkpointed,
            java.util.function.Function<org.bytedeco.pytorch.Tensor, org.bytedeco.pytorch.Tensor> lossFromHidden) {
        if (!train) {
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                return lossFromHidden
                        .apply(policy.forward(in.ids(), in.attention(), null))
                        .item_double();
            }
        }
        if (checkpointed) return policy.forwardBackwardCheckpointed(in.ids(), in.attention(), lossFromHidden);
        org.bytedeco.pytorch.Tensor loss = lossFromHidden.apply(policy.forward(in.ids(), in.attention(), null));
        loss.backward();
        return loss.item_double();
    }
}
