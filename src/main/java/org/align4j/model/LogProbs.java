// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import java.util.Arrays;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Log-probabilities of given tokens under a causal LM, the quantity every preference loss is
 * built on. A completion's log-prob is the sum over its tokens (DESIGN.md: the completion's ids
 * followed by EOS, all counted).
 */
public final class LogProbs {
    private LogProbs() {}

    /**
     * log p(labels[b, t] | ...) = logits[b, t, labels[b, t]] - logsumexp(logits[b, t, :]).
     * logits (B, T, V), labels (B, T) int64 -> (B, T). Gathering then subtracting avoids a
     * second (B, T, V) tensor that log_softmax would allocate.
     */
    public static Tensor tokenLogps(Tensor logits, Tensor labels) {
        Tensor picked = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1); // (B, T)
        return picked.sub(logits.logsumexp(new long[] {-1}, false)); // (B, T)
    }

    /**
     * Per-token log-probs of each completion given its prompt, for rows scored together in one
     * right-padded batch (padding never changes a row's result: padded keys are masked and
     * padded positions are not read).
     *
     * @param prompts prompt ids per row (non-empty)
     * @param completions completion ids per row, EOS already appended where the caller wants it
     * @return per row, one log-prob per completion token
     */
    public static float[][] completionTokenLogps(
            Transformer model, List<long[]> prompts, List<long[]> completions, long padId) {
        int b = prompts.size();
        if (completions.size() != b)
            throw new IllegalArgumentException(b + " prompts but " + completions.size() + " completions");
        int t = 0;
        for (int r = 0; r < b; r++) {
            if (prompts.get(r).length == 0)
                throw new IllegalArgumentException(
                        "row " + r + ": empty prompt (a completion's first token needs context)");
            t = Math.max(t, prompts.get(r).length + completions.get(r).length);
        }
        long[] ids = new long[b * t], mask = new long[b * t];
        Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            long[] p = prompts.get(r), c = completions.get(r);
            System.arraycopy(p, 0, ids, r * t, p.length);
            System.arraycopy(c, 0, ids, r * t + p.length, c.length);
            Arrays.fill(mask, r * t, r * t + p.length + c.length, 1L);
        }
        float[][] result = new float[b][];
        try (NoGradGuard g = new NoGradGuard();
                PointerScope scope = new PointerScope()) {
            Tensor idsT = Tensors.longs(ids, b, t), maskT = Tensors.longs(mask, b, t);
            Tensor hidden = model.forward(idsT, maskT, null); // (B, T, H)
            // position i predicts token i + 1; the LM head runs over chunks of the completion positions
            float[] completion = new float[b * (t - 1)];
            for (int r = 0; r < b; r++) {
                int p = prompts.get(r).length;
                Arrays.fill(completion, r * (t - 1) + p - 1, r * (t - 1) + p - 1 + completions.get(r).length, 1f);
            }
            float[] lp = Tensors.toFloats(ChunkedLmHead.compute(
                            model,
                            hidden.narrow(1, 0, t - 1),
                            idsT.narrow(1, 1, t - 1),
                            Tensors.floats(completion, b, t - 1),
                            1.0,
                            false,
                            false)
                    .tokenLogps()); // (B, T-1) flat
            for (int r = 0; r < b; r++) {
                int p = prompts.get(r).length, c = completions.get(r).length;
                result[r] = new float[c];
                // completion token j sits at position p + j and is predicted from position p + j - 1
                System.arraycopy(lp, r * (t - 1) + p - 1, result[r], 0, c);
            }
        }
        return result;
    }

    public static double sum(float[] xs) {
        double s = 0;
        for (float x : xs) s += x;
        return s;
    }
}
