// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import java.util.Random;

/**
 * Trains a {@link DiscriminatorHead} on frozen embeddings with class-balanced binary cross-entropy (label 1 = expert,
 * 0 = policy rollout) and mini-batch AdamW, in plain Java doubles: deterministic for a given seed.
 *
 * <p>Per example ℓ = softplus(z) − y·z (BCE with logits), weighted by n / (2·n_class) so that each class carries half
 * the loss whatever the imbalance (scikit-learn's "balanced" weights); a batch's loss is Σ wᵢℓᵢ / B. AdamW as torch:
 * θ ← θ·(1 − lr·λ) on weight matrices only, then the Adam step with β = (0.9, 0.999), ε = 1e-8 and bias correction.
 * {@link Optimizer} keeps θ and the moments between batches, so the offline fit and co-training share one step.
 */
final class DiscriminatorTrainer {
    static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

    /** The trained head and the class-weighted training loss of the last epoch (mean over its batches). */
    record Fit(DiscriminatorHead head, double lastEpochLoss, double weightExpert, double weightPolicy) {}

    private DiscriminatorTrainer() {}

    /** A head's parameters θ (doubles) and its AdamW moments; {@link #step} is one mini-batch update. */
    static final class Optimizer {
        final String type;
        final int dim, hidden;
        final double[] theta;
        private final boolean[] decay;
        private final double[] m, v, grad, pre;
        private final double learningRate, weightDecay;
        private long step;

        Optimizer(String type, int dim, int hidden, double[] theta, double learningRate, double weightDecay) {
            this.type = type;
            this.dim = dim;
            this.hidden = hidden;
            this.theta = theta;
            this.decay = DiscriminatorHead.decayMask(type, dim, hidden);
            this.m = new double[theta.length];
            this.v = new double[theta.length];
            this.grad = new double[theta.length];
            this.pre = new double[hidden];
            this.learningRate = learningRate;
            this.weightDecay = weightDecay;
        }

        /** Starts from a trained head's weights, with fresh moments (co-training). */
        static Optimizer from(DiscriminatorHead head, double learningRate, double weightDecay) {
            float[] p = head.parameters();
            double[] theta = new double[p.length];
            for (int i = 0; i < p.length; i++) theta[i] = p[i];
            return new Optimizer(head.type(), head.inputDim(), head.hiddenSize(), theta, learningRate, weightDecay);
        }

        /**
         * One AdamW step on examples {@code idx[from, to)} of {@code x}: loss Σ wᵢℓᵢ / B with wᵢ = {@code wPos} for an
         * expert, {@code wNeg} for a policy example. Returns that loss (before the step).
         */
        double step(float[][] x, boolean[] isExpert, int[] idx, int from, int to, double wPos, double wNeg) {
            int b = to - from;
            java.util.Arrays.fill(grad, 0);
            double loss = 0;
            for (int k = from; k < to; k++) {
                int i = idx[k];
                double z = DiscriminatorHead.logit(type, dim, hidden, theta, x[i], pre);
                double y = isExpert[i] ? 1 : 0, w = isExpert[i] ? wPos : wNeg;
                loss += w * (softplus(z) - y * z);
                DiscriminatorHead.addGradient(type, dim, hidden, theta, x[i], pre, w * (sigmoid(z) - y) / b, grad);
            }
            step++;
            double lr = learningRate, bc1 = 1 - Math.pow(BETA1, step), bc2 = 1 - Math.pow(BETA2, step);
            for (int p = 0; p < theta.length; p++) {
                if (decay[p]) theta[p] *= 1 - lr * weightDecay;
                m[p] = BETA1 * m[p] + (1 - BETA1) * grad[p];
                v[p] = BETA2 * v[p] + (1 - BETA2) * grad[p] * grad[p];
                theta[p] -= lr * (m[p] / bc1) / (Math.sqrt(v[p] / bc2) + EPS);
            }
            return loss / b;
        }

        /** θ as a float32 head (what is saved and scored with). */
        DiscriminatorHead head() {
            float[] frozen = new float[theta.length];
            for (int p = 0; p < theta.length; p++) frozen[p] = (float) theta[p];
            return new DiscriminatorHead(type, dim, hidden, frozen);
        }
    }

    static Fit fit(float[][] x, boolean[] isExpert, int dim, DiscriminatorConfig c) {
        int n = x.length, pos = 0;
        for (boolean e : isExpert) if (e) pos++;
        if (pos == 0 || pos == n)
            throw new IllegalArgumentException(
                    "the training split needs expert and policy examples, got " + pos + " expert of " + n);
        double wPos = n / (2.0 * pos), wNeg = n / (2.0 * (n - pos));
        int h = DiscriminatorHead.isMlp(c.head()) ? c.hiddenSize() : 0;
        Optimizer opt = new Optimizer(
                c.head(),
                dim,
                h,
                DiscriminatorHead.init(c.head(), dim, h, c.seed()),
                c.learningRate(),
                c.weightDecay());
        Random shuffle = new Random(c.seed() ^ 0x5DEECE66DL);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        double lastEpochLoss = Double.NaN;
        for (int epoch = 0; epoch < c.epochs(); epoch++) {
            shuffle(order, shuffle);
            double epochLoss = 0;
            int batches = 0;
            for (int from = 0; from < n; from += c.batchSize()) {
                epochLoss += opt.step(x, isExpert, order, from, Math.min(n, from + c.batchSize()), wPos, wNeg);
                batches++;
            }
            lastEpochLoss = epochLoss / batches;
        }
        return new Fit(opt.head(), lastEpochLoss, wPos, wNeg);
    }

    /** Fisher–Yates with {@code rng}. */
    static void shuffle(int[] order, Random rng) {
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }

    /** log(1 + eᶻ) without overflow. */
    static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    static double sigmoid(double z) {
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }
}
