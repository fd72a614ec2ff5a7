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

    private enum How {
        PADDED, // the rows right-padded to the longest
        PACKED, // packed into rows of maxLength
        CHOSEN // as SftTrainer.microBatch picks (packed within the micro-batch where that saves tokens)
    }

    private static LossAndGrads run(How how, boolean checkpointed, List<Sequence> examples, int maxLength)
            throws Exception {
        long targets = examples.stream().mapToLong(Sequence::targets).sum();
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/qwen3-tiny"));
                PointerScope s = new PointerScope()) {
            m.requiresGrad(true);
            double loss = switch (how) {
                case PACKED -> {
                    List<PackedSequence> rows = Packing.bestFitDecreasing(examples, maxLength);
                    assertTrue(rows.size() < examples.size(), "some examples share a row");
                    yield SftTrainer.microBatchPacked(m, rows, PAD, targets, checkpointed)[0];
                }
                case PADDED -> SftTrainer.microBatchPadded(m, examples, PAD, targets, checkpointed, true)[0];
                case CHOSEN -> SftTrainer.microBatch(m, examples, PAD, targets, checkpointed, true)[0];
            };
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
        LossAndGrads plain = run(How.PADDED, false, examples, 16),
                packed = run(How.PACKED, false, examples, 16),
                packedCkpt = run(How.PACKED, true, examples, 16);
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

    /**
     * SFT's micro-batch packs its own rows (padding-free) where that saves tokens: rows of mixed lengths go packed and
     * give the padded loss, token accuracy and gradients (with checkpointing too); rows of one length stay padded.
     */
    @Test
    void aMicroBatchOfMixedLengthsRunsPackedWithinItselfAndEqualsItsPaddedSelf() throws Exception {
        List<Sequence> mixed = new java.util.ArrayList<>(SftTrainerTest.arithmetic(7, 13)); // 6 to 9 tokens each
        long[] longIds = new long[18];
        java.util.Arrays.fill(longIds, 65);
        float[] longMask = new float[18];
        java.util.Arrays.fill(longMask, 9, 18, 1f);
        mixed.add(new Sequence(longIds, longMask)); // one row twice as long: the rest pack two to a row
        List<PackedSequence> within = SftTrainer.packedWithin(mixed);
        assertTrue(within != null && within.size() * 8 <= mixed.size() * 7, "mixed lengths pack: " + within);
        assertEquals(null, SftTrainer.packedWithin(List.of(mixed.get(7), mixed.get(7))), "one length: nothing to save");
        for (boolean checkpointed : new boolean[] {false, true}) {
            LossAndGrads padded = run(How.PADDED, checkpointed, mixed, 18),
                    chosen = run(How.CHOSEN, checkpointed, mixed, 18);
            assertEquals(padded.loss(), chosen.loss(), 1e-5 * Math.abs(padded.loss()));
            for (var e : padded.grads().entrySet())
                assertClose(
                        "packed within " + e.getKey(),
                        e.getValue(),
                        chosen.grads().get(e.getKey()),
                        1e-5,
                        0);
        }
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/qwen3-tiny"));
                PointerScope s = new PointerScope()) {
            double[] padded = SftTrainer.microBatchPadded(m, mixed, PAD, 1, false, false),
                    chosen = SftTrainer.microBatch(m, mixed, PAD, 1, false, false);
            assertEquals(padded[0], chosen[0], 1e-5 * padded[0], "without a graph (evaluation): the same loss");
            assertEquals(padded[1], chosen[1], 0.0, "and the same correct argmax predictions");
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
