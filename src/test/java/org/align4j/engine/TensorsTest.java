// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class TensorsTest {
    @Test
    void ompWaitPolicyIsPassiveInTheCEnvironment() {
        NativeEnv.configure();
        assertEquals("PASSIVE", NativeEnv.getenv("OMP_WAIT_POLICY"));
    }

    @Test
    void floatsRoundTripThroughLibtorch() {
        try (PointerScope scope = new PointerScope()) {
            float[] x = {1f, -2.5f, 3.25f, 0f, 1e-30f, 7f};
            Tensor t = Tensors.floats(x, 2, 3);
            assertArrayEquals(new long[] {2, 3}, Tensors.shape(t));
            assertArrayEquals(x, Tensors.toFloats(t));
            Tensor doubled = t.mul(Tensors.scalar(2.0));
            assertArrayEquals(new float[] {2f, -5f, 6.5f, 0f, 2e-30f, 14f}, Tensors.toFloats(doubled));
            assertArrayEquals(new long[] {3, 1, 2}, Tensors.toLongs(Tensors.longs(new long[] {3, 1, 2}, 3)));
            // rms([3, 4]) = sqrt(12.5); libtorch's rms_norm is reachable and right
            float[] normed = Tensors.toFloats(torch.rms_norm(Tensors.floats(new float[] {3f, 4f}, 2), 2));
            assertArrayEquals(
                    new float[] {(float) (3 / Math.sqrt(12.5)), (float) (4 / Math.sqrt(12.5))}, normed, 1e-6f);
        }
    }
}
