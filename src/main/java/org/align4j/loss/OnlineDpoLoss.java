// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * The two per-pair losses TRL's experimental {@code OnlineDPOTrainer} allows (huggingface/trl
 * {@code trl/experimental/online_dpo/online_dpo_trainer.py} at f2cd577, :1224-1236; {@code online_dpo_config.py}
 * :255-259). On summed completion log-probs:
 * <pre>
 *   logits = (logπ(y_w) − logπ(y_l)) − (logπ_ref(y_w) − logπ_ref(y_l))
 *   sigmoid   −logσ(β·logits)                       (Rafailov et al., arXiv 2305.18290)
 *   ipo       (logits − 1/(2β))²                     (Azar et al., arXiv 2310.12036; NOT length-normalised here)
 * </pre>
 * The offline {@link DpoLoss} "ipo" divides each score by its completion length (TRL's DPOTrainer v1.x); TRL's online
 * trainer does not, so neither does this.
 */
public final class OnlineDpoLoss {
    public static final List<String> LOSS_TYPES = List.of("sigmoid", "ipo");

    private OnlineDpoLoss() {}

    /** The per-pair losses (B) of {@code lossType} with {@code beta}; the batch loss is their mean. */
    public static Tensor perPair(PairLogps in, String lossType, double beta) {
        in.checkedBatchSize(false);
        if (!LOSS_TYPES.contains(lossType))
            throw new IllegalArgumentException(
                    "online DPO loss_type '" + lossType + "' is unknown; valid: " + String.join(", ", LOSS_TYPES));
        LossOps.requirePositive("online DPO beta", beta);
        return Tensors.scoped(() -> {
            Tensor logits = in.chosen().sub(in.rejected()).sub(in.refChosen().sub(in.refRejected())); // (B)
            return lossType.equals("sigmoid")
                    ? LossOps.logSigmoid(logits.mul(scalar(beta))).neg()
                    : logits.sub(scalar(1 / (2 * beta))).square();
        });
    }
}
