// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;
import org.align4j.data.PreferencePair;
import org.align4j.model.Transformer;

/**
 * The one optimizer loop every trainer runs. A method is a {@link Step}: the forward and backward passes of one
 * optimizer step (SFT/DPO/KTO/...: the accumulation window of micro-batches, {@link #windowed}; GRPO: generate or
 * reuse, then the policy term; online DPO: sample, pair, then the micro-batches), which leaves the step's complete,
 * normalised gradients in the parameters' {@code grad}. Around it the loop does the same for every method:
 *
 * <ol>
 *   <li>claim output_dir, or resume from a checkpoint (weights, AdamW, data cursors, num_tokens, the step's own
 *       state), {@link TrainCheckpoints#start};
 *   <li>per step: run the method's step; stop on a non-finite loss before anything is applied or saved; clip (when
 *       max_grad_norm > 0) and update; count num_tokens; log (the first logged step describes the first batch before
 *       any update); evaluate and checkpoint when due;
 *   <li>save the final model.
 * </ol>
 *
 * The gradients are complete for the step between {@link Step#run} and the clip: that is the one place where
 * data-parallel training reduces them across workers.
 */
public final class TrainLoop {
    private TrainLoop() {}

    /**
     * What one optimizer step did: its metrics (with {@code loss}, already normalised to the step), the tokens it fed
     * the model (num_tokens), and whether it left gradients to apply (online DPO with every prompt tied leaves none,
     * and logs no loss).
     */
    public record StepResult(Map<String, Double> metrics, long inputTokens, boolean update) {
        double loss() {
            return metrics.getOrDefault("loss", Double.NaN);
        }
    }

    /** One optimizer step of a method (0-based {@code step}): forward and backward, gradients left in each grad. */
    @FunctionalInterface
    public interface Step {
        StepResult run(int step) throws IOException;
    }

    /**
     * A run's settings: {@code cursors} are the data orders the step reads (the first one's epoch is logged; all are
     * saved in checkpoints), {@code resumable} is the step's own state beyond them (null for none), {@code
     * fingerprint} describes the training data (compared on resume).
     */
    public record Run(
            String command,
            Transformer model,
            TrainingArgs args,
            int totalSteps,
            List<DataCursor> cursors,
            Evaluation eval,
            Map<String, Object> resolvedConfig,
            TrainCheckpoints.Resumable resumable,
            TrainCheckpoints.Fingerprint fingerprint) {
        /** A run with no evaluation, an empty resolved config, no state beyond the cursors and no data fingerprint. */
        public static Run of(
                String command, Transformer model, TrainingArgs args, int totalSteps, List<DataCursor> cursors) {
            return new Run(command, model, args, totalSteps, cursors, null, Map.of(), null, null);
        }

        public Run withEval(Evaluation e) {
            return new Run(command, model, args, totalSteps, cursors, e, resolvedConfig, resumable, fingerprint);
        }

        /** What training_args.json records (the command line's resolved keys). */
        public Run withResolvedConfig(Map<String, Object> c) {
            return new Run(command, model, args, totalSteps, cursors, eval, c, resumable, fingerprint);
        }

        public Run withResumable(TrainCheckpoints.Resumable r) {
            return new Run(command, model, args, totalSteps, cursors, eval, resolvedConfig, r, fingerprint);
        }

        public Run withFingerprint(TrainCheckpoints.Fingerprint f) {
            return new Run(command, model, args, totalSteps, cursors, eval, resolvedConfig, resumable, f);
        }
    }

    /** Evaluation every {@code everySteps} steps and after the last (0: only after the last), told the steps done. */
    public record Evaluation(int everySteps, IntFunction<Map<String, Double>> run) {
        boolean due(int done, int total) {
            return done == total || (everySteps > 0 && done % everySteps == 0);
        }
    }

    public static TrainResult run(Run run, Step step) throws IOException {
        TrainingArgs a = run.args();
        Transformer model = run.model();
        LrSchedule schedule = a.schedule(run.totalSteps());
        model.requiresGrad(true);
        try (AdamW opt = AdamW.withDefaults(model.trainableParameters(), a.weightDecay());
                TrainCheckpoints.Session session = TrainCheckpoints.start(run, opt)) {
            long numTokens = session.resumedNumTokens();
            DataCursor progress = run.cursors().getFirst();
            try (LogWindow log = new LogWindow(run, session.resumedStep(), numTokens)) {
                for (int s = session.resumedStep(); s < run.totalSteps(); s++) {
                    StepResult r = step.run(s);
                    if (r.update() && !Double.isFinite(r.loss()))
                        throw new IllegalStateException(NonFinite.message(run.command(), s + 1, r.loss(), model));
                    double lr = schedule.at(s);
                    // the step's gradients are complete here
                    double gradNorm = r.update() ? opt.clipStepAndZero(model, a.maxGradNorm(), lr) : 0.0;
                    numTokens += r.inputTokens();
                    int done = s + 1;
                    boolean last = done == run.totalSteps(), epochEnd = progress.atEpochEnd();
                    log.add(r.metrics());
                    log.stepDone(done);
                    if (due(a.loggingStrategy(), done == 1 || done % a.loggingSteps() == 0 || last, epochEnd || last))
                        log.log(done, progress.epochFloat(), lr, gradNorm, numTokens);
                    if (run.eval() != null
                            && due(a.evalStrategy(), run.eval().due(done, run.totalSteps()), epochEnd || last))
                        log.logEval(
                                done, progress.epochFloat(), run.eval().run().apply(done));
                    boolean everySaveSteps = a.saveSteps() > 0 && done % a.saveSteps() == 0;
                    if (!last && due(a.saveStrategy(), everySaveSteps, epochEnd)) session.save(done, numTokens);
                }
                model.requiresGrad(false);
                session.saveFinal();
                return new TrainResult(log.logged(), run.totalSteps());
            }
        } finally {
            model.requiresGrad(false);
        }
    }

    /** Whether an interval strategy ({@code no}, {@code steps}, {@code epoch}) is due after a step. */
    private static boolean due(String strategy, boolean stepsDue, boolean epochDue) {
        return switch (strategy) {
            case "steps" -> stepsDue;
            case "epoch" -> epochDue;
            default -> false;
        };
    }

    // ---- the step of the offline trainers: an accumulation window of micro-batches

    /**
     * The accumulation window a micro-batch's loss is normalised to: all the rows of the optimizer step and their
     * target tokens (what a token-mean term divides by); {@code step} is the optimizer step (0-based).
     */
    public record Window<T>(List<T> rows, long targetTokens, int step) {
        static <T> Window<T> of(List<T> rows, ToLongFunction<T> targetTokens, int step) {
            return new Window<>(rows, rows.stream().mapToLong(targetTokens).sum(), step);
        }

        int size() {
            return rows.size();
        }
    }

    /** One micro-batch: forward, loss scaled to {@code window}, backward when {@code train}; returns what to log. */
    public interface MicroBatch<T> {
        StepSums run(List<T> rows, Window<T> window, boolean train);
    }

    /**
     * The training rows and how to count them: {@code targetTokens} are the tokens a token-mean term divides by (SFT
     * targets, chosen completion tokens), {@code inputTokens} what num_tokens counts (every token fed to the model).
     */
    public record Rows<T>(List<T> rows, ToLongFunction<T> targetTokens, ToLongFunction<T> inputTokens) {}

    /**
     * The offline trainers' run (SFT, reward, DPO, CPO, ORPO, KTO, the APO reward model, the LM discriminator): each
     * step reads gradient_accumulation_steps micro-batches in the seeded order and runs each with its loss scaled to
     * the whole window (per-row losses summed and divided by the window's rows, token terms by its target tokens), so
     * 1 micro-batch of 8 gives the update of 8 micro-batches of 1.
     */
    static <T> TrainResult train(
            String command,
            Transformer model,
            Rows<T> data,
            TrainingArgs a,
            Evaluation eval,
            Map<String, Object> resolvedConfig,
            MicroBatch<T> microBatch)
            throws IOException {
        List<T> rows = data.rows();
        if (rows.isEmpty()) throw new IllegalArgumentException(command + ": the training set is empty");
        DataCursor cursor = new DataCursor(rows.size(), a.perDeviceTrainBatchSize(), a.seed());
        Run run = Run.of(command, model, a, a.totalSteps(rows.size()), List.of(cursor))
                .withEval(eval)
                .withResolvedConfig(resolvedConfig)
                .withFingerprint(TrainCheckpoints.Fingerprint.of(rows, data.inputTokens(), data.targetTokens()));
        return run(run, windowed(command, data, cursor, a.gradientAccumulationSteps(), microBatch));
    }

    /** The step that runs one accumulation window of {@code data} from {@code cursor}. */
    static <T> Step windowed(String command, Rows<T> data, DataCursor cursor, int accumulation, MicroBatch<T> mb) {
        return step -> {
            List<List<T>> microBatches = cursor.window(data.rows(), accumulation);
            List<T> all = new ArrayList<>();
            microBatches.forEach(all::addAll);
            Window<T> w = Window.of(all, data.targetTokens(), step);
            if (w.targetTokens() == 0)
                throw new IllegalStateException(command + " step " + (step + 1)
                        + ": no target tokens in the batch (every loss mask is empty); check the data");
            StepSums sums = StepSums.empty();
            for (List<T> rows : microBatches) sums = sums.plus(mb.run(rows, w, true));
            return new StepResult(
                    sums.metrics(), all.stream().mapToLong(data.inputTokens()).sum(), true);
        };
    }

    /** Evaluation of {@code eval} through the trainer's own micro-batch function (no graph), or null when there is no eval set. */
    static <T> Evaluation evaluation(
            List<T> eval, int everySteps, int batch, ToLongFunction<T> targetTokens, MicroBatch<T> microBatch) {
        return eval.isEmpty()
                ? null
                : new Evaluation(everySteps, done -> evaluate(eval, batch, targetTokens, microBatch));
    }

    /** Loss and metrics over a held-out set without a graph; eval_loss is normalised over the whole set. */
    static <T> Map<String, Double> evaluate(
            List<T> eval, int batch, ToLongFunction<T> targetTokens, MicroBatch<T> microBatch) {
        Window<T> w = Window.of(eval, targetTokens, 0);
        StepSums sums = StepSums.empty();
        for (int from = 0; from < eval.size(); from += batch)
            sums = sums.plus(microBatch.run(eval.subList(from, Math.min(eval.size(), from + batch)), w, false));
        return sums.metrics();
    }

    /** Every token a preference pair feeds the model: the prompt twice, then both completions. */
    static long pairTokens(PreferencePair p) {
        return 2L * p.prompt().length + p.chosen().length + p.rejected().length;
    }
}
