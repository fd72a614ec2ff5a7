// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.PackedSequence;
import org.align4j.data.Packing;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT on packed rows computes the loss and gradients of the same examples unpacked. */
class SftPackingTest {
    private static final long PAD = 256;

    private record LossAndGrads(double loss, Map<String, float[]> grads) {}

    private static LossAndGrads run(boolean packed, boolean checkpointed, List<Sequence> examples, int maxLength)
            throws Exception {
        long targets = examples.stream().mapToLong(Sequence::targets).sum();
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/qwen3-tiny"));
                PointerScope s = new PointerScope()) {
            m.requiresGrad(true);
            double loss;
            if (packed) {
                List<PackedSequence> rows = Packing.bestFitDecreasing(examples, maxLength);
                assertTrue(rows.size() < examples.size(), "some examples share a row");
                loss = SftTrainer.microBatchPacked(m, rows, PAD, targets, checkpointed)[0];
            } else {
                loss = SftTrainer.microBatch(m, examples, PAD, targets, checkpointed, true)[0];
            }
            Map<String, float[]> g = new LinkedHashMap<>();
            for (var e : m.parameters().entrySet()) {
                Tensor grad = e.getValue().grad();
                g.put(e.getKey(), Tensors.toFloats(grad));
            }
            return new LossAndGrads(loss, g);
        }
    }

    @Test
    void packedLossAndGradientsEqualUnpackedOnes() throws Exception {
        List<Sequence> examples = SftTrainerTest.arithmetic(9, 11); // 5 to 7 tokens each
        LossAndGrads plain = run(false, false, examples, 16),
                packed = run(true, false, examples, 16),
                packedCkpt = run(true, true, examples, 16);
        assertEquals(plain.loss(), packed.loss(), 1e-5);
        assertEquals(plain.loss(), packedCkpt.loss(), 1e-5);
        for (var e : plain.grads().entrySet()) {
            assertClose("packed " + e.getKey(), e.getValue(), packed.grads().get(e.getKey()), 1e-5, 0);
            assertClose(
                    "packed+checkpointing " + e.getKey(),
                    e.getValue(),
                    packedCkpt.grads().get(e.getKey()),
                    1e-5,
                    0);
        }
    }

    @Test
    void trainPackedRunsAndLogsUnderTrlNames(@TempDir Path tmp) throws Exception {
        List<PackedSequence> rows = Packing.bestFitDecreasing(SftTrainerTest.arithmetic(12, 3), 24);
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            TrainResult r = SftTrainer.trainPacked(
                    m, rows, TrainingArgs.defaults(tmp).withSteps(2, 2, 1, 1e-3).withLogging(1, 0), PAD, Map.of());
            assertEquals(2, r.logged().size());
            for (var row : r.logged())
                assertTrue(Double.isFinite((Double) row.get("loss")) && (Double) row.get("loss") > 0, row.toString());
        }
    }
}
