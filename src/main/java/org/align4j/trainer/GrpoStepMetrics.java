// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.loss.GrpoLoss;

/**
 * GRPO's loss metrics as TRL forms them: {@code _compute_loss} appends one value per micro-batch
 * (huggingface/trl {@code trl/trainer/grpo_trainer.py} at f2cd577, :3229-3256) and {@code log} averages each list with
 * the NaNs filtered out (:3272-3282). So {@code kl} and {@code entropy} are per-micro-batch masked means averaged over
 * the micro-batches (not token-weighted across them), and {@code clip_ratio/low_min} / {@code clip_ratio/high_max} are
 * the mean of one nanmin / nanmax per micro-batch: a micro-batch without rows to measure (NaN) drops out instead of
 * turning the step's value into NaN. A metric with no value left is not logged for the step (TRL logs None).
 */
final class GrpoStepMetrics {
    /**
     * One micro-batch's values, each TRL's for that micro-batch on one process.
     *
     * @param kl Σ k3·mask / max(Σ mask, 1) (TRL's {@code global_masked_mean(per_token_kl)}, :3238)
     * @param entropy Σ entropy·mask / max(Σ mask, 1) over the LOSS mask, so truncated completions are out when
     *     mask_truncated_completions is on (:3240; :2417-2426 zero them in the completion mask)
     * @param lowMean clip_ratio/low_mean (or, for cispo, unused)
     * @param highMean clip_ratio/high_mean (for cispo: cispo_clip_ratio)
     * @param regionMean clip_ratio/region_mean
     * @param lowMin nanmin over sequences of the low-clipped fraction; NaN when no sequence has a token
     * @param highMax nanmax over sequences of the high-clipped fraction; NaN likewise
     */
    record MicroBatch(
            double kl,
            double entropy,
            double lowMean,
            double highMean,
            double regionMean,
            double lowMin,
            double highMax) {

        /**
         * From the loss's statistics and the per-row entropy sums over the completion tokens.
         *
         * @param o the micro-batch's {@link GrpoLoss.Output} (sums and counts over the loss mask)
         * @param rowEntropySums (N) summed next-token entropy over each row's completion tokens
         * @param keep (N) 1 for a row in the loss mask, 0 for a truncated completion masked out
         */
        static MicroBatch of(GrpoLoss.Output o, float[] rowEntropySums, float[] keep) {
            if (rowEntropySums.length != keep.length)
                throw new IllegalArgumentException(
                        rowEntropySums.length + " entropy sums for " + keep.length + " rows");
            double entropySum = 0;
            for (int i = 0; i < keep.length; i++) entropySum += (double) keep[i] * rowEntropySums[i];
            // TRL's global_masked_mean divides by the mask's sum clamped to >= 1: 0 for a micro-batch with no tokens
            return new MicroBatch(
                    o.klMean(),
                    entropySum / Math.max(o.maskedTokens(), 1.0),
                    o.lowClipMean(),
                    o.highClipMean(),
                    o.regionClipMean(),
                    o.lowMin(),
                    o.highMax());
        }
    }

    private final List<MicroBatch> micro = new ArrayList<>();

    void add(MicroBatch mb) {
        micro.add(mb);
    }

    /**
     * Every worker's micro-batches in the order one worker would have run them (data parallel: worker r ran
     * micro-batches r, r + W, r + 2W, ... of {@code micro}), so the means are over the whole step as TRL's gathered
     * metrics are.
     */
    GrpoStepMetrics gathered(org.align4j.dist.Collective dist, int micro) {
        int w = dist.worldSize(), slots = (micro + w - 1) / w;
        double[] mine = new double[slots * 7];
        java.util.Arrays.fill(mine, Double.NaN);
        for (int j = 0; j < this.micro.size(); j++) {
            MicroBatch mb = this.micro.get(j);
            System.arraycopy(
                    new double[] {mb.kl, mb.entropy, mb.lowMean, mb.highMean, mb.regionMean, mb.lowMin, mb.highMax},
                    0,
                    mine,
                    j * 7,
                    7);
        }
        double[][] all = dist.allGather(mine);
        GrpoStepMetrics out = new GrpoStepMetrics();
        for (int k = 0; k < micro; k++) {
            double[] v = all[k % w];
            int o = (k / w) * 7;
            out.add(new MicroBatch(v[o], v[o + 1], v[o + 2], v[o + 3], v[o + 4], v[o + 5], v[o + 6]));
        }
        return out;
    }

    /**
     * The step's values under TRL's names.
     *
     * @param withKl whether beta > 0 (TRL logs kl only then)
     * @param cispo whether the loss is cispo (TRL logs only cispo_clip_ratio of the clip statistics then)
     */
    Map<String, Double> metrics(boolean withKl, boolean cispo) {
        Map<String, Double> m = new LinkedHashMap<>();
        if (withKl) put(m, "kl", MicroBatch::kl);
        put(m, "entropy", MicroBatch::entropy);
        if (cispo) {
            put(m, "cispo_clip_ratio", MicroBatch::highMean);
        } else {
            put(m, "clip_ratio/low_mean", MicroBatch::lowMean);
            put(m, "clip_ratio/low_min", MicroBatch::lowMin);
            put(m, "clip_ratio/high_mean", MicroBatch::highMean);
            put(m, "clip_ratio/high_max", MicroBatch::highMax);
            put(m, "clip_ratio/region_mean", MicroBatch::regionMean);
        }
        return m;
    }

    private void put(Map<String, Double> m, String name, java.util.function.ToDoubleFunction<MicroBatch> value) {
        double sum = 0;
        int n = 0;
        for (MicroBatch mb : micro) {
            double v = value.applyAsDouble(mb);
            if (Double.isNaN(v)) continue; // TRL's log(): `valid = [v for v in val if not math.isnan(v)]`
            sum += v;
            n++;
        }
        if (n > 0) m.put(name, sum / n);
    }
}
