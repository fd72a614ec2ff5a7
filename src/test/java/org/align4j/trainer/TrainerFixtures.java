// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.model.Transformer;

/** Helpers the trainer tests share: parameter snapshots and the train / eval rows of a run's metrics.jsonl. */
final class TrainerFixtures {
    private TrainerFixtures() {}

    /** Every parameter's values, by name, copied out (to compare before and after training). */
    static Map<String, float[]> snapshot(Transformer m) {
        Map<String, float[]> s = new LinkedHashMap<>();
        for (var e : m.parameters().entrySet()) s.put(e.getKey(), Tensors.toFloats(e.getValue()));
        return s;
    }

    /** The training rows of a run's metrics.jsonl (those with a loss). */
    static List<JsonNode> trainRows(Path dir) throws IOException {
        return MetricsLog.read(dir).stream().filter(r -> r.has("loss")).toList();
    }

    /** The evaluation rows of a run's metrics.jsonl (those with an eval_loss). */
    static List<JsonNode> evalRows(Path dir) throws IOException {
        return MetricsLog.read(dir).stream().filter(r -> r.has("eval_loss")).toList();
    }
}
