// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The head, its trainer and its metrics against closed forms, without the encoder. */
class DiscriminatorHeadTest {

    /** Central finite differences of z(θ) against addGradient, for both heads. */
    @Test
    void gradientMatchesFiniteDifferences() {
        int d = 5, h = 4;
        Random r = new Random(3);
        float[] x = new float[d];
        for (int i = 0; i < d; i++) x[i] = (float) r.nextGaussian();
        for (String type : List.of("logistic", "mlp")) {
            double[] theta = DiscriminatorHead.init(type, d, h, 11);
            for (int i = 0; i < theta.length; i++) theta[i] += 0.3 * r.nextGaussian(); // logistic starts at 0
            double[] pre = new double[h], grad = new double[theta.length];
            DiscriminatorHead.logit(type, d, h, theta, x, pre);
            DiscriminatorHead.addGradient(type, d, h, theta, x, pre, 1.0, grad);
            for (int p = 0; p < theta.length; p++) {
                double keep = theta[p], eps = 1e-6;
                theta[p] = keep + eps;
                double up = DiscriminatorHead.logit(type, d, h, theta, x, new double[h]);
                theta[p] = keep - eps;
                double down = DiscriminatorHead.logit(type, d, h, theta, x, new double[h]);
                theta[p] = keep;
                assertEquals((up - down) / (2 * eps), grad[p], 1e-6, type + " θ[" + p + "]");
            }
        }
    }

    /**
     * One AdamW step from θ = 0 on one full batch: m̂ = g, v̂ = g², so θ₁ = −lr·g/(|g| + ε); g = (1/B) Σ wᵢ(½ − yᵢ)xᵢ
     * with the balanced weights wᵢ = n/(2·n_class). Three expert and one policy example make the weights 2/3 and 2.
     */
    @Test
    void firstAdamStepMatchesTheClosedForm() {
        float[][] x = {{1, 0, 2}, {0.5f, -1, 0}, {2, 2, -1}, {-1, 0.25f, 3}};
        boolean[] y = {true, true, true, false};
        double lr = 0.05;
        DiscriminatorTrainer.Fit fit = DiscriminatorTrainer.fit(
                x,
                y,
                3,
                DiscriminatorConfig.builder()
                        .head("logistic")
                        .hiddenSize(1)
                        .epochs(1)
                        .learningRate(lr)
                        .batchSize(4)
                        .weightDecay(0.5)
                        .seed(1)
                        .evalFraction(0)
                        .includePrompt(false)
                        .build());
        assertEquals(4 / 6.0, fit.weightExpert(), 1e-15);
        assertEquals(2.0, fit.weightPolicy(), 1e-15);
        double[] g = new double[4];
        for (int i = 0; i < 4; i++) {
            double w = y[i] ? 4 / 6.0 : 2.0, dz = w * (0.5 - (y[i] ? 1 : 0)) / 4;
            for (int k = 0; k < 3; k++) g[k] += dz * x[i][k];
            g[3] += dz;
        }
        float[] theta = fit.head().parameters();
        for (int p = 0; p < 4; p++)
            assertEquals(
                    (float) (-lr * g[p] / (Math.abs(g[p]) + 1e-8)), theta[p], 1e-7, "θ[" + p + "] (decay of 0 is 0)");
        assertEquals(
                Math.log(2),
                fit.lastEpochLoss(),
                1e-12,
                "at z = 0 every BCE term is log 2 and the balanced weights average to 1");
    }

    @Test
    void weightDecayShrinksOnlyWeights() {
        // two identical steps' worth of data; with decay the second step starts from θ₁(1 − lr·λ) on the weights
        float[][] x = {{1, 2}, {-1, 0.5f}};
        boolean[] y = {true, false};
        float[] noDecay = DiscriminatorTrainer.fit(
                        x,
                        y,
                        2,
                        DiscriminatorConfig.builder()
                                .head("logistic")
                                .hiddenSize(1)
                                .epochs(2)
                                .learningRate(0.1)
                                .batchSize(2)
                                .weightDecay(0)
                                .seed(1)
                                .evalFraction(0)
                                .includePrompt(false)
                                .build())
                .head()
                .parameters();
        float[] decay = DiscriminatorTrainer.fit(
                        x,
                        y,
                        2,
                        DiscriminatorConfig.builder()
                                .head("logistic")
                                .hiddenSize(1)
                                .epochs(2)
                                .learningRate(0.1)
                                .batchSize(2)
                                .weightDecay(1.0)
                                .seed(1)
                                .evalFraction(0)
                                .includePrompt(false)
                                .build())
                .head()
                .parameters();
        // step 1 is the same (θ₀ = 0); step 2: decay shifts each weight by −lr·λ·θ₁ = −0.1·θ₁, the bias not at all
        float[] one = DiscriminatorTrainer.fit(
                        x,
                        y,
                        2,
                        DiscriminatorConfig.builder()
                                .head("logistic")
                                .hiddenSize(1)
                                .epochs(1)
                                .learningRate(0.1)
                                .batchSize(2)
                                .weightDecay(0)
                                .seed(1)
                                .evalFraction(0)
                                .includePrompt(false)
                                .build())
                .head()
                .parameters();
        for (int k = 0; k < 2; k++) assertEquals(noDecay[k] - 0.1 * one[k], decay[k], 1e-6, "weight " + k);
        assertEquals(noDecay[2], decay[2], 0f, "bias is not decayed");
    }

    @Test
    void separableDataIsSeparated() {
        Random r = new Random(5);
        List<float[]> xs = new ArrayList<>();
        boolean[] y = new boolean[200];
        for (int i = 0; i < 200; i++) {
            y[i] = i % 3 == 0; // imbalanced 67 / 133
            xs.add(new float[] {(float) (r.nextGaussian() + (y[i] ? 2 : -2)), (float) r.nextGaussian()});
        }
        float[][] x = xs.toArray(new float[0][]);
        for (String type : List.of("logistic", "mlp")) {
            DiscriminatorTrainer.Fit fit = DiscriminatorTrainer.fit(
                    x,
                    y,
                    2,
                    DiscriminatorConfig.builder()
                            .head(type)
                            .hiddenSize(8)
                            .epochs(50)
                            .learningRate(1e-2)
                            .batchSize(16)
                            .weightDecay(0)
                            .seed(3)
                            .evalFraction(0)
                            .includePrompt(false)
                            .build());
            double[] z = new double[200];
            for (int i = 0; i < 200; i++) z[i] = fit.head().logit(x[i]);
            DiscriminatorMetrics m = DiscriminatorMetrics.of(z, y);
            assertTrue(m.accuracy() > 0.97 && m.rocAuc() > 0.99, type + ": " + m);
        }
    }

    /** ROC-AUC against the pairwise definition: P(s⁺ > s⁻) + ½ P(s⁺ = s⁻). */
    @Test
    void rocAucIsThePairwiseProbability() {
        Random r = new Random(9);
        for (int trial = 0; trial < 20; trial++) {
            int n = 2 + r.nextInt(30);
            double[] s = new double[n];
            boolean[] pos = new boolean[n];
            for (int i = 0; i < n; i++) {
                s[i] = r.nextInt(6) / 2.0; // many ties
                pos[i] = r.nextBoolean();
            }
            pos[0] = true;
            pos[1] = false;
            double wins = 0;
            int pairs = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (pos[i] && !pos[j]) {
                        pairs++;
                        wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    }
            assertEquals(wins / pairs, DiscriminatorMetrics.rocAuc(s, pos), 1e-12, "trial " + trial);
        }
        assertTrue(Double.isNaN(DiscriminatorMetrics.rocAuc(new double[] {1, 2}, new boolean[] {true, true})));
        DiscriminatorMetrics m =
                DiscriminatorMetrics.of(new double[] {0.5, -1, 0.0, 2}, new boolean[] {true, false, true, false});
        assertEquals(0.5, m.accuracy(), "z = 0 counts as policy: right on 0.5 and −1, wrong on 0.0 and 2");
        assertEquals(0.25, m.meanLogitExpert(), 1e-15);
        assertEquals(0.5, m.meanLogitPolicy(), 1e-15);
    }
}
