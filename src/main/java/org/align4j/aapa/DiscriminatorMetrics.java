// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How well logits separate expert (label true) from policy responses on one set of examples: accuracy with the
 * decision z > 0 (σ(z) > ½, "expert"), ROC-AUC, and the mean logit of each class.
 */
public record DiscriminatorMetrics(
        int expert, int policy, double accuracy, double rocAuc, double meanLogitExpert, double meanLogitPolicy) {

    public static DiscriminatorMetrics of(double[] logits, boolean[] isExpert) {
        if (logits.length != isExpert.length)
            throw new IllegalArgumentException(logits.length + " logits for " + isExpert.length + " labels");
        int pos = 0, correct = 0;
        double sumPos = 0, sumNeg = 0;
        for (int i = 0; i < logits.length; i++) {
            if (isExpert[i]) {
                pos++;
                sumPos += logits[i];
            } else sumNeg += logits[i];
            if ((logits[i] > 0) == isExpert[i]) correct++;
        }
        int neg = logits.length - pos;
        return new DiscriminatorMetrics(
                pos,
                neg,
                logits.length == 0 ? Double.NaN : (double) correct / logits.length,
                rocAuc(logits, isExpert),
                pos == 0 ? Double.NaN : sumPos / pos,
                neg == 0 ? Double.NaN : sumNeg / neg);
    }

    /**
     * ROC-AUC as the Mann–Whitney statistic: P(z_expert > z_policy) + ½·P(tie) over all expert × policy pairs, from
     * mid-ranks (tied scores share their average rank). NaN when a class is empty.
     */
    public static double rocAuc(double[] scores, boolean[] positive) {
        int n = scores.length, pos = 0;
        for (boolean p : positive) if (p) pos++;
        int neg = n - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> scores[i]));
        double rankSumPos = 0;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            double midRank = (i + j) / 2.0 + 1; // 1-based ranks i+1 … j+1
            for (int k = i; k <= j; k++) if (positive[order[k]]) rankSumPos += midRank;
            i = j + 1;
        }
        return (rankSumPos - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }

    /** For discriminator.json: NaN becomes null. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("expert", expert);
        m.put("policy", policy);
        m.put("accuracy", finiteOrNull(accuracy));
        m.put("roc_auc", finiteOrNull(rocAuc));
        m.put("mean_logit_expert", finiteOrNull(meanLogitExpert));
        m.put("mean_logit_policy", finiteOrNull(meanLogitPolicy));
        return m;
    }

    static DiscriminatorMetrics fromJson(com.fasterxml.jackson.databind.JsonNode n) {
        return new DiscriminatorMetrics(
                n.path("expert").asInt(),
                n.path("policy").asInt(),
                num(n, "accuracy"),
                num(n, "roc_auc"),
                num(n, "mean_logit_expert"),
                num(n, "mean_logit_policy"));
    }

    static Object finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }

    static double num(com.fasterxml.jackson.databind.JsonNode n, String key) {
        com.fasterxml.jackson.databind.JsonNode v = n.get(key);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }
}
