// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Eager grouped-query attention (transformers' eager_attention_forward) without copying K/V per group. */
final class Attention {
    private Attention() {}

    /**
     * q (B, Hq, Tq, D); k, v (B, Hkv, Tk, D); mask (B, 1, Tq, Tk) bool (true = may attend) or null.
     * Queries of the Hq / Hkv heads that share one K/V head are stacked as rows, so one batched
     * matmul per K/V head serves the whole group. Returns (B, Hq, Tq, D).
     */
    static Tensor eager(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal) {
        long b = q.size(0), hq = q.size(1), tq = q.size(2), d = q.size(3), hkv = k.size(1), g = hq / hkv, tk = k.size(2);
        Tensor qg = q.reshape(b, hkv, g * tq, d);
        Tensor scores = torch.matmul(qg, k.transpose(-1, -2)).mul(Tensors.scalar(1.0 / Math.sqrt(d))).view(b, hkv, g, tq, tk);
        Tensor allowed = mask;
        if (allowed == null && causal) allowed = torch.ones(new long[] {tq, tk}, new TensorOptions(torch.ScalarType.Bool)).tril(tk - tq);
        if (allowed != null) {
            Tensor m = allowed.dim() == 2 ? allowed.view(1, 1, 1, tq, tk) : allowed.view(b, 1, 1, tq, tk);
            scores = scores.masked_fill(m.logical_not(), Tensors.scalar(Double.NEGATIVE_INFINITY));
        }
        Tensor probs = scores.softmax(-1).view(b, hkv, g * tq, tk);
        return torch.matmul(probs, v).view(b, hq, tq, d);
    }
}
