// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * A worker process for the tests: {@code DistWorker <scenario> <outDir> [timeoutSeconds [culprit]]}, placed
 * by the torchrun variables. Exits 0 when its checks pass, 2 when a value is wrong, 1 on a
 * distributed failure (after printing it), 3 when told to die.
 */
public final class DistWorker {
    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        Path out = Path.of(args[1]);
        Duration timeout = Duration.ofSeconds(args.length > 2 ? Long.parseLong(args[2]) : 30);
        int culprit = args.length > 3 ? Integer.parseInt(args[3]) : 1; // the rank that hangs or dies
        DistOptions options = DistOptions.defaults()
                .withTimeout(timeout)
                .withInitTimeout(Duration.ofSeconds(120))
                .withBucketCapBytes(4096);
        Collective c;
        try {
            c = Worker.init(options);
        } catch (DistException e) {
            System.err.println("init failed: " + e.getMessage());
            System.exit(1);
            return;
        }
        int rank = c.rank();
        try (c;
                PointerScope scope = new PointerScope()) {
            switch (scenario) {
                case "collectives" -> {
                    List<String> bad = CollectiveChecks.all(c);
                    if (!bad.isEmpty()) {
                        System.out.println("rank " + rank + " WRONG: " + bad);
                        System.exit(2);
                    }
                    Files.writeString(
                            out.resolve("rank-" + rank + ".ok"),
                            "threads=" + org.bytedeco.pytorch.global.torch.get_num_threads());
                    System.out.println("rank " + rank + " of " + c.worldSize() + " ok");
                }
                case "hang", "die" -> {
                    Tensor t = Tensors.floats(new float[] {1, 2, 3}, 3);
                    c.allReduceSum(t); // collective #1 (plus the layout check) succeeds everywhere
                    System.out.println("rank " + rank + " first all_reduce " + Arrays.toString(Tensors.toFloats(t)));
                    if (rank == culprit && scenario.equals("die")) {
                        System.out.println("rank " + rank + " exits with code 3");
                        System.exit(3);
                    }
                    if (rank == culprit) {
                        System.out.println("rank " + rank + " hangs");
                        Thread.sleep(Duration.ofMinutes(5));
                    }
                    c.allReduceSum(t);
                    System.out.println("rank " + rank + " UNEXPECTED: second all_reduce passed");
                    System.exit(2);
                }
                case "sleep" -> {
                    c.barrier();
                    System.out.println("rank " + rank + " sleeping");
                    Thread.sleep(Duration.ofMinutes(5));
                }
                default -> throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } catch (DistException e) {
            System.err.println("rank " + rank + " failed: " + e.getMessage());
            Files.writeString(out.resolve("rank-" + rank + ".failed"), e.getMessage() + "\nsuspects=" + e.suspects());
            System.exit(1);
        }
    }
}
