// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * LD-DPO's length-desensitised log-probs (Liu et al. 2024, arXiv 2409.06411; TRL's {@code ld_alpha}): of a pair's two
 * responses, the first l_p = min(|y_w|, |y_l|) completion tokens (the "public" length) count fully and the tokens after
 * them with weight α:
 * <pre>
 *   log π̂(y|x) = Σ_{k ≤ l_p} log p(y_k | x, y_&lt;k) + α · Σ_{k > l_p} log p(y_k | x, y_&lt;k)
 * </pre>
 * so the longer response gains no likelihood from its extra length alone when α &lt; 1 (α = 1 is plain DPO).
 *
 * <p>The policy AND the reference are desensitised with the same split, as TRL v1.x does (huggingface/trl
 * {@code trl/trainer/dpo_trainer.py} at f2cd577: policy :1349-1361, reference scored on the fly :1386-1393, precomputed
 * reference :1204-1216). So when π = π_ref every log-ratio is 0 and the sigmoid loss is ln 2 for pairs of any lengths;
 * desensitising the policy alone (TRL v0.28) leaves the reference's tail in the log-ratio, a length bias from step 0.
 *
 * <p>k counts completion tokens from 1 (the paper's positions inside the response; TRL v1.x's {@code comp_pos}, the
 * cumulative sum of the completion mask). TRL v0.28 counted from the start of the whole sequence, prompt included; we
 * follow v1.x and the paper.
 */
public final class LengthDesensitized {
    private LengthDesensitized() {}

    /** TRL documents ld_alpha in [0, 1] ({@code trl/trainer/dpo_config.py:88-92}): 1 weighs nothing, 0 drops the tail. */
    public static void checkAlpha(double alpha) {
        if (!(alpha >= 0 && alpha <= 1))
            throw new IllegalArgumentException(
                    "ld_alpha must be in [0, 1] (1 = plain DPO, 0 = the tokens past the shared length dropped), got "
                            + alpha);
    }

    /**
     * The desensitised log-probs of a pair batch laid out as the DPO trainer holds it: the B chosen rows, then the B
     * rejected rows of the same pairs (TRL's concatenated forward); l_p of pair i is min of rows i and B + i.
     *
     * @param tokenLogps (2B, T) per-token log-probs of the rows (policy with grad, or reference without)
     * @param completionMask (2B, T) 1 at completion tokens, 0 elsewhere (prompt, padding)
     * @param alpha weight of the tokens past l_p, in [0, 1]
     * @return (2B) desensitised summed log-probs
     */
    public static Tensor pairLogps(Tensor tokenLogps, Tensor completionMask, double alpha) {
        long rows = completionMask.size(0);
        if (rows % 2 != 0)
            throw new IllegalArgumentException(
                    "LD-DPO needs chosen rows then rejected rows (an even number), got " + rows + " rows");
        Tensor lengths = Tensors.sum(completionMask, 1); // (2B)
        Tensor shared = torch.minimum(lengths.narrow(0, 0, rows / 2), lengths.narrow(0, rows / 2, rows / 2)); // (B)
        return logps(tokenLogps, completionMask, torch.cat(new TensorVector(shared, shared), 0), alpha);
    }

    /**
     * @param tokenLogps (N, T) per-token log-probs of the rows
     * @param completionMask (N, T) 1 at completion tokens, 0 elsewhere (prompt, padding)
     * @param publicLengths (N) l_p of each row's pair (the same for a pair's chosen and rejected row)
     * @param alpha weight of the tokens after l_p, in [0, 1]
     * @return (N) desensitised summed log-probs
     */
    public static Tensor logps(Tensor tokenLogps, Tensor completionMask, Tensor publicLengths, double alpha) {
        checkAlpha(alpha);
        Tensor rank = completionMask.cumsum(1); // (N, T): k of each completion token (1-based), constant after the last
        Tensor front =
                rank.le(publicLengths.unsqueeze(1)).to(torch.ScalarType.Float).mul(completionMask); // k ≤ l_p
        Tensor rear = completionMask.sub(front); // k > l_p
        Tensor frontSum = Tensors.sum(tokenLogps.mul(front), 1), rearSum = Tensors.sum(tokenLogps.mul(rear), 1);
        return frontSum.add(rearSum.mul(scalar(alpha)));
    }
}
