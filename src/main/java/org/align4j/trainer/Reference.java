// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.engine.Tensors;
import org.align4j.loss.LengthDesensitized;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.bytedeco.pytorch.Tensor;

/**
 * Where a trainer's reference log-probs come from (DPO, KTO): nothing (reference_free: log-probs of
 * 0), a frozen model (the initial policy loaded a second time, or ref_model_name_or_path), or with
 * LoRA the policy itself with its adapters switched off, which is the initial policy without a
 * second copy in memory.
 */
record Reference(Transformer policy, Transformer model, boolean free, String command) {
    Reference {
        if (!free && model == null && !Lora.attached(policy))
            throw new IllegalArgumentException(
                    command + " needs a reference model: pass the initial policy (a second load of model_name_or_path) "
                            + "or ref_model_name_or_path, train LoRA adapters (the base with adapters off is the reference), or set reference_free");
    }

    /** Summed completion log-probs (N) of a batch, without a graph. */
    Tensor logps(CompletionBatch.Inputs in) {
        if (free) return Tensors.floats(new float[in.rows()], in.rows());
        return Tensors.sum(tokenLogps(in, 1.0).mul(in.completionMask()), 1);
    }

    /**
     * Summed completion log-probs (2B) of a DPO pair batch (chosen rows, then rejected rows), without a graph; with
     * {@code ldAlpha} (LD-DPO) desensitised with the same shared/tail split as the policy, as TRL v1.x does for the
     * reference (trl/trainer/dpo_trainer.py:1386-1393, and :1204-1216 when precomputed).
     */
    Tensor pairLogps(CompletionBatch.Inputs in, Double ldAlpha) {
        if (ldAlpha == null || free) return logps(in);
        return LengthDesensitized.pairLogps(tokenLogps(in, 1.0), in.completionMask(), ldAlpha);
    }

    /** Per-position next-token log-probs (N, T-1) at a temperature, without a graph (GRPO's k3 KL). */
    Tensor tokenLogps(CompletionBatch.Inputs in, double temperature) {
        if (free) throw new IllegalStateException("bug: a reference-free run asked for reference log-probs");
        if (model != null) return CompletionBatch.tokenLogpsNoGrad(model, in, temperature);
        // on this thread only: the other parts of a batch may run the policy with its adapters at the same time
        return policy.withAdaptersOff(() -> CompletionBatch.tokenLogpsNoGrad(policy, in, temperature));
    }
}
