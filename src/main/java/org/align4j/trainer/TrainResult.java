// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;
import java.util.Map;

/** What a training run did: the rows it logged (as written to metrics.jsonl), in order, and its last step. */
public record TrainResult(List<Map<String, Object>> logged, int globalStep) {}
