// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * torchrun's options for a static job (torch/distributed/run.py): {@code --nproc_per_node N}
 * workers on each of {@code --nnodes M} machines, this one being {@code --node_rank R}, with rank
 * 0's store at {@code --master_addr A --master_port P}. Spelled with underscores or dashes, as
 * {@code --key value} or {@code --key=value}, like torchrun.
 */
public record LaunchArgs(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort) {
    /** torchrun's defaults. */
    public static final String DEFAULT_MASTER_ADDR = "127.0.0.1";

    public static final int DEFAULT_MASTER_PORT = 29500;

    private static final List<String> KEYS =
            List.of("nproc_per_node", "nnodes", "node_rank", "master_addr", "master_port");

    public LaunchArgs {
        if (nprocPerNode < 1) throw new IllegalArgumentException("--nproc_per_node must be >= 1, got " + nprocPerNode);
        if (nnodes < 1) throw new IllegalArgumentException("--nnodes must be >= 1, got " + nnodes);
        if (nodeRank < 0 || nodeRank >= nnodes)
            throw new IllegalArgumentException("--node_rank must be in [0, --nnodes=" + nnodes + "), got " + nodeRank);
        if (masterAddr == null || masterAddr.isBlank()) throw new IllegalArgumentException("--master_addr is empty");
        if (masterPort < 1 || masterPort > 65535)
            throw new IllegalArgumentException("--master_port must be in [1, 65535], got " + masterPort);
    }

    /** The launcher options found in a command line (if any) and the arguments left for the workers. */
    public record Parsed(Optional<LaunchArgs> launch, List<String> rest) {}

    /**
     * Takes the launcher options out of {@code argv}. A launch is asked for when --nproc_per_node
     * or --nnodes is given; the other three alone are an error (they mean nothing without it).
     */
    public static Parsed parse(List<String> argv) {
        Map<String, String> found = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            String key = a.startsWith("--") ? a.substring(2) : null;
            String value = null;
            if (key != null && key.contains("=")) {
                value = key.substring(key.indexOf('=') + 1);
                key = key.substring(0, key.indexOf('='));
            }
            String canonical = key == null ? null : key.replace('-', '_');
            if (canonical == null || !KEYS.contains(canonical)) {
                rest.add(a);
                continue;
            }
            if (value == null) {
                if (i + 1 >= argv.size()) throw new IllegalArgumentException("--" + canonical + " needs a value");
                value = argv.get(++i);
            }
            if (found.put(canonical, value) != null)
                throw new IllegalArgumentException("--" + canonical + " is given twice");
        }
        if (!found.containsKey("nproc_per_node") && !found.containsKey("nnodes")) {
            if (!found.isEmpty())
                throw new IllegalArgumentException(
                        "--" + found.keySet().iterator().next() + " is a launcher option: give --nproc_per_node N too");
            return new Parsed(Optional.empty(), rest);
        }
        LaunchArgs args = new LaunchArgs(
                integer(found, "nproc_per_node", 1),
                integer(found, "nnodes", 1),
                integer(found, "node_rank", 0),
                found.getOrDefault("master_addr", DEFAULT_MASTER_ADDR),
                integer(found, "master_port", DEFAULT_MASTER_PORT));
        return new Parsed(Optional.of(args), rest);
    }

    public int worldSize() {
        return nprocPerNode * nnodes;
    }

    /** The place of this node's worker {@code localRank} (torchrun: RANK = node_rank * nproc_per_node + LOCAL_RANK). */
    public DistEnv worker(int localRank) {
        return new DistEnv(
                nodeRank * nprocPerNode + localRank,
                localRank,
                worldSize(),
                nprocPerNode,
                nodeRank,
                masterAddr,
                masterPort);
    }

    private static int integer(Map<String, String> found, String key, int fallback) {
        String v = found.get(key);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + "=" + v + " is not an integer", e);
        }
    }
}
