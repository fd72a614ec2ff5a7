// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.align4j.engine.NativeEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console progress of a run, as a {@link TrainingListener}: one line per logging step with the method's own
 * headline metrics, the rate and the time left, e.g.
 *
 * <pre>
 * dpo: step 30/100  rewards/accuracies 0.6250  rewards/margins 0.0312  loss 0.6812  lr 7.00e-07  5400 tokens/s  ETA 0:01:30
 * dpo: eval on the test split of hh-rlhf at step 30/100  loss 0.6790  rewards/accuracies 0.6000  rewards/margins 0.0250
 * </pre>
 *
 * and, on a terminal, a live bar between logging steps that rewrites one line ({@code \r}):
 *
 * <pre>
 * dpo [=======&gt;            ] 42/100  0:01:05 &lt; 0:01:30  1.55 s/step
 * </pre>
 *
 * The headline is what a TRL user watches for the method: {@code reward} and {@code reward_std} (GRPO, RLOO, online
 * DPO, rejection sampling), {@code rewards/accuracies} and {@code rewards/margins} (DPO, CPO, ORPO, KTO), {@code loss}
 * and {@code mean_token_accuracy} (SFT), {@code accuracy} and {@code margin} (reward models). It is chosen by the
 * metrics a row has, so a new method with TRL's names gets its headline for free.
 */
public final class ConsoleProgress implements TrainingListener {
    private static final Logger LOG = LoggerFactory.getLogger("org.align4j.progress");
    /** The headline groups, first match wins; a group matches when the row has one of its keys other than loss. */
    private static final List<List<String>> HEADLINES = List.of(
            List.of("reward", "reward_std"),
            List.of("rewards/accuracies", "rewards/margins"),
            List.of("loss", "mean_token_accuracy"),
            List.of("accuracy", "margin"));

    private static final int BAR_WIDTH = 20;
    private static final long REDRAW_NANOS = 100_000_000L; // a bar redrawn at most ten times a second

    private final Consumer<String> lines;
    private final Supplier<PrintStream> terminal; // null: no live bar
    private final LongSupplier clock;
    private final Deque<Run> runs = new ArrayDeque<>(); // a run inside a run (rare) keeps the outer one's state

    /** What one run needs for rates and the bar. */
    private static final class Run {
        final RunInfo info;
        final long startNanos;
        String bar = ""; // what the bar's line shows now ("" once wiped)
        String latest = ""; // the newest bar, drawn when the clock allows or when a line is printed above it
        long lastDraw;

        Run(RunInfo info, long startNanos) {
            this.info = info;
            this.startNanos = startNanos;
            this.lastDraw = startNanos - REDRAW_NANOS; // the first step is drawn
        }
    }

    ConsoleProgress(Consumer<String> lines, Supplier<PrintStream> terminal, LongSupplier clock) {
        this.lines = lines;
        this.terminal = terminal;
        this.clock = clock;
    }

    /**
     * Progress on standard error, as the command line shows it: the lines, and the live bar when standard error is a
     * terminal (plain lines when it is redirected to a file or a pipe).
     *
     * @return a new listener
     */
    public static ConsoleProgress toConsole() {
        Consumer<String> err = line -> System.err.println(line);
        return new ConsoleProgress(err, stderrIsTerminal() ? () -> System.err : null, System::nanoTime);
    }

    /**
     * Progress lines through SLF4J (logger {@code org.align4j.progress}, level INFO), no bar: what a library user gets
     * when they bind no listener.
     *
     * @return a new listener
     */
    public static ConsoleProgress toLog() {
        return new ConsoleProgress(LOG::info, null, System::nanoTime);
    }

    /** Whether standard error is a terminal that can take a rewritten line (not TERM=dumb, not a file or a pipe). */
    static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) return false;
        try {
            return NativeEnv.isatty(2);
        } catch (RuntimeException e) { // no native access: the JDK's view (standard input and output are terminals)
            return System.console() != null && System.console().isTerminal();
        }
    }

    @Override
    public void onTrainBegin(RunInfo run) {
        runs.push(new Run(run, clock.getAsLong()));
    }

    @Override
    public void onStep(int step, int totalSteps) {
        Run r = runs.peek();
        if (r == null || terminal == null) return;
        long now = clock.getAsLong();
        r.latest = bar(r.info.command(), step, totalSteps, step - r.info.startStep(), seconds(r, now));
        if (now - r.lastDraw < REDRAW_NANOS && step != totalSteps) return;
        r.lastDraw = now;
        draw(r, r.latest);
    }

    @Override
    public void onLog(Map<String, Object> row) {
        Run r = runs.peek();
        if (r == null) return;
        double secs = seconds(r, clock.getAsLong());
        print(r, trainLine(r.info, row, secs));
    }

    @Override
    public void onEval(Map<String, Object> row) {
        Run r = runs.peek();
        if (r == null) return;
        print(r, evalLine(r.info, row));
    }

    /** The completions sample as a plain table above the bar ({@link CompletionsTable}). */
    @Override
    public void onCompletions(int step, int total, List<Map<String, Object>> shown) {
        Run r = runs.peek();
        if (r == null) return;
        print(r, CompletionsTable.render(r.info.command(), step, total, shown));
    }

    @Override
    public void onTrainEnd() {
        Run r = runs.poll();
        if (r != null && !r.bar.isEmpty()) draw(r, "");
    }

    /** A line above the bar: the bar is wiped, the line printed, the newest bar drawn under it (as tqdm.write does). */
    private void print(Run r, String line) {
        if (!r.bar.isEmpty()) draw(r, "");
        lines.accept(line);
        if (terminal != null && !r.latest.isEmpty()) draw(r, r.latest);
    }

    /** Rewrites the bar's line with {@code text}, blanking what is left of a longer previous text. */
    private void draw(Run r, String text) {
        PrintStream out = terminal.get();
        out.print("\r" + text + " ".repeat(Math.max(0, r.bar.length() - text.length())) + (text.isEmpty() ? "\r" : ""));
        out.flush();
        r.bar = text;
    }

    private double seconds(Run r, long now) {
        return (now - r.startNanos) / 1e9;
    }

    // ---- the formats (package-private for the tests)

    /** A training row's line: the headline, loss, learning rate, tokens/s and the time left (or taken, at the end). */
    static String trainLine(RunInfo run, Map<String, Object> row, double elapsedSecs) {
        int step = ((Number) row.get("step")).intValue(), total = run.totalSteps();
        StringBuilder s = new StringBuilder(run.command() + ": step " + step + "/" + total);
        for (String k : headline(row, "")) s.append("  ").append(k).append(' ').append(number(row.get(k)));
        if (row.get("learning_rate") instanceof Number lr)
            s.append(String.format(Locale.ROOT, "  lr %.2e", lr.doubleValue()));
        if (row.get("num_tokens") instanceof Number n && elapsedSecs > 0)
            s.append(String.format(
                    Locale.ROOT, "  %.0f tokens/s", (n.longValue() - run.startNumTokens()) / elapsedSecs));
        int done = step - run.startStep();
        if (step >= total) s.append("  took ").append(hms(elapsedSecs));
        else if (done > 0) s.append("  ETA ").append(hms(elapsedSecs / done * (total - step)));
        return s.toString();
    }

    /** An evaluation row's line: which set, the step, then eval_loss and the headline (without the eval_ prefix). */
    static String evalLine(RunInfo run, Map<String, Object> row) {
        StringBuilder s = new StringBuilder(run.command() + ": eval");
        if (run.evalSet() != null) s.append(" on ").append(run.evalSet());
        s.append(" at step ").append(row.get("step")).append('/').append(run.totalSteps());
        for (String k : headline(row, "eval_"))
            s.append("  ").append(k.substring(5)).append(' ').append(number(row.get(k)));
        return s.toString();
    }

    /** The row's headline keys (with {@code prefix}), then its loss when the headline has none. */
    static List<String> headline(Map<String, Object> row, String prefix) {
        List<String> keys = new ArrayList<>();
        for (List<String> group : HEADLINES) {
            boolean matches = group.stream().anyMatch(k -> !k.equals("loss") && row.containsKey(prefix + k));
            if (!matches) continue;
            for (String k : group) if (row.containsKey(prefix + k)) keys.add(prefix + k);
            break;
        }
        if (!keys.contains(prefix + "loss") && row.containsKey(prefix + "loss")) keys.add(prefix + "loss");
        return keys;
    }

    /** The live bar: {@code dpo [=======>            ] 42/100  0:01:05 < 0:01:30  1.55 s/step}. */
    static String bar(String command, int step, int total, int doneSinceStart, double elapsedSecs) {
        int filled = total <= 0 ? 0 : (int) Math.min(BAR_WIDTH, (long) BAR_WIDTH * step / total);
        String body = "=".repeat(filled) + (filled < BAR_WIDTH ? ">" + " ".repeat(BAR_WIDTH - filled - 1) : "");
        StringBuilder s =
                new StringBuilder(command + " [" + body + "] " + step + "/" + total + "  " + hms(elapsedSecs));
        if (doneSinceStart > 0) {
            double perStep = elapsedSecs / doneSinceStart;
            s.append(" < ").append(hms(perStep * (total - step)));
            s.append(
                    perStep >= 1
                            ? String.format(Locale.ROOT, "  %.2f s/step", perStep)
                            : String.format(Locale.ROOT, "  %.2f steps/s", 1 / perStep));
        }
        return s.toString();
    }

    /** Seconds as h:mm:ss (rounded; hours are not wrapped into days); {@code ?} for an unknown time. */
    static String hms(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    private static String number(Object v) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%.4f", n.doubleValue()) : String.valueOf(v);
    }
}
