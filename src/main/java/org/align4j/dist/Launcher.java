// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Starts this node's workers the way torchrun's local agent does (torch/distributed/run.py,
 * torch/distributed/elastic/agent/server/local_elastic_agent.py), without restarts: one child
 * process per local rank, running the same command, told its place through RANK, LOCAL_RANK,
 * WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR and MASTER_PORT.
 *
 * <ul>
 *   <li>Threads: OMP_NUM_THREADS = cores / local workers unless the user set it (torchrun forces 1;
 *       with a CPU job a worker should use its share of the cores).
 *   <li>Output: every line a worker prints comes out prefixed with {@code [rank k]}.
 *   <li>Failure: when a worker exits non-zero (or is killed), the others get SIGTERM, then SIGKILL
 *       after a grace period, and {@link #run()} returns that worker's exit code and names its rank
 *       (torchrun's {@code ChildFailedError}). If the launcher itself is stopped (Ctrl-C, SIGTERM),
 *       a shutdown hook stops the workers; if it is killed outright, the workers notice
 *       ({@link Worker#watchLauncher}) and exit.
 * </ul>
 */
public final class Launcher {
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);
    private static final String TAG = "[align4j launcher] ";

    private final LaunchArgs args;
    private final List<String> command;
    private PrintStream out = System.out;
    private PrintStream err = System.err;
    private Duration grace = DEFAULT_GRACE;

    /** What came of a launch: exit code 0 when every worker succeeded, else the first failure's. */
    public record Result(int exitCode, int failedRank, String message) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** @param childCommand the full command line of one worker (java, its options, main class, arguments) */
    public Launcher(LaunchArgs args, List<String> childCommand) {
        if (childCommand.isEmpty()) throw new IllegalArgumentException("the worker command is empty");
        this.args = args;
        this.command = List.copyOf(childCommand);
    }

    /** Where the workers' prefixed lines and the launcher's own messages go (System.out/err by default). */
    public Launcher output(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        return this;
    }

    /** How long stopped workers get between SIGTERM and SIGKILL. */
    public Launcher grace(Duration grace) {
        this.grace = grace;
        return this;
    }

    /** Cores / local workers, at least 1; a user's OMP_NUM_THREADS wins. */
    public static int threadsPerWorker(int localWorkers, Map<String, String> environment) {
        String user = environment.get("OMP_NUM_THREADS");
        if (user != null && !user.isBlank()) return Integer.parseInt(user.trim());
        return Math.max(1, Runtime.getRuntime().availableProcessors() / localWorkers);
    }

    /**
     * Fails fast with a clear message when the store's port is taken. Rank 0 would fail too (c10d's
     * "EADDRINUSE" after libtorch has loaded), but only after starting every worker. The check binds
     * the wildcard address as the TCPStore server does; a moment later someone else may take the
     * port (torch has the same race), which rank 0 then reports.
     */
    public static void checkPortFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true); // as libuv's listener: a port in TIME_WAIT is free
            s.bind(new InetSocketAddress(port));
        } catch (BindException e) {
            throw new DistException("port " + port + " in use: rank 0 could not host the c10d TCPStore there;"
                    + " another job (or an earlier run still exiting) holds it; pick a free --master_port");
        } catch (IOException e) {
            throw new DistException("cannot check --master_port " + port + ": " + e.getMessage());
        }
    }

    public Result run() throws InterruptedException {
        if (args.nodeRank() == 0) checkPortFree(args.masterPort());
        int n = args.nprocPerNode();
        int threads = threadsPerWorker(n, System.getenv());
        List<Process> workers = new CopyOnWriteArrayList<>(); // read by the shutdown hook
        List<Thread> pumps = new ArrayList<>();
        Thread hook = new Thread(() -> stop(workers, List.of()), "align4j-launcher-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        boolean finished = false;
        try {
            for (int local = 0; local < n; local++) {
                DistEnv env = args.worker(local);
                ProcessBuilder pb = new ProcessBuilder(command);
                pb.environment().putAll(env.toEnvironment());
                pb.environment().put("GROUP_WORLD_SIZE", Integer.toString(args.nnodes()));
                pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
                pb.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
                pb.environment()
                        .put(
                                Worker.LAUNCHER_PID,
                                Long.toString(ProcessHandle.current().pid()));
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                Process p;
                try {
                    p = pb.start();
                } catch (IOException e) {
                    throw new DistException("cannot start the worker for rank " + env.rank() + " (" + command.getFirst()
                            + "): " + e.getMessage());
                }
                workers.add(p);
                String prefix = "[rank " + env.rank() + "] ";
                pumps.add(pump(p.getInputStream(), out, prefix));
                pumps.add(pump(p.getErrorStream(), err, prefix));
            }
            String ranks = n == 1
                    ? "rank " + args.worker(0).rank()
                    : "ranks " + args.worker(0).rank() + ".."
                            + args.worker(n - 1).rank();
            err.println(TAG + "node " + args.nodeRank() + " of " + args.nnodes() + ": started " + ranks + " of "
                    + args.worldSize() + ", " + threads + " thread(s) each, TCPStore at " + args.masterAddr() + ":"
                    + args.masterPort());
            Result r = await(workers);
            finished = true;
            return r;
        } finally {
            if (!finished) stop(workers, List.of());
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and stops the workers
            }
            for (Thread t : pumps) t.join(2000);
        }
    }

    /** Waits for every worker; at the first failure stops the rest. */
    private Result await(List<Process> workers) throws InterruptedException {
        BlockingQueue<Integer> exited = new LinkedBlockingQueue<>();
        for (int i = 0; i < workers.size(); i++) {
            int local = i;
            workers.get(i).onExit().thenRun(() -> exited.add(local));
        }
        Result failure = null;
        for (int left = workers.size(); left > 0; left--) {
            int local = exited.take();
            int code = workers.get(local).exitValue();
            if (code == 0 || failure != null) continue;
            int rank = args.worker(local).rank();
            List<Integer> others = new ArrayList<>();
            for (int j = 0; j < workers.size(); j++)
                if (workers.get(j).isAlive()) others.add(args.worker(j).rank());
            String message = "rank " + rank + " (local rank " + local + ", pid "
                    + workers.get(local).pid() + ") "
                    + describe(code)
                    + (others.isEmpty()
                            ? ""
                            : "; stopping rank(s) " + others + " (SIGTERM, SIGKILL after " + grace.toSeconds() + " s)");
            err.println(TAG + message);
            failure = new Result(code, rank, message);
            stop(workers, List.of(local));
        }
        if (failure != null) return failure;
        return new Result(0, -1, "all " + workers.size() + " worker(s) exited with code 0");
    }

    private static String describe(int code) {
        if (code > 128 && code < 160) {
            int sig = code - 128;
            String name = switch (sig) {
                case 2 -> " (SIGINT)";
                case 6 -> " (SIGABRT: a crash)";
                case 9 -> " (SIGKILL: killed, e.g. by the out-of-memory killer)";
                case 11 -> " (SIGSEGV: a crash)";
                case 15 -> " (SIGTERM)";
                default -> "";
            };
            return "exited with code " + code + ", i.e. signal " + sig + name;
        }
        return "exited with code " + code;
    }

    /** SIGTERM to every live worker (and its children), SIGKILL to those still alive after the grace period. */
    private void stop(List<Process> workers, List<Integer> skip) {
        List<ProcessHandle> all = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            if (skip.contains(i)) continue;
            Process p = workers.get(i);
            p.descendants().forEach(all::add);
            all.add(p.toHandle());
        }
        for (ProcessHandle h : all) h.destroy();
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle h : all) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) h.onExit().get(left, TimeUnit.NANOSECONDS);
            } catch (Exception stillAlive) {
                // killed below
            }
        }
        for (ProcessHandle h : all) if (h.isAlive()) h.destroyForcibly();
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                err.println(TAG + "process " + h.pid() + " did not exit after SIGKILL");
            }
        }
    }

    private static Thread pump(InputStream in, PrintStream to, String prefix) {
        Thread t = new Thread(
                () -> {
                    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                        for (String line; (line = r.readLine()) != null; ) to.println(prefix + line);
                    } catch (IOException closed) {
                        // the worker is gone
                    }
                },
                "align4j-launcher-output");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
