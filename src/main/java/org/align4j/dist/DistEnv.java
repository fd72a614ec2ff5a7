// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where this process sits in a data-parallel job, read from the variables torchrun gives its
 * workers (torch/distributed/run.py, torch/distributed/elastic/agent/server/local_elastic_agent.py):
 * {@code RANK}, {@code LOCAL_RANK}, {@code WORLD_SIZE}, {@code LOCAL_WORLD_SIZE}, {@code GROUP_RANK}
 * (the node rank), {@code MASTER_ADDR}, {@code MASTER_PORT}. align4j's own launcher sets the same
 * ones, so a worker cannot tell (and need not care) who started it.
 *
 * <p>With none of them set the process is a job of one: rank 0 of 1.
 *
 * @param rank this worker's global rank, 0 .. worldSize-1
 * @param localRank its rank among the workers on this node
 * @param worldSize workers in the whole job
 * @param localWorldSize workers on this node
 * @param nodeRank this node's rank (torchrun's {@code GROUP_RANK}, {@code --node_rank})
 * @param masterAddr host of rank 0, which serves the c10d TCPStore
 * @param masterPort that store's port
 */
public record DistEnv(
        int rank, int localRank, int worldSize, int localWorldSize, int nodeRank, String masterAddr, int masterPort) {

    public DistEnv {
        check(worldSize >= 1, "WORLD_SIZE must be >= 1, got " + worldSize);
        check(rank >= 0 && rank < worldSize, "RANK must be in [0, WORLD_SIZE=" + worldSize + "), got " + rank);
        check(
                localWorldSize >= 1 && localWorldSize <= worldSize,
                "LOCAL_WORLD_SIZE must be in [1, WORLD_SIZE=" + worldSize + "], got " + localWorldSize);
        check(
                localRank >= 0 && localRank < localWorldSize,
                "LOCAL_RANK must be in [0, LOCAL_WORLD_SIZE=" + localWorldSize + "), got " + localRank);
        check(nodeRank >= 0, "GROUP_RANK (the node rank) must be >= 0, got " + nodeRank);
        check(masterPort >= 0 && masterPort <= 65535, "MASTER_PORT must be in [1, 65535], got " + masterPort);
    }

    /** A job of one process: no store, no process group. */
    public static DistEnv single() {
        return new DistEnv(0, 0, 1, 1, 0, "127.0.0.1", 0);
    }

    public static DistEnv fromEnvironment() {
        return from(System.getenv());
    }

    /**
     * Reads the torchrun variables from {@code env}. RANK and WORLD_SIZE come together; with
     * WORLD_SIZE > 1, MASTER_ADDR and MASTER_PORT are required too (torch's {@code env://}
     * rendezvous asks the same). LOCAL_RANK / LOCAL_WORLD_SIZE default to RANK / WORLD_SIZE and the
     * node rank to 0 (one node), for launchers that set only the four torch requires.
     */
    public static DistEnv from(Map<String, String> env) {
        boolean hasRank = present(env, "RANK"), hasWorld = present(env, "WORLD_SIZE");
        if (!hasRank && !hasWorld) return single();
        if (!hasRank || !hasWorld)
            throw new IllegalArgumentException(
                    (hasRank ? "RANK is set but WORLD_SIZE is not" : "WORLD_SIZE is set but RANK is not")
                            + ": a distributed worker needs both (torchrun and align4j --nproc_per_node set them)");
        int world = integer(env, "WORLD_SIZE");
        int rank = integer(env, "RANK");
        int localWorld = present(env, "LOCAL_WORLD_SIZE") ? integer(env, "LOCAL_WORLD_SIZE") : world;
        int localRank = present(env, "LOCAL_RANK") ? integer(env, "LOCAL_RANK") : rank;
        int node = present(env, "GROUP_RANK")
                ? integer(env, "GROUP_RANK")
                : present(env, "NODE_RANK") ? integer(env, "NODE_RANK") : 0;
        if (world == 1) return new DistEnv(rank, localRank, 1, localWorld, node, "127.0.0.1", 0);
        for (String name : new String[] {"MASTER_ADDR", "MASTER_PORT"})
            if (!present(env, name))
                throw new IllegalArgumentException(name + " is not set but WORLD_SIZE=" + world
                        + ": every worker needs the address and port of rank 0's TCPStore (torchrun sets them;"
                        + " by hand: MASTER_ADDR=<host of rank 0> MASTER_PORT=<free port, e.g. 29500>)");
        int port = integer(env, "MASTER_PORT");
        if (port == 0) throw new IllegalArgumentException("MASTER_PORT=0: name a fixed port every worker can reach");
        return new DistEnv(
                rank, localRank, world, localWorld, node, env.get("MASTER_ADDR").trim(), port);
    }

    public boolean distributed() {
        return worldSize > 1;
    }

    /** Rank 0 alone writes checkpoints, metrics and logs. */
    public boolean isMain() {
        return rank == 0;
    }

    /** The variables a launcher gives this worker (torchrun's names). */
    public Map<String, String> toEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("RANK", Integer.toString(rank));
        env.put("LOCAL_RANK", Integer.toString(localRank));
        env.put("WORLD_SIZE", Integer.toString(worldSize));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(localWorldSize));
        env.put("GROUP_RANK", Integer.toString(nodeRank));
        env.put("ROLE_RANK", Integer.toString(rank));
        env.put("MASTER_ADDR", masterAddr);
        env.put("MASTER_PORT", Integer.toString(masterPort));
        return env;
    }

    private static boolean present(Map<String, String> env, String name) {
        String v = env.get(name);
        return v != null && !v.isBlank();
    }

    private static int integer(Map<String, String> env, String name) {
        String v = env.get(name).trim();
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "=" + v + " is not an integer", e);
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
