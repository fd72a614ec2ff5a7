// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

/**
 * Expected calibration error of a reward model's pairwise preference probability (Guo et al.,
 * "On Calibration of Modern Neural Networks", ICML 2017, eq. 3; APO's reward-model evaluation
 * reports it on sigma(r_i - r_j) with 10 bins).
 *
 * <p>For each pair the Bradley-Terry probability that the chosen side is preferred is
 * {@code p = sigmoid(r_w - r_l)}. The model predicts the chosen side when {@code p > 1/2}, so its
 * confidence is {@code max(p, 1 - p)} (in [1/2, 1]) and the prediction is correct exactly when
 * {@code r_w > r_l} (a tie counts as wrong, like the {@code accuracy} metric). With M equal-width
 * bins {@code B_m = ((m-1)/M, m/M]} over the confidence (so with the default M = 10 only the upper
 * five bins can fill),
 *
 * <pre>
 * ECE = sum_m |B_m| / N * | acc(B_m) - conf(B_m) |
 * </pre>
 *
 * where acc is the share of correct predictions in the bin and conf the mean confidence in it.
 * A perfectly calibrated model has ECE 0; a confidently wrong one approaches 1.
 */
public final class Calibration {
    public static final int DEFAULT_BINS = 10;

    private Calibration() {}

    /** ECE over pairs given {@code r_w - r_l} per pair, with {@code bins} equal-width confidence bins. */
    public static double expectedCalibrationError(double[] chosenMinusRejected, int bins) {
        if (bins < 1) throw new IllegalArgumentException("bins must be >= 1, got " + bins);
        int n = chosenMinusRejected.length;
        if (n == 0) throw new IllegalArgumentException("expected calibration error of an empty set of pairs");
        double[] confSum = new double[bins], correct = new double[bins];
        int[] count = new int[bins];
        for (double d : chosenMinusRejected) {
            if (Double.isNaN(d)) throw new IllegalArgumentException("a reward difference is NaN");
            double p = 1 / (1 + Math.exp(-d));
            double conf = Math.max(p, 1 - p);
            int b = Math.min(bins - 1, Math.max(0, (int) Math.ceil(conf * bins) - 1)); // right-closed ((m-1)/M, m/M]
            confSum[b] += conf;
            if (d > 0) correct[b]++;
            count[b]++;
        }
        double ece = 0;
        for (int b = 0; b < bins; b++)
            if (count[b] > 0) ece += (double) count[b] / n * Math.abs(correct[b] / count[b] - confSum[b] / count[b]);
        return ece;
    }
}
