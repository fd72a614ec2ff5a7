// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * LD-DPO's length-desensitised log-probs (Liu et al. 2024, arXiv 2409.06411; TRL's {@code ld_alpha}): of a pair's two
 * responses, the first l_p = min(|y_w|, |y_l|) completion tokens (the "public" length) count fully and the tokens after
 * them with weight α:
 * <pre>
 *   log π̂(y|x) = Σ_{k ≤ l_p} log p(y_k | x, y_&lt;k) + α · Σ_{k > l_p} log p(y_k | x, y_&lt;k)
 * </pre>
 * so the longer response gains no likelihood from its extra length alone when α &lt; 1 (α = 1 is plain DPO). Only the
 * policy's log-probs are desensitised; the reference keeps plain sums (as TRL does).
 *
 * <p>k counts completion tokens from 1 (the paper's positions inside the response). TRL's padded implementation
 * compares the public length with positions counted from the start of the whole sequence, prompt included, so with a
 * prompt its split point falls elsewhere; we follow the paper (ms-swift's padding-free path does too).
 */
public final class LengthDesensitized {
    private LengthDesensitized() {}

    /**
     * @param tokenLogps (N, T) per-token log-probs of the rows, carrying grad
     * @param completionMask (N, T) 1 at completion tokens, 0 elsewhere (prompt, padding)
     * @param publicLengths (N) l_p of each row's pair (the same for a pair's chosen and rejected row)
     * @param alpha weight of the tokens after l_p, finite and ≥ 0
     * @return (N) desensitised summed log-probs
     */
    public static Tensor logps(Tensor tokenLogps, Tensor completionMask, Tensor publicLengths, double alpha) {
        if (!(alpha >= 0) || !Double.isFinite(alpha))
            throw new IllegalArgumentException("ld_alpha must be a finite number >= 0, got " + alpha);
        Tensor rank = completionMask.cumsum(1); // (N, T): k of each completion token (1-based), constant after the last
        Tensor front =
                rank.le(publicLengths.unsqueeze(1)).to(torch.ScalarType.Float).mul(completionMask); // k ≤ l_p
        Tensor rear = completionMask.sub(front); // k > l_p
        Tensor frontSum = Tensors.sum(tokenLogps.mul(front), 1), rearSum = Tensors.sum(tokenLogps.mul(rear), 1);
        return frontSum.add(rearSum.mul(scalar(alpha)));
    }
}
