// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.trainer.TrainerFixtures.takeGradients;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.align4j.data.Sequence;
import org.align4j.engine.Autocast;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** A micro-batch's rows as parts at once: the same gradients as the whole batch, the same bits every run. */
class RowParallelTest {
    private static final long PAD = 256;

    private static Transformer tiny() throws IOException {
        return Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    /** SFT's forward and backward of {@code rows}, the loss scaled to all of {@code data}'s target tokens. */
    private static double sft(Transformer m, List<Sequence> rows, List<Sequence> data) {
        long targets = data.stream().mapToLong(Sequence::targets).sum();
        return SftTrainer.microBatch(m, rows, PAD, targets, false, true)[0];
    }

    private static double run(Transformer m, List<Sequence> data, int parts) {
        return RowParallel.run(m, data, parts, rows -> sft(m, rows, data)).stream()
                .mapToDouble(Double::doubleValue)
                .sum();
    }

    /** Each tensor within 1e-5 of its largest entry (the parts sum in another order than one product over the batch). */
    private static void assertClose(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet(), "the same parameters have gradients");
        for (var e : expected.entrySet()) {
            float[] x = e.getValue(), y = actual.get(e.getKey());
            double max = 0;
            for (float v : x) max = Math.max(max, Math.abs(v));
            assertTrue(max > 0, e.getKey() + ": a zero gradient says nothing");
            for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 1e-5 * max, e.getKey() + "[" + i + "]");
        }
    }

    @Test
    void partsAddUpToTheWholeBatchsLossAndGradients() throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(7, 3);
        try (Transformer m = tiny()) {
            m.requiresGrad(true);
            double whole = run(m, data, 1);
            Map<String, float[]> expected = takeGradients(m);
            for (int parts : new int[] {2, 3, 7}) {
                assertEquals(whole, run(m, data, parts), 1e-6 * whole, parts + " parts: loss");
                assertClose(expected, takeGradients(m));
            }
        }
    }

    @Test
    void theSameBitsEveryRunAlsoOnTopOfAnEarlierMicroBatchsGradients() throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(6, 11);
        try (Transformer m = tiny()) {
            m.requiresGrad(true);
            run(m, data, 3);
            Map<String, float[]> first = takeGradients(m);
            run(m, data, 3);
            Map<String, float[]> second = takeGradients(m);
            for (var e : first.entrySet()) assertArrayEquals(e.getValue(), second.get(e.getKey()), e.getKey());

            // gradient accumulation: a second micro-batch's parts add to what the first left
            List<Sequence> other = SftTrainerTest.arithmetic(5, 12);
            run(m, data, 1);
            run(m, other, 1);
            Map<String, float[]> sequential = takeGradients(m);
            run(m, data, 1);
            run(m, other, 2);
            Map<String, float[]> accumulated = takeGradients(m);
            assertClose(sequential, accumulated);
            run(m, data, 1);
            run(m, other, 2);
            Map<String, float[]> again = takeGradients(m);
            for (var e : accumulated.entrySet()) assertArrayEquals(e.getValue(), again.get(e.getKey()), e.getKey());
        }
    }

    @Test
    void withOwnLeavesPutsTheGradientsInTheLeavesAndLeavesTheModelsAlone() throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(4, 5);
        try (Transformer m = tiny()) {
            m.requiresGrad(true);
            sft(m, data, data);
            Map<String, float[]> plain = takeGradients(m);
            List<Tensor> leaves = m.withOwnLeaves(() -> sft(m, data, data));
            try {
                assertTrue(takeGradients(m).isEmpty(), "the model's own parameters got no gradient");
                List<String> names = List.copyOf(m.trainableParameters().keySet());
                assertEquals(names.size(), leaves.size());
                for (int i = 0; i < names.size(); i++) // the same ops on the same thread: the same bits
                assertArrayEquals(
                            plain.get(names.get(i)),
                            Tensors.toFloats(leaves.get(i).grad()),
                            names.get(i));
            } finally {
                leaves.forEach(Tensor::close);
            }
        }
    }

    @Test
    void loraAdaptersTrainInParts() throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(6, 9);
        try (Transformer m = tiny()) {
            Lora.attach(m, new Lora.Config(4, 8.0, 0.0, List.of("q_proj", "v_proj", "down_proj")), 1);
            m.requiresGrad(true);
            // B starts at zero, which leaves A without a gradient: one step's worth of B first
            try (var g = new org.bytedeco.pytorch.NoGradGuard()) {
                for (var e : m.trainableParameters().entrySet())
                    if (e.getKey().endsWith("lora_B.weight")) e.getValue().fill_(Tensors.scalar(0.01));
            }
            run(m, data, 1);
            Map<String, float[]> whole = takeGradients(m);
            assertEquals(m.trainableParameters().keySet(), whole.keySet(), "every adapter tensor has a gradient");
            run(m, data, 2);
            assertClose(whole, takeGradients(m));
            for (Tensor p : m.parameters().values()) {
                Tensor g = p.grad();
                assertFalse(g != null && !g.isNull() && g.defined(), "the base stays frozen");
            }
        }
    }

    @Test
    void aFailingPartIsRethrownAfterTheOthersFinish() throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(4, 2);
        try (Transformer m = tiny()) {
            m.requiresGrad(true);
            int threads = torch.get_num_threads();
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> RowParallel.run(m, data, 2, rows -> {
                        if (rows.contains(data.getLast()))
                            throw new IllegalStateException("part with the last row failed");
                        return sft(m, rows, data);
                    }));
            assertEquals("part with the last row failed", e.getMessage());
            assertEquals(threads, torch.get_num_threads(), "torch's thread count restored");
            takeGradients(m);
            // the thread that failed holds no leaves of its own any more: the model trains in parts again
            run(m, data, 1);
            Map<String, float[]> whole = takeGradients(m);
            run(m, data, 2);
            assertClose(whole, takeGradients(m));
        }
    }

    @Test
    void partsRunUnderTheCallersAutocastAndThreadCountIsRestored() throws Exception {
        List<Sequence> data = SftTrainerTest.arithmetic(3, 1);
        try (Transformer m = tiny();
                Autocast bf16 = Autocast.bf16(true)) {
            int threads = torch.get_num_threads();
            List<Boolean> on = RowParallel.run(m, data, 3, rows -> Autocast.enabled());
            assertEquals(List.of(true, true, true), on);
            assertEquals(threads, torch.get_num_threads());
        }
    }

    @Test
    void howManyParts() throws Exception {
        try (Transformer m = tiny()) {
            assertEquals(2, RowParallel.parts(null, 2, 4, m), "one part per thread");
            assertEquals(1, RowParallel.parts(null, 2, 1, m), "at most one part per row");
            assertEquals(3, RowParallel.parts(null, 4, 3, m));
            assertEquals(1, RowParallel.parts("1", 2, 4, m), "ALIGN4J_ROW_PARALLEL=1: off");
            assertEquals(2, RowParallel.parts("2", 8, 8, m), "a cap");
            assertEquals(2, RowParallel.parts("16", 2, 8, m), "never more parts than threads");
            // the other parts' own gradients stay within EXTRA_GRADIENT_BYTES (a full fine-tune of a large model: 1
            // part)
            long byMemory = 1 + RowParallel.EXTRA_GRADIENT_BYTES / (4 * m.numParameters());
            assertTrue(byMemory < 1_000_000, "the tiny model's cap is below the thread count asked for");
            assertEquals(byMemory, RowParallel.parts(null, 1_000_000, 1_000_000, m));
            for (String bad : new String[] {"0", "off", "-1"}) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> RowParallel.parts(bad, 2, 4, m));
                assertTrue(e.getMessage().contains("ALIGN4J_ROW_PARALLEL='" + bad + "'"), e.getMessage());
            }
            // LoRA dropout draws from the one generator: the parts would take its numbers in the scheduler's order
            Lora.attach(m, new Lora.Config(4, 8.0, 0.05, List.of("q_proj")), 1);
            assertEquals(1, RowParallel.parts(null, 2, 4, m));
        }
    }
}
