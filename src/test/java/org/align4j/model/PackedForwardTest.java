// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import static org.align4j.testing.Golden.assertClose;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Packed rows (examples end to end, positions restarting at 0, block-diagonal causal attention)
 * give every example exactly the hidden states it gets alone.
 */
class PackedForwardTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny", "qwen3-tiny"})
    void eachPackedExampleMatchesItsOwnForward(String name) throws Exception {
        Random rng = new Random(7);
        int[] lengths = {5, 7, 3}; // row 0 packs examples 0 and 1; row 1 holds example 2 and 9 padding tokens
        List<long[]> examples = Arrays.stream(lengths)
                .mapToObj(n -> rng.longs(n, 0, 320).toArray())
                .toList();
        int t = 12;
        long[] ids = new long[2 * t], pos = new long[2 * t], seg = new long[2 * t];
        Arrays.fill(ids, 256);
        int at = 0;
        for (int e = 0; e < 2; e++) {
            for (int i = 0; i < lengths[e]; i++, at++) {
                ids[at] = examples.get(e)[i];
                pos[at] = i;
                seg[at] = e;
            }
        }
        for (int i = 0; i < t; i++) {
            if (i < 3) ids[t + i] = examples.get(2)[i];
            pos[t + i] = i < 3 ? i : i - 3;
            seg[t + i] = i < 3 ? 0 : 1; // padding is a segment of its own
        }
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/" + name));
                NoGradGuard g = new NoGradGuard();
                PointerScope s = new PointerScope()) {
            Tensor packed = m.forwardPacked(
                    Tensors.longs(ids, 2, t), Tensors.longs(pos, 2, t), Tensors.longs(seg, 2, t)); // (2, 12, H)
            int[][] where = {{0, 0}, {0, 5}, {1, 0}}; // (row, offset) of each example
            for (int e = 0; e < 3; e++) {
                long[] x = examples.get(e);
                float[] alone = Tensors.toFloats(m.forward(Tensors.longs(x, 1, x.length), null, null));
                float[] inRow = Tensors.toFloats(packed.select(0, where[e][0]).narrow(0, where[e][1], x.length));
                assertClose(name + " example " + e, alone, inRow, 2e-6, 1e-5);
            }
        }
    }
}
