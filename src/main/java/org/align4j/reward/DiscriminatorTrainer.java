// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import java.util.Random;

/**
 * Trains a {@link DiscriminatorHead} on frozen embeddings with class-balanced binary cross-entropy (label 1 = expert,
 * 0 = policy rollout) and mini-batch AdamW, in plain Java doubles: deterministic for a given seed.
 *
 * <p>Per example ℓ = softplus(z) − y·z (BCE with logits), weighted by n / (2·n_class) so that each class carries half
 * the loss whatever the imbalance (scikit-learn's "balanced" weights); a batch's loss is Σ wᵢℓᵢ / B. AdamW as torch:
 * θ ← θ·(1 − lr·λ) on weight matrices only, then the Adam step with β = (0.9, 0.999), ε = 1e-8 and bias correction.
 */
final class DiscriminatorTrainer {
    static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

    /** The trained head and the class-weighted training loss of the last epoch (mean over its batches). */
    record Fit(DiscriminatorHead head, double lastEpochLoss, double weightExpert, double weightPolicy) {}

    private DiscriminatorTrainer() {}

    static Fit fit(float[][] x, boolean[] isExpert, int dim, DiscriminatorConfig c) {
        int n = x.length, pos = 0;
        for (boolean e : isExpert) if (e) pos++;
        if (pos == 0 || pos == n) throw new IllegalArgumentException("the training split needs expert and policy examples, got " + pos + " expert of " + n);
        double wPos = n / (2.0 * pos), wNeg = n / (2.0 * (n - pos));
        String type = c.head();
        int h = DiscriminatorHead.isMlp(type) ? c.hiddenSize() : 0;
        double[] theta = DiscriminatorHead.init(type, dim, h, c.seed());
        boolean[] decay = DiscriminatorHead.decayMask(type, dim, h);
        double[] m = new double[theta.length], v = new double[theta.length], grad = new double[theta.length], pre = new double[h];
        Random shuffle = new Random(c.seed() ^ 0x5DEECE66DL);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        long step = 0;
        double lastEpochLoss = Double.NaN;
        for (int epoch = 0; epoch < c.epochs(); epoch++) {
            for (int i = n - 1; i > 0; i--) { // Fisher–Yates
                int j = shuffle.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            double epochLoss = 0;
            int batches = 0;
            for (int from = 0; from < n; from += c.batchSize()) {
                int to = Math.min(n, from + c.batchSize()), b = to - from;
                java.util.Arrays.fill(grad, 0);
                double loss = 0;
                for (int k = from; k < to; k++) {
                    int i = order[k];
                    double z = DiscriminatorHead.logit(type, dim, h, theta, x[i], pre);
                    double y = isExpert[i] ? 1 : 0, w = isExpert[i] ? wPos : wNeg;
                    loss += w * (softplus(z) - y * z);
                    DiscriminatorHead.addGradient(type, dim, h, theta, x[i], pre, w * (sigmoid(z) - y) / b, grad);
                }
                epochLoss += loss / b;
                batches++;
                step++;
                double lr = c.learningRate(), bc1 = 1 - Math.pow(BETA1, step), bc2 = 1 - Math.pow(BETA2, step);
                for (int p = 0; p < theta.length; p++) {
                    if (decay[p]) theta[p] *= 1 - lr * c.weightDecay();
                    m[p] = BETA1 * m[p] + (1 - BETA1) * grad[p];
                    v[p] = BETA2 * v[p] + (1 - BETA2) * grad[p] * grad[p];
                    theta[p] -= lr * (m[p] / bc1) / (Math.sqrt(v[p] / bc2) + EPS);
                }
            }
            lastEpochLoss = epochLoss / batches;
        }
        float[] frozen = new float[theta.length];
        for (int p = 0; p < theta.length; p++) frozen[p] = (float) theta[p];
        return new Fit(new DiscriminatorHead(type, dim, h, frozen), lastEpochLoss, wPos, wNeg);
    }

    /** log(1 + eᶻ) without overflow. */
    static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    static double sigmoid(double z) {
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }
}
