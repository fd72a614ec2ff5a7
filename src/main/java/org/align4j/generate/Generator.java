// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

import java.util.Arrays;
import java.util.List;
import org.align4j.engine.Tensors;
import org.align4j.model.KvCache;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Batched, KV-cached decoding with left-padded prompts (as transformers' {@code generate} does
 * for decoder-only models): one prefill over the padded prompts, then one token per row per step.
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

    public static Result generate(
            Transformer model, List<long[]> prompts, SamplingParams params, int[] stopIds, long padId) {
        int b = prompts.size();
        if (b == 0) return new Result(new long[0][], new float[0][], new boolean[0]);
        int promptLen = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        if (prompts.stream().anyMatch(p -> p.length == 0))
            throw new IllegalArgumentException("empty prompt: every row needs at least one token");
        int total = promptLen + params.maxNewTokens();

        // left padding: (B, Tp) ids and the running (B, Tp + step) mask
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
            long[] next = null; // (B) ids fed at this step
            for (int step = 0; step < params.maxNewTokens(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor input = step == 0 ? Tensors.longs(ids, b, promptLen) : Tensors.longs(next, b, 1);
                    int seen = promptLen + step;
                    Tensor m = Tensors.longs(flatten(mask, seen), b, seen);
                    Tensor hidden = model.forward(input, m, cache); // (B, T, H)
                    Tensor logits = model.logits(hidden.narrow(1, hidden.size(1) - 1, 1))
                            .squeeze(1); // (B, V)
                    long[] chosen = new long[b];
                    float[] chosenLogp = new float[b];
                    choose(logits, params, rng, chosen, chosenLogp);
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
        return new Result(tokens, logps, stopped);
    }

    /** Picks one token per row from (B, V) logits and the token's log-prob (see class doc). */
    static void choose(
            Tensor logits, SamplingParams p, org.bytedeco.pytorch.Generator rng, long[] chosen, float[] chosenLogp) {
        Tensor scaled = p.isGreedy() ? logits : logits.div(Tensors.scalar(p.temperature()));
        Tensor logprobs = scaled.log_softmax(-1); // (B, V)
        Tensor picked;
        if (p.isGreedy()) {
            picked = logits.argmax(new LongOptional(-1), true); // (B, 1)
        } else {
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
            picked = torch.multinomial(filtered.softmax(-1), 1, false, new GeneratorOptional(rng)); // (B, 1)
        }
        long[] ids = Tensors.toLongs(picked);
        float[] lp = Tensors.toFloats(logprobs.gather(-1, picked));
        System.arraycopy(ids, 0, chosen, 0, ids.length);
        System.arraycopy(lp, 0, chosenLogp, 0, lp.length);
    }

    private static long[] flatten(long[][] rows, int cols) {
        long[] flat = new long[rows.length * cols];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, flat, r * cols, cols);
        return flat;
    }
}
