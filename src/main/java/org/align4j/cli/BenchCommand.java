// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.engine.Tensors;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.ModelConfig;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code bench}: throughput of forward, forward+backward(+AdamW) and KV-cached generation for a
 * checkpoint or a named size, printed as one JSON line per mode with the same fields as
 * tools/bench/torch_bench.py so the two can be compared side by side (tools/bench/compare.sh).
 * Timing: median over {@code iters} after {@code warmup} untimed iterations.
 *
 * <p>MFU = achieved FLOP/s / {@code peak_flops}; FLOPs per token = 2N (forward) or 6N (training),
 * N = all parameters (the convention of nanoGPT's estimate_mfu without the attention term; the
 * same in both scripts). The default peak, 190 GFLOP/s, is this machine's 2 Zen 3 cores:
 * 2 FMA units x 8 float lanes x 2 FLOP x ~3 GHz x 2 cores (research/engine.md section 1).
 */
final class BenchCommand {
    static final List<Spec> SPECS = List.of(
            of("model_name_or_path", Type.PATH, null, "checkpoint to benchmark (else --size)"),
            of("size", Type.STRING, "llama-25m", "named shape when no checkpoint: llama-25m, llama-tiny, llama-0.5b"),
            of("mode", Type.STRING, "all", "forward, train, generate, memory or all (= forward, train, generate)"),
            of("batch", Type.INT, 4, "batch size for forward/train"),
            of("seq", Type.INT, 256, "sequence length for forward/train"),
            of("gen_batch", Type.INT, 8, "batch size for generate"),
            of("prompt_len", Type.INT, 32, "prompt length for generate"),
            of("new_tokens", Type.INT, 128, "tokens generated per row"),
            of("iters", Type.INT, 5, "timed iterations"),
            of("warmup", Type.INT, 2, "untimed iterations first"),
            of("memory_steps", Type.INT, 10000, "training steps for --mode memory"),
            of("peak_flops", Type.DOUBLE, 190e9, "peak FLOP/s for MFU"),
            of("seed", Type.LONG, 0L, "init and data seed"),
            of("output_file", Type.PATH, null, "also append the JSON lines here"));

    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("bench", SPECS, args);
        try (Transformer model = o.has("model_name_or_path") ? Checkpoints.load(o.path("model_name_or_path"))
                : ModelPresets.randomInit(ModelPresets.named(o.string("size")), o.longValue("seed"))) {
            String mode = o.string("mode");
            List<String> modes = mode.equals("all") ? List.of("forward", "train", "generate") : List.of(mode);
            for (String m : modes) {
                Map<String, Object> r = switch (m) {
                    case "forward" -> forward(model, o);
                    case "train" -> train(model, o);
                    case "generate" -> generate(model, o);
                    case "memory" -> memory(model, o);
                    default -> throw new CliException("bench: unknown --mode '" + m + "'; use forward, train, generate, memory or all");
                };
                String line = JSON.writeValueAsString(r);
                System.out.println(line);
                if (o.has("output_file")) Files.writeString(o.path("output_file"), line + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            }
        }
    }

    private static Map<String, Object> header(String mode, Transformer model, Options o) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impl", "align4j");
        r.put("mode", mode);
        r.put("params", model.numParameters());
        r.put("threads", torch.get_num_threads());
        return r;
    }

    private static Map<String, Object> forward(Transformer model, Options o) {
        int b = o.integer("batch"), t = o.integer("seq");
        ModelConfig c = model.config();
        Tensor ids = randomIds(c, b, t, o.longValue("seed"));
        double[] ms = time(o, () -> {
            try (NoGradGuard g = new NoGradGuard(); PointerScope s = new PointerScope()) {
                model.logits(model.forward(ids, null, null));
            }
        });
        ids.close();
        return throughput("forward", model, o, ms, 2.0);
    }

    private static Map<String, Object> train(Transformer model, Options o) {
        int b = o.integer("batch"), t = o.integer("seq");
        Tensor ids = randomIds(model.config(), b, t, o.longValue("seed"));
        model.requiresGrad(true);
        TensorVector params = model.parameterVector();
        AdamW opt = new AdamW(params, new AdamWOptions(1e-4));
        double[] ms = time(o, () -> trainStep(model, ids, params, opt));
        model.requiresGrad(false);
        opt.close();
        ids.close();
        return throughput("train", model, o, ms, 6.0);
    }

    /** Next-token cross-entropy, backward, global-norm clip at 1.0, AdamW; all native memory freed. */
    static double trainStep(Transformer model, Tensor ids, TensorVector params, AdamW opt) {
        try (PointerScope s = new PointerScope()) {
            long b = ids.size(0), t = ids.size(1), v = model.config().vocabSize();
            Tensor logits = model.logits(model.forward(ids.narrow(1, 0, t - 1), null, null)); // (B, T-1, V)
            Tensor loss = torch.cross_entropy(logits.reshape(b * (t - 1), v), ids.narrow(1, 1, t - 1).reshape(b * (t - 1)));
            opt.zero_grad();
            loss.backward();
            torch.clip_grad_norm_(params, 1.0, 2.0, false);
            opt.step();
            return loss.item_float();
        }
    }

    private static Map<String, Object> generate(Transformer model, Options o) {
        int b = o.integer("gen_batch"), p = o.integer("prompt_len"), n = o.integer("new_tokens");
        long[] flat = Tensors.toLongs(randomIds(model.config(), b, p, o.longValue("seed") + 1));
        List<long[]> prompts = new ArrayList<>();
        for (int r = 0; r < b; r++) prompts.add(Arrays.copyOfRange(flat, r * p, (r + 1) * p));
        SamplingParams greedy = SamplingParams.greedy(n);
        double[] ms = time(o, () -> Generator.generate(model, prompts, greedy, new int[0], 0));
        double[] prefillMs = time(o, () -> Generator.generate(model, prompts, SamplingParams.greedy(1), new int[0], 0));
        Map<String, Object> r = header("generate", model, o);
        r.put("batch", b);
        r.put("prompt_len", p);
        r.put("new_tokens", n);
        double total = median(ms), prefill = median(prefillMs), decode = total - prefill;
        r.put("ms_total", round(total));
        r.put("ms_prefill", round(prefill));
        r.put("tokens_per_s", round(b * n / (total / 1000)));
        r.put("decode_tokens_per_s", round(b * (n - 1) / (decode / 1000)));
        r.put("mfu", round(2.0 * model.numParameters() * b * n / (total / 1000) / o.number("peak_flops")));
        return r;
    }

    /** Resident set size over many training steps of the given model: flat = no native leak. */
    private static Map<String, Object> memory(Transformer model, Options o) throws IOException {
        int b = o.integer("batch"), t = o.integer("seq"), steps = o.integer("memory_steps");
        Tensor ids = randomIds(model.config(), b, t, o.longValue("seed"));
        model.requiresGrad(true);
        TensorVector params = model.parameterVector();
        AdamW opt = new AdamW(params, new AdamWOptions(1e-4));
        List<Long> rss = new ArrayList<>(), heap = new ArrayList<>();
        int every = Math.max(1, steps / 20);
        long start = System.nanoTime();
        for (int i = 1; i <= steps; i++) {
            trainStep(model, ids, params, opt);
            if (i % every == 0 || i == 1) {
                rss.add(rssKiB());
                heap.add(Runtime.getRuntime().totalMemory() / 1024); // the JVM heap is part of RSS
            }
        }
        opt.close();
        ids.close();
        Map<String, Object> r = header("memory", model, o);
        r.put("steps", steps);
        r.put("batch", b);
        r.put("seq", t);
        r.put("rss_mib_samples", rss.stream().map(k -> k / 1024).toList());
        r.put("java_heap_committed_mib_samples", heap.stream().map(k -> k / 1024).toList());
        long afterWarm = rss.get(Math.min(1, rss.size() - 1)), last = rss.get(rss.size() - 1);
        r.put("rss_growth_mib_after_first_sample", (last - afterWarm) / 1024);
        r.put("seconds", round((System.nanoTime() - start) / 1e9));
        return r;
    }

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        return -1;
    }

    private static Tensor randomIds(ModelConfig c, int b, int t, long seed) {
        org.bytedeco.pytorch.Generator g = torch.createCPUGenerator(seed);
        try (PointerScope s = new PointerScope()) {
            Tensor ids = torch.randint(c.vocabSize(), new long[] {b, t}, new org.bytedeco.pytorch.GeneratorOptional(g), new TensorOptions(torch.ScalarType.Long));
            return Tensors.keep(s, ids);
        } finally {
            g.close();
        }
    }

    private static double[] time(Options o, Runnable step) {
        for (int i = 0; i < o.integer("warmup"); i++) step.run();
        double[] ms = new double[o.integer("iters")];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            step.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    /** The JSON line of a batch x seq mode: timings, tokens/s and MFU at flopsPerParam FLOPs per parameter and token. */
    private static Map<String, Object> throughput(String mode, Transformer model, Options o, double[] ms, double flopsPerParam) {
        Map<String, Object> r = header(mode, model, o);
        int b = o.integer("batch"), t = o.integer("seq");
        r.put("batch", b);
        r.put("seq", t);
        double tokens = (double) b * t, flopsPerToken = flopsPerParam * model.numParameters();
        double med = median(ms);
        r.put("ms_median", round(med));
        r.put("ms_min", round(Arrays.stream(ms).min().orElse(med)));
        r.put("iters", ms.length);
        r.put("tokens_per_s", round(tokens / (med / 1000)));
        r.put("mfu", round(flopsPerToken * tokens / (med / 1000) / o.number("peak_flops")));
        return r;
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
