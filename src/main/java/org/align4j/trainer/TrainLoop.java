// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;
import org.align4j.data.PreferencePair;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.engine.Autocast;
import org.align4j.engine.BlasThreads;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.LoggerFactory;

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
     * the model (num_tokens), whether it left gradients to apply (online DPO with every prompt tied leaves none,
     * and logs no loss), and, with log_completions, the completions of the generation batch it trained on (one row
     * each, without {@code step}; null for none: {@link LogCompletions}).
     */
    public record StepResult(
            Map<String, Double> metrics, long inputTokens, boolean update, List<Map<String, Object>> completions) {
        /** A step with no completions to log (the offline methods, or log_completions off). */
        public StepResult(Map<String, Double> metrics, long inputTokens, boolean update) {
            this(metrics, inputTokens, update, null);
        }

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
            TrainCheckpoints.Fingerprint fingerprint,
            boolean dataParallel,
            LogCompletions logCompletions) {
        /**
         * A run with no evaluation, an empty resolved config, no state beyond the cursors, no data fingerprint and no
         * completions log.
         */
        public static Run of(
                String command, Transformer model, TrainingArgs args, int totalSteps, List<DataCursor> cursors) {
            return new Run(
                    command, model, args, totalSteps, cursors, null, Map.of(), null, null, false, LogCompletions.OFF);
        }

        /** A run that logs the completions its steps return as log_completions says. */
        public Run withLogCompletions(LogCompletions l) {
            return change(b -> b.logCompletions = l);
        }

        /** A run whose step shards its batch over the data-parallel workers and reduces what it logs. */
        public Run withDataParallel() {
            return change(b -> b.dataParallel = true);
        }

        public Run withEval(Evaluation e) {
            return change(b -> b.eval = e);
        }

        /** What training_args.json records (the command line's resolved keys). */
        public Run withResolvedConfig(Map<String, Object> c) {
            return change(b -> b.resolvedConfig = c);
        }

        public Run withResumable(TrainCheckpoints.Resumable r) {
            return change(b -> b.resumable = r);
        }

        public Run withFingerprint(TrainCheckpoints.Fingerprint f) {
            return change(b -> b.fingerprint = f);
        }

        /** This run with the components {@code edit} sets changed. */
        private Run change(java.util.function.Consumer<Copy> edit) {
            Copy c = new Copy(this);
            edit.accept(c);
            return new Run(
                    command,
                    model,
                    args,
                    totalSteps,
                    cursors,
                    c.eval,
                    c.resolvedConfig,
                    c.resumable,
                    c.fingerprint,
                    c.dataParallel,
                    c.logCompletions);
        }

        /** The components a with-method may change. */
        private static final class Copy {
            Evaluation eval;
            Map<String, Object> resolvedConfig;
            TrainCheckpoints.Resumable resumable;
            TrainCheckpoints.Fingerprint fingerprint;
            boolean dataParallel;
            LogCompletions logCompletions;

            Copy(Run r) {
                eval = r.eval;
                resolvedConfig = r.resolvedConfig;
                resumable = r.resumable;
                fingerprint = r.fingerprint;
                dataParallel = r.dataParallel;
                logCompletions = r.logCompletions;
            }
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
        Collective dist = Distributed.current();
        if (!run.dataParallel()) requireOneWorker(run.command());
        if (a.bf16() && Autocast.cpuBf16Flags().isEmpty())
            LoggerFactory.getLogger(TrainLoop.class)
                    .warn(
                            "{}: bf16 is set but this CPU has no bfloat16 arithmetic (amx_bf16, avx512_bf16 in"
                                    + " /proc/cpuinfo): libtorch emulates it, slower than float32; drop bf16 here",
                            run.command());
        LrSchedule schedule = a.schedule(run.totalSteps());
        model.requiresGrad(true);
        try (AdamW opt = AdamW.withDefaults(model.trainableParameters(), a.weightDecay());
                TrainCheckpoints.Session session = TrainCheckpoints.start(run, opt, dist)) {
            // every worker starts from rank 0's weights (equal by construction; DDP checks the same at start)
            if (dist.worldSize() > 1) {
                try (NoGradGuard g = new NoGradGuard()) { // an in-place copy into leaves that require grad
                    dist.broadcast(List.copyOf(model.trainableParameters().values()), 0);
                }
            }
            long numTokens = session.resumedNumTokens();
            DataCursor progress = run.cursors().getFirst();
            List<Map<String, Object>> completions = null; // the last generation batch a step returned
            try (LogWindow log = new LogWindow(run, session.resumedStep(), numTokens, dist.isMain())) {
                for (int s = session.resumedStep(); s < run.totalSteps(); s++) {
                    BlasThreads.adapt(); // one BLAS thread while other processes keep the cores busy
                    StepResult r;
                    try (Autocast bf16 = Autocast.bf16(a.bf16())) { // forward and backward (and sampling)
                        r = step.run(s);
                    }
                    if (r.update() && !Double.isFinite(r.loss()))
                        throw new IllegalStateException(NonFinite.message(run.command(), s + 1, r.loss(), model));
                    double lr = schedule.at(s);
                    // the step's gradients are complete here: each worker holds its share of the window's normalised
                    // loss, so their sum over the workers is the whole window's gradient (no division by the count)
                    if (dist.worldSize() > 1) allReduceGradients(model, dist);
                    double gradNorm = r.update() ? opt.clipStepAndZero(model, a.maxGradNorm(), lr) : 0.0;
                    numTokens += r.inputTokens();
                    int done = s + 1;
                    boolean last = done == run.totalSteps(), epochEnd = progress.atEpochEnd();
                    log.add(r.metrics());
                    if (r.completions() != null) completions = r.completions();
                    log.stepDone(done);
                    if (due(a.loggingStrategy(), done == 1 || done % a.loggingSteps() == 0 || last, epochEnd || last)) {
                        log.log(done, progress.epochFloat(), lr, gradNorm, numTokens);
                        if (completions != null) log.logCompletions(done, completions);
                    }
                    if (run.eval() != null
                            && due(a.evalStrategy(), run.eval().due(done, run.totalSteps()), epochEnd || last))
                        try (Autocast bf16 = Autocast.bf16(a.bf16())) {
                            log.logEval(
                                    done,
                                    progress.epochFloat(),
                                    run.eval().run().apply(done));
                        }
                    boolean everySaveSteps = a.saveSteps() > 0 && done % a.saveSteps() == 0;
                    if (!last && due(a.saveStrategy(), everySaveSteps, epochEnd)) session.save(done, numTokens);
                }
                model.requiresGrad(false);
                session.saveFinal(log.logged());
                return new TrainResult(log.logged(), run.totalSteps());
            }
        } finally {
            model.requiresGrad(false);
        }
    }

    /** The commands that run data-parallel (and {@code bench --mode dpo}). */
    public static final List<String> DATA_PARALLEL_COMMANDS =
            List.of("sft", "reward", "dpo", "kto", "cpo", "orpo", "grpo", "rloo", "online_dpo", "rjs", "apo");

    /** Refuses a command that does not run data-parallel yet when the job has more than one worker, naming those that do. */
    public static void requireOneWorker(String command) {
        int workers = Distributed.current().worldSize();
        if (workers > 1)
            throw new IllegalArgumentException(command + " does not run data-parallel yet (" + workers
                    + " workers); run it as one process (without --nproc_per_node), or use one of "
                    + String.join(", ", DATA_PARALLEL_COMMANDS) + ", which do");
    }

    /** Sums every trainable parameter's gradient over the workers (an undefined one counts as zeros: a worker whose
     * share of the batch was empty). */
    private static void allReduceGradients(Transformer model, Collective dist) {
        List<Tensor> grads = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {
            for (Tensor p : model.trainableParameters().values()) {
                Tensor g = p.grad();
                if (g == null || g.isNull() || !g.defined()) {
                    p.mutable_grad().put(torch.zeros_like(p));
                    g = p.grad();
                }
                grads.add(g);
            }
            dist.allReduceSum(grads);
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
     * 1 micro-batch of 8 gives the update of 8 micro-batches of 1. With {@code rowParallel} each micro-batch's rows run as
     * parts at once on the cores ({@link RowParallel}): for a micro-batch function that touches nothing but its rows,
     * the model's parameters and its own tensors (no generator draws, no shared state); false where the function splits
     * its micro-batch itself (reward, KTO) or must not be split.
     */
    static <T> TrainResult train(
            String command,
            Transformer model,
            Rows<T> data,
            TrainingArgs a,
            Evaluation eval,
            Map<String, Object> resolvedConfig,
            MicroBatch<T> microBatch,
            boolean rowParallel)
            throws IOException {
        List<T> rows = data.rows();
        if (rows.isEmpty()) throw new IllegalArgumentException(command + ": the training set is empty");
        // data parallel: the cursor reads the job's micro-batches (per_device_train_batch_size x workers rows) in the
        // seeded order, each worker trains on its slice, so N workers x B rows is one worker x N*B rows
        int workers = Distributed.current().worldSize();
        TrainingArgs job = a.toBuilder()
                .perDeviceTrainBatchSize(a.perDeviceTrainBatchSize() * workers)
                .build();
        DataCursor cursor = new DataCursor(rows.size(), job.perDeviceTrainBatchSize(), a.seed());
        Run run = Run.of(command, model, a, job.totalSteps(rows.size()), List.of(cursor))
                .withEval(eval)
                .withResolvedConfig(resolvedConfig)
                .withFingerprint(TrainCheckpoints.Fingerprint.of(rows, data.inputTokens(), data.targetTokens()))
                .withDataParallel();
        return run(
                run,
                windowed(
                        command,
                        data,
                        cursor,
                        a.gradientAccumulationSteps(),
                        a.perDeviceTrainBatchSize(),
                        microBatch,
                        rowParallel ? model : null));
    }

    /**
     * The step that runs one accumulation window of {@code data} from {@code cursor}: the window (rows and target
     * tokens) is the whole job's, and this worker runs the micro-batches of its slice of each job micro-batch ({@code
     * perWorker} rows from rank x perWorker); what it logs is summed over the workers before it is divided. With a
     * {@code rowParallel} model (null: off) each micro-batch's rows run as parts at once ({@link RowParallel}).
     */
    static <T> Step windowed(
            String command,
            Rows<T> data,
            DataCursor cursor,
            int accumulation,
            int perWorker,
            MicroBatch<T> mb,
            Transformer rowParallel) {
        return step -> {
            Collective dist = Distributed.current();
            List<List<T>> microBatches = cursor.window(data.rows(), accumulation);
            List<T> all = new ArrayList<>();
            microBatches.forEach(all::addAll);
            Window<T> w = Window.of(all, data.targetTokens(), step);
            if (w.targetTokens() == 0)
                throw new IllegalStateException(command + " step " + (step + 1)
                        + ": no target tokens in the batch (every loss mask is empty); check the data");
            StepSums sums = StepSums.empty();
            long tokens = 0;
            for (List<T> job : microBatches) {
                int from = Math.min(job.size(), dist.rank() * perWorker), to = Math.min(job.size(), from + perWorker);
                List<T> mine = job.subList(from, to);
                if (mine.isEmpty()) continue;
                int parts = rowParallel == null ? 1 : RowParallel.parts(rowParallel, mine.size());
                sums = sums.plus(
                        StepSums.sum(RowParallel.run(rowParallel, mine, parts, rows -> mb.run(rows, w, true))));
                tokens += mine.stream().mapToLong(data.inputTokens()).sum();
            }
            sums = sums.withInputTokens(tokens).allReduce(dist);
            return new StepResult(sums.metrics(), sums.inputTokens(), true);
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
