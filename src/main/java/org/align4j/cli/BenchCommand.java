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
import java.util.Random;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.PreferencePair;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.engine.BlasThreads;
import org.align4j.engine.CpuTime;
import org.align4j.engine.Tensors;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.io.AtomicFiles;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.ModelConfig;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.align4j.trainer.AdamW;
import org.align4j.trainer.DpoConfig;
import org.align4j.trainer.DpoTrainer;
import org.align4j.trainer.MetricsLog;
import org.align4j.trainer.RowParallel;
import org.align4j.trainer.TrainingArgs;
import org.align4j.trainer.TrainingListener;
import org.align4j.trainer.TrainingListeners;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
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
 * 2 FMA units x 8 float lanes x 2 FLOP x ~3 GHz x 2 cores (docs/algorithms.md §13.2).
 *
 * <p>{@code dpo} and {@code dpo_memory} run the real {@link DpoTrainer#train} on random pairs
 * (see {@link #dpo} and {@link #dpoMemory} for what is timed and measured).
 */
final class BenchCommand {
    static final List<Spec> SPECS = List.of(
            of("model_name_or_path", Type.PATH, null, "checkpoint to benchmark (else --size)"),
            of("size", Type.STRING, "llama-25m", "named shape when no checkpoint: llama-25m, llama-tiny, llama-0.5b"),
            of(
                    "mode",
                    Type.STRING,
                    "all",
                    "forward, train, generate, grpo_generate, memory, dpo, dpo_memory, bf16 or all (= forward,"
                            + " train, generate)"),
            of(
                    "batch",
                    Type.INT,
                    4,
                    "batch size for forward/train; pairs per step for dpo/dpo_memory (2 x batch rows)"),
            of(
                    "seq",
                    Type.INT,
                    256,
                    "sequence length for forward/train; for dpo/dpo_memory prompt (seq/2) + completion (the rest)"),
            of("gen_batch", Type.INT, 8, "batch size for generate"),
            of("prompt_len", Type.INT, 32, "prompt length for generate (grpo_generate: about this long, default 128)"),
            of("grpo_prompts", Type.INT, 8, "grpo_generate: distinct prompts in the generation batch"),
            of("num_generations", Type.INT, 8, "grpo_generate: samples per prompt (G)"),
            of("new_tokens", Type.INT, 128, "tokens generated per row"),
            of("iters", Type.INT, 5, "timed iterations"),
            of("warmup", Type.INT, 2, "untimed iterations first"),
            of("memory_steps", Type.INT, 10000, "training steps for --mode memory"),
            of(
                    "gradient_checkpointing",
                    Type.BOOLEAN,
                    true,
                    "dpo_memory: recompute activations layer by layer in backward"),
            of("bf16", Type.BOOLEAN, false, "dpo: train with --bf16 (bfloat16 autocast), as the trainers do"),
            of("peak_flops", Type.DOUBLE, 190e9, "peak FLOP/s for MFU"),
            of("seed", Type.LONG, 0L, "init and data seed"),
            of("output_file", Type.PATH, null, "also append the JSON lines here"));

    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("bench", SPECS, args);
        try (Transformer model = load(o)) {
            String mode = o.string("mode");
            if (!mode.equals("dpo") && Distributed.current().worldSize() > 1)
                throw new CliException("bench --mode " + mode + " runs in one process; --mode dpo alone runs"
                        + " data-parallel (without --nproc_per_node for the others)");
            List<String> modes = mode.equals("all") ? List.of("forward", "train", "generate") : List.of(mode);
            for (String m : modes) {
                Map<String, Object> r = switch (m) {
                    case "forward" -> forward(model, o);
                    case "train" -> train(model, o);
                    case "generate" -> generate(model, o);
                    case "grpo_generate" -> GrpoGenerateBench.run(model, o);
                    case "memory" -> memory(model, o);
                    case "dpo" -> dpo(model, o);
                    case "dpo_memory" -> dpoMemory(model, o);
                    case "bf16" -> Bf16Bench.run(model, o);
                    default ->
                        throw new CliException("bench: unknown --mode '" + m
                                + "'; use forward, train, generate, grpo_generate, memory, dpo, dpo_memory, bf16 or"
                                + " all");
                };
                if (r == null) continue; // a data-parallel worker other than rank 0
                String line = JSON.writeValueAsString(r);
                System.out.println(line);
                if (o.has("output_file"))
                    Files.writeString(
                            o.path("output_file"),
                            line + "\n",
                            java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.APPEND);
            }
        }
    }

    /** The checkpoint, else the named size randomly initialised from --seed (the same weights each call). */
    private static Transformer load(Options o) throws IOException {
        return o.has("model_name_or_path")
                ? Checkpoints.load(o.path("model_name_or_path"))
                : ModelPresets.randomInit(ModelPresets.named(o.string("size")), o.longValue("seed"));
    }

    static Map<String, Object> header(String mode, Transformer model, Options o) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impl", "align4j");
        r.put("mode", mode);
        r.put("params", model.numParameters());
        r.put("threads", torch.get_num_threads());
        r.put("blas_threads", org.bytedeco.openblas.global.openblas_full.openblas_get_num_threads());
        return r;
    }

    private static Map<String, Object> forward(Transformer model, Options o) {
        int b = o.integer("batch"), t = o.integer("seq");
        ModelConfig c = model.config();
        Tensor ids = randomIds(c, b, t, o.longValue("seed"));
        Timed ms = time(o, () -> {
            try (NoGradGuard g = new NoGradGuard();
                    PointerScope s = new PointerScope()) {
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
        AdamW opt = AdamW.withDefaults(model.trainableParameters(), 0.0);
        List<Double> losses = new ArrayList<>(); // every step's, warm-up included: the same batch, so they fall
        Timed ms = time(o, () -> losses.add(trainStep(model, ids, opt)));
        model.requiresGrad(false);
        opt.close();
        ids.close();
        Map<String, Object> r = throughput("train", model, o, ms, 6.0);
        r.put("row_parallel_parts", RowParallel.parts(model, b)); // ALIGN4J_ROW_PARALLEL=1: the whole batch at once
        r.put("first_loss", losses.getFirst());
        r.put("last_loss", losses.getLast());
        return r;
    }

    /**
     * Next-token cross-entropy, backward, global-norm clip at 1.0, AdamW at lr 1e-4 (align4j's, as the trainers step:
     * the batch's rows as parts at once on the cores as SFT runs them, {@link RowParallel}, then
     * {@link AdamW#clipStepAndZero}); all native memory freed.
     */
    static double trainStep(Transformer model, Tensor ids, AdamW opt) {
        BlasThreads.adapt(); // as the trainers do before each step
        long b = ids.size(0), t = ids.size(1), v = model.config().vocabSize();
        List<Long> rows = java.util.stream.LongStream.range(0, b).boxed().toList();
        List<Double> losses = RowParallel.run(model, rows, RowParallel.parts(model, (int) b), part -> {
            try (PointerScope s = new PointerScope()) {
                long n = part.size();
                Tensor x = ids.narrow(0, part.getFirst(), n);
                // (n, T-1, V), in float32 also when autocast ran the head in bfloat16 (bench --mode bf16): the loss's
                // log-softmax in full precision, as autocast keeps it in PyTorch
                Tensor logits = model.logits(model.forward(x.narrow(1, 0, t - 1), null, null))
                        .to(torch.ScalarType.Float);
                // the part's share of the batch mean: its own token mean times n / B
                Tensor loss = torch.cross_entropy(
                                logits.reshape(n * (t - 1), v),
                                x.narrow(1, 1, t - 1).reshape(n * (t - 1)))
                        .mul(Tensors.scalar((double) n / b));
                loss.backward();
                return loss.item_double();
            }
        });
        opt.clipStepAndZero(model, 1.0, 1e-4);
        return losses.stream().mapToDouble(Double::doubleValue).sum();
    }

    private static Map<String, Object> generate(Transformer model, Options o) {
        int b = o.integer("gen_batch"), p = o.integer("prompt_len"), n = o.integer("new_tokens");
        long[] flat = Tensors.toLongs(randomIds(model.config(), b, p, o.longValue("seed") + 1));
        List<long[]> prompts = new ArrayList<>();
        for (int r = 0; r < b; r++) prompts.add(Arrays.copyOfRange(flat, r * p, (r + 1) * p));
        SamplingParams greedy = SamplingParams.greedy(n);
        double[] ms = time(o, () -> Generator.generate(model, prompts, greedy, new int[0], 0))
                .ms();
        double[] prefillMs = time(o, () -> Generator.generate(model, prompts, SamplingParams.greedy(1), new int[0], 0))
                .ms();
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
        AdamW opt = AdamW.withDefaults(model.trainableParameters(), 0.0);
        List<Long> rss = new ArrayList<>(), heap = new ArrayList<>();
        int every = Math.max(1, steps / 20);
        long start = System.nanoTime();
        for (int i = 1; i <= steps; i++) {
            trainStep(model, ids, opt);
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
        r.put(
                "java_heap_committed_mib_samples",
                heap.stream().map(k -> k / 1024).toList());
        long afterWarm = rss.get(Math.min(1, rss.size() - 1)), last = rss.get(rss.size() - 1);
        r.put("rss_growth_mib_after_first_sample", (last - afterWarm) / 1024);
        r.put("seconds", round((System.nanoTime() - start) / 1e9));
        return r;
    }

    /**
     * DPO training steps/s as the trainer runs them: {@link DpoTrainer#train} for warmup + iters
     * optimizer steps on random pairs (--batch pairs per step; prompt seq/2 tokens, chosen and
     * rejected seq - seq/2 tokens each, so 2 x batch rows of seq tokens in one concatenated
     * forward), sigmoid loss, beta 0.1, learning_rate 1e-6, max_grad_norm 1.0, AdamW. The reference
     * is a second identical copy of the policy (full fine-tune, TRL's default without LoRA), so the
     * first step's loss is ln 2 exactly.
     *
     * <p>Timing: a {@link TrainingListener} notes the end of each optimizer step (the trainer tells
     * it right after the update). A step's time is the gap to the previous end (step 1 counts from
     * the train() call, set-up included); the median of the last {@code iters} steps is reported.
     * Data parallel ({@code ./align4j --nproc_per_node N bench --mode dpo}), --batch pairs are the
     * job's step, each worker trains batch / N of them, rank 0 reports, and {@code
     * collective_share} is its time inside collectives over the timed steps' wall time. What is timed is the whole step:
     * batching, reference forward, policy forward + backward with TRL's metrics, clip, AdamW, log.
     * FLOPs per token: 6N for the policy + 2N for the reference forward (MFU as for train).
     */
    private static Map<String, Object> dpo(Transformer policy, Options o) throws Exception {
        int b = o.integer("batch"), t = o.integer("seq"), warmup = o.integer("warmup"), iters = o.integer("iters");
        if (iters < 1) throw new CliException("bench --mode dpo: --iters must be >= 1, got " + iters);
        // data parallel (./align4j --nproc_per_node N bench --mode dpo): --batch is the job's pairs per step, each of
        // the N workers trains batch / N of them, so the step is the same whatever N
        Collective dist = Distributed.current();
        int workers = dist.worldSize();
        if (b % workers != 0)
            throw new CliException("bench --mode dpo: --batch " + b + " pairs do not split over " + workers
                    + " workers; use a multiple of " + workers);
        int steps = warmup + iters;
        List<PreferencePair> pairs = randomPairs(policy.config(), steps * b, t, o.longValue("seed"));
        Path dir = Files.createTempDirectory("align4j-bench-dpo");
        StepClock clock = new StepClock(dist);
        List<com.fasterxml.jackson.databind.JsonNode> rows;
        try (Transformer ref = load(o)) {
            DpoConfig cfg = DpoConfig.defaults(
                    TrainingArgs.defaults(dir).withSteps(steps, b / workers, 1, 1e-6).withLogging(1, 0).toBuilder()
                            .bf16(o.flag("bf16"))
                            .build());
            CpuTime cpu0 = CpuTime.now();
            long start = System.nanoTime(), collective0 = dist.collectiveNanos();
            TrainingListeners.call(
                    List.of(clock), () -> DpoTrainer.train(policy, ref, pairs, List.of(), cfg, 0, Map.of()));
            double wall = (System.nanoTime() - start) / 1e9;
            CpuTime cpu1 = CpuTime.now();
            if (!dist.isMain()) return null; // rank 0 reports the job's step
            rows = MetricsLog.read(dir);
            if (clock.ends.size() != steps || rows.size() != steps)
                throw new IllegalStateException("bench dpo: expected " + steps + " steps and metrics rows, found "
                        + clock.ends.size() + " and " + rows.size());
            double[] all = new double[steps];
            for (int i = 0; i < steps; i++)
                all[i] = (clock.ends.get(i)[0] - (i == 0 ? start : clock.ends.get(i - 1)[0])) / 1e6;
            double[] ms = Arrays.copyOfRange(all, warmup, steps);
            Map<String, Object> r = header("dpo", policy, o);
            r.put("workers", workers);
            r.put("pairs", b);
            r.put("bf16", o.flag("bf16"));
            r.put("rows", 2 * b);
            r.put("prompt_len", t / 2);
            r.put("completion_len", t - t / 2);
            r.put("seq", t);
            r.put("reference", "identical copy (full fine-tune)");
            r.put("loss_type", "sigmoid");
            r.put("beta", 0.1);
            // each worker's micro-batch of pairs as parts at once on its cores (ALIGN4J_ROW_PARALLEL=1: whole)
            r.put("row_parallel_parts", DpoTrainer.splitsPairs(cfg) ? RowParallel.parts(policy, b / workers) : 1);
            double med = median(ms), tokens = 2.0 * b * t;
            r.put("ms_median", round(med));
            r.put("ms_min", round(Arrays.stream(ms).min().orElse(med)));
            r.put(
                    "ms_per_step_all",
                    Arrays.stream(all).map(BenchCommand::round).boxed().toList());
            r.put("iters", ms.length);
            r.put("warmup", warmup);
            r.put("steps_per_s", round(1000 / med));
            r.put("tokens_per_s", round(tokens / (med / 1000)));
            r.put("mfu", round(8.0 * policy.numParameters() * tokens / (med / 1000) / o.number("peak_flops")));
            // data parallel: rank 0's time inside collectives (the gradient all-reduce, the metric sums, waiting for
            // the other worker) over the timed steps, as a share of their wall time
            long[] from = warmup == 0 ? new long[] {start, collective0} : clock.ends.get(warmup - 1),
                    to = clock.ends.get(steps - 1);
            r.put("collective_share", round((double) (to[1] - from[1]) / (to[0] - from[0])));
            r.put("first_loss", rows.get(0).get("loss").asDouble());
            r.put("last_loss", rows.get(steps - 1).get("loss").asDouble());
            // contention over the whole train() call, as torch_bench.py reports it: this process's CPU
            // time / (wall x threads), and the cores other processes kept busy on average
            r.put("cpu_util", round((cpu1.ownSeconds() - cpu0.ownSeconds()) / (wall * torch.get_num_threads())));
            r.put("other_cores", round(cpu1.otherCoresSince(cpu0)));
            return r;
        } finally {
            AtomicFiles.deleteRecursively(dir);
        }
    }

    /**
     * Peak resident set of ONE LoRA DPO step as the trainer runs it ({@link DpoTrainer#train},
     * max_steps 1): LoRA r 16, alpha 32, dropout 0.05 (TRL's ModelConfig defaults) on q_proj and
     * v_proj, the reference = the policy with its adapters off, --batch pairs of --seq tokens,
     * gradient checkpointing per --gradient_checkpointing. After the model is built the kernel's
     * high-water mark is reset (5 written to /proc/self/clear_refs), so peak_rss_gib is the peak
     * during the step: the resident model and JVM plus everything the step allocates.
     */
    private static Map<String, Object> dpoMemory(Transformer policy, Options o) throws Exception {
        int b = o.integer("batch"), t = o.integer("seq");
        boolean checkpointing = o.flag("gradient_checkpointing");
        Lora.attach(policy, new Lora.Config(16, 32, 0.05, List.of("q_proj", "v_proj")), o.longValue("seed"));
        long trainable = policy.trainableParameters().values().stream()
                .mapToLong(Tensor::numel)
                .sum();
        List<PreferencePair> pairs = randomPairs(policy.config(), b, t, o.longValue("seed"));
        Path dir = Files.createTempDirectory("align4j-bench-dpo-memory");
        try {
            TrainingArgs args = TrainingArgs.defaults(dir).withSteps(1, b, 1, 1e-6).withLogging(1, 0).toBuilder()
                    .gradientCheckpointing(checkpointing)
                    .build();
            long before = statusKiB("VmRSS");
            boolean reset = resetPeakRss();
            long start = System.nanoTime();
            DpoTrainer.train(policy, null, pairs, List.of(), DpoConfig.defaults(args), 0, Map.of());
            double seconds = (System.nanoTime() - start) / 1e9;
            long peak = statusKiB("VmHWM");
            Map<String, Object> r = header("dpo_memory", policy, o);
            r.put("dtype", String.valueOf(policy.config().torchDtype()));
            r.put("trainable_params", trainable);
            r.put("lora", "r 16, alpha 32, q_proj,v_proj; reference = adapters off");
            r.put("gradient_checkpointing", checkpointing);
            r.put("pairs", b);
            r.put("prompt_len", t / 2);
            r.put("completion_len", t - t / 2);
            r.put("rss_before_step_gib", round(before / 1048576.0));
            r.put("peak_rss_gib", round(peak / 1048576.0));
            r.put("peak_is_step_only", reset); // false: VmHWM could not be reset, the peak covers the whole process
            r.put("java_heap_committed_gib", round(Runtime.getRuntime().totalMemory() / 1073741824.0));
            r.put("seconds", round(seconds));
            r.put("loss", MetricsLog.read(dir).get(0).get("loss").asDouble());
            return r;
        } finally {
            AtomicFiles.deleteRecursively(dir);
        }
    }

    /** n pairs of random ids: prompt seq/2 tokens, chosen and rejected seq - seq/2 tokens each. */
    private static List<PreferencePair> randomPairs(ModelConfig c, int n, int seq, long seed) {
        if (seq < 2)
            throw new CliException("bench: --seq must be >= 2 for DPO (a prompt and a completion token), got " + seq);
        Random rng = new Random(seed);
        int p = seq / 2, comp = seq - p;
        List<PreferencePair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new PreferencePair(ids(rng, c, p), ids(rng, c, comp), ids(rng, c, comp)));
        return out;
    }

    private static long[] ids(Random rng, ModelConfig c, int n) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextInt(c.vocabSize());
        return v;
    }

    /** Linux: writing 5 to clear_refs resets VmHWM to the current RSS (proc(5)); false where not allowed. */
    private static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /**
     * The end of every optimizer step as the trainer tells its listeners (rank 0's, right after the update), with
     * the worker's time inside collectives by then: {System.nanoTime(), Collective#collectiveNanos()} per step.
     */
    private static final class StepClock implements TrainingListener {
        private final Collective dist;
        final List<long[]> ends = new ArrayList<>();

        StepClock(Collective dist) {
            this.dist = dist;
        }

        @Override
        public void onStep(int step, int totalSteps) {
            ends.add(new long[] {System.nanoTime(), dist.collectiveNanos()});
        }
    }

    static long rssKiB() throws IOException {
        return statusKiB("VmRSS");
    }

    /** A kiB field of /proc/self/status (VmRSS: resident now, VmHWM: peak resident). */
    static long statusKiB(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IOException("/proc/self/status has no " + field + " line (bench memory modes need Linux)");
    }

    static Tensor randomIds(ModelConfig c, int b, int t, long seed) {
        org.bytedeco.pytorch.Generator g = torch.createCPUGenerator(seed);
        try (PointerScope s = new PointerScope()) {
            Tensor ids = torch.randint(
                    c.vocabSize(),
                    new long[] {b, t},
                    new org.bytedeco.pytorch.GeneratorOptional(g),
                    new TensorOptions(torch.ScalarType.Long));
            return Tensors.keep(s, ids);
        } finally {
            g.close();
        }
    }

    /**
     * Each timed step's wall time, and this process's CPU time and the other processes' load over the timed steps
     * ({@code from}/{@code to} null where /proc cannot be read).
     */
    private record Timed(double[] ms, CpuTime from, CpuTime to) {}

    private static Timed time(Options o, Runnable step) {
        for (int i = 0; i < o.integer("warmup"); i++) step.run();
        double[] ms = new double[o.integer("iters")];
        CpuTime from = cpuNow();
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            step.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return new Timed(ms, from, from == null ? null : cpuNow());
    }

    private static CpuTime cpuNow() {
        try {
            return CpuTime.now();
        } catch (IOException | RuntimeException e) {
            return null; // not Linux: the JSON line goes without the CPU figures
        }
    }

    /** The JSON line of a batch x seq mode: timings, tokens/s and MFU at flopsPerParam FLOPs per parameter and token. */
    private static Map<String, Object> throughput(
            String mode, Transformer model, Options o, Timed timed, double flopsPerParam) {
        Map<String, Object> r = header(mode, model, o);
        int b = o.integer("batch"), t = o.integer("seq");
        r.put("batch", b);
        r.put("seq", t);
        double[] ms = timed.ms();
        double tokens = (double) b * t, flopsPerToken = flopsPerParam * model.numParameters();
        double med = median(ms);
        r.put("ms_median", round(med));
        r.put("ms_min", round(Arrays.stream(ms).min().orElse(med)));
        r.put("iters", ms.length);
        r.put("tokens_per_s", round(tokens / (med / 1000)));
        r.put("mfu", round(flopsPerToken * tokens / (med / 1000) / o.number("peak_flops")));
        if (timed.to() != null && ms.length > 0) {
            // over the timed steps, as torch_bench.py reports them: CPU time a step (the work, whatever the load),
            // CPU time / (wall x threads), and the cores other processes kept busy on average
            double cpu = timed.to().ownSeconds() - timed.from().ownSeconds();
            double wall = (timed.to().nanoTime() - timed.from().nanoTime()) / 1e9;
            r.put("cpu_ms_per_step", round(cpu * 1000 / ms.length));
            r.put("cpu_util", round(cpu / (wall * torch.get_num_threads())));
            r.put("other_cores", round(timed.to().otherCoresSince(timed.from())));
        }
        return r;
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
