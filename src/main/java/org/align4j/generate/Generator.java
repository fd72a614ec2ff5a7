// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Autocast;
import org.align4j.engine.BlasThreads;
import org.align4j.engine.Tensors;
import org.align4j.model.KvCache;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Batched, KV-cached decoding with left-padded prompts (as transformers' {@code generate} does
 * for decoder-only models): one prefill over the padded prompts, then one token per row per step.
 *
 * <p>Rows that share a prompt (the G samples of a GRPO/RLOO/RJS/online-DPO group) share its
 * prefill: each distinct prompt runs through the model once and its keys and values are copied
 * to each of its rows ({@link KvCache#copyRows}). A row's prefill depends on that row alone, so
 * the tokens are the ones a prefill of every row gives (GeneratorTest checks this, greedy and
 * sampled). The cache is allocated once for prompt + max_new_tokens; each row's position and
 * which cached keys are padding are kept here, so a step feeds (B, 1) ids and reads a view of a
 * (B, 1, 1, total) key mask built once (no mask at all when no prompt is padded).
 *
 * <p>Each sampled token's log-prob is returned: log softmax(logits / T) at that token (T = 1 when
 * greedy), before top-k/top-p truncation. That is the quantity an RL trainer recomputes for the same
 * tokens (TRL GRPOTrainer divides logits by the temperature and truncates nothing), so the two
 * can be compared.
 */
public final class Generator {
    private Generator() {}

    /**
     * @param tokens per row, the generated ids up to and including the first stop id
     * @param logps per row, the log-prob of each generated id (same length as tokens)
     * @param stopped per row, true when it ended on a stop id, false when it hit max_new_tokens
     */
    public record Result(long[][] tokens, float[][] logps, boolean[] stopped) {}

    /** Generates for every row; rows with identical prompts share one prefill. */
    public static Result generate(
            Transformer model, List<long[]> prompts, SamplingParams params, int[] stopIds, long padId) {
        return generate(model, prompts, params, stopIds, padId, true);
    }

    /**
     * @param sharePrefixes prefill each distinct prompt once (true), or every row (false: the
     *     same tokens, more work; kept for the tests and the benchmark that compare the two)
     */
    public static Result generate(
            Transformer model,
            List<long[]> prompts,
            SamplingParams params,
            int[] stopIds,
            long padId,
            boolean sharePrefixes) {
        return generate(model, prompts, params, stopIds, padId, sharePrefixes, new long[] {params.seed()});
    }

    /**
     * Generates for every row, the rows split into {@code blockSeeds.length} equal blocks of consecutive rows, each
     * sampled from its own generator seeded with its seed ({@code params.seed()} is not used): a block's tokens then
     * do not depend on the other blocks, so a batch split across data-parallel workers samples what the whole batch
     * does (up to the float rounding of a smaller matrix product).
     */
    public static Result generate(
            Transformer model,
            List<long[]> prompts,
            SamplingParams params,
            int[] stopIds,
            long padId,
            long[] blockSeeds) {
        return generate(model, prompts, params, stopIds, padId, true, blockSeeds);
    }

    private static Result generate(
            Transformer model,
            List<long[]> prompts,
            SamplingParams params,
            int[] stopIds,
            long padId,
            boolean sharePrefixes,
            long[] blockSeeds) {
        int b = prompts.size();
        if (blockSeeds.length < 1 || b % blockSeeds.length != 0)
            throw new IllegalArgumentException(b + " rows do not split into " + blockSeeds.length + " equal blocks");
        if (b == 0) return new Result(new long[0][], new float[0][], new boolean[0]);
        if (prompts.stream().anyMatch(p -> p.length == 0))
            throw new IllegalArgumentException("empty prompt: every row needs at least one token");
        int promptLen = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int total = promptLen + params.maxNewTokens();
        Prefill prefill = Prefill.of(prompts, sharePrefixes, promptLen, padId);

        long[][] out = new long[b][params.maxNewTokens()];
        float[][] outLogps = new float[b][params.maxNewTokens()];
        int[] lengths = new int[b];
        boolean[] stopped = new boolean[b];
        long[] next = new long[b]; // the id each row feeds the next step
        long[] position = new long[b]; // each row's next position = its real tokens so far
        for (int r = 0; r < b; r++) position[r] = prompts.get(r).length;

        List<org.bytedeco.pytorch.Generator> rngs = new ArrayList<>();
        for (long seed : blockSeeds) rngs.add(torch.createCPUGenerator(seed));
        // float32 also inside a bf16 step: autocast without a cast cache would cast every weight at every decode step,
        // which costs more than bfloat16 products save (measured: 64 rows x 64 tokens, 5.3 s against 4.2 s)
        try (Autocast float32 = Autocast.bf16(false);
                NoGradGuard noGrad = new NoGradGuard();
                KvCache cache = new KvCache(model.config(), b, total);
                PointerScope whole = new PointerScope()) {
            // (B, 1, 1, total) bool: key k of row r is real when k >= r's left padding; null = no padding
            Tensor keyMask = prefill.padded() ? keyMask(prompts, promptLen, total) : null;
            for (int step = 0; step < params.maxNewTokens(); step++) {
                BlasThreads.adapt(); // one BLAS thread while other processes keep the cores busy
                try (PointerScope scope = new PointerScope()) {
                    Tensor logits; // (B, V) next-token logits
                    if (step == 0) {
                        logits = prefill.run(model, cache);
                    } else {
                        Tensor hidden = model.forwardStep(
                                Tensors.longs(next, b, 1),
                                Tensors.longs(position, b, 1),
                                keyMask == null ? null : keyMask.narrow(3, 0, cache.length() + 1),
                                cache); // (B, 1, H)
                        logits = model.logits(hidden).squeeze(1);
                        for (int r = 0; r < b; r++) position[r]++;
                    }
                    long[] chosen = new long[b];
                    float[] chosenLogp = new float[b];
                    choose(logits, params, () -> uniforms(rngs, b), chosen, chosenLogp);
                    boolean allDone = true;
                    for (int r = 0; r < b; r++) {
                        if (stopped[r]) {
                            next[r] = padId; // a finished row keeps stepping on padding, never read
                            continue;
                        }
                        out[r][lengths[r]] = chosen[r];
                        outLogps[r][lengths[r]] = chosenLogp[r];
                        lengths[r]++;
                        next[r] = chosen[r];
                        for (int s : stopIds) if (chosen[r] == s) stopped[r] = true;
                        allDone &= stopped[r];
                    }
                    if (allDone) break;
                }
            }
        } finally {
            rngs.forEach(org.bytedeco.pytorch.Generator::close);
        }
        long[][] tokens = new long[b][];
        float[][] logps = new float[b][];
        for (int r = 0; r < b; r++) {
            tokens[r] = Arrays.copyOf(out[r], lengths[r]);
            logps[r] = Arrays.copyOf(outLogps[r], lengths[r]);
        }
        return new Result(tokens, logps, stopped);
    }

    /**
     * The prompt forward: the U distinct prompts left-padded to the longest, and for each of the B
     * rows the distinct prompt it takes ({@code source[r]}).
     */
    private record Prefill(long[] ids, long[] mask, int distinct, int promptLen, int[] source, boolean padded) {
        static Prefill of(List<long[]> prompts, boolean share, int promptLen, long padId) {
            List<long[]> distinct = new ArrayList<>();
            int[] source = new int[prompts.size()];
            Map<List<Long>, Integer> index = new HashMap<>();
            for (int r = 0; r < prompts.size(); r++) {
                long[] p = prompts.get(r);
                Integer u = share ? index.get(asList(p)) : null;
                if (u == null) {
                    u = distinct.size();
                    distinct.add(p);
                    if (share) index.put(asList(p), u);
                }
                source[r] = u;
            }
            int u = distinct.size();
            long[] ids = new long[u * promptLen], mask = new long[u * promptLen];
            boolean padded = false;
            for (int i = 0; i < u; i++) {
                long[] p = distinct.get(i);
                int off = promptLen - p.length;
                padded |= off > 0;
                Arrays.fill(ids, i * promptLen, i * promptLen + off, padId);
                System.arraycopy(p, 0, ids, i * promptLen + off, p.length);
                Arrays.fill(mask, i * promptLen + off, (i + 1) * promptLen, 1L);
            }
            return new Prefill(ids, mask, u, promptLen, source, padded);
        }

        /** Runs the prompts into {@code cache} (B rows) and returns the (B, V) logits of each row's last prompt token. */
        Tensor run(Transformer model, KvCache cache) {
            int b = source.length;
            Tensor idsT = Tensors.longs(ids, distinct, promptLen);
            Tensor maskT = padded ? Tensors.longs(mask, distinct, promptLen) : null; // null: causal, no padding
            if (distinct == b && isIdentity(source)) {
                Tensor hidden = model.forward(idsT, maskT, cache); // (B, P, H)
                return model.logits(hidden.narrow(1, promptLen - 1, 1)).squeeze(1);
            }
            Tensor rows = Tensors.longs(Arrays.stream(source).asLongStream().toArray(), b); // (B)
            try (KvCache once = new KvCache(model.config(), distinct, promptLen)) {
                Tensor hidden = model.forward(idsT, maskT, once); // (U, P, H)
                cache.copyRows(once, rows);
                return model.logits(hidden.narrow(1, promptLen - 1, 1))
                        .squeeze(1)
                        .index_select(0, rows); // (U, V) -> (B, V)
            }
        }

        private static boolean isIdentity(int[] source) {
            for (int r = 0; r < source.length; r++) if (source[r] != r) return false;
            return true;
        }

        private static List<Long> asList(long[] p) {
            return Arrays.stream(p).boxed().toList();
        }
    }

    /** (B, 1, 1, total) bool: true where key k of row r is a real token (k >= its left padding). */
    private static Tensor keyMask(List<long[]> prompts, int promptLen, int total) {
        int b = prompts.size();
        long[] m = new long[b * total];
        for (int r = 0; r < b; r++) Arrays.fill(m, r * total + promptLen - prompts.get(r).length, (r + 1) * total, 1L);
        return Tensors.longs(m, b, 1, 1, total).ne(Tensors.scalar(0L));
    }

    /** Picks one token per row from (B, V) logits and the token's log-prob (see class doc), drawing from {@code rng}. */
    public static void choose(
            Tensor logits, SamplingParams p, org.bytedeco.pytorch.Generator rng, long[] chosen, float[] chosenLogp) {
        choose(logits, p, () -> uniforms(List.of(rng), logits.size(0)), chosen, chosenLogp);
    }

    /**
     * (rows, 1) float64 uniforms in [0, 1), block c's rows (rows / rngs.size() of them) drawn from generator c: one
     * number per row and step, whatever the vocabulary.
     */
    static Tensor uniforms(List<org.bytedeco.pytorch.Generator> rngs, long rows) {
        long block = rows / rngs.size();
        try (TensorOptions f64 = new TensorOptions(torch.ScalarType.Double)) {
            Tensor u = torch.empty(new long[] {rows, 1}, f64, null);
            for (int c = 0; c < rngs.size(); c++)
                try (GeneratorOptional g = new GeneratorOptional(rngs.get(c));
                        Tensor part = u.narrow(0, c * block, block)) {
                    part.uniform_(0, 1, g); // in place: block c's rows
                }
            return u;
        }
    }

    /**
     * Picks one token per row from (B, V) logits and the token's log-prob. Sampling is by inverse CDF
     * ({@link InverseCdf}): with u ~ U[0, 1) for the row, the first token whose cumulative probability (float64)
     * exceeds u times the total. That draws one number per row where torch.multinomial's exponential race draws one per
     * row and vocabulary entry (64 rows x 16,384: 18 ms on this CPU, a third of a decode step). Greedy draws nothing.
     *
     * <p>Unfiltered (no top-k, no top-p), the picked token's log-prob is the log of the probability the sampler read:
     * one softmax pass over (B, V) serves both, where log_softmax, exp and a float64 cumulative sum took three (4.5
     * against 2.1 ms a decode step at 64 x 16,384, docs/perf-notes.md). Filtered, it is the unfiltered log_softmax's.
     *
     * @param uniforms (B, 1) float64 in [0, 1), asked for only when sampling
     */
    static void choose(
            Tensor logits,
            SamplingParams p,
            java.util.function.Supplier<Tensor> uniforms,
            long[] chosen,
            float[] chosenLogp) {
        // x / 1 is x: temperature 1 (GRPO's default) skips a pass over the (B, V) logits
        Tensor scaled = p.isGreedy() || p.temperature() == 1.0 ? logits : logits.div(Tensors.scalar(p.temperature()));
        if (p.isGreedy()) {
            Tensor picked = logits.argmax(new LongOptional(-1), true); // (B, 1)
            System.arraycopy(Tensors.toLongs(picked), 0, chosen, 0, chosen.length);
            System.arraycopy(
                    Tensors.toFloats(scaled.log_softmax(-1).gather(-1, picked)), 0, chosenLogp, 0, chosen.length);
            return;
        }
        Tensor filtered = scaled;
        if (p.topK() > 0 && p.topK() < filtered.size(-1)) {
            // transformers TopKLogitsWarper: drop everything below the k-th largest logit
            Tensor kth = torch.topk(filtered, p.topK()).get0().narrow(-1, p.topK() - 1, 1); // (B, 1)
            filtered = filtered.masked_fill(filtered.lt(kth), Tensors.scalar(Double.NEGATIVE_INFINITY));
        }
        if (p.topP() < 1.0) {
            // transformers TopPLogitsWarper: sort ascending, drop the tokens whose cumulative
            // probability stays <= 1 - top_p; the most likely token always survives
            T_TensorTensor_T sorted = torch.sort(filtered, -1, false);
            Tensor cum = sorted.get0().softmax(-1).cumsum(-1);
            Tensor removeSorted = cum.le(Tensors.scalar(1 - p.topP()));
            removeSorted.narrow(-1, removeSorted.size(-1) - 1, 1).fill_(Tensors.scalar(0L));
            Tensor remove = removeSorted.scatter(-1, sorted.get1(), removeSorted);
            filtered = filtered.masked_fill(remove, Tensors.scalar(Double.NEGATIVE_INFINITY));
        }
        Tensor probs = filtered.softmax(-1).contiguous(); // (B, V)
        long[] ids = InverseCdf.pick(probs, Tensors.toDoubles(uniforms.get()));
        System.arraycopy(ids, 0, chosen, 0, ids.length);
        if (filtered == scaled) {
            float[] picked = InverseCdf.read(probs, ids);
            for (int r = 0; r < ids.length; r++) chosenLogp[r] = (float) Math.log(picked[r]);
        } else {
            Tensor picked = Tensors.longs(ids, ids.length, 1); // (B, 1)
            float[] lp = Tensors.toFloats(scaled.log_softmax(-1).gather(-1, picked));
            System.arraycopy(lp, 0, chosenLogp, 0, lp.length);
        }
    }
}
