// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import org.bytedeco.pytorch.Tensor;

/**
 * Per-pair inputs of the DPO family. All (B,) float32. The log-probs are SUMS over the completion
 * tokens (policy and frozen reference); the lengths are the completion token counts as floats (only
 * {@code ipo} and {@code sigmoid_norm} read them; they may be null otherwise).
 */
public record PairLogps(
        Tensor chosen,
        Tensor rejected,
        Tensor refChosen,
        Tensor refRejected,
        Tensor chosenLengths,
        Tensor rejectedLengths) {

    /** Without lengths (for loss types that do not average per token). */
    public PairLogps(Tensor chosen, Tensor rejected, Tensor refChosen, Tensor refRejected) {
        this(chosen, rejected, refChosen, refRejected, null, null);
    }

    /** Checks the four log-prob tensors (and the lengths when {@code needLengths}); returns B. */
    long checkedBatchSize(boolean needLengths) {
        long b = LossOps.check1d("PairLogps.chosen", chosen);
        LossOps.check1d("PairLogps.rejected", rejected, b);
        LossOps.check1d("PairLogps.refChosen", refChosen, b);
        LossOps.check1d("PairLogps.refRejected", refRejected, b);
        if (needLengths) {
            LossOps.check1d("PairLogps.chosenLengths (needed by ipo / sigmoid_norm)", chosenLengths, b);
            LossOps.check1d("PairLogps.rejectedLengths (needed by ipo / sigmoid_norm)", rejectedLengths, b);
        }
        return b;
    }
}
