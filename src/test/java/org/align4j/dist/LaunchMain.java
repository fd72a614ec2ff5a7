// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.nio.file.Path;
import java.util.List;

/** A launcher as its own process, for the tests that stop it: {@code LaunchMain <port> <scenario> <outDir>}. */
public final class LaunchMain {
    public static void main(String[] args) throws Exception {
        LaunchArgs a = new LaunchArgs(2, 1, 0, "127.0.0.1", Integer.parseInt(args[0]));
        List<String> cmd = LauncherTest.workerCommand(args[1], Path.of(args[2]).toString());
        System.exit(new Launcher(a, cmd)
                .grace(java.time.Duration.ofSeconds(3))
                .run()
                .exitCode());
    }
}
