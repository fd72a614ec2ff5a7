// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;

/**
 * Says which rank is to blame when a collective fails. Gloo reports a dead or silent peer by its
 * socket address ("Connection closed by peer [10.0.0.2]:41234", "Timed out waiting 60000ms for recv
 * operation"), not by its rank. So every rank keeps two numbers in the job's c10d store, the way
 * PyTorch's desync debugging records each rank's collective sequence number in the store
 * (ProcessGroupNCCL's {@code retrieveDesyncReport}) and torchelastic's rendezvous keeps its
 * members alive with heartbeat keys (torch/distributed/elastic/rendezvous/dynamic_rendezvous.py):
 *
 * <ul>
 *   <li>a heartbeat, counted up every {@link #PERIOD} by a daemon thread: if it stops moving, the
 *       process is dead or frozen (unless it reported a failure of its own, below: a rank that
 *       fails tears down its group, which makes its peers fail in turn);
 *   <li>how many collectives the rank has entered: a live rank that is behind has not reached the
 *       collective the others wait in (it hangs in its own code, or is much slower); one ahead runs
 *       a different sequence of collectives than this rank;
 *   <li>the collective that failed on it, if one did.
 * </ul>
 *
 * The main thread only bumps a volatile counter per collective; the store is touched by the
 * heartbeat thread, and read only after a failure.
 */
final class PeerMonitor implements AutoCloseable {
    static final Duration PERIOD = Duration.ofSeconds(1);
    /** Long enough for a live rank's heartbeat to move at least twice. */
    static final Duration SETTLE = PERIOD.multipliedBy(5).dividedBy(2);

    private final Store store; // a connection of its own (TCPStore.clone), used under this object's lock
    private final int rank;
    private final int worldSize;
    private final Thread thread;
    private volatile long entered;
    private volatile long failedIn; // the collective that failed here, 0 while none has
    private long beats; // under this object's lock
    private volatile boolean closed;

    PeerMonitor(Store store, int rank, int worldSize) {
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        store.setTimeout(new Milliseconds(PERIOD.multipliedBy(5).toMillis()));
        beat(false); // present before the rendezvous, so every joined rank has a key
        thread = new Thread(this::run, "align4j-heartbeat-rank" + rank);
        thread.setDaemon(true);
        thread.start();
    }

    static String key(int rank) {
        return "align4j/heartbeat/" + rank;
    }

    /** Called as this rank enters collective number {@code seq} (1, 2, ...). */
    void entered(long seq) {
        entered = seq;
    }

    /**
     * Called as soon as collective {@code seq} fails here, before the diagnosis: this rank's own
     * teardown will make its peers' collectives fail in turn, and they must not blame it.
     */
    void failed(long seq) {
        failedIn = seq;
        beat(false);
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(PERIOD);
            } catch (InterruptedException e) {
                return;
            }
            // the store may be gone (rank 0 died): the collective will fail and say so; keep quiet here
            if (!closed) beat(true);
        }
    }

    /** Writes "heartbeats collectives-entered failed-collective", counting one more heartbeat if {@code count}. */
    private synchronized void beat(boolean count) {
        if (count) beats++;
        try {
            store.set(key(rank), beats + " " + entered + " " + failedIn);
        } catch (RuntimeException ignored) {
            // reported by the collective that fails, not by this thread
        }
    }

    /** What the monitor found about the peers of a failed collective {@code seq}. */
    record Diagnosis(List<Integer> suspects, String text) {}

    /** Reads every peer's numbers twice, {@link #SETTLE} apart, and names the ranks at fault. */
    Diagnosis diagnose(long seq, String masterAddr, int masterPort) {
        long[][] before = readAll();
        if (before == null) return storeGone(masterAddr, masterPort);
        try {
            Thread.sleep(SETTLE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long[][] after = readAll();
        if (after == null) return storeGone(masterAddr, masterPort);
        List<Integer> suspects = new ArrayList<>();
        List<String> lines = new ArrayList<>(); // the ranks at fault first
        List<String> victims = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            if (r == rank) continue;
            if (after[r] == null) {
                suspects.add(r);
                lines.add("rank " + r + " never joined the store");
            } else if (after[r][2] > 0) {
                victims.add("rank " + r + " saw collective #" + after[r][2] + " fail too");
            } else if (before[r] != null && after[r][0] == before[r][0]) {
                suspects.add(r);
                lines.add("rank " + r + " stopped responding (no heartbeat for " + seconds(SETTLE)
                        + " s: its process died or is frozen)");
            } else if (after[r][1] < seq) {
                suspects.add(r);
                lines.add("rank " + r + " is alive but has not reached collective #" + seq + " (it has entered "
                        + after[r][1] + "): it is stuck in its own code or much slower than the others");
            } else if (after[r][1] > seq) {
                suspects.add(r);
                lines.add("rank " + r + " has entered collective #" + after[r][1] + " while this rank is in #" + seq
                        + ": the ranks do not run the same sequence of collectives");
            }
        }
        if (suspects.isEmpty())
            lines.add("the store shows no rank at fault (the others are alive and in collective #" + seq
                    + " or saw it fail too): the failure is in the transport, or the ranks passed tensors of"
                    + " different shapes");
        lines.addAll(victims);
        return new Diagnosis(suspects, String.join("; ", lines));
    }

    /** Each peer's {heartbeats, collectives entered, failed collective}, null without a key; null if the store is gone. */
    private synchronized long[][] readAll() {
        long[][] out = new long[worldSize][];
        for (int r = 0; r < worldSize; r++) {
            if (r == rank) continue;
            try (StringVector keys = new StringVector(key(r))) {
                if (!store.check(keys)) continue;
                String[] v = store.get_to_str(key(r)).trim().split(" ");
                out[r] = new long[] {Long.parseLong(v[0]), Long.parseLong(v[1]), Long.parseLong(v[2])};
            } catch (RuntimeException e) {
                return null;
            }
        }
        return out;
    }

    private Diagnosis storeGone(String masterAddr, int masterPort) {
        if (rank == 0) return new Diagnosis(List.of(), "this rank's own store cannot be read");
        return new Diagnosis(
                List.of(0),
                "the TCPStore that rank 0 hosts at " + masterAddr + ":" + masterPort
                        + " is unreachable: rank 0 has probably died");
    }

    private static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f", d.toMillis() / 1000.0);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(PERIOD.multipliedBy(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            store.close();
        }
    }
}
