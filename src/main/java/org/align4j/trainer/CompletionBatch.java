// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.align4j.engine.Tensors;
import org.align4j.model.ChunkedLmHead;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * N (prompt, completion) rows scored in one right-padded batch: what every preference loss is built
 * from (TRL's concatenated forward: DPO, CPO and ORPO put the chosen rows first and the rejected
 * rows after them; KTO puts its mismatched KL rows after the real ones). Padding never changes a
 * row's numbers: padded keys are masked and padded positions are not read.
 */
public final class CompletionBatch {
    /** ids (N, T) and attention (N, T) int64; completion mask (N, T-1) float: 1 where position t predicts a completion token. */
    public record Inputs(Tensor ids, Tensor attention, Tensor completionMask, int rows, int length, long tokens) {}

    /**
     * Per-row quantities from one forward.
     *
     * @param logps (N) summed completion-token log-probs, differentiable
     * @param lengths (N) completion lengths as float
     * @param tokenLogps (N, T-1) per-position log-probs of the next token, 0 where not computed (mask before use)
     * @param logitsSum (N) detached: sum over completion tokens of the vocab-mean logit (TRL's logits/* divide by tokens)
     * @param entropySum (N) detached: summed next-token entropy over completion tokens
     * @param correct (N) detached: completion tokens whose argmax prediction is right
     * @param logSumP2 (N, T-1) detached log(sum_v p_v^2) per position (WPO; 0 where not computed), or null when not
     *     asked for
     */
    public record Output(
            Tensor logps,
            Tensor lengths,
            Tensor tokenLogps,
            Tensor logitsSum,
            Tensor entropySum,
            Tensor correct,
            Tensor logSumP2) {
        /** Rows [from, from + n) of every per-row tensor. */
        public Output rows(int from, int n) {
            return new Output(
                    logps.narrow(0, from, n),
                    lengths.narrow(0, from, n),
                    tokenLogps.narrow(0, from, n),
                    logitsSum.narrow(0, from, n),
                    entropySum.narrow(0, from, n),
                    correct.narrow(0, from, n),
                    logSumP2 == null ? null : logSumP2.narrow(0, from, n));
        }
    }

    private CompletionBatch() {}

    /** Builds the padded batch; call inside a PointerScope. Prompts must be non-empty (the first completion token needs context). */
    public static Inputs inputs(List<long[]> prompts, List<long[]> completions, long padId) {
        int n = prompts.size(), t = 0;
        if (completions.size() != n)
            throw new IllegalArgumentException(n + " prompts but " + completions.size() + " completions");
        for (int r = 0; r < n; r++) {
            if (prompts.get(r).length == 0)
                throw new IllegalArgumentException(
                        "row " + r + ": empty prompt (a completion's first token needs context)");
            if (completions.get(r).length == 0) throw new IllegalArgumentException("row " + r + ": empty completion");
            t = Math.max(t, prompts.get(r).length + completions.get(r).length);
        }
        long[] ids = new long[n * t], attn = new long[n * t];
        float[] mask = new float[n * (t - 1)];
        Arrays.fill(ids, padId);
        long tokens = 0;
        for (int r = 0; r < n; r++) {
            long[] p = prompts.get(r), c = completions.get(r);
            System.arraycopy(p, 0, ids, r * t, p.length);
            System.arraycopy(c, 0, ids, r * t + p.length, c.length);
            Arrays.fill(attn, r * t, r * t + p.length + c.length, 1L);
            // completion token j sits at p + j and is predicted from position p + j - 1
            Arrays.fill(mask, r * (t - 1) + p.length - 1, r * (t - 1) + p.length - 1 + c.length, 1f);
            tokens += p.length + c.length;
        }
        return new Inputs(
                Tensors.longs(ids, n, t), Tensors.longs(attn, n, t), Tensors.floats(mask, n, t - 1), n, t, tokens);
    }

    /** Rollouts as a padded batch: each row its prompt, then its sampled completion. */
    static Inputs rollouts(List<Rollouts.Rollout> rolls, long padId) {
        List<long[]> p = new java.util.ArrayList<>(), c = new java.util.ArrayList<>();
        for (Rollouts.Rollout r : rolls) {
            p.add(r.prompt().ids());
            c.add(r.completion());
        }
        return inputs(p, c, padId);
    }

    /** A micro-batch of B pairs as 2B rows, chosen completions first then rejected (TRL's concatenated forward). */
    public static Inputs pairs(List<org.align4j.data.PreferencePair> mb, long padId) {
        List<long[]> prompts = new java.util.ArrayList<>(), completions = new java.util.ArrayList<>();
        for (var p : mb) prompts.add(p.prompt());
        for (var p : mb) prompts.add(p.prompt());
        for (var p : mb) completions.add(p.chosen());
        for (var p : mb) completions.add(p.rejected());
        return inputs(prompts, completions, padId);
    }

    /** The per-row quantities from final hidden states (N, T, H). */
    public static Output fromHidden(Transformer model, Tensor hidden, Inputs in, boolean withLogSumP2) {
        return fromHidden(model, hidden, in, withLogSumP2, 1.0);
    }

    /**
     * The same with logits divided by the sampling temperature first, as TRL's GRPOTrainer scores
     * its rollouts (log-probs and entropy of the distribution the tokens were sampled from).
     */
    public static Output fromHidden(
            Transformer model, Tensor hidden, Inputs in, boolean withLogSumP2, double temperature) {
        return fromHidden(model, hidden, in, withLogSumP2, temperature, in.completionMask());
    }

    /**
     * The per-row quantities, with the per-position ones ({@code tokenLogps}, {@code logSumP2}) computed where
     * {@code positions} (N, T-1) is nonzero and 0 elsewhere; the completion tokens by default. The logits are never
     * held whole: {@link ChunkedLmHead} runs the LM head over chunks of positions and gives log-probs that
     * back-propagate without them.
     */
    public static Output fromHidden(
            Transformer model, Tensor hidden, Inputs in, boolean withLogSumP2, double temperature, Tensor positions) {
        int t = in.length();
        Tensor labels = in.ids().narrow(1, 1, t - 1);
        Tensor mask = in.completionMask();
        ChunkedLmHead.Result head = ChunkedLmHead.compute(
                model, hidden.narrow(1, 0, t - 1), labels, positions, temperature, true, withLogSumP2);
        Tensor tokenLogps = head.tokenLogps(); // (N, T-1)
        Tensor logps = Tensors.sum(tokenLogps.mul(mask), 1); // (N)
        Tensor lengths = Tensors.sum(mask, 1); // (N)
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor logitsSum = Tensors.sum(head.meanLogit().mul(mask), 1);
            Tensor entropySum = Tensors.sum(head.entropy().mul(mask), 1);
            Tensor correct = Tensors.sum(head.correct().mul(mask), 1);
            return new Output(logps, lengths, tokenLogps, logitsSum, entropySum, correct, head.logSumP2());
        }
    }

    /** Summed completion log-probs (N) without a graph: the reference model's side. */
    public static Tensor referenceLogps(Transformer ref, Inputs in) {
        return Tensors.sum(tokenLogpsNoGrad(ref, in, 1.0).mul(in.completionMask()), 1);
    }

    /**
     * Per-position next-token log-probs (N, T-1) at a temperature, without a graph (old-policy and reference
     * log-probs), at the completion tokens (0 elsewhere).
     */
    public static Tensor tokenLogpsNoGrad(Transformer model, Inputs in, double temperature) {
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor hidden = model.forward(in.ids(), in.attention(), null);
            return ChunkedLmHead.compute(
                            model,
                            hidden.narrow(1, 0, in.length() - 1),
                            in.ids().narrow(1, 1, in.length() - 1),
                            in.completionMask(),
                            temperature,
                            false,
                            false)
                    .tokenLogps();
        }
    }

    /**
     * Runs {@code lossFromHidden} on the policy's final hidden states for {@code in} as {@code pass} says: without a
     * graph, forward and backward, or with layer-wise recomputation. Returns the loss value.
     */
    static double forwardBackward(Transformer policy, Inputs in, Pass pass, Function<Tensor, Tensor> lossFromHidden) {
        switch (pass) {
            case NO_GRAD -> {
                try (NoGradGuard g = new NoGradGuard()) {
                    return lossFromHidden
                            .apply(policy.forward(in.ids(), in.attention(), null))
                            .item_double();
                }
            }
            case CHECKPOINTED -> {
                return policy.forwardBackwardCheckpointed(in.ids(), in.attention(), lossFromHidden);
            }
            default -> {
                Tensor loss = lossFromHidden.apply(policy.forward(in.ids(), in.attention(), null));
                loss.backward();
                return loss.item_double();
            }
        }
    }
}
