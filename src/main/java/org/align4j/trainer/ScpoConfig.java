// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.loss.ScpoWeighting;
import org.align4j.loss.ScpoWeighting.Weighting;

/**
 * SCPO's settings for reward modelling (see {@link ScpoWeighting} for the formulas and their source): every pair
 * carries the rewards r+, r- of a frozen global reward model ({@link RewardTrainer.Pair#global}); training keeps the
 * pairs with sigma(r+ - r-) &lt; tau and weights each by w(r+, r-); evaluation also reports the accuracy on the pairs the
 * global model ranks wrong ({@code eval_filtered_accuracy}).
 *
 * @param weighting {@code scpo} (the paper's min(exp((r+ - r-)/beta), 1)), {@code inverse} (the ablation's
 *     max(exp(r- - r+), 1)) or {@code none}
 * @param beta SCPO's temperature, > 0 (1.10, the code's WEIGHTING_BETA); unused by the other weightings
 * @param tau the train filter's threshold in (0, 1] (0.7, the code's REWARD_THRES); 1 keeps every pair
 */
public record ScpoConfig(Weighting weighting, double beta, double tau) {
    public ScpoConfig {
        if (weighting == null) throw new IllegalArgumentException("scpo_weighting must be one of scpo, inverse, none");
        if (!(beta > 0) || !Double.isFinite(beta))
            throw new IllegalArgumentException("scpo_beta must be a finite number > 0, got " + beta);
        if (!(tau > 0 && tau <= 1))
            throw new IllegalArgumentException("scpo_tau must be in (0, 1] (1 keeps every pair), got " + tau);
    }

    /** The paper's settings: SCPO weighting, beta 1.10, tau 0.7. */
    public static ScpoConfig defaults() {
        return new ScpoConfig(Weighting.SCPO, ScpoWeighting.DEFAULT_BETA, ScpoWeighting.DEFAULT_TAU);
    }

    /** The loss weight of a pair with global rewards {@code g}. */
    public double weight(RewardTrainer.Global g) {
        return ScpoWeighting.weight(weighting, g.chosen(), g.rejected(), beta);
    }

    /** Whether training keeps a pair with global rewards {@code g}. */
    public boolean keeps(RewardTrainer.Global g) {
        return ScpoWeighting.keptForTraining(g.chosen(), g.rejected(), tau);
    }
}
