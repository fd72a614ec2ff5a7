// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The console progress: line formats per method, h:mm:ss, the live bar on a terminal and plain lines elsewhere. */
class ConsoleProgressTest {
    private static final TrainingListener.RunInfo DPO =
            new TrainingListener.RunInfo("dpo", 0, 100, 0, Path.of("out"), "the test split of hh-rlhf");

    private static Map<String, Object> row(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    @Test
    void timesAreHoursMinutesSeconds() {
        assertEquals("0:00:00", ConsoleProgress.hms(0));
        assertEquals("0:00:04", ConsoleProgress.hms(4.4));
        assertEquals("0:00:05", ConsoleProgress.hms(4.5));
        assertEquals("0:11:25", ConsoleProgress.hms(685)); // the review's "ETA 685s"
        assertEquals("1:00:00", ConsoleProgress.hms(3599.6));
        assertEquals("27:01:01", ConsoleProgress.hms(27 * 3600 + 61)); // hours are not wrapped into days
        assertEquals("?", ConsoleProgress.hms(Double.NaN));
        assertEquals("?", ConsoleProgress.hms(Double.POSITIVE_INFINITY));
    }

    @Test
    void eachMethodLeadsWithItsOwnHeadline() {
        var grpo = row("step", 3, "loss", 0.0, "reward", 0.375, "reward_std", 0.41, "entropy", 1.2);
        assertEquals(List.of("reward", "reward_std", "loss"), ConsoleProgress.headline(grpo, ""));
        var onlineDpo = row("step", 3, "loss", 0.69, "reward", 0.5, "reward_std", 0.2, "rewards/accuracies", 1.0);
        assertEquals(List.of("reward", "reward_std", "loss"), ConsoleProgress.headline(onlineDpo, ""));
        var dpo =
                row("step", 3, "loss", 0.69, "rewards/chosen", 0.1, "rewards/margins", 0.03, "rewards/accuracies", 0.6);
        assertEquals(List.of("rewards/accuracies", "rewards/margins", "loss"), ConsoleProgress.headline(dpo, ""));
        var kto = row("step", 3, "loss", 0.5, "rewards/margins", 0.1); // KTO logs no accuracies
        assertEquals(List.of("rewards/margins", "loss"), ConsoleProgress.headline(kto, ""));
        var sft = row("step", 3, "loss", 1.5, "mean_token_accuracy", 0.4, "entropy", 2.0);
        assertEquals(List.of("loss", "mean_token_accuracy"), ConsoleProgress.headline(sft, ""));
        var reward = row("step", 3, "loss", 0.6, "accuracy", 0.75, "margin", 0.2, "mean_reward", 0.1);
        assertEquals(List.of("accuracy", "margin", "loss"), ConsoleProgress.headline(reward, ""));
        assertEquals(List.of("loss"), ConsoleProgress.headline(row("step", 1, "loss", 1.0), ""));
    }

    @Test
    void aTrainingLineShowsStepHeadlineLrRateAndEta() {
        var r = row(
                "step",
                30,
                "epoch",
                0.3,
                "loss",
                0.68125,
                "learning_rate",
                7e-7,
                "grad_norm",
                1.0,
                "rewards/accuracies",
                0.625,
                "rewards/margins",
                0.0312,
                "num_tokens",
                162000L);
        // 30 steps in 30 s: 70 left at 1 s each; 162000 tokens / 30 s
        assertEquals(
                "dpo: step 30/100  rewards/accuracies 0.6250  rewards/margins 0.0312  loss 0.6813  lr 7.00e-07"
                        + "  5400 tokens/s  ETA 0:01:10",
                ConsoleProgress.trainLine(DPO, r, 30.0));
        var sft = new TrainingListener.RunInfo("sft", 0, 10, 0, Path.of("out"), null);
        assertEquals(
                "sft: step 10/10  loss 1.2500  mean_token_accuracy 0.4000  lr 0.00e+00  100 tokens/s  took 0:00:10",
                ConsoleProgress.trainLine(
                        sft,
                        row(
                                "step",
                                10,
                                "loss",
                                1.25,
                                "learning_rate",
                                0.0,
                                "mean_token_accuracy",
                                0.4,
                                "num_tokens",
                                1000L),
                        10.0));
    }

    @Test
    void aResumedRunCountsOnlyItsOwnStepsAndTokens() {
        var resumed = new TrainingListener.RunInfo("sft", 50, 100, 100_000, Path.of("out"), null);
        // 10 new steps in 20 s: 40 left at 2 s each; 10000 new tokens in 20 s
        String line = ConsoleProgress.trainLine(
                resumed, row("step", 60, "loss", 1.0, "learning_rate", 1e-5, "num_tokens", 110_000L), 20.0);
        assertTrue(line.endsWith("  500 tokens/s  ETA 0:01:20"), line);
    }

    @Test
    void evalLinesNameTheSetTheyEvaluated() {
        var r = row(
                "step",
                30,
                "epoch",
                0.3,
                "eval_loss",
                0.679,
                "eval_rewards/accuracies",
                0.6,
                "eval_rewards/margins",
                0.025);
        assertEquals(
                "dpo: eval on the test split of hh-rlhf at step 30/100  rewards/accuracies 0.6000"
                        + "  rewards/margins 0.0250  loss 0.6790",
                ConsoleProgress.evalLine(DPO, r));
        var grpo = new TrainingListener.RunInfo("grpo", 0, 8, 0, Path.of("out"), "gsm8k-test.jsonl");
        assertEquals(
                "grpo: eval on gsm8k-test.jsonl at step 8/8  reward 0.5000  reward_std 0.2500",
                ConsoleProgress.evalLine(grpo, row("step", 8, "eval_reward", 0.5, "eval_reward_std", 0.25)));
    }

    @Test
    void theEvalSetIsNamedFromTheRunsConfig(@TempDir Path tmp) throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("hh-rlhf")), file = tmp.resolve("held.jsonl");
        Files.writeString(file, "{}\n");
        assertEquals(
                "the test split of hh-rlhf",
                LogWindow.evalSetName(Map.of("dataset_name", folder.toString(), "dataset_test_split", "test")));
        assertEquals(
                "held.jsonl",
                LogWindow.evalSetName(Map.of(
                        "dataset_name",
                        folder.toString(),
                        "eval_dataset_name",
                        file.toString(),
                        "dataset_test_split",
                        "test")));
        assertEquals(
                "the validation split of hh-rlhf",
                LogWindow.evalSetName(
                        Map.of("eval_dataset_name", folder.toString(), "dataset_test_split", "validation")));
        assertNull(LogWindow.evalSetName(Map.of()));
    }

    /** A console with a fake clock: the lines it printed, and what it drew on the terminal (null: not a tty). */
    private static final class Console {
        final List<String> lines = new ArrayList<>();
        final ByteArrayOutputStream screen = new ByteArrayOutputStream();
        long now;
        final ConsoleProgress progress;

        Console(boolean tty) {
            PrintStream term = new PrintStream(screen, true, StandardCharsets.UTF_8);
            progress = new ConsoleProgress(lines::add, tty ? () -> term : null, () -> now);
        }

        String screen() {
            return screen.toString(StandardCharsets.UTF_8);
        }

        /** Three steps of a second each, logged at steps 1 and 3. */
        void run() {
            var info = new TrainingListener.RunInfo("sft", 0, 3, 0, Path.of("out"), null);
            progress.onTrainBegin(info);
            for (int step = 1; step <= 3; step++) {
                now += 1_000_000_000L;
                progress.onStep(step, 3);
                if (step != 2)
                    progress.onLog(row("step", step, "loss", 1.0, "learning_rate", 1e-5, "num_tokens", 100L * step));
            }
            progress.onTrainEnd();
        }
    }

    @Test
    void onATerminalALiveBarIsRewrittenBetweenTheLines() {
        Console c = new Console(true);
        c.run();
        assertEquals(2, c.lines.size(), "one line per logging step: " + c.lines);
        assertTrue(c.lines.get(0).startsWith("sft: step 1/3  loss 1.0000"), c.lines.get(0));
        String screen = c.screen();
        assertTrue(screen.contains("\rsft [======>             ] 1/3  0:00:01 < 0:00:02  1.00 s/step"), screen);
        assertTrue(screen.contains("\rsft [=============>      ] 2/3  0:00:02 < 0:00:01  1.00 s/step"), screen);
        assertTrue(screen.contains("\rsft [====================] 3/3  0:00:03 < 0:00:00  1.00 s/step"), screen);
        // the bar's line is blanked at the end, so what follows starts on a clean line
        assertTrue(
                screen.endsWith("\r"
                        + " ".repeat("sft [====================] 3/3  0:00:03 < 0:00:00  1.00 s/step".length()) + "\r"),
                screen);
        assertFalse(screen.contains("\n"), "the bar never moves down a line: " + screen);
    }

    @Test
    void withoutATerminalOnlyPlainLinesArePrinted() {
        Console c = new Console(false);
        c.run();
        assertEquals(2, c.lines.size(), c.lines.toString());
        assertTrue(c.lines.get(1).startsWith("sft: step 3/3"), c.lines.get(1));
        assertEquals("", c.screen(), "no bar, no carriage returns");
        for (String line : c.lines) assertFalse(line.contains("\r"), line);
    }

    @Test
    void theBarIsRedrawnAtMostTenTimesASecond() {
        Console c = new Console(true);
        c.progress.onTrainBegin(new TrainingListener.RunInfo("sft", 0, 1000, 0, Path.of("out"), null));
        for (int step = 1; step <= 1000; step++) {
            c.now += 1_000_000L; // 1 ms a step
            c.progress.onStep(step, 1000);
        }
        long draws = c.screen().chars().filter(ch -> ch == '\r').count();
        assertTrue(draws <= 12, draws + " redraws for 1 s of steps");
        assertTrue(c.screen().contains("1000/1000"), "the last step is always drawn");
    }
}
