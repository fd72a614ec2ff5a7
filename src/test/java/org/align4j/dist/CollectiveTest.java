// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.align4j.engine.NativeEnv;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two ranks as two threads of this JVM, on loopback: the collectives and the failure reports,
 * without the seconds a child JVM takes to start (LauncherTest runs real processes).
 */
class CollectiveTest {
    static final DistOptions FAST = DistOptions.defaults()
            .withTimeout(Duration.ofSeconds(20))
            .withInitTimeout(Duration.ofSeconds(20))
            .withBucketCapBytes(4096);

    @BeforeAll
    static void configure() {
        NativeEnv.configure();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static DistEnv env(int rank, int world, int port) {
        return new DistEnv(rank, rank, world, world, 0, "127.0.0.1", port);
    }

    /** Runs {@code body} as ranks 0 and 1 of a fresh group, each in its own thread, and returns their results. */
    static <T> List<T> twoRanks(DistOptions options, Function<Collective, T> body) throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<T>> futures = List.of(0, 1).stream()
                    .map(r -> pool.submit(() -> {
                        try (Collective c = Collective.open(env(r, 2, port), options);
                                PointerScope scope = new PointerScope()) {
                            return body.apply(c);
                        }
                    }))
                    .toList();
            return List.of(
                    futures.get(0).get(60, TimeUnit.SECONDS), futures.get(1).get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void collectivesSumGatherAndBroadcastAcrossTwoRanks() throws Exception {
        List<List<String>> bad = twoRanks(FAST, CollectiveChecks::all);
        assertEquals(List.of(List.of(), List.of()), bad);
    }

    @Test
    void bucketsLargerThanTheCapReduceAsAWhole() throws Exception {
        // 3 x 1 MiB tensors, 256 KiB cap: three buckets of one tensor each, reduced where they lie; then
        // 64 small ones (4 KiB) packed 64 to a bucket: four buckets through the kept buffers
        DistOptions opts = FAST.withBucketCapBytes(256 << 10);
        List<float[]> sums = twoRanks(opts, c -> {
            Tensor[] big = new Tensor[3];
            for (int i = 0; i < 3; i++)
                big[i] = org.bytedeco.pytorch.global.torch.full(
                        new long[] {1 << 18}, new org.bytedeco.pytorch.Scalar((double) (c.rank() + 1) * (i + 1)));
            c.allReduceSum(big);
            Tensor[] small = new Tensor[256];
            for (int i = 0; i < small.length; i++)
                small[i] = Tensors.floats(new float[1024], 1024)
                        .add_(new org.bytedeco.pytorch.Scalar((double) i * (c.rank() + 1)));
            c.allReduceSum(List.of(small));
            float[] out = new float[3 + small.length];
            for (int i = 0; i < 3; i++) out[i] = Tensors.toFloats(big[i])[(1 << 18) - 1];
            for (int i = 0; i < small.length; i++) out[3 + i] = Tensors.toFloats(small[i])[1023];
            return out;
        });
        float[] want = new float[3 + 256];
        for (int i = 0; i < 3; i++) want[i] = 3f * (i + 1);
        for (int i = 0; i < 256; i++) want[3 + i] = 3f * i;
        assertArrayEquals(want, sums.get(0));
        assertArrayEquals(want, sums.get(1));
    }

    /** Texts (rollouts as JSON) gathered byte for byte: multi-byte UTF-8, different lengths, an empty one. */
    @Test
    void textsAreGatheredByteForByteFromEveryRank() throws Exception {
        String long0 = "{\"completion\": \"é ∑ 漢字 🙂\"}".repeat(300);
        List<List<String>> got = twoRanks(FAST, c -> c.allGatherText(c.rank() == 0 ? long0 : ""));
        assertEquals(List.of(long0, ""), got.get(0));
        assertEquals(List.of(long0, ""), got.get(1));
        List<String> fromOne = twoRanks(FAST, c -> c.broadcastText(c.rank() == 1 ? "ünï" : "ignored", 1));
        assertEquals(List.of("ünï", "ünï"), fromOne);
    }

    /** A step's small gradients go through the same kept buffers step after step, not fresh ones. */
    @Test
    void bucketBuffersAreKeptAcrossAllReduces() throws Exception {
        List<Boolean> same = twoRanks(FAST, c -> {
            Tensor[] small = new Tensor[8];
            for (int i = 0; i < small.length; i++) small[i] = Tensors.floats(new float[64], 64);
            c.allReduceSum(List.of(small));
            Tensor first = ((GlooCollective) c).keptBuffer(0);
            c.allReduceSum(List.of(small));
            return first != null && first == ((GlooCollective) c).keptBuffer(0);
        });
        assertEquals(List.of(true, true), same);
    }

    @Test
    void aRankThatStopsCallingCollectivesIsNamedWithinTheTimeout() throws Exception {
        int port = freePort();
        DistOptions opts = FAST.withTimeout(Duration.ofSeconds(2));
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Object> rank1 = pool.submit(() -> {
                try (Collective c = Collective.open(env(1, 2, port), opts)) {
                    c.allReduceSum(new double[] {1});
                    release.await(); // alive (heartbeats go on) but never reaches collective #2
                }
                return null;
            });
            try (Collective c = Collective.open(env(0, 2, port), opts)) {
                c.allReduceSum(new double[] {1});
                long t0 = System.nanoTime();
                DistException e = assertThrows(DistException.class, () -> c.allReduceSum(new double[] {2}));
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf("named after %.1f s: %s%n", secs, e.getMessage());
                assertEquals(List.of(1), e.suspects(), e.getMessage());
                assertTrue(
                        e.getMessage().contains("rank 1 is alive but has not reached collective #2"), e.getMessage());
                assertTrue(secs < 2 + 5 + 4, "named within timeout + wait slack + diagnosis: " + secs + " s");
                // later calls refuse at once and repeat the cause
                DistException again = assertThrows(DistException.class, c::barrier);
                assertTrue(again.getMessage().contains("unusable since an earlier failure"), again.getMessage());
            } finally {
                release.countDown();
            }
            rank1.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRankThatLeavesIsNamedAsStopped() throws Exception {
        int port = freePort();
        DistOptions opts = FAST.withTimeout(Duration.ofSeconds(5));
        ExecutorService pool = Executors.newFixedThreadPool(1);
        try {
            Future<Object> rank1 = pool.submit(() -> {
                Collective c = Collective.open(env(1, 2, port), opts);
                c.allReduceSum(new double[] {1});
                c.close(); // its sockets close and its heartbeat stops, as when a process dies
                return null;
            });
            try (Collective c = Collective.open(env(0, 2, port), opts)) {
                c.allReduceSum(new double[] {1});
                rank1.get(60, TimeUnit.SECONDS);
                DistException e = assertThrows(DistException.class, () -> c.allReduceSum(new double[] {2}));
                System.out.println(e.getMessage());
                assertEquals(List.of(1), e.suspects(), e.getMessage());
                assertTrue(e.getMessage().contains("rank 1 stopped responding"), e.getMessage());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Three ranks; rank 2 leaves. Both survivors name rank 2, and rank 1's report is not spoiled by
     * rank 0 (which hosts the store) finishing first: rank 0 waits for the others to count out.
     */
    @Test
    void everySurvivorNamesTheRankThatLeft() throws Exception {
        int port = freePort();
        DistOptions opts = FAST.withTimeout(Duration.ofSeconds(5));
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<List<Integer>>> ranks = List.of(0, 1, 2).stream()
                    .map(r -> pool.submit(() -> {
                        try (Collective c = Collective.open(new DistEnv(r, r, 3, 3, 0, "127.0.0.1", port), opts)) {
                            assertArrayEquals(new double[] {3}, c.allReduceSum(new double[] {1}));
                            if (r == 2) return List.<Integer>of();
                            DistException e = assertThrows(DistException.class, () -> c.allReduceSum(new double[] {2}));
                            System.out.println(e.getMessage());
                            return e.suspects();
                        }
                    }))
                    .toList();
            assertEquals(List.of(2), ranks.get(0).get(60, TimeUnit.SECONDS));
            assertEquals(List.of(2), ranks.get(1).get(60, TimeUnit.SECONDS));
            ranks.get(2).get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void differentTensorsOnTheRanksAreAnErrorNotAHang() throws Exception {
        List<String> messages = twoRanks(FAST, c -> {
            Tensor t = Tensors.floats(new float[c.rank() + 1], c.rank() + 1);
            return assertThrows(DistException.class, () -> c.allReduceSum(t)).getMessage();
        });
        assertTrue(messages.get(0).contains("rank(s) [1] differ from rank 0"), messages.get(0));
    }

    @Test
    void aTakenPortIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            DistException e = assertThrows(DistException.class, () -> Collective.open(env(0, 2, port), FAST));
            assertTrue(e.getMessage().startsWith("port " + port + " in use"), e.getMessage());
            DistException l = assertThrows(DistException.class, () -> Launcher.checkPortFree(port));
            assertTrue(l.getMessage().startsWith("port " + port + " in use"), l.getMessage());
        }
    }

    @Test
    void aMissingRankIsNamedAtStartUp() {
        DistOptions opts = FAST.withInitTimeout(Duration.ofSeconds(2));
        DistException e = assertThrows(DistException.class, () -> Collective.open(env(0, 2, freePort()), opts));
        assertEquals(List.of(1), e.suspects(), e.getMessage());
        assertTrue(e.getMessage().contains("rank(s) [1] did not join within 2.0 s"), e.getMessage());
    }

    @Test
    void c10dMessagesLoseTheStackAndTheBuildPath() {
        RuntimeException e = new RuntimeException("[/home/runner/work/javacpp-presets/javacpp-presets/pytorch/cppbuild/"
                + "linux-x86_64/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:547] Connection closed by peer"
                + " [127.0.0.1]:6063\nException raised from ...\nframe #0: ...");
        assertEquals("pair.cc:547: Connection closed by peer [127.0.0.1]:6063", DistException.firstLine(e));
        assertEquals(
                "Operation timed out!", DistException.firstLine(new RuntimeException("Operation timed out!\nframe")));
    }

    @Test
    void oneProcessIsTheIdentity() {
        try (Collective c = Collective.open(DistEnv.single(), FAST);
                PointerScope scope = new PointerScope()) {
            assertInstanceOf(SingleProcess.class, c);
            Tensor t = Tensors.floats(new float[] {1, 2}, 2);
            c.allReduceSum(t);
            assertArrayEquals(new float[] {1, 2}, Tensors.toFloats(t));
            assertArrayEquals(new double[] {3}, c.allReduceSum(new double[] {3}));
            assertArrayEquals(new double[][] {{4}}, c.allGather(new double[] {4}));
            c.broadcast(List.of(t), 0);
            c.barrier();
            assertThrows(IllegalArgumentException.class, () -> c.broadcast(List.of(t), 1));
        }
    }
}
