// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

/**
 * How the AAPA discriminator's head is trained (docs/aapa.md; every value here is our choice, the paper gives none).
 *
 * @param head          {@code logistic} (one linear layer on the embedding) or {@code mlp} (one ReLU hidden layer)
 * @param hiddenSize    width of the MLP's hidden layer (set to 0 for {@code logistic})
 * @param epochs        passes over the training split
 * @param learningRate  Adam step size
 * @param batchSize     examples per Adam step (the split is shuffled each epoch)
 * @param weightDecay   decoupled weight decay on the weight matrices (AdamW), which keeps the logit scale finite on
 *                      separable data
 * @param seed          fixes the split, the initial weights and the shuffles: training is deterministic
 * @param evalFraction  share of each class held out for accuracy and ROC-AUC (0 = none)
 * @param includePrompt encode {@code prompt + "\n" + response} instead of the response alone
 */
public record DiscriminatorConfig(
        String head,
        int hiddenSize,
        int epochs,
        double learningRate,
        int batchSize,
        double weightDecay,
        long seed,
        double evalFraction,
        boolean includePrompt) {
    public static final String LOGISTIC = "logistic", MLP = "mlp";

    public DiscriminatorConfig {
        if (!LOGISTIC.equals(head) && !MLP.equals(head))
            throw new IllegalArgumentException("head '" + head + "' is unknown; valid: logistic, mlp");
        if (LOGISTIC.equals(head)) hiddenSize = 0;
        if (MLP.equals(head) && hiddenSize < 1)
            throw new IllegalArgumentException("hidden_size must be ≥ 1 for the mlp head, got " + hiddenSize);
        if (epochs < 1) throw new IllegalArgumentException("epochs must be ≥ 1, got " + epochs);
        if (!(learningRate > 0) || !Double.isFinite(learningRate))
            throw new IllegalArgumentException("learning_rate must be a positive number, got " + learningRate);
        if (batchSize < 1) throw new IllegalArgumentException("batch_size must be ≥ 1, got " + batchSize);
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay))
            throw new IllegalArgumentException("weight_decay must be ≥ 0, got " + weightDecay);
        if (!(evalFraction >= 0 && evalFraction < 1))
            throw new IllegalArgumentException("eval_fraction must be in [0, 1), got " + evalFraction);
    }

    /** The MLP width the command uses when none is given. */
    public static final int DEFAULT_HIDDEN_SIZE = 128;

    /** logistic head, 30 epochs of AdamW at 1e-2 in batches of 32, weight decay 0.01, seed 42, 10 % held out, response only. */
    public static DiscriminatorConfig defaults() {
        return builder().build();
    }

    /** The same settings with another head ({@code newHiddenSize} is used by {@code mlp} only). */
    public DiscriminatorConfig withHead(String newHead, int newHiddenSize) {
        return toBuilder().head(newHead).hiddenSize(newHiddenSize).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return builder()
                .head(head)
                .hiddenSize(hiddenSize)
                .epochs(epochs)
                .learningRate(learningRate)
                .batchSize(batchSize)
                .weightDecay(weightDecay)
                .seed(seed)
                .evalFraction(evalFraction)
                .includePrompt(includePrompt);
    }

    /** Builds {@link DiscriminatorConfig} by name; unset keys keep {@link #defaults()}. */
    public static final class Builder {
        private String head = LOGISTIC;
        private int hiddenSize, epochs = 30, batchSize = 32;
        private double learningRate = 1e-2, weightDecay = 0.01, evalFraction = 0.1;
        private long seed = 42;
        private boolean includePrompt;

        public Builder head(String v) {
            head = v;
            return this;
        }

        public Builder hiddenSize(int v) {
            hiddenSize = v;
            return this;
        }

        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder evalFraction(double v) {
            evalFraction = v;
            return this;
        }

        public Builder includePrompt(boolean v) {
            includePrompt = v;
            return this;
        }

        public DiscriminatorConfig build() {
            return new DiscriminatorConfig(
                    head, hiddenSize, epochs, learningRate, batchSize, weightDecay, seed, evalFraction, includePrompt);
        }
    }
}
