// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.align4j.engine.NativeEnv;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllgatherOptions;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.gloo.Device;

/**
 * The collectives on c10d's Gloo backend, set up as {@code init_process_group("gloo",
 * init_method="env://")} does (torch/distributed/distributed_c10d.py, rendezvous.py): rank 0 hosts a
 * {@code TCPStore} at MASTER_ADDR:MASTER_PORT, the others connect to it, and a
 * {@code ProcessGroupGloo} (torch/csrc/distributed/c10d/ProcessGroupGloo.cpp) exchanges its peers'
 * addresses through it. We call the Gloo backend directly (it is a
 * {@code c10d::Backend}); torch wraps it in a {@code c10d::ProcessGroup} for dispatch only.
 *
 * <p>Not thread-safe: one training thread issues the collectives, as in PyTorch.
 */
public final class GlooCollective implements Collective {
    /** Work.wait's own bound, beyond Gloo's per-operation timeout, in case Gloo's never fires. */
    private static final Duration WAIT_SLACK = Duration.ofSeconds(5);

    private final DistEnv env;
    private final DistOptions options;
    private final TCPStore store; // rank 0: the server; the others: a client
    private final Store groupStore; // the group's own connection (see createGroup)
    private final ProcessGroupGloo group;
    private final PeerMonitor monitor;
    /** All-reduce bucket buffers, kept across steps like DDP's: a fresh 100 MB buffer costs ~80 ms of page faults. */
    private final List<Tensor> buffers = new ArrayList<>();

    private long seq;
    private long collectiveNanos; // the sum of every collective's wall time on this worker
    private boolean layoutChecked;
    private DistException broken;
    private boolean closed;

    private GlooCollective(
            DistEnv env,
            DistOptions options,
            TCPStore store,
            Store groupStore,
            ProcessGroupGloo group,
            PeerMonitor monitor) {
        this.env = env;
        this.options = options;
        this.store = store;
        this.groupStore = groupStore;
        this.group = group;
        this.monitor = monitor;
    }

    /** Connects to the job's store, waits for every rank, and forms the Gloo group. */
    public static GlooCollective open(DistEnv env, DistOptions options) {
        NativeEnv.configure();
        TCPStore store = null;
        Store groupStore = null;
        PeerMonitor monitor = null;
        try (PointerScope scope = new PointerScope()) {
            store = Tensors.keep(scope, connect(env, options));
            monitor = new PeerMonitor(Tensors.keep(scope, store.clone()), env.rank(), env.worldSize());
            rendezvous(store, env, options);
            groupStore = Tensors.keep(scope, store.clone());
            ProcessGroupGloo group = Tensors.keep(scope, createGroup(groupStore, env, options));
            return new GlooCollective(env, options, store, groupStore, group, monitor);
        } catch (RuntimeException e) {
            if (monitor != null) monitor.close();
            if (groupStore != null) groupStore.close();
            if (store != null) store.close();
            throw e;
        }
    }

    /**
     * Rank 0 serves the store (a libuv TCPStore, listening on every interface), the others are its
     * clients; {@code waitWorkers} is off because our rendezvous below names the missing ranks.
     */
    private static TCPStore connect(DistEnv env, DistOptions options) {
        TCPStoreOptions o = new TCPStoreOptions();
        o.port((short) env.masterPort()); // uint16_t in C++: ports above 32767 pass through the sign bit unchanged
        o.isServer(env.rank() == 0);
        o.waitWorkers(false);
        o.numWorkers(new SizeTPointer(1).put(env.worldSize()));
        o.timeout(ms(options.initTimeout()));
        try {
            return new TCPStore(env.masterAddr(), o);
        } catch (RuntimeException e) {
            String why = DistException.firstLine(e);
            String lower = why.toLowerCase(Locale.ROOT);
            if (lower.contains("eaddrinuse") || lower.contains("address already in use"))
                throw new DistException(
                        "port " + env.masterPort() + " in use: rank 0 cannot host the c10d TCPStore on MASTER_PORT="
                                + env.masterPort() + " (another job, or an earlier run still exiting, holds it);"
                                + " pick a free port with --master_port",
                        List.of(),
                        e);
            if (env.rank() != 0 && lower.contains("timed out"))
                throw new DistException(
                        "rank " + env.rank() + " could not reach the c10d TCPStore at " + env.masterAddr() + ":"
                                + env.masterPort() + " within " + seconds(options.initTimeout())
                                + " s: is rank 0 (node_rank 0) running, and do all nodes use the same"
                                + " --master_addr/--master_port? (" + why + ")",
                        List.of(0),
                        e);
            throw new DistException(
                    "rank " + env.rank() + " cannot open the c10d TCPStore at " + env.masterAddr() + ":"
                            + env.masterPort() + ": " + why,
                    List.of(),
                    e);
        }
    }

    /** Every rank announces itself and waits for all the others, so a missing one is named. */
    private static void rendezvous(TCPStore store, DistEnv env, DistOptions options) {
        String[] keys = new String[env.worldSize()];
        for (int r = 0; r < keys.length; r++) keys[r] = "align4j/joined/" + r;
        store.set(
                keys[env.rank()], hostName() + " pid " + ProcessHandle.current().pid());
        try (StringVector all = new StringVector(keys)) {
            store._wait(all, ms(options.initTimeout()));
        } catch (RuntimeException e) {
            List<Integer> missing = new ArrayList<>();
            for (int r = 0; r < keys.length; r++)
                try (StringVector one = new StringVector(keys[r])) {
                    if (!store.check(one)) missing.add(r);
                } catch (RuntimeException gone) {
                    missing.add(r);
                }
            throw new DistException(
                    "rank " + env.rank() + ": rank(s) " + missing + " did not join within "
                            + seconds(options.initTimeout()) + " s (WORLD_SIZE=" + env.worldSize()
                            + ", TCPStore at " + env.masterAddr() + ":" + env.masterPort()
                            + "); start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE ("
                            + DistException.firstLine(e) + ")",
                    missing,
                    e);
        }
    }

    /**
     * The group gets {@code groupStore}, a clone of the store: bytedeco allocates {@code new
     * TCPStore(...)} and {@code new PrefixStore(...)} with plain {@code new} (refcount 0), and its
     * IntrusivePtrAdapter adopts such an object with {@code intrusive_ptr::reclaim} when it is
     * passed where C++ takes an {@code intrusive_ptr<Store>}: the group then holds a pointer that
     * the Java wrapper frees (we saw "corrupted double-linked list" aborts with a PrefixStore). A
     * clone comes back from C++ as an intrusive_ptr, so its count is right. Gloo's keys then sit at
     * the root of the store, beside our own "align4j/" ones (torch namespaces them with a
     * PrefixStore per group; we have one group).
     */
    private static ProcessGroupGloo createGroup(Store groupStore, DistEnv env, DistOptions options) {
        ProcessGroupGloo.Options o = ProcessGroupGloo.Options.create(ms(options.timeout()));
        for (Device d : devices(env)) o.devices().push_back(d);
        try {
            return new ProcessGroupGloo(groupStore, env.rank(), env.worldSize(), o);
        } catch (RuntimeException e) {
            throw new DistException(
                    "rank " + env.rank() + ": Gloo could not connect to its peers: " + DistException.firstLine(e)
                            + "; across machines, set GLOO_SOCKET_IFNAME to the network interface the nodes"
                            + " reach each other on",
                    List.of(),
                    e);
        }
    }

    /**
     * The transport's network devices, chosen as torch's Python binding chooses them
     * (torch/csrc/distributed/c10d/init.cpp): GLOO_SOCKET_IFNAME's interfaces if set, else the
     * default device (this host's name). When MASTER_ADDR is a loopback address every rank is on
     * this machine, and loopback is the fastest path (and works without a resolvable host name).
     */
    private static List<Device> devices(DistEnv env) {
        String ifnames = System.getenv("GLOO_SOCKET_IFNAME");
        List<Device> out = new ArrayList<>();
        if (ifnames != null && !ifnames.isBlank()) {
            for (String name : ifnames.split(","))
                if (!name.isBlank()) out.add(ProcessGroupGloo.createDeviceForInterface(name.strip()));
        } else if (isLoopback(env.masterAddr())) {
            out.add(ProcessGroupGloo.createDeviceForHostname("127.0.0.1"));
        } else {
            out.add(ProcessGroupGloo.createDefaultDevice());
        }
        return out;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new DistException("MASTER_ADDR=" + host + " does not resolve to an address: " + e.getMessage());
        }
    }

    @Override
    public int rank() {
        return env.rank();
    }

    @Override
    public int worldSize() {
        return env.worldSize();
    }

    @Override
    public void allReduceSum(List<Tensor> tensors) {
        if (tensors.isEmpty()) return;
        List<Buckets.Bucket> buckets = Buckets.of(tensors, options.bucketCapBytes());
        if (!layoutChecked) {
            checkSameLayout(tensors);
            layoutChecked = true;
        }
        run(
                "all_reduce of " + tensors.size() + " tensor(s) in " + buckets.size() + " bucket(s)",
                options.timeout(),
                () -> {
                    // all buckets in flight at once: Gloo runs them on its worker threads while we pack the next
                    List<Work> works = new ArrayList<>();
                    for (int i = 0; i < buckets.size(); i++) {
                        Buckets.Bucket b = buckets.get(i);
                        Tensor flat = b.pack(b.inPlace() ? null : buffer(i, b), true);
                        works.add(group.allreduce(new TensorVector(flat), sum()));
                    }
                    for (int i = 0; i < buckets.size(); i++) {
                        await(works.get(i), options.timeout());
                        buckets.get(i).unpack();
                    }
                });
    }

    @Override
    public double[] allReduceSum(double[] values) {
        if (values.length == 0) return values;
        run("all_reduce of " + values.length + " metric value(s)", options.timeout(), () -> {
            Tensor t = doubles(values);
            await(group.allreduce(new TensorVector(t), sum()), options.timeout());
            MemorySegment.copy(Tensors.segment(t), ValueLayout.JAVA_DOUBLE, 0, values, 0, values.length);
        });
        return values;
    }

    @Override
    public double[][] allGather(double[] values) {
        double[][] out = new double[env.worldSize()][];
        run("all_gather of " + values.length + " value(s)", options.timeout(), () -> {
            Tensor all = gather(doubles(values));
            MemorySegment seg = Tensors.segment(all);
            for (int r = 0; r < out.length; r++) {
                out[r] = new double[values.length];
                MemorySegment.copy(
                        seg, ValueLayout.JAVA_DOUBLE, (long) r * values.length * 8, out[r], 0, values.length);
            }
        });
        return out;
    }

    @Override
    public void broadcast(List<Tensor> tensors, int root) {
        if (root < 0 || root >= env.worldSize())
            throw new IllegalArgumentException(
                    "broadcast root " + root + " is not a rank of WORLD_SIZE=" + env.worldSize());
        if (tensors.isEmpty()) return;
        List<Buckets.Bucket> buckets = Buckets.of(tensors, options.bucketCapBytes());
        run("broadcast of " + tensors.size() + " tensor(s) from rank " + root, options.timeout(), () -> {
            BroadcastOptions o = new BroadcastOptions();
            o.rootRank(root);
            o.rootTensor(0);
            o.timeout(ms(options.timeout()));
            List<Work> works = new ArrayList<>();
            for (Buckets.Bucket b : buckets)
                works.add(group.broadcast(new TensorVector(b.pack(null, env.rank() == root)), o));
            for (int i = 0; i < buckets.size(); i++) {
                await(works.get(i), options.timeout());
                if (env.rank() != root) buckets.get(i).unpack();
            }
        });
    }

    @Override
    public void barrier() {
        barrier(options.timeout());
    }

    @Override
    public void barrier(Duration timeout) {
        run("barrier", timeout, () -> {
            BarrierOptions o = new BarrierOptions();
            o.timeout(ms(timeout));
            await(group.barrier(o), timeout);
        });
    }

    /**
     * DDP checks once that every rank holds the same parameters
     * ({@code _verify_param_shape_across_processes}); a mismatch would otherwise surface as a
     * Gloo size error or a timeout. We compare a fingerprint of the (dtype, shape) list on the
     * first all-reduce, which every rank makes.
     */
    private void checkSameLayout(List<Tensor> tensors) {
        long h = tensors.size();
        for (Tensor t : tensors) {
            h = h * 31 + t.scalar_type().value;
            for (long d : Tensors.shape(t)) h = h * 1_000_003L + d;
        }
        long mine = h;
        long[] all = new long[env.worldSize()];
        run("check that every rank passes the same tensors", options.timeout(), () -> {
            Tensor in = Tensors.longs(new long[] {mine}, 1);
            MemorySegment.copy(Tensors.segment(gather(in)), ValueLayout.JAVA_LONG, 0, all, 0, all.length);
        });
        List<Integer> differ = new ArrayList<>();
        for (int r = 0; r < all.length; r++) if (all[r] != all[0]) differ.add(r);
        if (!differ.isEmpty())
            throw new DistException(
                    "rank " + env.rank() + ": the tensors passed to all_reduce differ between ranks (rank(s) "
                            + differ + " differ from rank 0 in count, dtype or shape; this rank passes "
                            + tensors.size() + "): every rank must reduce the same parameters' gradients in the same"
                            + " order",
                    differ,
                    null);
    }

    /** Runs one collective: counts it for the monitor, and turns a failure into a DistException naming the culprits. */
    private void run(String what, Duration timeout, Runnable body) {
        if (closed) throw new IllegalStateException("rank " + env.rank() + ": the process group is closed");
        if (broken != null)
            throw new DistException(
                    "rank " + env.rank() + ": the process group is unusable since an earlier failure: "
                            + broken.getMessage(),
                    broken.suspects(),
                    broken);
        long n = ++seq;
        monitor.entered(n);
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
            body.run();
            collectiveNanos += System.nanoTime() - t0;
        } catch (RuntimeException e) {
            double waited = (System.nanoTime() - t0) / 1e9;
            monitor.failed(n);
            PeerMonitor.Diagnosis d = monitor.diagnose(n, env.masterAddr(), env.masterPort());
            broken = new DistException(
                    String.format(
                            Locale.ROOT,
                            "rank %d: %s (collective #%d) failed after %.1f s (timeout %s s): %s [c10d: %s]",
                            env.rank(),
                            what,
                            n,
                            waited,
                            seconds(timeout),
                            d.text(),
                            DistException.firstLine(e)),
                    d.suspects(),
                    e);
            throw broken;
        }
    }

    @Override
    public long collectiveNanos() {
        return collectiveNanos;
    }

    private static void await(Work w, Duration timeout) {
        if (!w._wait(ms(timeout.plus(WAIT_SLACK))))
            throw new IllegalStateException("the collective did not complete successfully");
    }

    private Tensor gather(Tensor in) {
        Tensor out = torch.empty(new long[] {in.numel() * env.worldSize()}, new TensorOptions(in.scalar_type()), null);
        AllgatherOptions o = new AllgatherOptions();
        o.timeout(ms(options.timeout()));
        await(group._allgather_base(out, in, o), options.timeout());
        return out;
    }

    private AllreduceOptions sum() {
        AllreduceOptions o = new AllreduceOptions();
        o.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
        o.timeout(ms(options.timeout()));
        return o;
    }

    /** The kept buffer for bucket i, replaced when the bucket's size or dtype changed. */
    private Tensor buffer(int i, Buckets.Bucket b) {
        while (buffers.size() <= i) buffers.add(null);
        Tensor have = buffers.get(i);
        // by value: the bound scalar_type() returns a new enum instance on every call, so == never held and every
        // all-reduce allocated its buckets afresh
        if (have != null && have.numel() == b.numel && have.scalar_type().value == b.dtype().value) return have;
        if (have != null) have.close();
        try (PointerScope s = new PointerScope()) {
            Tensor fresh = Tensors.keep(s, torch.empty(new long[] {b.numel}, new TensorOptions(b.dtype()), null));
            buffers.set(i, fresh);
            return fresh;
        }
    }

    /** The kept buffer of bucket i, or null: for tests. */
    Tensor keptBuffer(int i) {
        return i < buffers.size() ? buffers.get(i) : null;
    }

    private static Tensor doubles(double[] values) {
        Tensor t = torch.empty(new long[] {values.length}, new TensorOptions(torch.ScalarType.Double), null);
        Tensors.segment(t).copyFrom(MemorySegment.ofArray(values));
        return t;
    }

    private static Milliseconds ms(Duration d) {
        return new Milliseconds(Math.max(1, d.toMillis()));
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        monitor.close();
        for (Tensor b : buffers) if (b != null) b.close();
        buffers.clear();
        if (broken == null) {
            try {
                group.shutdown();
            } catch (RuntimeException ignored) {
                // releasing below is what matters
            }
        }
        group.close();
        groupStore.close();
        leave();
        store.close();
    }

    /**
     * Rank 0 hosts the store, so it leaves last: every rank counts itself out, and rank 0 waits
     * (bounded) for the others. Otherwise a rank 0 that finishes first cuts the others off from the
     * store in their own teardown or failure report ("rank 0 has probably died" when it has not),
     * a hazard torch has too when rank 0's process exits first. After a failure rank 0 does not
     * wait for the ranks found at fault, and waits only as long as the others' reports take.
     */
    private void leave() {
        String key = "align4j/left";
        try {
            long left = store.add(key, 1);
            if (env.rank() != 0) return;
            int expected =
                    env.worldSize() - (broken == null ? 0 : broken.suspects().size());
            Duration bound = broken == null
                    ? options.timeout()
                    : PeerMonitor.SETTLE.multipliedBy(2).plusSeconds(5);
            long deadline = System.nanoTime() + bound.toNanos();
            while (left < expected && System.nanoTime() < deadline) {
                Thread.sleep(50);
                left = store.add(key, 0);
            }
        } catch (RuntimeException e) {
            // the store is gone: nothing to wait for
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "Gloo rank " + env.rank() + " of " + env.worldSize() + " (local " + env.localRank() + " of "
                + env.localWorldSize() + "), TCPStore at " + env.masterAddr() + ":" + env.masterPort();
    }
}
