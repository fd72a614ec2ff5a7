// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import java.util.ArrayList;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorBase;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.VoidTensorHook;
import org.bytedeco.pytorch.global.torch;

/**
 * Next-token log-probs, and the per-token statistics trainers log, from final hidden states
 * without ever holding the (N, T, V) logits or their gradient: with Qwen's vocabulary (151,936)
 * one (2, 511) DPO pair's logits are 620 MB, and autograd kept several tensors that size for the
 * backward. The way Liger's and Unsloth's fused linear cross-entropy do it, adapted to losses
 * that weigh every token's log-prob differently (GRPO, WPO, LD-DPO, CHORD):
 *
 * <ul>
 *   <li>Forward, without a graph, over chunks of rows (positions) small enough that a chunk's
 *       logits (rows x V) stay under {@link #CHUNK_BYTES}: z = h W^T / T, lse = logsumexp(z),
 *       log p(label) = z[label] - lse, and the statistics (mean logit, entropy, argmax = label,
 *       log sum p^2).
 *   <li>The gradient w.r.t. the hidden state: log p(label) at one position depends on that
 *       position's h alone, with d log p / d h = (W[label] - p W) / T, p = softmax(z) (H numbers
 *       per position). It is computed in the same chunk pass and attached to the detached value as
 *       {@code value + sum_H((h - h.detach()) * J)}: the value is unchanged (the added term is 0)
 *       and backward gives dL/dh = g * J for any upstream g, which is what autograd through the
 *       logits gave, without the (N, T, V) tensors.
 *   <li>The gradient w.r.t. the LM head weight (full fine-tuning; with LoRA the head is frozen)
 *       needs the upstream g, known only during backward: a zero leaf added to the log-probs
 *       carries a hook that receives g and recomputes the logits chunk by chunk, adding
 *       dW = sum ((onehot(label) - p) g / T)^T h into W's gradient.
 * </ul>
 *
 * Only the positions a caller needs (its loss mask) are computed; every output is 0 elsewhere.
 */
public final class ChunkedLmHead {
    /** Bytes of float32 logits one chunk holds; its softmax and temporaries are a few times this. */
    static final long CHUNK_BYTES = 64L << 20;

    /** Rows per chunk from the environment (tests force several chunks on the tiny models), else from {@link #CHUNK_BYTES}. */
    private static final long FORCED_CHUNK_ROWS = parseRows(System.getenv("ALIGN4J_LM_HEAD_CHUNK_ROWS"));

    private ChunkedLmHead() {}

    /**
     * @param tokenLogps (N, T) log p(label); differentiable w.r.t. the hidden states and the LM head when they require
     *     grad (and grad mode is on)
     * @param meanLogit (N, T) detached: the vocabulary mean of the (temperature-scaled) logits, or null
     * @param entropy (N, T) detached next-token entropy, or null
     * @param correct (N, T) detached float: 1 where the argmax is the label, or null
     * @param logSumP2 (N, T) detached log sum_v p_v^2 (WPO), or null
     */
    public record Result(Tensor tokenLogps, Tensor meanLogit, Tensor entropy, Tensor correct, Tensor logSumP2) {}

    /**
     * @param hidden (N, T, H) final hidden states (after the last norm), position t predicting labels[t]
     * @param labels (N, T) int64
     * @param positions (N, T) float or int: nonzero where the caller reads the outputs; null = everywhere
     * @param temperature logits are divided by it first (1 = none)
     * @param metrics also compute meanLogit, entropy and correct
     * @param logSumP2 also compute log sum p^2
     */
    public static Result compute(
            Transformer model,
            Tensor hidden,
            Tensor labels,
            Tensor positions,
            double temperature,
            boolean metrics,
            boolean logSumP2) {
        long rows = FORCED_CHUNK_ROWS > 0
                ? FORCED_CHUNK_ROWS
                : Math.max(1, CHUNK_BYTES / (4L * model.config().vocabSize()));
        return compute(model, hidden, labels, positions, temperature, metrics, logSumP2, rows);
    }

    static Result compute(
            Transformer model,
            Tensor hidden,
            Tensor labels,
            Tensor positions,
            double temperature,
            boolean metrics,
            boolean logSumP2,
            long chunkRows) {
        long n = hidden.size(0), t = hidden.size(1), h = hidden.size(2), m = n * t;
        Tensor w = model.lmHeadWeight(); // (V, H)
        boolean grad = GradMode.is_enabled();
        boolean gradHidden = grad && hidden.requires_grad(), gradWeight = grad && w.requires_grad();
        Tensor hRows, yRows, index; // the K needed positions: (K, H), (K), (K) indices into the N*T positions
        boolean[] wanted = {true, metrics, metrics, metrics, logSumP2, gradHidden};
        // log p, mean logit, entropy, correct, log sum p^2, each (N, T); J = d log p / d h (N, T, H)
        Tensor[] out = new Tensor[6];
        try (NoGradGuard g = new NoGradGuard()) {
            hRows = hidden.detach().reshape(m, h);
            yRows = labels.reshape(m);
            index = positions == null
                    ? null
                    : positions.reshape(m).ne(Tensors.scalar(0L)).nonzero().squeeze(1);
            if (index != null) {
                hRows = hRows.index_select(0, index);
                yRows = yRows.index_select(0, index);
            }
            long k = hRows.size(0);
            List<List<Tensor>> parts = new ArrayList<>();
            for (int i = 0; i < wanted.length; i++) parts.add(new ArrayList<>());
            for (long start = 0; start < k; start += chunkRows) {
                long c = Math.min(chunkRows, k - start);
                Tensor hc = hRows.narrow(0, start, c), yc = yRows.narrow(0, start, c);
                // the chunk's (c, V) temporaries are freed here; only its (c) and (c, H) results are kept
                Tensor[] piece = keepResults(() -> chunk(w, hc, yc, temperature, wanted));
                for (int i = 0; i < wanted.length; i++)
                    if (wanted[i]) parts.get(i).add(piece[i]);
            }
            for (int i = 0; i < wanted.length; i++) {
                if (!wanted[i]) continue;
                long[] shape = i == 5 ? new long[] {n, t, h} : new long[] {n, t};
                out[i] = scatterRows(cat(parts.get(i), i == 5 ? new long[] {0, h} : new long[] {0}), index, m)
                        .view(shape);
            }
        }
        Tensor tokenLogps = out[0];
        if (gradHidden) {
            // value + 0, with d/dh = J: (N, T, H) * (N, T, H) summed over H
            tokenLogps = tokenLogps.add(Tensors.sum(hidden.sub(hidden.detach()).mul(out[5]), -1));
        }
        if (gradWeight)
            tokenLogps = tokenLogps.add(weightGradientLeaf(w, hRows, yRows, index, n, t, temperature, chunkRows));
        return new Result(tokenLogps, out[1], out[2], out[3], out[4]);
    }

    /**
     * One chunk of c positions: {log p, mean logit, entropy, correct, log sum p^2}, each (c), and J (c, H); the ones
     * not {@code wanted} are null. hc (c, H), yc (c).
     */
    private static Tensor[] chunk(Tensor w, Tensor hc, Tensor yc, double temperature, boolean[] wanted) {
        boolean metrics = wanted[1], logSumP2 = wanted[4], jacobian = wanted[5];
        Tensor[] r = new Tensor[6];
        Tensor z = torch.linear(hc, w).to(torch.ScalarType.Float); // (c, V), float32 also under bf16 autocast
        if (temperature != 1.0) z.div_(Tensors.scalar(temperature));
        Tensor lse = z.logsumexp(new long[] {-1}, true); // (c, 1)
        r[0] = z.gather(1, yc.unsqueeze(1)).sub(lse).squeeze(1);
        if (metrics || jacobian) {
            Tensor p = z.sub(lse).exp(); // (c, V) softmax
            if (metrics) {
                r[1] = Tensors.mean(z, -1);
                // entropy = logsumexp(z) - sum_v p_v z_v
                r[2] = lse.squeeze(1).sub(Tensors.sum(p.mul(z), -1));
                r[3] = z.argmax(new LongOptional(-1), false).eq(yc).to(torch.ScalarType.Float);
            }
            // d log p(y) / d h = (W[y] - p W) / T: (c, H)
            if (jacobian) {
                r[5] = w.index_select(0, yc).sub(p.mm(w));
                if (temperature != 1.0) r[5] = r[5].div(Tensors.scalar(temperature));
            }
        }
        // log sum_v p_v^2 = logsumexp(2 z) - 2 logsumexp(z)
        if (logSumP2)
            r[4] = z.mul(Tensors.scalar(2.0))
                    .logsumexp(new long[] {-1}, false)
                    .sub(lse.squeeze(1).mul(Tensors.scalar(2.0)));
        return r;
    }

    /**
     * A zero (N, T) leaf whose gradient hook adds the LM head weight's gradient: the hook gets g = dL/d log p and
     * recomputes the logits chunk by chunk, dW += ((onehot(y) - p) * g / T)^T h, into W.grad (where autograd would have
     * put it; with tied embeddings the embedding's own gradient adds to it as usual).
     */
    private static Tensor weightGradientLeaf(
            Tensor w, Tensor hRows, Tensor yRows, Tensor index, long n, long t, double temperature, long chunkRows) {
        Tensor zero = torch.zeros(new long[] {n, t}, new TensorOptions(torch.ScalarType.Float))
                .requires_grad_(true);
        VoidTensorHook hook = new VoidTensorHook() {
            @Override
            public void call(TensorBase upstream) {
                try (PointerScope s = new PointerScope();
                        NoGradGuard g = new NoGradGuard()) {
                    Tensor gRows = new Tensor(upstream).reshape(n * t);
                    if (index != null) gRows = gRows.index_select(0, index);
                    if (temperature != 1.0) gRows = gRows.div(Tensors.scalar(temperature));
                    Tensor dw = torch.zeros_like(w); // (V, H)
                    long k = hRows.size(0);
                    for (long start = 0; start < k; start += chunkRows) {
                        try (PointerScope cs = new PointerScope()) {
                            long c = Math.min(chunkRows, k - start);
                            Tensor hc = hRows.narrow(0, start, c),
                                    gc = gRows.narrow(0, start, c).unsqueeze(1);
                            Tensor z = torch.linear(hc, w).to(torch.ScalarType.Float); // (c, V)
                            if (temperature != 1.0) z.div_(Tensors.scalar(temperature));
                            Tensor dz = z.softmax(-1).mul_(gc.neg()); // -p g
                            dz.scatter_add_(1, yRows.narrow(0, start, c).unsqueeze(1), gc); // + onehot(y) g
                            dw.addmm_(dz.t(), hc); // (V, c) x (c, H)
                        }
                    }
                    Tensor current = w.grad();
                    if (current.defined()) current.add_(dw);
                    else w.mutable_grad().put(dw);
                }
            }
        };
        PointerScope scope = PointerScope.getInnerScope();
        if (scope == null)
            throw new IllegalStateException("a trainable LM head needs the loss computed inside a PointerScope");
        scope.attach(hook); // the callback lives until the caller's scope closes, after its backward
        zero.register_hook(hook);
        return zero;
    }

    /**
     * Runs {@code body} in its own scope and keeps only the tensors it returns (they join the caller's scope), as
     * {@link Tensors#scoped} does for one tensor.
     */
    private static Tensor[] keepResults(java.util.function.Supplier<Tensor[]> body) {
        Tensor[] result;
        try (PointerScope s = new PointerScope()) {
            result = body.get();
            for (Tensor r : result) if (r != null) r.retainReference(); // survives s.close()
        }
        PointerScope outer = PointerScope.getInnerScope();
        for (Tensor r : result) {
            if (r == null || outer == null) continue;
            outer.attach(r);
            r.releaseReference(); // now owned by the caller's scope alone
        }
        return result;
    }

    /** Concatenates chunk results along dim 0; an empty tensor of {@code emptyShape} when there were no rows. */
    private static Tensor cat(List<Tensor> parts, long[] emptyShape) {
        if (parts.isEmpty()) return torch.zeros(emptyShape, new TensorOptions(torch.ScalarType.Float));
        return parts.size() == 1 ? parts.get(0) : torch.cat(new TensorVector(parts.toArray(new Tensor[0])), 0);
    }

    /** (K, ...) rows at {@code index} in an (M, ...) zero tensor; the rows themselves when every position was computed. */
    private static Tensor scatterRows(Tensor rows, Tensor index, long m) {
        if (index == null) return rows;
        long[] shape = Tensors.shape(rows);
        shape[0] = m;
        return torch.zeros(shape, new TensorOptions(torch.ScalarType.Float)).index_copy_(0, index, rows);
    }

    private static long parseRows(String s) {
        if (s == null || s.isBlank()) return 0;
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("ALIGN4J_LM_HEAD_CHUNK_ROWS must be a whole number, got '" + s + "'");
        }
    }
}
