// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.Sequence;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listeners bound around a run hear every step and every row metrics.jsonl gets, across a resume. */
class TrainingListenersTest {
    private static final long PAD = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Everything a run told it, in order, as short strings and rows. */
    private static final class Recorder implements TrainingListener {
        final List<String> events = new ArrayList<>();
        final List<Map<String, Object>> logs = new ArrayList<>(), evals = new ArrayList<>();
        RunInfo info;

        @Override
        public void onTrainBegin(RunInfo run) {
            info = run;
            events.add("begin " + run.startStep() + "/" + run.totalSteps());
        }

        @Override
        public void onStep(int step, int totalSteps) {
            events.add("step " + step);
        }

        @Override
        public void onLog(Map<String, Object> row) {
            events.add("log " + row.get("step"));
            logs.add(row);
        }

        @Override
        public void onEval(Map<String, Object> row) {
            events.add("eval " + row.get("step"));
            evals.add(row);
        }

        @Override
        public void onTrainEnd() {
            events.add("end");
        }
    }

    private static TrainResult train(Transformer m, TrainingArgs a, Recorder r) throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(16, 1), eval = SftTrainerTest.arithmetic(4, 2);
        return TrainingListeners.call(
                List.of(r),
                () -> SftTrainer.train(
                        m,
                        data,
                        eval,
                        2,
                        a,
                        PAD,
                        Map.of("dataset_name", "arithmetic", "eval_dataset_name", "held-out.jsonl")));
    }

    /** metrics.jsonl's rows as JSON text, training rows or evaluation rows. */
    private static List<String> fileRows(Path dir, boolean eval) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode row : MetricsLog.read(dir)) if (row.has("eval_loss") == eval) out.add(row.toString());
        return out;
    }

    private static List<String> asJson(List<Map<String, Object>> rows) throws Exception {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> r : rows)
            out.add(JSON.readTree(JSON.writeValueAsString(r)).toString());
        return out;
    }

    @Test
    void aListenerHearsEveryStepAndEveryLoggedRowAndEachStartGetsItsOwnTensorBoardRun(@TempDir Path tmp)
            throws Exception {
        TrainingArgs a = TrainingArgs.defaults(tmp).withSteps(4, 4, 1, 1e-3).toBuilder()
                .loggingSteps(1)
                .saveSteps(2)
                .reportTo("tensorboard")
                .build();
        Recorder first = new Recorder();
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            train(m, a, first);
        }
        assertEquals(
                List.of(
                        "begin 0/4",
                        "step 1",
                        "log 1",
                        "step 2",
                        "log 2",
                        "eval 2",
                        "step 3",
                        "log 3",
                        "step 4",
                        "log 4",
                        "eval 4",
                        "end"),
                first.events);
        assertEquals(fileRows(tmp, false), asJson(first.logs), "every training row, as written");
        assertEquals(fileRows(tmp, true), asJson(first.evals), "every evaluation row, as written");
        assertEquals("held-out.jsonl", first.info.evalSet(), "the eval set is named for the eval lines");
        assertThrows(
                UnsupportedOperationException.class, () -> first.logs.get(0).put("x", 1), "rows are read-only");

        Recorder resumed = new Recorder();
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            train(m, a.toBuilder().resumeFromCheckpoint("latest").build(), resumed);
        }
        assertEquals(List.of("begin 2/4", "step 3", "log 3", "step 4", "log 4", "eval 4", "end"), resumed.events);
        assertTrue(resumed.info.startNumTokens() > 0, "a resumed run starts from the checkpoint's num_tokens");
        try (var runs = Files.list(tmp.resolve("runs"))) {
            List<Path> dirs = runs.toList();
            assertEquals(2, dirs.size(), "one TensorBoard run per start: " + dirs);
            for (Path d : dirs) assertTrue(Files.isDirectory(d), d + " is a dated run folder");
        }
    }

    @Test
    void aFailedRunStillEndsItsListeners(@TempDir Path tmp) throws Exception {
        Recorder r = new Recorder();
        TrainingListener boom = new TrainingListener() {
            @Override
            public void onLog(Map<String, Object> row) {
                throw new IllegalStateException("listener refused");
            }
        };
        TrainingArgs a = TrainingArgs.defaults(tmp).withSteps(2, 4, 1, 1e-3).withLogging(1, 0);
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            var e = assertThrows(
                    IllegalStateException.class,
                    () -> TrainingListeners.call(
                            List.of(r, boom),
                            () -> SftTrainer.train(m, SftTrainerTest.arithmetic(8, 1), a, PAD, Map.of())));
            assertEquals("listener refused", e.getMessage());
        }
        assertEquals(List.of("begin 0/2", "step 1", "log 1", "end"), r.events);
    }
}
