// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.engine.CpuTime;
import org.align4j.engine.Tensors;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.model.KvCache;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code bench --mode grpo_generate}: one GRPO generation batch, {@code --grpo_prompts} prompts
 * (default 8) of about {@code --prompt_len} tokens (default 128 here; lengths drawn from +-1/8 of
 * it, so rows are left-padded) x {@code --num_generations} samples each (default 8), {@code
 * --new_tokens} sampled tokens per row (temperature 1, no top-k/top-p, no stop id, so every row
 * generates them all), as {@code Rollouts.sample} lays it out (prompt-major).
 *
 * <p>Timed side by side in one process, rotating which goes first each round: {@code shared},
 * {@link Generator#generate} as trainers call it (each distinct prompt prefilled once, its KV cache
 * copied to its G rows); {@code unshared}, the same generator prefilling every row; and {@code
 * before}, {@link #baseline}, the generator as it was before issue 15 (every row prefilled, each
 * step rebuilding positions and the attention mask from the whole (B, seen) mask, sampling with
 * {@code torch.multinomial}, one exponential draw per row and vocabulary entry, on the calling
 * thread, decode attention through SDPA's GQA path). The first two sample by inverse CDF from the
 * same seed; the JSON says whether they gave the same tokens ({@code before} draws other numbers).
 * A fourth, {@code grouped}, is {@code shared} with each prompt's group drawing from its own seed,
 * as the grpo and rloo trainers sample since their sampling is sharded over data-parallel workers
 * (other tokens, the same work).
 * {@code other_cores} is how many cores other processes kept busy on average meanwhile.
 */
final class GrpoGenerateBench {
    private GrpoGenerateBench() {}

    /** The three generators timed, in the order of the JSON fields. */
    private static final String[] VARIANTS = {"shared", "unshared", "before", "grouped"};

    static Map<String, Object> run(Transformer model, Options o) throws java.io.IOException {
        int prompts = o.integer("grpo_prompts"), g = o.integer("num_generations");
        int promptLen = o.given("prompt_len") ? o.integer("prompt_len") : 128;
        int n = o.integer("new_tokens"), warmup = o.integer("warmup"), iters = o.integer("iters");
        if (iters < 1) throw new CliException("bench --mode grpo_generate: --iters must be >= 1, got " + iters);
        Random rng = new Random(o.longValue("seed") + 2);
        int vocab = model.config().vocabSize(), spread = Math.max(1, promptLen / 8);
        List<long[]> batch = new ArrayList<>();
        int[] lengths = new int[prompts];
        for (int p = 0; p < prompts; p++) {
            lengths[p] = Math.max(1, promptLen - spread + rng.nextInt(2 * spread + 1));
            long[] ids = new long[lengths[p]];
            for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(vocab);
            for (int s = 0; s < g; s++) batch.add(ids);
        }
        SamplingParams sp = new SamplingParams(1.0, 0, 1.0, n, o.longValue("seed"));
        int k = VARIANTS.length;
        double[][] ms = new double[k][iters];
        boolean sameTokens = true; // shared and unshared
        CpuTime cpu0 = CpuTime.now();
        long start = System.nanoTime();
        for (int i = -warmup; i < iters; i++) {
            Generator.Result[] res = new Generator.Result[k];
            for (int j = 0; j < k; j++) {
                int which = Math.floorMod(i + j, k); // rotate which runs first, so machine noise hits all three
                long t0 = System.nanoTime();
                res[which] = generate(VARIANTS[which], model, batch, sp, g);
                double took = (System.nanoTime() - t0) / 1e6;
                if (i >= 0) ms[which][i] = took;
            }
            for (int r = 0; r < batch.size(); r++) // before and grouped draw other numbers
            sameTokens &= Arrays.equals(res[0].tokens()[r], res[1].tokens()[r]);
        }
        double wall = (System.nanoTime() - start) / 1e9;
        CpuTime cpu1 = CpuTime.now();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impl", "align4j");
        r.put("mode", "grpo_generate");
        r.put("params", model.numParameters());
        r.put("threads", torch.get_num_threads());
        r.put("prompts", prompts);
        r.put("num_generations", g);
        r.put("rows", batch.size());
        r.put("prompt_lengths", Arrays.stream(lengths).boxed().toList());
        r.put("new_tokens", n);
        r.put("sampling", "temperature 1, inverse CDF (before: multinomial), seed " + o.longValue("seed"));
        double tokens = (double) batch.size() * n;
        double[] med = new double[k];
        for (int j = 0; j < k; j++) {
            String v = VARIANTS[j];
            med[j] = BenchCommand.median(ms[j]);
            double min = Arrays.stream(ms[j]).min().orElseThrow();
            r.put("ms_median_" + v, round(med[j]));
            r.put("ms_min_" + v, round(min));
            r.put(
                    "ms_all_" + v,
                    Arrays.stream(ms[j]).map(GrpoGenerateBench::round).boxed().toList());
            r.put("tokens_per_s_" + v, round(tokens / (med[j] / 1000)));
            r.put("tokens_per_s_best_" + v, round(tokens / (min / 1000)));
        }
        // the ratios of medians, and of the per-round times (the variants of one round share its machine load)
        r.put("speedup_shared_vs_unshared", round(med[1] / med[0]));
        r.put("speedup_shared_vs_before", round(med[2] / med[0]));
        r.put("speedup_unshared_vs_before", round(med[2] / med[1]));
        r.put("speedup_shared_vs_unshared_per_round", ratios(ms[1], ms[0]));
        r.put("speedup_shared_vs_before_per_round", ratios(ms[2], ms[0]));
        r.put("speedup_grouped_vs_shared", round(med[0] / med[3]));
        r.put("speedup_grouped_vs_shared_per_round", ratios(ms[0], ms[3]));
        r.put("same_tokens_unshared", sameTokens);
        r.put("iters", iters);
        r.put("warmup", warmup);
        r.put("cpu_util", round((cpu1.ownSeconds() - cpu0.ownSeconds()) / (wall * torch.get_num_threads())));
        r.put("other_cores", round(cpu1.otherCoresSince(cpu0)));
        return r;
    }

    private static Generator.Result generate(
            String variant, Transformer model, List<long[]> batch, SamplingParams sp, int g) {
        return switch (variant) {
            case "shared" -> Generator.generate(model, batch, sp, new int[0], 0, true);
            case "grouped" -> {
                long[] seeds = new long[batch.size() / g];
                for (int i = 0; i < seeds.length; i++) seeds[i] = sp.seed() + i + 1;
                yield Generator.generate(model, batch, sp, new int[0], 0, seeds);
            }
            case "unshared" -> Generator.generate(model, batch, sp, new int[0], 0, false);
            case "before" -> {
                Transformer.groupedDecodeAttention(false);
                try {
                    yield baseline(model, batch, sp, new int[0], 0);
                } finally {
                    Transformer.groupedDecodeAttention(true);
                }
            }
            default -> throw new IllegalArgumentException(variant);
        };
    }

    private static List<Double> ratios(double[] num, double[] den) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < num.length; i++) r.add(round(num[i] / den[i]));
        return r;
    }

    /**
     * The generator before issue 15, kept to measure against: every row prefilled (G copies of
     * each prompt), and each step copying the whole (B, seen) attention mask into a tensor from
     * which {@link Transformer#forward} rebuilds positions (cumsum) and the (B, 1, 1, seen) mask.
     */
    static Generator.Result baseline(
            Transformer model, List<long[]> prompts, SamplingParams params, int[] stopIds, long padId) {
        int b = prompts.size();
        int promptLen = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int total = promptLen + params.maxNewTokens();
        long[] ids = new long[b * promptLen];
        long[][] mask = new long[b][total];
        for (int r = 0; r < b; r++) {
            long[] p = prompts.get(r);
            int off = promptLen - p.length;
            Arrays.fill(ids, r * promptLen, r * promptLen + off, padId);
            System.arraycopy(p, 0, ids, r * promptLen + off, p.length);
            Arrays.fill(mask[r], off, promptLen, 1L);
        }
        long[][] out = new long[b][params.maxNewTokens()];
        float[][] outLogps = new float[b][params.maxNewTokens()];
        int[] lengths = new int[b];
        boolean[] stopped = new boolean[b];
        org.bytedeco.pytorch.Generator rng = torch.createCPUGenerator(params.seed());
        try (NoGradGuard noGrad = new NoGradGuard();
                KvCache cache = new KvCache(model.config(), b, total)) {
            long[] next = null;
            for (int step = 0; step < params.maxNewTokens(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor input = step == 0 ? Tensors.longs(ids, b, promptLen) : Tensors.longs(next, b, 1);
                    int seen = promptLen + step;
                    long[] flat = new long[b * seen];
                    for (int r = 0; r < b; r++) System.arraycopy(mask[r], 0, flat, r * seen, seen);
                    Tensor hidden = model.forward(input, Tensors.longs(flat, b, seen), cache);
                    Tensor logits = model.logits(hidden.narrow(1, hidden.size(1) - 1, 1))
                            .squeeze(1);
                    // torch.multinomial as the generator sampled before issue 15 (temperature only: the bench's
                    // settings)
                    Tensor scaled = logits.div(Tensors.scalar(params.temperature()));
                    Tensor picked = torch.multinomial(
                            scaled.softmax(-1), 1, false, new org.bytedeco.pytorch.GeneratorOptional(rng)); // (B, 1)
                    long[] chosen = Tensors.toLongs(picked);
                    float[] chosenLogp = Tensors.toFloats(scaled.log_softmax(-1).gather(-1, picked));
                    next = new long[b];
                    boolean allDone = true;
                    for (int r = 0; r < b; r++) {
                        if (stopped[r]) {
                            next[r] = padId;
                            continue;
                        }
                        out[r][lengths[r]] = chosen[r];
                        outLogps[r][lengths[r]] = chosenLogp[r];
                        lengths[r]++;
                        next[r] = chosen[r];
                        for (int s : stopIds) if (chosen[r] == s) stopped[r] = true;
                        allDone &= stopped[r];
                    }
                    for (int r = 0; r < b; r++) mask[r][seen] = 1L;
                    if (allDone) break;
                }
            }
        } finally {
            rng.close();
        }
        long[][] tokens = new long[b][];
        float[][] logps = new float[b][];
        for (int r = 0; r < b; r++) {
            tokens[r] = Arrays.copyOf(out[r], lengths[r]);
            logps[r] = Arrays.copyOf(outLogps[r], lengths[r]);
        }
        return new Generator.Result(tokens, logps, stopped);
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
