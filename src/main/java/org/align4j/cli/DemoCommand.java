// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.demo.AdversarialDemo;
import org.align4j.demo.DemoAnchor;
import org.align4j.demo.DemoReport;
import org.align4j.demo.RunMetadata;

/**
 * {@code demo}: the main job on an embedded default, no files needed ({@link AdversarialDemo}):
 * a task with a hidden gold reward, a tiny model trained from scratch to a weak SFT policy, a base
 * reward model from limited noisy pairs, then RJS vs APO-RJS, DPO vs APO-DPO and GRPO vs
 * GRPO+AAPA side by side. Prints the table per method and round (mean over seeds when several),
 * writes results.json and an HTML report with plots into output_dir.
 */
final class DemoCommand {
    static final List<Spec> SPECS = List.of(
            of("output_dir", Type.PATH, Path.of("runs/demo"), "where models, results.json and report.html go"),
            of("seed", Type.LONG, 42L, "first seed (task split, init, data order, sampling)"),
            of("num_seeds", Type.INT, 1, "run seeds seed, seed+1, ... and report the mean"),
            of("quick", Type.BOOLEAN, false, "a shorter run (1 round, fewer steps) to check the pipeline"),
            of("rounds", Type.INT, null, "alignment rounds per method (default 2; quick 1)"),
            of("aapa", Type.BOOLEAN, true, "include GRPO+AAPA (loads the MiniLM sentence encoder)"),
            of("overwrite_output_dir", Type.BOOLEAN, false, "replace an existing output_dir"),
            of(
                    "report_only",
                    Type.BOOLEAN,
                    false,
                    "train nothing: rewrite report.html from output_dir's results.json and metrics.jsonl files"));

    private static final ObjectMapper JSON = new ObjectMapper();

    private DemoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("demo", SPECS, args);
        Path out = o.path("output_dir");
        if (o.flag("report_only")) {
            if (!Files.isRegularFile(out.resolve("results.json")))
                throw new IllegalArgumentException(
                        "--report_only: no results.json in " + out + " (run the demo first)");
            System.out.println("demo: wrote " + DemoReport.write(out));
            return;
        }
        // the demo's own files: results.json, report.html and one seed-N folder per seed (all written by it)
        try (var claimed = org.align4j.trainer.OutputDir.claim(
                "demo", out, o.flag("overwrite_output_dir"), false, List.of(), DemoCommand::ownArtifact)) {
            run(o, out);
        }
    }

    private static boolean ownArtifact(Path p) {
        String n = p.getFileName().toString();
        return n.equals("results.json") || n.equals("report.html") || (n.matches("seed-\\d+") && Files.isDirectory(p));
    }

    private static void run(Options o, Path out) throws Exception {
        boolean quick = o.flag("quick");
        int rounds = o.has("rounds") ? o.integer("rounds") : quick ? 1 : 2;
        long t0 = System.nanoTime();
        ZonedDateTime started = ZonedDateTime.now();
        List<AdversarialDemo.Row> all = new ArrayList<>();
        List<Long> seedOf = new ArrayList<>(); // the seed of each row in all
        for (int k = 0; k < o.integer("num_seeds"); k++) {
            long seed = o.longValue("seed") + k;
            System.out.printf(
                    "demo: seed %d (%s, %d round%s)%n", seed, quick ? "quick" : "full", rounds, rounds == 1 ? "" : "s");
            AdversarialDemo.Settings s = (quick
                            ? AdversarialDemo.Settings.quick(out.resolve("seed-" + seed), seed)
                            : AdversarialDemo.Settings.full(out.resolve("seed-" + seed), seed))
                    .rounds(rounds)
                    .anchor(o.flag("aapa") ? DemoAnchor::train : null)
                    .build();
            for (AdversarialDemo.Row r : AdversarialDemo.run(s)) {
                all.add(r);
                seedOf.add(seed);
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        Map<String, double[]> mean = means(all);
        System.out.println();
        System.out.println(
                "| method | round | gold reward (greedy) | accuracy (greedy) | gold reward (T=1) | RM acc. held-out | RM acc. on policy samples |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (var e : mean.entrySet()) {
            String[] key = e.getKey().split("\t");
            double[] v = e.getValue();
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f |%n",
                    key[0],
                    key[1],
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    v[4]);
        }
        System.out.printf(
                Locale.ROOT,
                "%ndemo: %d seed(s) in %.1f minutes; results.json and report.html in %s%n",
                o.integer("num_seeds"),
                minutes,
                out);
        Map<String, Object> results = new LinkedHashMap<>();
        results.put("seeds", o.integer("num_seeds"));
        results.put("first_seed", o.longValue("seed"));
        results.put("rounds", rounds);
        results.put("quick", quick);
        results.put("minutes", Math.round(minutes * 10) / 10.0);
        results.putAll(RunMetadata.collect(started));
        List<Object> rows = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("seed", seedOf.get(i));
            row.putAll(AdversarialDemo.toJson(all.get(i)));
            rows.add(row);
        }
        results.put("rows", rows);
        Files.createDirectories(out);
        Files.writeString(
                out.resolve("results.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results) + "\n");
        DemoReport.write(out);
    }

    /** (method, round) -> mean over seeds of {gold greedy, accuracy, gold sampled, RM held-out acc, RM acc on policy samples}. */
    static Map<String, double[]> means(List<AdversarialDemo.Row> rows) {
        Map<String, double[]> sum = new LinkedHashMap<>();
        Map<String, Integer> n = new LinkedHashMap<>();
        for (AdversarialDemo.Row r : rows) {
            String key = r.method() + "\t" + r.round();
            double[] s = sum.computeIfAbsent(key, k -> new double[5]);
            double[] v = {
                r.goldGreedy(), r.accuracyGreedy(), r.goldSampled(), r.rmHeldOutAccuracy(), r.rmShiftedAccuracy()
            };
            for (int i = 0; i < 5; i++) s[i] += v[i];
            n.merge(key, 1, Integer::sum);
        }
        for (var e : sum.entrySet()) for (int i = 0; i < 5; i++) e.getValue()[i] /= n.get(e.getKey());
        return sum;
    }
}
