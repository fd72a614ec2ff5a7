// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import java.io.IOException;
import org.bytedeco.openblas.global.openblas_full;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many threads OpenBLAS' matrix products use, chosen before each training step from how busy the other
 * processes keep the machine.
 *
 * <p>Why: bytedeco's OpenBLAS is the pthreads build. Its worker threads spin (sched_yield) for about 2^28 cycles
 * after every product, beside libtorch's OpenMP pool (which sleeps: OMP_WAIT_POLICY=PASSIVE, {@link NativeEnv}). On
 * a quiet machine that spin is what makes two BLAS threads pay (train step of the 25M llama on 2 cores: 1.33 s with
 * two, 1.57 s with one). With another CPU-bound process on the cores the spinning threads take the cores from the
 * threads that work: the same step took 8-13 s with two BLAS threads and 2.0 s with one. PyTorch's builds do not
 * have the problem (OpenBLAS' OpenMP build or MKL share the one OpenMP pool). So: when other processes kept more
 * than half a core busy on average since the last decision (/proc, {@link CpuTime}), products run on one thread;
 * otherwise on as many as torch had when first asked ({@code torch.get_num_threads()}). Measured side by side
 * (tools/bench/contention.sh, README): with one busy process the train step slowed 1.25x, against 5.9x before. A
 * decision holds at least a second, so a run of short steps (decode steps) does not read /proc for every one.
 *
 * <p>{@code ALIGN4J_BLAS_THREADS=N} sets the quiet-machine count apart from torch's. On 2 cores, {@code
 * OMP_NUM_THREADS=1 ALIGN4J_BLAS_THREADS=2} (libtorch's own kernels on one thread, products on two) made the train
 * step 1.15x and the DPO step 1.09x faster than two threads for both (docs/perf-notes.md); not the default, since
 * it was measured on one 2-core machine only.
 *
 * <p>The price: OpenBLAS' result depends on its thread count in the last bits (BlasThreadsTest), so a run whose
 * machine got busy or quiet differs in those bits from one that did not, as PyTorch runs on different thread counts
 * do. For bit-for-bit repeatable runs (a resumed run equal to an uninterrupted one, as the tests check) set {@code
 * ALIGN4J_BLAS_THREADS=fixed}, or OPENBLAS_NUM_THREADS (the user's count then stands). torch's own OpenMP thread
 * count is never changed. Where /proc cannot be read the thread count is left as it is.
 */
public final class BlasThreads {
    private static final Logger LOG = LoggerFactory.getLogger(BlasThreads.class);

    /** Other processes' average busy cores above which products run on one thread. */
    static final double BUSY_CORES = 0.5;

    private static final long MIN_INTERVAL_NANOS = 1_000_000_000L;
    private static final String SETTING = System.getenv("ALIGN4J_BLAS_THREADS");
    private static final boolean FIXED = System.getenv("OPENBLAS_NUM_THREADS") != null || "fixed".equals(SETTING);
    private static CpuTime last;
    private static boolean unavailable;
    private static int current = -1;
    private static int configured = -1; // what a quiet machine gets: ALIGN4J_BLAS_THREADS=N, else torch's count

    private BlasThreads() {}

    /** Before a step: sets OpenBLAS' thread count for the load seen since the last call; returns it (-1: left alone). */
    public static synchronized int adapt() {
        if (FIXED || unavailable) return -1;
        // within a second of the last decision: keep it, without reading /proc (this runs before every decode step)
        if (last != null && System.nanoTime() - last.nanoTime() < MIN_INTERVAL_NANOS) return current;
        CpuTime now;
        try {
            now = CpuTime.now();
        } catch (IOException | RuntimeException e) {
            unavailable = true;
            LOG.debug("no /proc CPU times ({}): OpenBLAS' thread count stays as it is", e.getMessage());
            return -1;
        }
        if (configured < 0) configured = quietThreads(SETTING, torch.get_num_threads());
        int threads = choose(last == null ? 0 : now.otherCoresSince(last), configured);
        last = now;
        if (threads != current) {
            openblas_full.openblas_set_num_threads(threads);
            current = threads;
        }
        return current;
    }

    /**
     * OpenBLAS on one thread until {@link OneThread#close}, which restores the count before: for Java threads that run
     * products at the same time, one per core ({@code RowParallel}), where OpenBLAS' own threads would only compete
     * with them. Where the user set OPENBLAS_NUM_THREADS, their count stands.
     */
    public static OneThread oneThread() {
        int before = openblas_full.openblas_get_num_threads();
        boolean change = System.getenv("OPENBLAS_NUM_THREADS") == null && before != 1;
        if (change) openblas_full.openblas_set_num_threads(1);
        return () -> {
            if (change) openblas_full.openblas_set_num_threads(before);
        };
    }

    /** Restores OpenBLAS' thread count; closing never throws. */
    public interface OneThread extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * The thread count for a quiet machine: {@code ALIGN4J_BLAS_THREADS=N} (N >= 1), else torch's thread count.
     *
     * @throws IllegalArgumentException for any other value, naming the variable and what it takes
     */
    static int quietThreads(String setting, int torchThreads) {
        if (setting == null || setting.isBlank()) return torchThreads;
        try {
            int n = Integer.parseInt(setting.strip());
            if (n >= 1) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("ALIGN4J_BLAS_THREADS='" + setting + "': use a thread count >= 1 (OpenBLAS'"
                + " threads on a quiet machine; one while other processes keep the cores busy) or 'fixed' (never"
                + " change OpenBLAS' thread count)");
    }

    /** One thread when other processes kept more than {@link #BUSY_CORES} cores busy, else {@code quietThreads}. */
    static int choose(double otherCores, int quietThreads) {
        return otherCores > BUSY_CORES ? 1 : Math.max(1, quietThreads);
    }
}
