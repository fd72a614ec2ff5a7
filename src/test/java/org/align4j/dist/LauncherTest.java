// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real worker processes (child JVMs of the test classpath running {@link DistWorker}) started by
 * {@link Launcher}, on loopback: 2 workers on this machine, a worker that hangs or dies, a taken
 * port, and two "nodes" (two launchers with --nnodes 2). Each launch costs a few seconds of JVM and
 * libtorch start-up.
 */
class LauncherTest {
    /** Output of the launches of one test, shown when it fails. */
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    private final PrintStream sink = new PrintStream(captured, true, StandardCharsets.UTF_8);

    static List<String> workerCommand(String... args) {
        List<String> c = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED",
                "-Dai.djl.offline=true",
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                DistWorker.class.getName()));
        c.addAll(List.of(args));
        return c;
    }

    private String output() {
        return captured.toString(StandardCharsets.UTF_8);
    }

    private Launcher launcher(LaunchArgs args, List<String> command) {
        return new Launcher(args, command).output(sink, sink);
    }

    /** No worker of ours outlives its test. */
    @AfterEach
    void noWorkerLeft() {
        List<ProcessHandle> alive = ProcessHandle.current()
                .descendants()
                .filter(h -> h.info().commandLine().orElse("").contains(DistWorker.class.getName()))
                .toList();
        alive.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), alive, "workers still alive after the launcher returned\n" + output());
        System.out.print(output());
    }

    @Test
    void twoWorkersAgreeOnEveryCollective(@TempDir Path out) throws Exception {
        int port = CollectiveTest.freePort();
        Launcher.Result r = launcher(
                        new LaunchArgs(2, 1, 0, "127.0.0.1", port), workerCommand("collectives", out.toString()))
                .run();
        assertEquals(0, r.exitCode(), r.message() + "\n" + output());
        assertTrue(output().contains("[rank 0] rank 0 of 2 ok"), output());
        assertTrue(output().contains("[rank 1] rank 1 of 2 ok"), output());
        int threads = Launcher.threadsPerWorker(2, System.getenv());
        assertEquals("threads=" + threads, Files.readString(out.resolve("rank-1.ok")), "OMP_NUM_THREADS applied");
    }

    @Test
    void aHungWorkerIsNamedAndEveryWorkerStopped(@TempDir Path out) throws Exception {
        int port = CollectiveTest.freePort();
        long t0 = System.nanoTime();
        Launcher.Result r = launcher(
                        new LaunchArgs(2, 1, 0, "127.0.0.1", port), workerCommand("hang", out.toString(), "3"))
                .grace(java.time.Duration.ofSeconds(3))
                .run();
        double secs = (System.nanoTime() - t0) / 1e9;
        // rank 0 times out after 3 s, names rank 1 and exits 1; the launcher then stops the hung rank 1
        assertEquals(1, r.exitCode(), r.message() + "\n" + output());
        assertEquals(0, r.failedRank(), r.message());
        String failure = Files.readString(out.resolve("rank-0.failed"));
        assertTrue(failure.contains("rank 1 is alive but has not reached collective #3"), failure);
        assertTrue(failure.contains("suspects=[1]"), failure);
        assertTrue(output().contains("[align4j launcher] rank 0 (local rank 0, pid"), output());
        assertTrue(output().contains("stopping rank(s) [1]"), output());
        assertTrue(secs < 60, "took " + secs + " s");
    }

    @Test
    void aDeadWorkerStopsTheOthersAndItsCodeIsReturned(@TempDir Path out) throws Exception {
        int port = CollectiveTest.freePort();
        Launcher.Result r = launcher(
                        new LaunchArgs(2, 1, 0, "127.0.0.1", port), workerCommand("die", out.toString(), "30"))
                .run();
        // rank 1 exits with 3; either the launcher stops rank 0 first, or rank 0 sees the closed
        // connection and exits 1 naming rank 1, whichever comes first: rank 1's exit is the failure
        assertEquals(3, r.exitCode(), r.message() + "\n" + output());
        assertEquals(1, r.failedRank());
        assertTrue(r.message().startsWith("rank 1 (local rank 1, pid "), r.message());
        assertTrue(r.message().contains("exited with code 3"), r.message());
    }

    /**
     * Under an outside launcher (torchrun, Slurm) nobody stops the survivors: a worker whose peer
     * dies must exit by itself, naming it. Two workers started by hand with the torchrun variables;
     * rank 0 dying also takes the TCPStore it hosts with it.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 0})
    void withoutOurLauncherASurvivorExitsNamingTheDeadRank(int dead, @TempDir Path out) throws Exception {
        int port = CollectiveTest.freePort();
        int survivor = 1 - dead;
        List<Process> ps = new ArrayList<>();
        try {
            for (int rank = 0; rank < 2; rank++) {
                ProcessBuilder pb = new ProcessBuilder(
                                workerCommand("die", out.toString(), "30", Integer.toString(dead)))
                        .redirectErrorStream(true)
                        .redirectOutput(out.resolve("out-" + rank + ".txt").toFile());
                pb.environment().putAll(new DistEnv(rank, rank, 2, 2, 0, "127.0.0.1", port).toEnvironment());
                pb.environment().put("OMP_NUM_THREADS", "1");
                ps.add(pb.start());
            }
            assertTrue(ps.get(dead).waitFor(120, TimeUnit.SECONDS));
            assertEquals(3, ps.get(dead).exitValue());
            long t0 = System.nanoTime();
            assertTrue(ps.get(survivor).waitFor(30 + 15, TimeUnit.SECONDS), "the survivor exits within its timeout");
            double secs = (System.nanoTime() - t0) / 1e9;
            String log = Files.readString(out.resolve("out-" + survivor + ".txt"));
            System.out.printf("survivor exited %.1f s after rank %d died:%n%s", secs, dead, log);
            assertEquals(1, ps.get(survivor).exitValue(), log);
            String failure = Files.readString(out.resolve("rank-" + survivor + ".failed"));
            assertTrue(failure.contains(dead == 1 ? "rank 1 stopped responding" : "rank 0 has probably died"), failure);
            assertTrue(failure.contains("suspects=[" + dead + "]"), failure);
            assertTrue(secs < 15, "a dead peer is seen at once (closed connection), not after the timeout: " + secs);
        } finally {
            for (Process p : ps) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * SIGTERM (or Ctrl-C) to the launcher: its shutdown hook stops the workers. SIGKILL: it cannot,
     * and the workers notice their launcher is gone and exit by themselves.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void workersDoNotOutliveTheirLauncher(boolean sigkill, @TempDir Path out) throws Exception {
        int port = CollectiveTest.freePort();
        Process launcher = new ProcessBuilder(
                        ProcessHandle.current().info().command().orElseThrow(),
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        LaunchMain.class.getName(),
                        Integer.toString(port),
                        "sleep",
                        out.toString())
                .redirectErrorStream(true)
                .start();
        try (var lines = new java.io.BufferedReader(
                new java.io.InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
            int sleeping = 0;
            for (String line; sleeping < 2 && (line = lines.readLine()) != null; ) {
                sink.println(line);
                if (line.matches("\\[rank \\d\\] rank \\d sleeping")) sleeping++;
            }
            assertEquals(2, sleeping, "both workers started\n" + output());
            List<ProcessHandle> workers = launcher.descendants().toList();
            assertEquals(2, workers.size(), workers.toString());
            if (sigkill) launcher.destroyForcibly();
            else launcher.destroy();
            assertTrue(launcher.waitFor(30, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            for (ProcessHandle w : workers)
                assertDoesNotThrow(
                        () -> w.onExit().get(20, TimeUnit.SECONDS), "worker " + w.pid() + " outlived its launcher");
            System.out.printf(
                    "workers gone %.1f s after the launcher's %s%n",
                    (System.nanoTime() - t0) / 1e9, sigkill ? "SIGKILL" : "SIGTERM");
        } finally {
            launcher.destroyForcibly();
        }
    }

    @Test
    void aTakenPortIsRefusedBeforeAnyWorkerStarts(@TempDir Path out) throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            DistException e = assertThrows(
                    DistException.class,
                    () -> launcher(
                                    new LaunchArgs(2, 1, 0, "127.0.0.1", port),
                                    workerCommand("collectives", out.toString()))
                            .run());
            assertEquals(
                    "port " + port + " in use: rank 0 could not host the c10d TCPStore there; another job (or an"
                            + " earlier run still exiting) holds it; pick a free --master_port",
                    e.getMessage());
            assertFalse(output().contains("[rank"), "no worker started");
        }
    }

    @Test
    void twoNodesOnLoopbackAgree(@TempDir Path out) throws Exception {
        int port = CollectiveTest.freePort();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Launcher.Result>> nodes = new ArrayList<>();
            for (int node = 0; node < 2; node++) {
                LaunchArgs a = new LaunchArgs(1, 2, node, "127.0.0.1", port);
                nodes.add(pool.submit(() -> launcher(a, workerCommand("collectives", out.toString()))
                        .run()));
            }
            for (Future<Launcher.Result> f : nodes) {
                Launcher.Result r = f.get(180, TimeUnit.SECONDS);
                assertEquals(0, r.exitCode(), r.message() + "\n" + output());
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(output().contains("[rank 0] rank 0 of 2 ok"), output());
        assertTrue(output().contains("[rank 1] rank 1 of 2 ok"), output());
        assertTrue(Files.exists(out.resolve("rank-0.ok")) && Files.exists(out.resolve("rank-1.ok")));
        assertNotEquals(Map.of(), System.getenv()); // (the launchers leave this JVM's environment alone)
    }
}
