// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.loss.KtoLoss;

/** TRL's KTOConfig: learning_rate 1e-6, beta 0.1, desirable/undesirable weights 1. */
public record KtoConfig(TrainingArgs args, KtoLoss.Config loss, int evalSteps) {}
