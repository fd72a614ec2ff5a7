// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code ./align4j <args>} as a user does: a separate JVM on this test's classpath, with the environment given
 * (HF_HOME, ...), in a working folder. For tests of what crosses the process boundary: environment variables, exit
 * codes, what is printed.
 */
final class CliProcess {
    /** What a run left: its exit code and everything it printed (stdout and stderr together). */
    record Result(int exitCode, String output) {}

    private CliProcess() {}

    /** A run started and not waited for: its process and the file its output goes to. */
    record Started(Process process, Path log) {
        String output() throws IOException {
            return Files.readString(log, StandardCharsets.UTF_8);
        }
    }

    static Result run(Path workDir, Map<String, String> env, List<String> args)
            throws IOException, InterruptedException {
        Started s = start(workDir, env, args);
        Process p = s.process();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("./align4j " + args + " ran past 600 s; output:\n" + s.output());
        }
        String out = s.output();
        Files.delete(s.log());
        return new Result(p.exitValue(), out);
    }

    static Started start(Path workDir, Map<String, String> env, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED",
                "-Dai.djl.offline=true",
                "-DOPT_OUT_TRACKING=true",
                "-Xmx2g",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
        Path log = Files.createTempFile("align4j-cli", ".log");
        pb.redirectOutput(log.toFile());
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        pb.environment().putAll(env);
        return new Started(pb.start(), log);
    }
}
