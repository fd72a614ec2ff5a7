// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.assertResumedRowsEqual;
import static org.align4j.trainer.TrainerFixtures.assertSameGradients;
import static org.align4j.trainer.TrainerFixtures.snapshot;
import static org.align4j.trainer.TrainerFixtures.stepGradients;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT on the tiny golden llama with a prompt-masked arithmetic task (byte-level ids). */
class SftTrainerTest {
    private static final long PAD = 256, EOS = 258;

    /** "a+b=" (context) then "c" + EOS (targets), as byte ids. */
    static List<Sequence> arithmetic(int n, long seed) {
        Random rng = new Random(seed);
        List<Sequence> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = rng.nextInt(50), b = rng.nextInt(50);
            byte[] prompt = (a + "+" + b + "=").getBytes(),
                    answer = Integer.toString(a + b).getBytes();
            long[] p = new long[prompt.length], c = new long[answer.length + 1];
            for (int j = 0; j < prompt.length; j++) p[j] = prompt[j];
            for (int j = 0; j < answer.length; j++) c[j] = answer[j];
            c[answer.length] = EOS;
            out.add(Sequence.promptCompletion(p, c));
        }
        return out;
    }

    private static Transformer tiny() throws IOException {
        return Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    private static TrainingArgs config(Path out, int steps, int batch, int accumulation) {
        return TrainingArgs.defaults(out)
                .withSteps(steps, batch, accumulation, 1e-3)
                .withLogging(1, 0);
    }

    @Test
    void lossIsFiniteLoggedUnderTrlNamesAndEveryParameterMoves(@TempDir Path tmp) throws Exception {
        try (Transformer m = tiny()) {
            Map<String, float[]> before = snapshot(m);
            SftTrainer.train(
                    m,
                    arithmetic(16, 1),
                    config(tmp, 3, 4, 1).toBuilder().reportTo("tensorboard").build(),
                    PAD,
                    Map.of("learning_rate", 1e-3));
            try (var events = Files.walk(tmp.resolve("runs"))) { // in runs/<date>_<host>/, as transformers
                assertTrue(
                        events.anyMatch(f -> f.getFileName().toString().startsWith("events.out.tfevents.")),
                        "report_to tensorboard writes event files");
            }
            for (var e : snapshot(m).entrySet())
                assertFalse(
                        java.util.Arrays.equals(before.get(e.getKey()), e.getValue()), e.getKey() + " did not move");
            List<JsonNode> rows = MetricsLog.read(tmp);
            assertEquals(3, rows.size());
            for (JsonNode r : rows) {
                for (String k : new String[] {
                    "step", "epoch", "loss", "learning_rate", "grad_norm", "mean_token_accuracy", "num_tokens"
                }) assertTrue(r.has(k), "metrics.jsonl row lacks " + k + ": " + r);
                assertTrue(Double.isFinite(r.get("loss").asDouble())
                        && r.get("loss").asDouble() > 0);
            }
            try (Transformer saved = Checkpoints.load(tmp)) { // the final model is a loadable HF checkpoint
                assertArrayEquals(
                        Tensors.toFloats(m.parameters().get("lm_head.weight")),
                        Tensors.toFloats(saved.parameters().get("lm_head.weight")));
            }
        }
    }

    @Test
    void theFirstLoggedLossIsTheFirstBatchBeforeAnyUpdate(@TempDir Path tmp) throws Exception {
        List<Sequence> data = arithmetic(8, 2);
        double expected;
        try (Transformer m = tiny();
                PointerScope s = new PointerScope()) {
            List<Sequence> first = new DataCursor(8, 8, 42).next(data);
            m.requiresGrad(true);
            long targets = first.stream()
                    .mapToLong(e -> {
                        long n = 0;
                        for (int i = 1; i < e.targetMask().length; i++) n += (long) e.targetMask()[i];
                        return n;
                    })
                    .sum();
            expected = SftTrainer.microBatch(m, first, PAD, targets, false, true)[0];
        }
        try (Transformer m = tiny()) {
            SftTrainer.train(m, data, config(tmp, 2, 8, 1), PAD, Map.of());
        }
        assertEquals(expected, MetricsLog.read(tmp).get(0).get("loss").asDouble(), 1e-6);
    }

    @Test
    void oneMicroBatchOfEightEqualsEightMicroBatchesOfOne(@TempDir Path tmp) throws Exception {
        List<Sequence> data = arithmetic(16, 3);
        try (Transformer m = tiny()) {
            SftTrainer.train(m, data, config(tmp.resolve("a"), 2, 8, 1), PAD, Map.of());
        }
        try (Transformer m = tiny()) {
            SftTrainer.train(m, data, config(tmp.resolve("b"), 2, 1, 8), PAD, Map.of());
        }
        List<JsonNode> la = MetricsLog.read(tmp.resolve("a")), lb = MetricsLog.read(tmp.resolve("b"));
        // only step 1 is equal by construction: step 2 starts from weights AdamW moved by lr-sized amounts wherever a
        // gradient is float32 noise (the gradients themselves are compared below)
        assertEquals(
                la.get(1).get("num_tokens").asLong(),
                lb.get(1).get("num_tokens").asLong());
        for (int i = 0; i < 1; i++) {
            String at = " at step " + (i + 1);
            assertEquals(la.get(i).get("loss").asDouble(), lb.get(i).get("loss").asDouble(), 1e-6, "loss" + at);
            double g = la.get(i).get("grad_norm").asDouble();
            assertEquals(g, lb.get(i).get("grad_norm").asDouble(), 1e-5 * g, "grad_norm" + at);
        }
        // the gradients themselves, before any update: equal up to summation order
        try (Transformer m = tiny()) {
            assertSameGradients(
                    stepGradients(m, data, 8, 1, sft(m, false)), stepGradients(m, data, 1, 8, sft(m, false)));
        }
    }

    /** SFT's micro-batch as SftTrainer.train runs it. */
    private static TrainLoop.MicroBatch<Sequence> sft(Transformer m, boolean checkpointed) {
        return (mb, w, train) -> {
            double loss = SftTrainer.microBatch(m, mb, PAD, w.targetTokens(), checkpointed, train)[0];
            return StepSums.empty().withLoss(loss);
        };
    }

    @Test
    void gradientCheckpointingGivesTheSameGradients() throws Exception {
        List<Sequence> data = arithmetic(8, 7);
        try (Transformer m = tiny()) {
            assertSameGradients(
                    stepGradients(m, data, 4, 2, sft(m, false)), stepGradients(m, data, 4, 2, sft(m, true)));
        }
    }

    @Test
    void resumingFromACheckpointContinuesExactlyAsTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<Sequence> data = arithmetic(12, 4); // 3 batches of 4: resuming crosses an epoch boundary
        Map<String, float[]> full;
        TrainingArgs cfg = config(tmp.resolve("full"), 5, 4, 1).withLogging(1, 2);
        try (Transformer m = tiny()) {
            SftTrainer.train(m, data, cfg, PAD, Map.of());
            full = snapshot(m);
        }
        assertTrue(Files.isDirectory(tmp.resolve("full/checkpoint-2"))
                && Files.isDirectory(tmp.resolve("full/checkpoint-4")));
        // a second run that only has checkpoint-2 resumes from it
        Path resumed = tmp.resolve("resumed");
        org.align4j.io.AtomicFiles.writeDirAtomically(
                resumed.resolve("checkpoint-2"),
                d -> {
                    try (var files = Files.list(tmp.resolve("full/checkpoint-2"))) {
                        for (Path f : files.toList()) Files.copy(f, d.resolve(f.getFileName()));
                    }
                },
                false);
        try (Transformer m = tiny()) {
            SftTrainer.train(m, data, cfg.withResume("latest", resumed), PAD, Map.of());
            for (var e : snapshot(m).entrySet()) assertArrayEquals(full.get(e.getKey()), e.getValue(), e.getKey());
        }
        List<JsonNode> lf = MetricsLog.read(tmp.resolve("full")), lr = MetricsLog.read(resumed);
        assertEquals(3, lr.size(), "steps 3, 4, 5 logged after the resume");
        assertEquals(5, lf.size());
        assertResumedRowsEqual(tmp.resolve("full"), resumed, 3);
    }

    @Test
    void aRunKilledWhileWritingACheckpointLeavesThePreviousOneLoadable(@TempDir Path tmp) throws Exception {
        try (Transformer m = tiny()) {
            SftTrainer.train(m, arithmetic(8, 5), config(tmp, 2, 4, 1).withLogging(1, 1), PAD, Map.of());
        }
        // what a kill during the next save leaves behind: an unfinished checkpoint-3.tmp folder
        Path partial = Files.createDirectories(tmp.resolve("checkpoint-3.tmp"));
        Files.write(partial.resolve("model.safetensors"), new byte[] {1, 2, 3});
        Path latest = TrainCheckpoints.latest(tmp).orElseThrow();
        assertEquals("checkpoint-1", latest.getFileName().toString());
        try (Transformer back = Checkpoints.load(latest)) {
            assertEquals(1, TrainCheckpoints.loadState(latest).globalStep());
            assertTrue(back.numParameters() > 0);
        }
    }

    @Test
    void anExistingRunIsNotClobbered(@TempDir Path tmp) throws Exception {
        try (Transformer m = tiny()) {
            SftTrainer.train(m, arithmetic(4, 6), config(tmp, 1, 4, 1), PAD, Map.of());
            IOException e = assertThrows(
                    IOException.class,
                    () -> SftTrainer.train(m, arithmetic(4, 6), config(tmp, 1, 4, 1), PAD, Map.of()));
            assertTrue(
                    e.getMessage().contains("already holds a run")
                            && e.getMessage().contains("--overwrite_output_dir"),
                    e.getMessage());
        }
    }
}
