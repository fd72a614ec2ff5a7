// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

/** @param beta TRL's ORPOConfig beta, default 0.1 */
public record OrpoConfig(TrainingArgs args, double beta, int evalSteps) {
    /** TRL's ORPOConfig beta (the paper's lambda). */
    public static final double DEFAULT_BETA = 0.1;
}
