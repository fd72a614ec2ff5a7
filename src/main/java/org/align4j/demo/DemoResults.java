// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The demo's {@code results.json} as the report reads it: the run's metadata and one row per (seed, method, round)
 * with the five headline metrics. Files written before rows carried their seed are still read: the demo appends
 * one seed's rows after the other, all seeds alike, so the seed follows from the row's position.
 */
public record DemoResults(Meta meta, List<Row> rows) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The headline metrics (what the console table prints), all higher-is-better, in the console's order. */
    public enum Metric {
        GOLD_GREEDY(
                "gold_reward_greedy",
                "gold reward (greedy)",
                "Gold reward, greedy answers",
                "gold reward (mean, 1 at best)"),
        ACCURACY_GREEDY(
                "accuracy_greedy", "accuracy (greedy)", "Accuracy, greedy answers", "accuracy (fraction correct)"),
        GOLD_SAMPLED(
                "gold_reward_sampled",
                "gold reward (T=1)",
                "Gold reward, samples at T=1",
                "gold reward (mean, 1 at best)"),
        RM_HELD_OUT(
                "rm_heldout_accuracy",
                "RM acc. held-out",
                "Reward model accuracy, held-out clean pairs",
                "RM accuracy (fraction of pairs)"),
        RM_ON_POLICY(
                "rm_accuracy_on_policy_samples",
                "RM acc. on policy samples",
                "Reward model accuracy, pairs of the policy's samples",
                "RM accuracy (fraction of pairs)");
        public final String key, shortLabel, title, axisTitle;

        Metric(String key, String shortLabel, String title, String axisTitle) {
            this.key = key;
            this.shortLabel = shortLabel;
            this.title = title;
            this.axisTitle = axisTitle;
        }
    }

    /**
     * How the run was made; fields a results.json does not carry are null (older files: date, version, commit, cpu).
     *
     * @param minutes wall time of all seeds together
     */
    public record Meta(
            int seeds,
            long firstSeed,
            int rounds,
            boolean quick,
            double minutes,
            String date,
            String version,
            String commit,
            String cpu,
            String java) {}

    /** One method's policy after one round in one seed; {@code values} indexed by {@link Metric#ordinal()}. */
    public record Row(long seed, String method, int round, double[] values) {
        public double get(Metric m) {
            return values[m.ordinal()];
        }
    }

    public static DemoResults read(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        Meta meta = new Meta(
                root.path("seeds").asInt(1),
                root.path("first_seed").asLong(0),
                root.path("rounds").asInt(0),
                root.path("quick").asBoolean(false),
                number(root.path("minutes")),
                text(root, "date"),
                text(root, "align4j_version"),
                text(root, "git_commit"),
                text(root, "cpu"),
                text(root, "java"));
        JsonNode rows = root.path("rows");
        int perSeed = Math.max(1, rows.size() / Math.max(1, meta.seeds()));
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            JsonNode r = rows.get(i);
            double[] v = new double[Metric.values().length];
            for (Metric m : Metric.values()) v[m.ordinal()] = number(r.path(m.key));
            long seed = r.has("seed") ? r.get("seed").asLong() : meta.firstSeed() + i / perSeed;
            out.add(new Row(seed, r.path("method").asText(), r.path("round").asInt(), v));
        }
        return new DemoResults(meta, out);
    }

    /** The methods in the order the demo ran them. */
    public List<String> methods() {
        Set<String> m = new LinkedHashSet<>();
        for (Row r : rows) m.add(r.method());
        return List.copyOf(m);
    }

    public List<Long> seeds() {
        Set<Long> s = new LinkedHashSet<>();
        for (Row r : rows) s.add(r.seed());
        return List.copyOf(s);
    }

    public int lastRound() {
        return rows.stream().mapToInt(Row::round).max().orElse(0);
    }

    /** seed -> value of {@code metric} for {@code method} after {@code round}, in seed order. */
    public Map<Long, Double> perSeed(String method, int round, Metric metric) {
        Map<Long, Double> out = new LinkedHashMap<>();
        for (Row r : rows) if (r.method().equals(method) && r.round() == round) out.put(r.seed(), r.get(metric));
        return out;
    }

    /**
     * Whether every method's round 0 is the same measurement in each seed (the demo measures the one SFT policy
     * with the one base reward model for each method), so the report can show it once.
     */
    public boolean commonStart(Metric metric) {
        Map<Long, Double> first = null;
        for (String m : methods()) {
            Map<Long, Double> v = perSeed(m, 0, metric);
            if (v.isEmpty()) return false;
            if (first == null) first = v;
            else if (!first.equals(v)) return false; // Double.equals: NaN equals NaN, as wanted here
        }
        return first != null;
    }

    /** Mean, min and max over the finite values (NaN for all three when there are none). */
    public record Spread(double mean, double min, double max, int n) {
        public static Spread of(Iterable<Double> values) {
            double sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
            int n = 0;
            for (double v : values) {
                if (!Double.isFinite(v)) continue; // e.g. RM accuracy on samples the gold reward cannot rank
                sum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
                n++;
            }
            return n == 0 ? new Spread(Double.NaN, Double.NaN, Double.NaN, 0) : new Spread(sum / n, min, max, n);
        }
    }

    public Spread spread(String method, int round, Metric metric) {
        return Spread.of(perSeed(method, round, metric).values());
    }

    /** The variant's value minus the baseline's, seed by seed (seeds where either is missing are left out). */
    public List<Double> deltas(String variant, String baseline, int round, Metric metric) {
        Map<Long, Double> v = perSeed(variant, round, metric), b = perSeed(baseline, round, metric);
        List<Double> out = new ArrayList<>();
        for (var e : v.entrySet()) if (b.containsKey(e.getKey())) out.add(e.getValue() - b.get(e.getKey()));
        return out;
    }

    // the demo writes NaN as the string "NaN" (Jackson's default), so text is parsed too
    private static double number(JsonNode n) {
        if (n.isNumber()) return n.doubleValue();
        if (n.isTextual())
            try {
                return Double.parseDouble(n.asText());
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        return Double.NaN;
    }

    private static String text(JsonNode root, String key) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? null : n.asText();
    }
}
