// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.openblas.global.openblas_full;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** {@link BlasThreads}: the choice, and what changing OpenBLAS' thread count mid-run does to results. */
class BlasThreadsTest {

    @Test
    void oneThreadOnlyWhileOtherProcessesKeepMoreThanHalfACoreBusy() {
        assertEquals(2, BlasThreads.choose(0.0, 2));
        assertEquals(2, BlasThreads.choose(BlasThreads.BUSY_CORES, 2), "at the threshold: still quiet");
        assertEquals(1, BlasThreads.choose(BlasThreads.BUSY_CORES + 0.01, 2));
        assertEquals(1, BlasThreads.choose(1.9, 8));
        assertEquals(1, BlasThreads.choose(0.0, 0), "never fewer than one thread");
    }

    @Test
    void theQuietCountIsTheSettingElseTorchsAndABadSettingNamesTheVariable() {
        assertEquals(2, BlasThreads.quietThreads(null, 2));
        assertEquals(2, BlasThreads.quietThreads(" ", 2));
        assertEquals(4, BlasThreads.quietThreads("4", 1));
        for (String bad : List.of("0", "-1", "two", "1.5")) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> BlasThreads.quietThreads(bad, 2), bad);
            assertTrue(e.getMessage().contains("ALIGN4J_BLAS_THREADS='" + bad + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("'fixed'"), e.getMessage());
        }
    }

    /**
     * Why the tests run with ALIGN4J_BLAS_THREADS=fixed (pom.xml), and proof that the thread count reaches the
     * OpenBLAS libtorch calls: the same torch.mm on 1 and on 2 OpenBLAS threads differs in the last bits (2 threads
     * take another blocking of the product), within float32 rounding of the sum.
     */
    @Test
    void theThreadCountReachesLibtorchsProductsAndChangesOnlyRounding() {
        int before = openblas_full.openblas_get_num_threads();
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            Tensor a = torch.randn(257, 1031), b = torch.randn(1031, 389);
            openblas_full.openblas_set_num_threads(1);
            float[] one = Tensors.toFloats(torch.mm(a, b));
            openblas_full.openblas_set_num_threads(2);
            assertEquals(2, openblas_full.openblas_get_num_threads());
            float[] two = Tensors.toFloats(torch.mm(a, b));
            boolean differs = false;
            for (int i = 0; i < one.length; i++) {
                // a sum of 1031 products of N(0, 1) values: |x| ~ 32, float32 rounding of the sum ~ 1031 * 2^-24 * 32
                assertEquals(one[i], two[i], 2e-3, "element " + i);
                differs |= one[i] != two[i];
            }
            assertTrue(
                    differs,
                    "1 and 2 OpenBLAS threads gave identical products: the thread count did not reach"
                            + " the library libtorch calls (or OpenBLAS no longer re-blocks by threads)");
        } finally {
            openblas_full.openblas_set_num_threads(before);
        }
    }

    @Test
    void fixedUnderTestsSoResumedRunsStayBitExact() {
        assertEquals("fixed", System.getenv("ALIGN4J_BLAS_THREADS"), "pom.xml's surefire environment");
        assertEquals(-1, BlasThreads.adapt(), "fixed: the thread count is left alone");
    }

    @Test
    void cpuTimeCountsThisProcessAndNeverReportsNegativeLoad() throws Exception {
        CpuTime t0 = CpuTime.now();
        long end = System.nanoTime() + 300_000_000L;
        double x = 0;
        while (System.nanoTime() < end) x += Math.sqrt(x + 1); // a third of a second of CPU on this thread
        CpuTime t1 = CpuTime.now();
        assertTrue(x > 0);
        assertTrue(t1.ownSeconds() - t0.ownSeconds() >= 0.2, "own CPU " + (t1.ownSeconds() - t0.ownSeconds()));
        assertTrue(t1.busySeconds() >= t0.busySeconds());
        double other = t1.otherCoresSince(t0);
        assertTrue(other >= 0 && other <= Runtime.getRuntime().availableProcessors(), "other cores " + other);
    }
}
