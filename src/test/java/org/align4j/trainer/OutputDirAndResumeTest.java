// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertResumedRowsEqual;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.align4j.data.Sequence;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run may do to its output_dir (README, "Output folders" and "Resuming"): overwrite only align4j's artifacts,
 * refuse folders that would lose data, hold a lock, leave nothing behind that blocks the next run; resume from any
 * checkpoint, refuse a resume that is not the same run, rotate checkpoints, clean up interrupted saves.
 */
class OutputDirAndResumeTest {
    private static final long PAD = 256;

    private static Transformer tiny() throws IOException {
        return Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    private static TrainingArgs args(Path out, int steps) {
        return TrainingArgs.builder(out)
                .maxSteps(steps)
                .perDeviceTrainBatchSize(4)
                .learningRate(1e-3)
                .loggingSteps(1)
                .saveSteps(0)
                .build();
    }

    private static List<Sequence> data() {
        return SftTrainerTest.arithmetic(12, 4);
    }

    private static void train(TrainingArgs a) throws IOException {
        try (Transformer m = tiny()) {
            SftTrainer.train(m, data(), a, PAD, Map.of());
        }
    }

    @Test
    void overwritingReplacesOnlyAlign4jsArtifacts(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        train(args(out, 2).toBuilder().saveSteps(1).build());
        Files.writeString(out.resolve("NOTES.txt"), "precious");
        Files.createDirectories(out.resolve("mydata"));
        Files.writeString(out.resolve("mydata/pc.jsonl"), "{}\n");
        Files.createDirectories(out.resolve("checkpoint-77")); // a folder of that name that align4j did not write
        Files.writeString(out.resolve("checkpoint-77/mine.txt"), "mine");
        assertThrows(IOException.class, () -> train(args(out, 1)), "a run is there and overwrite is off");
        train(args(out, 1).toBuilder().overwriteOutputDir(true).build());
        assertEquals("precious", Files.readString(out.resolve("NOTES.txt")));
        assertTrue(Files.exists(out.resolve("mydata/pc.jsonl")));
        assertTrue(Files.exists(out.resolve("checkpoint-77/mine.txt")));
        assertFalse(Files.exists(out.resolve("checkpoint-1")), "the earlier run's checkpoint is gone");
        assertEquals(1, MetricsLog.read(out).size(), "metrics.jsonl is the new run's");
        assertTrue(Files.exists(out.resolve("model.safetensors")));
    }

    @Test
    void aConfigJsonThatIsNotAModelIsNotAnArtifact(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("project");
        Files.createDirectories(out);
        Files.writeString(out.resolve("config.json"), "{\"app\": 1}");
        assertFalse(OutputDir.isArtifact(out.resolve("config.json")));
        assertTrue(OutputDir.runArtifacts(out).isEmpty(), "someone else's config.json does not mark a run");
    }

    @Test
    void foldersThatWouldLoseDataAreRefused(@TempDir Path tmp) throws Exception {
        Path model = Golden.resourceDir("golden/llama-tiny"), data = tmp.resolve("d/train.jsonl");
        Files.createDirectories(data.getParent());
        Files.writeString(data, "{}\n");
        Files.writeString(tmp.resolve("afile"), "x");
        List<Path> inputs = List.of(model, data);
        String[][] cases = {
            {"/", "root folder"},
            {System.getProperty("user.home"), "home folder"},
            {".", "current folder"},
            {"", "current folder"},
            {model.toString(), "is an input of this run"},
            {tmp.resolve("d").toString(), "contains an input of this run"},
            {tmp.toString(), "contains an input of this run"},
            {tmp.resolve("afile").toString(), "is a file"},
        };
        for (String[] c : cases) {
            IOException e =
                    assertThrows(IOException.class, () -> OutputDir.checkLocation("sft", Path.of(c[0]), inputs), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
        OutputDir.checkLocation("sft", tmp.resolve("d/out"), inputs); // beside the data, not above it: fine
        IOException e = assertThrows(IOException.class, () -> train(args(tmp.resolve("afile/run"), 1)));
        assertTrue(e.getMessage().contains("afile"), e.getMessage());
    }

    @Test
    void aRunThatFailsBeforeItsFirstStepLeavesNothingThatBlocksTheNext(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        TrainingArgs a = args(out, 2);
        try (Transformer m = tiny()) {
            TrainLoop.Run run = TrainLoop.Run.of("test", m, a, 2, List.of(new DataCursor(4, 4, 42)));
            assertThrows(
                    IllegalStateException.class,
                    () -> TrainLoop.run(run, s -> {
                        throw new IllegalStateException("the data is bad");
                    }));
        }
        assertFalse(Files.exists(out.resolve(MetricsLog.FILE)), "no empty metrics.jsonl");
        train(args(out, 1)); // no overwrite needed
        assertEquals(1, MetricsLog.read(out).size());
    }

    @Test
    void aSecondRunIntoAFolderALiveRunHoldsIsRefused(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        Files.createDirectories(out);
        // another process claims the folder and holds it until its stdin closes
        Process holder = new ProcessBuilder(
                        ProcessHandle.current().info().command().orElseThrow(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        LockHolder.class.getName(),
                        out.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            String ready = new String(holder.getInputStream().readNBytes(6));
            assertEquals("ready\n", ready, "the holder claimed the folder");
            IOException e = assertThrows(
                    IOException.class,
                    () -> OutputDir.claim("sft", out, false, false, List.of()).close());
            assertTrue(e.getMessage().contains("in use by another align4j run"), e.getMessage());
        } finally {
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
        OutputDir.claim("sft", out, false, false, List.of()).close(); // free once the holder is gone
    }

    /** Claims the folder named by its argument, says "ready", and holds it until stdin closes. */
    public static final class LockHolder {
        public static void main(String[] args) throws Exception {
            try (OutputDir d = OutputDir.claim("holder", Path.of(args[0]), false, false, List.of())) {
                System.out.print("ready\n");
                System.out.flush();
                while (System.in.read() >= 0) {}
            }
        }
    }

    @Test
    void maxGradNormZeroOrBelowMeansNoClipping(@TempDir Path tmp) throws Exception {
        // 1e-9 clips every step hard, so it trains differently; 0, -1 and a bound far above the norm all leave the
        // gradients as they are (scaled by exactly 1)
        Map<String, float[]> unclipped = null;
        for (double c : new double[] {1e9, 0, -1}) {
            try (Transformer m = tiny()) {
                SftTrainer.train(
                        m,
                        data(),
                        args(tmp.resolve("c" + c), 3).toBuilder().maxGradNorm(c).build(),
                        PAD,
                        Map.of());
                Map<String, float[]> w = snapshot(m);
                if (unclipped == null) unclipped = w;
                else for (var e : w.entrySet()) assertArrayEquals(unclipped.get(e.getKey()), e.getValue(), "clip " + c);
            }
            List<JsonNode> rows = MetricsLog.read(tmp.resolve("c" + c));
            assertTrue(
                    rows.get(2).get("loss").asDouble() < rows.get(0).get("loss").asDouble(), "clip " + c + " trains");
        }
        try (Transformer m = tiny()) {
            SftTrainer.train(
                    m,
                    data(),
                    args(tmp.resolve("tight"), 3).toBuilder().maxGradNorm(1e-9).build(),
                    PAD,
                    Map.of());
            Map<String, float[]> w = snapshot(m), u = unclipped;
            assertTrue(
                    w.entrySet().stream().anyMatch(e -> !java.util.Arrays.equals(u.get(e.getKey()), e.getValue())),
                    "a tight bound changes the run");
        }
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> args(tmp, 1).toBuilder().maxGradNorm(Double.NaN).build());
        assertTrue(e.getMessage().contains("max_grad_norm"));
    }

    @Test
    void nonsenseNumbersAreRefusedNamingTheKeyAndRange(@TempDir Path tmp) {
        TrainingArgs.Builder b = args(tmp, 1).toBuilder();
        Object[][] cases = {
            {b.learningRate(Double.NaN), "learning_rate"},
            {args(tmp, 1).toBuilder().learningRate(Double.POSITIVE_INFINITY), "learning_rate"},
            {args(tmp, 1).toBuilder().learningRate(1e300), "learning_rate must be in [0, 1]"},
            {args(tmp, 1).toBuilder().perDeviceTrainBatchSize(0), "per_device_train_batch_size must be >= 1"},
            {args(tmp, 1).toBuilder().maxSteps(-2), "max_steps must be >= -1"},
            {args(tmp, 1).toBuilder().maxSteps(-1).numTrainEpochs(Double.POSITIVE_INFINITY), "num_train_epochs"},
            {args(tmp, 1).toBuilder().saveSteps(-1), "save_steps must be >= 0"},
            {args(tmp, 1).toBuilder().warmupSteps(-3), "warmup_steps must be >= 0"},
            {args(tmp, 1).toBuilder().warmupRatio(5), "warmup_ratio must be in [0, 1]"},
            {args(tmp, 1).toBuilder().saveTotalLimit(0), "save_total_limit must be >= 1"},
            {args(tmp, 1).toBuilder().weightDecay(Double.NaN), "weight_decay"},
            {args(tmp, 1).toBuilder().perDeviceTrainBatchSize(1 << 20).gradientAccumulationSteps(1 << 12), "2^31"},
        };
        for (Object[] c : cases) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, ((TrainingArgs.Builder) c[0])::build, (String) c[1]);
            assertTrue(e.getMessage().contains((String) c[1]), e.getMessage());
        }
        // counts never overflow: a huge batch is one step per epoch, a huge epoch count is refused by the schedule
        TrainingArgs huge = args(tmp, 1).toBuilder()
                .maxSteps(-1)
                .numTrainEpochs(2)
                .perDeviceTrainBatchSize(Integer.MAX_VALUE)
                .build();
        assertEquals(2, huge.totalSteps(16));
        TrainingArgs many =
                args(tmp, 1).toBuilder().maxSteps(-1).numTrainEpochs(1e8).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> many.totalSteps(1 << 20));
        assertTrue(e.getMessage().contains("num_train_epochs"), e.getMessage());
    }

    @Test
    void resumingFromAnOlderCheckpointReplacesTheLaterOnesAsItReachesThem(@TempDir Path tmp) throws Exception {
        Path full = tmp.resolve("full"), run = tmp.resolve("run");
        train(args(full, 6));
        train(args(run, 6).toBuilder().saveSteps(1).build());
        long before = Files.getLastModifiedTime(run.resolve("checkpoint-4/trainer_state.json"))
                .toMillis();
        Thread.sleep(20);
        try (Transformer m = tiny()) {
            SftTrainer.train(
                    m,
                    data(),
                    args(run, 6).toBuilder()
                            .saveSteps(1)
                            .resumeFromCheckpoint(run.resolve("checkpoint-2").toString())
                            .build(),
                    PAD,
                    Map.of());
            try (Transformer f = Checkpoints.load(full)) {
                for (var e : snapshot(f).entrySet())
                    assertArrayEquals(e.getValue(), snapshot(m).get(e.getKey()), e.getKey());
            }
        }
        assertTrue(Files.getLastModifiedTime(run.resolve("checkpoint-4/trainer_state.json"))
                        .toMillis()
                > before);
        List<JsonNode> a = MetricsLog.read(full), b = MetricsLog.read(run);
        assertEquals(a.toString(), b.toString(), "metrics.jsonl reads as one uninterrupted run");
    }

    @Test
    void aResumeThatIsNotTheSameRunIsRefusedBeforeAnythingIsCut(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        TrainingArgs a = args(run, 4).toBuilder().saveSteps(1).build();
        train(a);
        String logged = Files.readString(run.resolve(MetricsLog.FILE));
        String cp2 = run.resolve("checkpoint-2").toString();
        Object[][] cases = {
            {a.toBuilder().perDeviceTrainBatchSize(2), "per_device_train_batch_size"},
            {a.toBuilder().gradientAccumulationSteps(2), "gradient_accumulation_steps"},
            {a.toBuilder().seed(7), "seed"},
        };
        for (Object[] c : cases) {
            TrainingArgs changed =
                    ((TrainingArgs.Builder) c[0]).resumeFromCheckpoint(cp2).build();
            IOException e = assertThrows(IOException.class, () -> train(changed));
            assertTrue(e.getMessage().contains((String) c[1]), e.getMessage());
        }
        try (Transformer m = tiny()) { // another data set
            IOException e = assertThrows(
                    IOException.class,
                    () -> SftTrainer.train(
                            m,
                            SftTrainerTest.arithmetic(12, 5),
                            a.toBuilder().resumeFromCheckpoint(cp2).build(),
                            PAD,
                            Map.of()));
            assertTrue(e.getMessage().contains("training data differs"), e.getMessage());
        }
        try (Transformer m = tiny()) { // LoRA on a full-weight checkpoint
            org.align4j.model.Lora.attach(
                    m, new org.align4j.model.Lora.Config(2, 4, 0, List.of("q_proj", "v_proj")), 1);
            IOException e = assertThrows(
                    IOException.class,
                    () -> SftTrainer.train(
                            m, data(), a.toBuilder().resumeFromCheckpoint(cp2).build(), PAD, Map.of()));
            assertTrue(e.getMessage().contains("LoRA"), e.getMessage());
        }
        assertEquals(logged, Files.readString(run.resolve(MetricsLog.FILE)), "metrics.jsonl untouched");
    }

    @Test
    void saveTotalLimitKeepsTheNewestCheckpoints(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        train(args(run, 6).toBuilder().saveSteps(1).saveTotalLimit(2).build());
        List<String> left;
        try (var s = Files.list(run)) {
            left = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("checkpoint-"))
                    .sorted()
                    .toList();
        }
        assertEquals(List.of("checkpoint-4", "checkpoint-5"), left);
    }

    @Test
    void temporariesOfAnInterruptedSaveAreRemovedAtTheNextStart(@TempDir Path tmp) throws Exception {
        Path full = tmp.resolve("full"), run = tmp.resolve("run");
        train(args(full, 4));
        train(args(run, 4).toBuilder().saveSteps(2).build());
        Files.createDirectories(run.resolve("checkpoint-3.tmp"));
        Files.writeString(run.resolve("checkpoint-3.tmp/model.safetensors"), "half");
        Files.writeString(run.resolve(".model.safetensors.1a2b3c.tmp"), "half");
        Files.writeString(run.resolve("keep.tmp"), "not ours");
        train(args(run, 4).toBuilder()
                .saveSteps(2)
                .resumeFromCheckpoint("latest")
                .build());
        assertFalse(Files.exists(run.resolve("checkpoint-3.tmp")));
        assertFalse(Files.exists(run.resolve(".model.safetensors.1a2b3c.tmp")));
        assertTrue(Files.exists(run.resolve("keep.tmp")));
        assertResumedRowsEqual(full, run, 1);
    }
}
