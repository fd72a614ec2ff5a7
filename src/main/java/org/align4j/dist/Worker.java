// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.util.Map;
import org.align4j.engine.NativeEnv;
import org.bytedeco.pytorch.global.torch;

/**
 * What a training command does first, whoever started it: read its place in the job from the
 * environment, size its thread pools, watch its launcher, and open the collectives.
 */
public final class Worker {
    /** Set by {@link Launcher} on its children: the launcher's pid. */
    static final String LAUNCHER_PID = "ALIGN4J_LAUNCHER_PID";

    private Worker() {}

    /** {@link #init(Map, DistOptions)} with this process's environment. */
    public static Collective init(DistOptions options) {
        return init(System.getenv(), options);
    }

    public static Collective init(Map<String, String> environment, DistOptions options) {
        NativeEnv.configure();
        DistEnv env = DistEnv.from(environment);
        applyThreads(environment);
        watchLauncher(environment, env.rank());
        return Collective.open(env, options);
    }

    /**
     * Intra-op threads from OMP_NUM_THREADS, which the launcher sets to cores / local workers
     * (torchrun sets it to 1 unless the user did; with 2 workers on 2 cores ours gives 1 each).
     * libgomp reads it when it starts; set_num_threads makes libtorch's own pool agree.
     */
    static void applyThreads(Map<String, String> environment) {
        String v = environment.get("OMP_NUM_THREADS");
        if (v == null || v.isBlank()) return;
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("OMP_NUM_THREADS=" + v + " is not an integer", e);
        }
        if (n < 1) throw new IllegalArgumentException("OMP_NUM_THREADS=" + v + " must be >= 1");
        torch.set_num_threads(n);
    }

    /**
     * A worker of our launcher exits when the launcher is gone, even if it was killed with
     * SIGKILL and could not stop its children (torch.multiprocessing does the same with
     * PR_SET_PDEATHSIG, torch/multiprocessing/spawn.py).
     */
    static void watchLauncher(Map<String, String> environment, int rank) {
        String v = environment.get(LAUNCHER_PID);
        if (v == null || v.isBlank()) return;
        long pid = Long.parseLong(v.trim());
        Runnable exit = () -> {
            System.err.println("rank " + rank + ": the launcher (pid " + pid + ") is gone; exiting");
            Runtime.getRuntime().halt(1);
        };
        ProcessHandle.of(pid).ifPresentOrElse(launcher -> launcher.onExit().thenRun(exit), exit);
    }
}
