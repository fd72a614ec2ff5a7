// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.openblas.global.openblas_full;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** The C environment align4j gives libtorch before it loads: the wait policy, and the thread split on 2 cores. */
class NativeEnvTest {
    @Test
    void onlyAnUnsetTwoCoreMachineSplitsTheThreads() {
        assertTrue(NativeEnv.splitThreads(null, null, 2));
        assertFalse(NativeEnv.splitThreads("2", null, 2), "the user's OMP_NUM_THREADS stands");
        assertFalse(NativeEnv.splitThreads(null, "1", 2), "the user's OPENBLAS_NUM_THREADS stands");
        for (int cores : new int[] {1, 3, 4, 16})
            assertFalse(NativeEnv.splitThreads(null, null, cores), cores + " cores");
    }

    /** What this JVM's libtorch and OpenBLAS run on when align4j set the split before they loaded. */
    @Test
    void aSplitProcessRunsLibtorchOnOneThreadAndProductsOnTwo() {
        NativeEnv.configure();
        assertEquals("PASSIVE", NativeEnv.getenv("OMP_WAIT_POLICY"));
        boolean rule = NativeEnv.splitThreads(
                System.getenv("OMP_NUM_THREADS"),
                System.getenv("OPENBLAS_NUM_THREADS"),
                Runtime.getRuntime().availableProcessors());
        if (!rule) assertFalse(NativeEnv.threadsSplit(), "no split where the rule says none");
        if (NativeEnv.threadsSplit()) {
            assertEquals("1", NativeEnv.getenv("OMP_NUM_THREADS"));
            assertEquals(1, torch.get_num_threads(), "libtorch's own kernels on one thread");
            assertEquals(2, openblas_full.openblas_get_num_threads(), "the products on two");
        }
    }
}
