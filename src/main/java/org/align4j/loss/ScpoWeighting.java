// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

/**
 * SCPO's use of a frozen global reward model (Steerable Cultural Preference Optimization of reward models,
 * Pluralistic Alignment @ ICML 2026; code github.com/minsik-ai/Steerable-Cultural-Preference at 167b840, cited
 * below as file:line). For a human preference pair the global model gives r+ (chosen) and r- (rejected); from them:
 *
 * <pre>
 * train filter   keep the pair iff  sigma(r+ - r-) &lt; tau             (preferences.py:287-288,310-314, tau = REWARD_THRES 0.7)
 * test filter    keep the pair iff  r+ &lt; r-                          (preferences.py:345-350, the "edited" test set)
 * weight (SCPO)  w = min(exp((r+ - r-) / beta), 1)                   (our_reward_trainer.py:44, beta = WEIGHTING_BETA 1.10)
 * weight (inverse ablation)  w = max(exp(r-) / exp(r+), 1) = max(exp(r- - r+), 1)   (our_inverse_reward_trainer.py:41)
 * </pre>
 *
 * and the pair's Bradley-Terry term is multiplied by w ({@link BradleyTerryLoss#perPair(org.bytedeco.pytorch.Tensor,
 * org.bytedeco.pytorch.Tensor, org.bytedeco.pytorch.Tensor, double, org.bytedeco.pytorch.Tensor)}). The train filter
 * drops the pairs the global model already ranks confidently right (r+ - r- >= ln(tau / (1 - tau)), 0.847 for 0.7);
 * SCPO's weight then down-weights the pairs it ranks strongly wrong and keeps w = 1 where it agrees; the inverse
 * ablation instead up-weights strong disagreement and has no beta.
 *
 * <p>The code computes sigma as {@code exp(a) / (exp(a) + exp(b))} and the inverse weight as {@code exp(b) /
 * exp(a)} in float32, which give NaN once a reward passes ~88; here both are the same quantities written through the
 * difference (sigma(a - b), exp(b - a)) in double, equal wherever the code's form is finite. The test filter is the
 * code's, stricter than the train filter (tau 1/2 with a strict inequality), so the global model's own accuracy on the
 * filtered test set is 0 by construction.
 */
public final class ScpoWeighting {
    /** The paper's beta ({@code WEIGHTING_BETA}, preferences.py:41). */
    public static final double DEFAULT_BETA = 1.10;
    /** The paper's tau ({@code REWARD_THRES}, preferences.py:38). */
    public static final double DEFAULT_TAU = 0.7;

    /** How a pair's loss is weighted from the global rewards. */
    public enum Weighting {
        /** SCPO: w = min(exp((r+ - r-) / beta), 1). */
        SCPO("scpo"),
        /** The inverse-weighting ablation: w = max(exp(r- - r+), 1). */
        INVERSE("inverse"),
        /** w = 1 (the filter alone). */
        NONE("none");

        public final String key;

        Weighting(String key) {
            this.key = key;
        }

        /** The weighting named {@code key} (scpo, inverse, none); the error lists the valid names. */
        public static Weighting of(String key) {
            for (Weighting w : values()) if (w.key.equals(key)) return w;
            throw new IllegalArgumentException("scpo_weighting must be one of scpo, inverse, none, got '" + key + "'");
        }
    }

    private ScpoWeighting() {}

    /** The weight of a pair whose global rewards are r+ = {@code chosen}, r- = {@code rejected} (see the class comment). */
    public static double weight(Weighting w, double chosen, double rejected, double beta) {
        double d = chosen - rejected;
        if (Double.isNaN(d)) throw new IllegalArgumentException("a global reward is NaN");
        return switch (w) {
            case SCPO -> Math.min(Math.exp(d / beta), 1.0);
            case INVERSE -> Math.max(Math.exp(-d), 1.0);
            case NONE -> 1.0;
        };
    }

    /** The train filter: sigma(r+ - r-) &lt; tau; tau >= 1 keeps every pair (the filter off). */
    public static boolean keptForTraining(double chosen, double rejected, double tau) {
        return tau >= 1 || sigmoid(chosen - rejected) < tau;
    }

    /** The test filter (the "edited" test set): the global model ranks the pair wrong, r+ &lt; r-. */
    public static boolean inFilteredTestSet(double chosen, double rejected) {
        return chosen < rejected;
    }

    /** sigma(x) without overflow for either sign. */
    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
