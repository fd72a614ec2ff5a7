// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.align4j.trainer.MetricsLog;

/**
 * Per-step training curves of one demo method, read from the metrics.jsonl its alignment rounds wrote:
 * {@code output_dir/seed-N/<method>/round-K/policy/metrics.jsonl} (ApoLoop gives each round its own folder; for
 * RJS that file is the SFT on the kept best samples). The rounds are joined end to end on one step axis, and at
 * each step the seeds are averaged, with their min and max kept for a band.
 */
final class TrainingCurves {
    private TrainingCurves() {}

    /** One metric's curve: points on the joined step axis, and where each round after the first starts. */
    record Curve(String key, List<Svg.Pt> pts, List<Svg.Mark> roundStarts, double lastStep) {
        boolean isEmpty() {
            return pts.isEmpty();
        }
    }

    /**
     * The metric that shows what the method itself optimises, beside its loss: the token accuracy of RJS's SFT on
     * its best samples, online DPO's implicit reward margin (chosen minus rejected), GRPO's mean reward.
     */
    static String headline(String method) {
        return switch (MethodStyle.algorithm(method)) {
            case "rjs" -> "mean_token_accuracy";
            case "dpo" -> "rewards/margins";
            default -> "reward";
        };
    }

    /** How the headline reads on an axis: what it is, for this method (GRPO's reward differs by what it scores). */
    static String headlineTitle(String method) {
        return switch (MethodStyle.algorithm(method)) {
            case "rjs" -> "token accuracy";
            case "dpo" -> "reward margin";
            default ->
                method.endsWith("-gold")
                        ? "reward (gold)"
                        : method.endsWith("+aapa") ? "reward (RM + anchor)" : "reward (RM)";
        };
    }

    /** The curve of {@code key} for {@code method} over all seeds and rounds under {@code outputDir}. */
    static Curve read(Path outputDir, String method, List<Long> seeds, int rounds, String key) throws IOException {
        List<Svg.Pt> pts = new ArrayList<>();
        List<Svg.Mark> starts = new ArrayList<>();
        double offset = 0;
        for (int round = 1; round <= rounds; round++) {
            // step -> that step's value in each seed that logged it
            TreeMap<Integer, List<Double>> byStep = new TreeMap<>();
            int lastStep = 0;
            for (long seed : seeds) {
                Path dir = outputDir
                        .resolve("seed-" + seed)
                        .resolve(method)
                        .resolve("round-" + round)
                        .resolve("policy");
                if (!Files.isRegularFile(dir.resolve(MetricsLog.FILE))) continue;
                for (JsonNode row : MetricsLog.read(dir)) {
                    int step = row.path("step").asInt(-1);
                    JsonNode v = row.get(key);
                    if (step < 0 || v == null || !v.isNumber() || !Double.isFinite(v.doubleValue())) continue;
                    byStep.computeIfAbsent(step, k -> new ArrayList<>()).add(v.doubleValue());
                    lastStep = Math.max(lastStep, step);
                }
            }
            if (byStep.isEmpty()) continue;
            // halfway between the last step of the round before and this round's first (step 1)
            if (round > 1 && !pts.isEmpty()) starts.add(new Svg.Mark(offset + 0.5, "round " + round));
            for (Map.Entry<Integer, List<Double>> e : byStep.entrySet()) {
                DemoResults.Spread s = DemoResults.Spread.of(e.getValue());
                pts.add(new Svg.Pt(offset + e.getKey(), s.mean(), s.min(), s.max()));
            }
            offset += lastStep;
        }
        return new Curve(key, pts, starts, offset);
    }
}
