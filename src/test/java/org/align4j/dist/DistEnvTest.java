// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DistEnvTest {

    @Test
    void noVariablesMeansOneProcess() {
        DistEnv e = DistEnv.from(Map.of("PATH", "/bin"));
        assertEquals(DistEnv.single(), e);
        assertFalse(e.distributed());
        assertTrue(e.isMain());
    }

    @Test
    void readsTorchrunsVariables() {
        DistEnv e = DistEnv.from(Map.of(
                "RANK",
                "3",
                "LOCAL_RANK",
                "1",
                "WORLD_SIZE",
                "4",
                "LOCAL_WORLD_SIZE",
                "2",
                "GROUP_RANK",
                "1",
                "MASTER_ADDR",
                "10.0.0.1",
                "MASTER_PORT",
                "29500"));
        assertEquals(new DistEnv(3, 1, 4, 2, 1, "10.0.0.1", 29500), e);
        assertTrue(e.distributed());
        assertFalse(e.isMain());
        assertEquals(e, DistEnv.from(e.toEnvironment()), "what a launcher writes reads back the same");
    }

    @Test
    void theFourTorchNeedsAreEnoughForOneNode() {
        DistEnv e = DistEnv.from(Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT", "1234"));
        assertEquals(new DistEnv(1, 1, 2, 2, 0, "h", 1234), e);
    }

    @Test
    void errorsNameTheVariableAndTheFix() {
        assertMessage("WORLD_SIZE is set but RANK is not", Map.of("WORLD_SIZE", "2"));
        assertMessage("RANK is set but WORLD_SIZE is not", Map.of("RANK", "0"));
        assertMessage("MASTER_ADDR is not set", Map.of("RANK", "0", "WORLD_SIZE", "2"));
        assertMessage("MASTER_PORT is not set", Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "h"));
        Map<String, String> ok =
                new HashMap<>(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT", "1"));
        ok.put("RANK", "2");
        assertMessage("RANK must be in [0, WORLD_SIZE=2), got 2", ok);
        ok.put("RANK", "x");
        assertMessage("RANK=x is not an integer", ok);
        ok.put("RANK", "0");
        ok.put("MASTER_PORT", "70000");
        assertMessage("MASTER_PORT must be in [1, 65535]", ok);
    }

    @Test
    void launchArgsTakeTorchrunsSpellingsAndLeaveTheRest() {
        LaunchArgs.Parsed p = LaunchArgs.parse(List.of(
                "--config",
                "r.yaml",
                "--nproc-per-node=2",
                "--nnodes",
                "2",
                "--node_rank=1",
                "--master_addr",
                "h",
                "--master-port",
                "1234",
                "--learning_rate",
                "1e-5"));
        assertEquals(new LaunchArgs(2, 2, 1, "h", 1234), p.launch().orElseThrow());
        assertEquals(List.of("--config", "r.yaml", "--learning_rate", "1e-5"), p.rest());
        assertEquals(
                new DistEnv(3, 1, 4, 2, 1, "h", 1234), p.launch().orElseThrow().worker(1));

        LaunchArgs.Parsed none = LaunchArgs.parse(List.of("--max_steps", "3"));
        assertTrue(none.launch().isEmpty());
        LaunchArgs defaults =
                LaunchArgs.parse(List.of("--nproc_per_node", "2")).launch().orElseThrow();
        assertEquals(new LaunchArgs(2, 1, 0, "127.0.0.1", 29500), defaults);

        assertEquals(
                "--master_port is a launcher option: give --nproc_per_node N too",
                assertThrows(IllegalArgumentException.class, () -> LaunchArgs.parse(List.of("--master_port", "1")))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> LaunchArgs.parse(List.of("--nproc_per_node", "0")));
        assertThrows(
                IllegalArgumentException.class, () -> LaunchArgs.parse(List.of("--nnodes", "2", "--node_rank", "2")));
        assertThrows(IllegalArgumentException.class, () -> LaunchArgs.parse(List.of("--nproc_per_node")));
    }

    @Test
    void threadsAreTheCoresShare() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.max(1, cores / 2), Launcher.threadsPerWorker(2, Map.of()));
        assertEquals(1, Launcher.threadsPerWorker(cores * 4, Map.of()));
        assertEquals(3, Launcher.threadsPerWorker(2, Map.of("OMP_NUM_THREADS", "3")), "the user's setting wins");
    }

    private static void assertMessage(String part, Map<String, String> env) {
        String m = assertThrows(IllegalArgumentException.class, () -> DistEnv.from(env))
                .getMessage();
        assertTrue(m.contains(part), m);
    }
}
