// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.io.HfCache;

/**
 * The logging side of a training run: per-step metrics are averaged over each logging interval (as transformers'
 * Trainer averages what it logs), then written as one row to metrics.jsonl, to TensorBoard when report_to asks for it
 * (under output_dir/runs/&lt;date&gt;_&lt;host&gt;/, as transformers names its runs, with the run's args as text), and handed to
 * the run's {@link TrainingListener}s (the console progress is one of them, {@link ConsoleProgress}). With
 * log_completions ({@link LogCompletions}) the completions of each logging step's last generation batch go to
 * completions.jsonl, and a sample of them to the listeners.
 */
final class LogWindow implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TrainingArgs args;
    private final int totalSteps;
    private final MetricsLog log;
    private final MetricsLog completions; // cut on resume whether or not this run logs completions
    private final LogCompletions logCompletions;
    private final TensorBoardWriter tb;
    private final List<TrainingListener> listeners;
    private final Map<String, double[]> sums = new LinkedHashMap<>(); // name -> {sum, count}
    private final List<Map<String, Object>> logged = new ArrayList<>();

    LogWindow(TrainLoop.Run run, int resumedStep, long resumedNumTokens) throws IOException {
        this(run, resumedStep, resumedNumTokens, true);
    }

    /**
     * {@code writes} false: a data-parallel worker other than rank 0, which averages the same rows (they are reduced
     * across ranks before they get here) but writes nothing and tells no listener.
     */
    LogWindow(TrainLoop.Run run, int resumedStep, long resumedNumTokens, boolean writes) throws IOException {
        this.args = run.args();
        this.totalSteps = run.totalSteps();
        this.logCompletions = run.logCompletions();
        if (!writes) {
            this.log = null;
            this.completions = null;
            this.tb = null;
            this.listeners = List.of();
            return;
        }
        this.log = MetricsLog.open(args.outputDir(), resumedStep);
        MetricsLog c = null;
        TensorBoardWriter w = null;
        try {
            c = MetricsLog.open(args.outputDir(), MetricsLog.COMPLETIONS, resumedStep);
            if (args.reportTo().equals("tensorboard")) {
                // a new folder per start, a resumed run included, as transformers' default logging_dir
                w = new TensorBoardWriter(
                        TensorBoardWriter.runDir(args.outputDir().resolve("runs")));
                w.text("args", argsText(run.resolvedConfig()));
            }
        } catch (IOException | RuntimeException e) {
            log.close();
            if (c != null) c.close();
            if (w != null) w.close();
            throw e;
        }
        this.completions = c;
        this.tb = w;
        var info = new TrainingListener.RunInfo(
                run.command(),
                resumedStep,
                totalSteps,
                resumedNumTokens,
                args.outputDir(),
                evalSetName(run.resolvedConfig()));
        // only a listener that heard the start hears the end, even when a later one refuses to start
        this.listeners = new ArrayList<>();
        try {
            for (TrainingListener l : TrainingListeners.current()) {
                l.onTrainBegin(info);
                listeners.add(l);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The run's args as pretty JSON for TensorBoard's text tab (a value Jackson cannot write: as Java prints it). */
    private static String argsText(Map<String, Object> resolved) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(resolved);
        } catch (JsonProcessingException e) {
            return String.valueOf(resolved);
        }
    }

    /**
     * The evaluation set as the run's resolved config names it (the command line's keys): eval_dataset_name, else
     * dataset_name, with dataset_test_split when that is a folder; null when the config does not say.
     */
    static String evalSetName(Map<String, Object> resolved) {
        Object data = resolved.get("eval_dataset_name");
        if (data == null) data = resolved.get("dataset_name");
        if (data == null) return null;
        Path p = Path.of(data.toString());
        String name =
                p.getFileName() == null ? data.toString() : p.getFileName().toString();
        Object split = resolved.get("dataset_test_split");
        boolean folder = Files.isDirectory(p) || HfCache.isRepoId(data.toString());
        return folder && split != null ? "the " + split + " split of " + name : name;
    }

    /** One optimizer step's metrics (already averaged over that step's rows or tokens). */
    void add(Map<String, Double> stepMetrics) {
        for (var e : stepMetrics.entrySet()) {
            double[] s = sums.computeIfAbsent(e.getKey(), k -> new double[2]);
            s[0] += e.getValue();
            s[1]++;
        }
    }

    /** Tells the listeners that step {@code done} (1-based) is over. */
    void stepDone(int done) {
        for (TrainingListener l : listeners) l.onStep(done, totalSteps);
    }

    /**
     * After step {@code done} (when logging_strategy says so): writes the row {step, epoch, loss, learning_rate,
     * grad_norm, method metrics averaged over the steps since the last row..., num_tokens} and resets.
     */
    void log(int done, double epoch, double lr, double gradNorm, long numTokens) throws IOException {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", done);
        row.put("epoch", epoch);
        double[] loss = sums.remove("loss");
        row.put("loss", loss == null ? Double.NaN : loss[0] / loss[1]);
        row.put("learning_rate", lr);
        row.put("grad_norm", gradNorm);
        for (var e : sums.entrySet()) row.put(e.getKey(), e.getValue()[0] / e.getValue()[1]);
        row.put("num_tokens", numTokens);
        write(row);
        sums.clear();
        Map<String, Object> view = Collections.unmodifiableMap(row);
        for (TrainingListener l : listeners) l.onLog(view);
    }

    /**
     * After the training row of step {@code done}, with log_completions: {@code rows} (the completions of the step's
     * last generation batch) with {@code step} first, appended to completions.jsonl; up to num_completions_to_print of
     * them (a sample drawn with the step as its seed, in batch order) handed to the listeners.
     */
    void logCompletions(int done, List<Map<String, Object>> rows) throws IOException {
        if (!logCompletions.enabled() || completions == null || rows.isEmpty()) return;
        List<Map<String, Object>> stamped = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("step", done);
            row.putAll(r);
            completions.log(row);
            stamped.add(Collections.unmodifiableMap(row));
        }
        List<Map<String, Object>> shown = sample(stamped, logCompletions.numCompletionsToPrint(), done);
        if (shown.isEmpty()) return;
        for (TrainingListener l : listeners) l.onCompletions(done, rows.size(), shown);
    }

    /** Up to {@code n} of {@code rows} (null: all), drawn at random with {@code seed}, kept in their order (TRL: random.sample). */
    static <T> List<T> sample(List<T> rows, Integer n, long seed) {
        if (n == null || n >= rows.size()) return List.copyOf(rows);
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) idx.add(i);
        Collections.shuffle(idx, new java.util.Random(seed));
        List<Integer> pick = new ArrayList<>(idx.subList(0, n));
        Collections.sort(pick);
        List<T> out = new ArrayList<>();
        for (int i : pick) out.add(rows.get(i));
        return out;
    }

    /** An evaluation row: {step, epoch, eval_&lt;name&gt;...}. */
    void logEval(int done, double epoch, Map<String, Double> metrics) throws IOException {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", done);
        row.put("epoch", epoch);
        for (var e : metrics.entrySet())
            row.put(e.getKey().startsWith("eval_") ? e.getKey() : "eval_" + e.getKey(), e.getValue());
        write(row);
        Map<String, Object> view = Collections.unmodifiableMap(row);
        for (TrainingListener l : listeners) l.onEval(view);
    }

    private void write(Map<String, Object> row) throws IOException {
        if (log != null) log.log(row);
        if (tb != null) tb.scalars((int) row.get("step"), row);
        logged.add(row);
    }

    List<Map<String, Object>> logged() {
        return logged;
    }

    /** Tells the listeners the run is over (whether it finished or failed), then closes the files. */
    @Override
    public void close() throws IOException {
        try {
            for (TrainingListener l : listeners) l.onTrainEnd();
        } finally {
            try {
                if (log != null) log.close();
            } finally {
                try {
                    if (completions != null) completions.close();
                } finally {
                    if (tb != null) tb.close();
                }
            }
        }
    }
}
