// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Times all-reduce on Gloo over loopback (not a test; docs/c10d-notes.md has its numbers). Started
 * without RANK it launches itself as {@code --nproc_per_node N} workers (default 2) through
 * {@link Launcher}; each worker times, by median over iterations:
 *
 * <ul>
 *   <li>one contiguous float32 tensor of 25M elements (100 MB), reduced in place;
 *   <li>the gradients of llama-25m (the same 25.2M floats as ~75 tensors), through 25 MiB buckets;
 *   <li>the gradients of llama-tiny (~127k floats, one bucket);
 *   <li>eight metric values (float64): the latency floor of one collective.
 * </ul>
 *
 * BENCH_BUCKET_CAP_BYTES sets the bucket cap (1: no packing, every tensor reduced alone in place).
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp "target/classes:target/test-classes:$(cat cp.txt)" \
 *     org.align4j.dist.AllReduceBench [nproc]
 * </pre>
 */
public final class AllReduceBench {
    public static void main(String[] args) throws Exception {
        if (System.getenv("RANK") == null) {
            int n = args.length > 0 ? Integer.parseInt(args[0]) : 2;
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            List<String> cmd = List.of(
                    ProcessHandle.current().info().command().orElseThrow(),
                    "--enable-native-access=ALL-UNNAMED",
                    "-cp",
                    System.getProperty("java.class.path"),
                    AllReduceBench.class.getName());
            Launcher.Result r = new Launcher(new LaunchArgs(n, 1, 0, "127.0.0.1", port), cmd).run();
            System.exit(r.exitCode());
        }
        String cap = System.getenv("BENCH_BUCKET_CAP_BYTES"); // e.g. 1: every tensor alone, in place
        DistOptions options =
                cap == null ? DistOptions.defaults() : DistOptions.defaults().withBucketCapBytes(Long.parseLong(cap));
        try (Collective c = Worker.init(options);
                PointerScope scope = new PointerScope()) {
            report(c, "1 x 25M float32 (100 MB), in place", time(c, 7, List.of(torch.ones(25_000_000L))));
            report(c, "llama-25m grads (25.2M floats), 25 MiB buckets", time(c, 7, grads("llama-25m")));
            report(c, "llama-tiny grads (~127k floats)", time(c, 50, grads("llama-tiny")));
            double[] m = new double[8];
            long[] ns = new long[200];
            for (int i = 0; i < ns.length; i++) {
                long t0 = System.nanoTime();
                c.allReduceSum(m);
                ns[i] = System.nanoTime() - t0;
            }
            report(c, "8 metric doubles", ns);
        }
    }

    static List<Tensor> grads(String preset) {
        List<Tensor> out = new ArrayList<>();
        for (long[] shape :
                Transformer.expectedShapes(ModelPresets.named(preset)).values())
            out.add(torch.ones(shape, new TensorOptions(torch.ScalarType.Float)));
        return out;
    }

    static long[] time(Collective c, int iters, List<Tensor> tensors) {
        long floats = tensors.stream().mapToLong(Tensor::numel).sum();
        if (c.isMain()) System.out.println(tensors.size() + " tensor(s), " + floats + " floats");
        c.allReduceSum(tensors); // warm-up: layout check, buckets allocated
        long[] ns = new long[iters];
        for (int i = 0; i < iters; i++) {
            c.barrier();
            long t0 = System.nanoTime();
            c.allReduceSum(tensors);
            ns[i] = System.nanoTime() - t0;
        }
        return ns;
    }

    static void report(Collective c, String what, long[] ns) {
        long[] sorted = ns.clone();
        Arrays.sort(sorted);
        if (c.isMain())
            System.out.printf(
                    Locale.ROOT,
                    "%-50s median %8.3f ms  min %8.3f ms  (%d runs, %d ranks, %d thread(s))%n",
                    what,
                    sorted[sorted.length / 2] / 1e6,
                    sorted[0] / 1e6,
                    ns.length,
                    c.worldSize(),
                    torch.get_num_threads());
    }
}
