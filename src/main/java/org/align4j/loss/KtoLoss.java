// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;
import static org.align4j.loss.LossOps.oneMinus;

import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * KTO (Ethayarajh et al. 2024, eq. 7) for unpaired binary feedback, as in TRL's
 * {@code KTOTrainer.kto_loss} (docs/algorithms.md §7):
 * <pre>
 *   r  = logπ(y|x) − logπ_ref(y|x)                              (token sums)
 *   z0 = max(0, mean_batch[logπ(y'|x) − logπ_ref(y'|x)])        detached; y' = mismatched completion
 *   desirable     λ_D · (1 − σ(β(r − z0)))
 *   undesirable   λ_U · (1 − σ(β(z0 − r)))
 * </pre>
 * {@code apo_zero_unpaired} (Anchored PO, unpaired eq. 7): desirable 1 − σ(βr), undesirable σ(βr), no z0
 * (z0 is reported as 0 and the KL inputs may be null). The batch loss is the mean of the per-example
 * losses (TRL takes a nanmean over the concatenated desirable and undesirable losses: the same number
 * when nothing is NaN). 1 − σ(x) is computed as σ(−x).
 *
 * <p>The KL baseline is estimated on the batch's own completions paired with other prompts: TRL's
 * {@code _get_kl_dataset} rotates the completions by +1, so prompt i is scored with completion i−1
 * (prompt 0 with the last one); {@link #klCompletionIndex} gives that order. TRL gathers the mean across
 * processes before clamping; here the caller passes the whole batch.
 */
public final class KtoLoss {
    public static final List<String> LOSS_TYPES = List.of("kto", "apo_zero_unpaired");

    private KtoLoss() {}

    /** lossType "kto" (default) or "apo_zero_unpaired"; beta 0.1, desirableWeight 1, undesirableWeight 1 (TRL's KTOConfig). */
    public record Config(String lossType, double beta, double desirableWeight, double undesirableWeight) {
        public Config {
            if (lossType == null || !LOSS_TYPES.contains(lossType))
                throw new IllegalArgumentException(
                        "KTO loss_type '" + lossType + "' is unknown; valid: " + String.join(", ", LOSS_TYPES));
            LossOps.requirePositive("KTO beta", beta);
            LossOps.requireNonNegative("KTO desirable_weight", desirableWeight);
            LossOps.requireNonNegative("KTO undesirable_weight", undesirableWeight);
        }

        public static Config defaults() {
            return new Config("kto", 0.1, 1.0, 1.0);
        }
    }

    /** Per-example losses (B,), already multiplied by λ_D or λ_U, and the detached KL baseline z0 (0 for apo_zero_unpaired). */
    public record Output(Tensor perExample, double z0) {}

    /**
     * @param policy     (B,) token-sum log-probs of each example's completion under the policy
     * @param ref        (B,) the same under the reference model
     * @param desirable  (B,) 1 for desirable, 0 for undesirable examples
     * @param klPolicy   (B',) policy log-probs of the mismatched (prompt, completion) pairs; see {@link #klCompletionIndex}
     * @param klRef      (B',) reference log-probs of the same mismatched pairs
     */
    public static Output compute(Tensor policy, Tensor ref, Tensor desirable, Tensor klPolicy, Tensor klRef, Config c) {
        long b = LossOps.check1d("KTO policy log-probs", policy);
        LossOps.check1d("KTO reference log-probs", ref, b);
        LossOps.check1d("KTO desirable labels", desirable, b);
        for (float d : Tensors.toFloats(desirable))
            if (d != 0f && d != 1f)
                throw new IllegalArgumentException(
                        "KTO desirable labels must be 1 (desirable) or 0 (undesirable), got " + d);
        double z0 = 0.0;
        if (c.lossType().equals("kto")) {
            long bk = LossOps.check1d("KTO klPolicy (policy log-probs of the mismatched completions)", klPolicy);
            LossOps.check1d("KTO klRef (reference log-probs of the mismatched completions)", klRef, bk);
            z0 = klBaseline(klPolicy, klRef);
        }
        double shift = z0;
        Tensor perExample = Tensors.scoped(() -> {
            Tensor r = policy.sub(ref);
            Tensor desirableLoss, undesirableLoss;
            if (c.lossType().equals("kto")) {
                Tensor x = r.sub(scalar(shift)).mul(scalar(c.beta())); // β(r − z0)
                desirableLoss = x.neg().sigmoid(); // 1 − σ(β(r − z0))
                undesirableLoss = x.sigmoid(); // 1 − σ(β(z0 − r))
            } else {
                Tensor x = r.mul(scalar(c.beta()));
                desirableLoss = x.neg().sigmoid(); // 1 − σ(βr)
                undesirableLoss = x.sigmoid(); // σ(βr)
            }
            Tensor d = desirable.detach().to(r.scalar_type());
            return d.mul(desirableLoss)
                    .mul(scalar(c.desirableWeight()))
                    .add(oneMinus(d).mul(undesirableLoss).mul(scalar(c.undesirableWeight())));
        });
        return new Output(perExample, z0);
    }

    /** z0 = max(0, mean(klPolicy − klRef)), computed without gradient. */
    public static double klBaseline(Tensor klPolicy, Tensor klRef) {
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
            return Math.max(0.0, klPolicy.detach().sub(klRef.detach()).mean().item_double());
        }
    }

    /**
     * For each prompt i of a batch of {@code batchSize}, the index of the completion it is paired with in
     * the KL batch: i − 1, and batchSize − 1 for prompt 0 (TRL's rotation by +1). Needs batchSize ≥ 2, as
     * TRL does (with one example the "mismatched" completion would be its own).
     */
    public static long[] klCompletionIndex(int batchSize) {
        if (batchSize < 2)
            throw new IllegalArgumentException(
                    "KTO needs at least 2 examples per batch to pair prompts with other examples' completions for the KL estimate, got "
                            + batchSize + " (raise the per-device batch size)");
        long[] idx = new long[batchSize];
        for (int i = 0; i < batchSize; i++) idx[i] = (i - 1 + batchSize) % batchSize;
        return idx;
    }
}
