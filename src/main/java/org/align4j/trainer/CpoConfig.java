// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import org.align4j.loss.CpoLoss;

public record CpoConfig(TrainingArgs args, CpoLoss.Config loss, int evalSteps) {}
