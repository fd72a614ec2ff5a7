// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;
import org.align4j.engine.Tensors;
import org.align4j.model.Transformer;
import org.bytedeco.pytorch.Tensor;

/** Helpers the trainer tests share: parameter snapshots and the train / eval rows of a run's metrics.jsonl. */
final class TrainerFixtures {
    private TrainerFixtures() {}

    /** Every parameter's values, by name, copied out (to compare before and after training). */
    static Map<String, float[]> snapshot(Transformer m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        for (var e : m.parameters().entrySet()) s.put(e.getKey(), Tensors.toFloats(e.getValue()));
        return s;
    }

    /**
     * The gradients one optimizer step leaves before clipping: the loop's own windowed step (step 0: the first
     * {@code accumulation} micro-batches of {@code batch} rows in the seeded order) run once on {@code m}, read out,
     * then cleared. What an accumulation test should compare: AdamW divides each element by its own running size, so
     * weights after an update turn float32 reordering noise in near-zero gradients into lr-sized differences.
     */
    static <T> Map<String, float[]> stepGradients(
            Transformer m, List<T> rows, int batch, int accumulation, TrainLoop.MicroBatch<T> mb) throws IOException {
        return stepGradients(m, rows, batch, accumulation, mb, false);
    }

    /** {@link #stepGradients}, with the micro-batches' rows run as parts at once when {@code rowParallel}. */
    static <T> Map<String, float[]> stepGradients(
            Transformer m, List<T> rows, int batch, int accumulation, TrainLoop.MicroBatch<T> mb, boolean rowParallel)
            throws IOException {
        m.requiresGrad(true);
        try {
            TrainLoop.Rows<T> data = new TrainLoop.Rows<>(rows, r -> 1, r -> 1);
            TrainLoop.windowed(
                            "test",
                            data,
                            new DataCursor(rows.size(), batch, 42),
                            accumulation,
                            batch,
                            mb,
                            rowParallel ? m : null)
                    .run(0);
            return takeGradients(m);
        } finally {
            m.requiresGrad(false);
        }
    }

    /** The trainable parameters' gradients (absent: none), copied out, then cleared. */
    static Map<String, float[]> takeGradients(Transformer m) {
        Map<String, float[]> g = new LinkedHashMap<>();
        for (var e : m.trainableParameters().entrySet()) {
            Tensor grad = e.getValue().grad();
            if (grad != null && !grad.isNull() && grad.defined()) {
                g.put(e.getKey(), Tensors.toFloats(grad));
                e.getValue().mutable_grad().reset();
            }
        }
        return g;
    }

    /**
     * A training micro-batch of {@code rows} run as 2, 3 and one-per-row parts at once ({@link RowParallel}) logs what
     * it logs whole (the loss, every metric) and leaves its gradients ({@link #assertSameGradients}).
     */
    static <T> void assertPartsAddUp(
            Transformer m, List<T> rows, ToLongFunction<T> targetTokens, TrainLoop.MicroBatch<T> mb, String what) {
        TrainLoop.Window<T> w = TrainLoop.Window.of(rows, targetTokens, 0);
        assertPartsAddUp(
                m,
                rows.size(),
                parts -> StepSums.sum(RowParallel.run(m, rows, parts, part -> mb.run(part, w, true))),
                what);
    }

    /** {@link #assertPartsAddUp}, for a micro-batch of {@code rows} that {@code asParts} runs as that many parts. */
    static void assertPartsAddUp(Transformer m, int rows, IntFunction<StepSums> asParts, String what) {
        m.requiresGrad(true);
        try {
            StepSums whole = asParts.apply(1);
            Map<String, float[]> expected = takeGradients(m);
            for (int parts : new int[] {2, 3, rows}) {
                String at = what + ", " + parts + " parts: ";
                StepSums split = asParts.apply(parts);
                org.junit.jupiter.api.Assertions.assertEquals(
                        whole.loss(), split.loss(), 1e-6 * Math.abs(whole.loss()), at + "loss");
                Map<String, Double> a = whole.metrics(), b = split.metrics();
                org.junit.jupiter.api.Assertions.assertEquals(a.keySet(), b.keySet(), at + "metric names");
                for (var e : a.entrySet())
                    org.junit.jupiter.api.Assertions.assertEquals(
                            e.getValue(), b.get(e.getKey()), 1e-5 * (1 + Math.abs(e.getValue())), at + e.getKey());
                assertSameGradients(expected, takeGradients(m));
            }
        } finally {
            m.requiresGrad(false);
        }
    }

    /**
     * The same gradients up to float32 summation order: per tensor, |a - b| <= 1e-4 * max|a|, and not all zero. The
     * bound holds for any kernel (AVX2, AVX-512 or scalar sums of the same terms in another order differ by a few
     * float32 epsilons of the terms' size); a wrong normalisation is off by a factor, far outside it.
     */
    static void assertSameGradients(Map<String, float[]> a, Map<String, float[]> b) {
        org.junit.jupiter.api.Assertions.assertEquals(a.keySet(), b.keySet(), "the same parameters have gradients");
        double largest = 0;
        for (var e : a.entrySet()) {
            float[] x = e.getValue(), y = b.get(e.getKey());
            double max = 0;
            for (float v : x) max = Math.max(max, Math.abs(v));
            largest = Math.max(largest, max);
            double tol = 1e-4 * max;
            for (int i = 0; i < x.length; i++)
                if (!(Math.abs(x[i] - y[i]) <= tol))
                    org.junit.jupiter.api.Assertions.fail(e.getKey() + "[" + i + "]: " + x[i] + " vs " + y[i]
                            + " (|diff| " + Math.abs(x[i] - y[i]) + " > 1e-4 x max|g| = " + tol + ")");
        }
        org.junit.jupiter.api.Assertions.assertTrue(largest > 0, "every gradient is zero: the comparison says nothing");
    }

    /**
     * A resumed run logged exactly what the uninterrupted run logged from step {@code fromStep} on: every row (train
     * and eval) and every field, bit for bit (it repeats the same arithmetic on the same machine). {@code resumed}'s
     * metrics.jsonl starts after its checkpoint.
     */
    static void assertResumedRowsEqual(Path full, Path resumed, int fromStep) throws IOException {
        List<String> expected = MetricsLog.read(full).stream()
                .filter(r -> r.get("step").asInt() >= fromStep)
                .map(JsonNode::toString)
                .toList();
        List<String> actual =
                MetricsLog.read(resumed).stream().map(JsonNode::toString).toList();
        org.junit.jupiter.api.Assertions.assertFalse(expected.isEmpty(), "no rows from step " + fromStep);
        org.junit.jupiter.api.Assertions.assertEquals(
                String.join("\n", expected), String.join("\n", actual), "rows from step " + fromStep);
    }

    /** The training rows of a run's metrics.jsonl (those with a loss). */
    static List<JsonNode> trainRows(Path dir) throws IOException {
        return MetricsLog.read(dir).stream().filter(r -> r.has("loss")).toList();
    }

    /** The evaluation rows of a run's metrics.jsonl (those with an eval_loss). */
    static List<JsonNode> evalRows(Path dir) throws IOException {
        return MetricsLog.read(dir).stream().filter(r -> r.has("eval_loss")).toList();
    }
}
