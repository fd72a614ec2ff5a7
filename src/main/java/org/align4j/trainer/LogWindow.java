// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The logging side of a training run: per-step metrics are averaged over each logging interval
 * (as transformers' Trainer averages what it logs), then written as one row to metrics.jsonl, to
 * TensorBoard when report_to asks for it, and as a progress line on stderr (tokens/s, ETA).
 */
final class LogWindow implements AutoCloseable {
    private final String command;
    private final TrainingArgs args;
    private final int totalSteps, firstStep;
    private final MetricsLog log;
    private final TensorBoardWriter tb;
    private final Map<String, double[]> sums = new LinkedHashMap<>(); // name -> {sum, count}
    private final List<Map<String, Object>> logged = new ArrayList<>();
    private final long startNanos = System.nanoTime();
    private long tokensSinceStart;

    LogWindow(String command, TrainingArgs args, int resumedStep, int totalSteps) throws IOException {
        this.command = command;
        this.args = args;
        this.totalSteps = totalSteps;
        this.firstStep = resumedStep;
        this.log = MetricsLog.open(args.outputDir(), resumedStep);
        TensorBoardWriter w = null;
        try {
            if (args.reportTo().equals("tensorboard"))
                w = new TensorBoardWriter(args.outputDir().resolve("runs"));
        } catch (IOException | RuntimeException e) {
            log.close();
            throw e;
        }
        this.tb = w;
    }

    /** One optimizer step's metrics (already averaged over that step's rows or tokens). */
    void add(Map<String, Double> stepMetrics, long tokens) {
        for (var e : stepMetrics.entrySet()) {
            double[] s = sums.computeIfAbsent(e.getKey(), k -> new double[2]);
            s[0] += e.getValue();
            s[1]++;
        }
        tokensSinceStart += tokens;
    }

    /**
     * After step {@code done} (when logging_strategy says so): writes the row {step, epoch, loss, learning_rate,
     * grad_norm, method metrics averaged over the steps since the last row..., num_tokens} and resets.
     */
    void log(int done, double epoch, double lr, double gradNorm, long numTokens) throws IOException {
        if (!(done == 1 || done % args.loggingSteps() == 0 || done == totalSteps)) return;
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
        double secs = (System.nanoTime() - startNanos) / 1e9;
        System.err.printf(
                "%s: step %d/%d  loss %.4f  lr %.2e  %.0f tokens/s  ETA %.0fs%n",
                command,
                done,
                totalSteps,
                (double) row.get("loss"),
                lr,
                tokensSinceStart / secs,
                secs / (done - firstStep) * (totalSteps - done));
    }

    /** An evaluation row: {step, epoch, eval_<name>...}. */
    void logEval(int done, double epoch, Map<String, Double> metrics) throws IOException {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", done);
        row.put("epoch", epoch);
        for (var e : metrics.entrySet())
            row.put(e.getKey().startsWith("eval_") ? e.getKey() : "eval_" + e.getKey(), e.getValue());
        write(row);
        if (row.containsKey("eval_loss"))
            System.err.printf("%s: eval at step %d  loss %.4f%n", command, done, (double) row.get("eval_loss"));
        else
            System.err.printf(
                    "%s: eval at step %d  reward %.4f%n",
                    command, done, (double) row.getOrDefault("eval_reward", Double.NaN));
    }

    private void write(Map<String, Object> row) throws IOException {
        log.log(row);
        if (tb != null) tb.scalars((int) row.get("step"), row);
        logged.add(row);
    }

    List<Map<String, Object>> logged() {
        return logged;
    }

    @Override
    public void close() throws IOException {
        try {
            log.close();
        } finally {
            if (tb != null) tb.close();
        }
    }
}
