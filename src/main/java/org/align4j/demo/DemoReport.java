// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.demo.DemoResults.Metric;
import org.align4j.demo.DemoResults.Spread;
import org.align4j.io.AtomicFiles;

/**
 * The demo's report, {@code output_dir/report.html}, built from {@code results.json} and the metrics.jsonl files of
 * the runs beside it, for its one question: does each adversarial variant beat its baseline? Top to bottom:
 *
 * <ol>
 *   <li>what was run (date, seeds, rounds, wall time, commit, CPU);
 *   <li>the answer: variant minus baseline after the last round, per metric, with the spread over seeds;
 *   <li>one chart per metric over rounds, every method in it;
 *   <li>the method × metric table the console prints;
 *   <li>each method's training curves (loss and what it optimises), pair by pair.
 * </ol>
 *
 * One file with inline SVG and CSS: no script, no font, no image, nothing fetched, so it opens from the output folder
 * as it is (or from a mail attachment). It is written as well-formed XHTML so tests can parse it.
 */
public final class DemoReport {
    public static final String FILE = "report.html";

    private static final String TITLE = "align4j demo: APO and AAPA against their baselines";

    private static final String CSS = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px;color:#222;\
            max-width:1180px;margin:1.5em auto;padding:0 12px;line-height:1.4}
            h1{font-size:22px;margin:.2em 0}h2{font-size:18px;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
            h3{font-size:14px;margin:.3em 0}p{margin:.4em 0}.note{color:#555;font-size:13px}
            table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #d4d4d4;padding:3px 8px}
            th{background:#f3f3f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
            table.meta th{text-align:left}table.meta td{min-width:20em}
            td.better{background:#e3f2e6}td.worse{background:#fbe4e2}
            .sub{display:block;color:#555;font-size:12px}.rng{color:#666;font-size:11px}.method{white-space:nowrap}
            tr.start td{border-top:2px solid #999}
            .legend{display:flex;flex-wrap:wrap;gap:4px 36px;margin:.6em 0}.legend div{white-space:nowrap}
            .swatch{vertical-align:middle;margin-right:4px}
            .charts{display:flex;flex-wrap:wrap;gap:14px}.curve-row{display:flex;flex-wrap:wrap;gap:10px 24px;margin:.6em 0}
            .panel{border:1px solid #e4e4e4;padding:4px}.panel .charts{gap:4px}
            svg text{font-family:inherit}.chart-title{font-size:13px;font-weight:600}.tick{font-size:11px;fill:#444}
            .axis-title{font-size:12px;fill:#222}.grid{stroke:#e6e6e6}.frame{fill:none;stroke:#888}
            .line{fill:none;stroke-width:2}.whisker{fill:none;stroke-width:1.1;stroke-opacity:.5}.band{opacity:.16}
            .mark{stroke:#999;stroke-dasharray:4 3}.mark-label{font-size:10px;fill:#666}
            """;

    /**
     * The least y span of a per-round chart: the metrics are shares and rewards of at most 1, printed to 3 decimals,
     * so a 0.001 difference shows as 1/20 of the axis and an unchanged metric as a flat line.
     */
    private static final double METRIC_MIN_SPAN = 0.02;

    private DemoReport() {}

    /** Reads {@code outputDir/results.json} (and the runs' metrics.jsonl) and writes {@code outputDir/report.html}. */
    public static Path write(Path outputDir) throws IOException {
        DemoResults r = DemoResults.read(outputDir.resolve("results.json"));
        byte[] bytes = html(r, outputDir).getBytes(StandardCharsets.UTF_8);
        Path file = outputDir.resolve(FILE);
        AtomicFiles.writeAtomically(file, tmp -> Files.write(tmp, bytes), true);
        return file;
    }

    static String html(DemoResults r, Path outputDir) throws IOException {
        StringBuilder h = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
        h.append("<title>")
                .append(Svg.esc(TITLE))
                .append("</title><style>")
                .append(CSS)
                .append("</style></head><body>");
        h.append("<h1>").append(Svg.esc(TITLE)).append("</h1>");
        h.append("<p>Task: two-number addition with a hidden gold reward (1 for a correct sum, minus 0.05 per"
                + " character of chatter after it). Every method starts from the same weak SFT policy (round 0) and"
                + " base reward model, trained on noisy human pairs. The baselines align against that reward model;"
                + " APO retrains its reward model each round on the human pairs plus gold-vs-sample pairs of the"
                + " current policy; AAPA adds a fixed discriminator's anchor to GRPO's reward. The two oracle rows"
                + " align against the gold reward itself.</p>");
        h.append(metadata(r));
        h.append(summary(r));
        h.append(charts(r));
        h.append(wideTable(r));
        h.append(curves(r, outputDir));
        return h.append("</body></html>\n").toString();
    }

    private static String metadata(DemoResults r) {
        DemoResults.Meta m = r.meta();
        List<Long> seeds = r.seeds();
        String perSeed = seeds.size() > 1 ? Svg.f(" (%.1f min per seed)", m.minutes() / seeds.size()) : "";
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("date", or(m.date()));
        rows.put(
                "seeds",
                seeds.size() + " ("
                        + String.join(", ", seeds.stream().map(String::valueOf).toList()) + ")"
                        + (seeds.size() > 1 ? "; charts and tables show the mean, min and max over seeds" : ""));
        rows.put("rounds", r.lastRound() + " alignment round" + (r.lastRound() == 1 ? "" : "s") + " per method");
        rows.put("mode", m.quick() ? "quick (--quick: fewer steps and queries)" : "full");
        rows.put("wall time", Double.isFinite(m.minutes()) ? Svg.f("%.1f min", m.minutes()) + perSeed : "not recorded");
        rows.put(
                "align4j",
                m.commit() != null
                        ? "commit " + m.commit() + (m.version() != null ? " (" + m.version() + ")" : "")
                        : or(m.version()));
        rows.put("CPU", or(m.cpu()));
        if (m.java() != null) rows.put("Java", m.java());
        StringBuilder s = new StringBuilder("<table class=\"meta\">");
        rows.forEach((k, v) -> s.append("<tr><th>")
                .append(k)
                .append("</th><td>")
                .append(Svg.esc(v))
                .append("</td></tr>"));
        return s.append("</table>").toString();
    }

    /** Per pair and metric: the variant minus its baseline after the last round, mean over seeds with min and max. */
    private static String summary(DemoResults r) {
        int last = r.lastRound();
        List<String> methods = r.methods();
        int n = r.seeds().size();
        StringBuilder s = new StringBuilder(Svg.f(
                "<h2>Adversarial variant minus its baseline, after round %d</h2>"
                        + "<p class=\"note\">Positive is better for every metric (green: the variant is ahead on the"
                        + " mean, red: behind).%s</p>",
                last,
                n > 1
                        ? " Each cell: the mean over " + n + " seeds of the per-seed difference; its min and max over"
                                + " seeds; in how many seeds the variant is ahead; the variant's mean vs the"
                                + " baseline's."
                        : " Each cell: the difference, then the variant's value vs the baseline's. One seed, so no"
                                + " spread: run with --num_seeds 3 to see one."));
        s.append("<table id=\"summary\"><tr><th>pair</th>");
        for (Metric m : Metric.values())
            s.append("<th>").append(Svg.esc(m.shortLabel)).append("</th>");
        s.append("</tr>");
        for (List<String> pair : MethodStyle.PAIRS) {
            String variant = pair.get(0), baseline = pair.get(1);
            if (!methods.contains(variant) || !methods.contains(baseline)) continue;
            MethodStyle v = MethodStyle.of(variant), b = MethodStyle.of(baseline);
            s.append(Svg.f(
                    "<tr data-variant=\"%s\"><td class=\"method\">%s%s − %s</td>",
                    Svg.esc(variant), v.swatch(), Svg.esc(v.label()), Svg.esc(b.label())));
            for (Metric m : Metric.values()) s.append(deltaCell(r, variant, baseline, last, m));
            s.append("</tr>");
        }
        return s.append("</table>").toString();
    }

    private static String deltaCell(DemoResults r, String variant, String baseline, int round, Metric m) {
        List<Double> d = r.deltas(variant, baseline, round, m);
        Spread sp = Spread.of(d);
        if (sp.n() == 0) return "<td class=\"num\">n/a</td>";
        // differences under half a unit of the last shown decimal read as ties, not wins
        String cls = sp.mean() >= 5e-4 ? " better" : sp.mean() <= -5e-4 ? " worse" : "";
        StringBuilder c = new StringBuilder(Svg.f(
                "<td class=\"num%s\" data-metric=\"%s\" data-mean=\"%.6f\" data-min=\"%.6f\" data-max=\"%.6f\"><b>%s</b>",
                cls, m.key, sp.mean(), sp.min(), sp.max(), Svg.signed(sp.mean(), 3)));
        if (sp.n() > 1) {
            long ahead = d.stream().filter(x -> x >= 5e-4).count(),
                    behind = d.stream().filter(x -> x <= -5e-4).count();
            c.append(Svg.f(
                    "<span class=\"sub\">min %s, max %s</span><span class=\"sub\">ahead in %d of %d%s</span>",
                    Svg.signed(sp.min(), 3),
                    Svg.signed(sp.max(), 3),
                    ahead,
                    sp.n(),
                    sp.n() - ahead - behind > 0 ? ", tied in " + (sp.n() - ahead - behind) : ""));
        }
        c.append(Svg.f(
                "<span class=\"sub\">%s vs %s</span></td>",
                Svg.number(r.spread(variant, round, m).mean(), 3),
                Svg.number(r.spread(baseline, round, m).mean(), 3)));
        return c.toString();
    }

    /**
     * One chart per metric over rounds, every method in it. Each method's points are shifted sideways by its own
     * small offset (dodged), so equal values sit side by side rather than on top of each other and every min-max
     * bar stays visible; small multiples per pair would also separate them, but would split one shared y scale
     * into 20 little charts and hide how the pairs compare with each other and with the oracles.
     */
    private static String charts(DemoResults r) {
        List<String> methods = r.methods();
        int last = r.lastRound(), width = 572, height = 340;
        double xMin = -0.35, xMax = last + 0.35;
        // 9 px between neighbouring methods at this width: markers (7 px) side by side, a pair next to each other
        double step = 9 * (xMax - xMin) / (width - 76);
        List<Svg.Tick> ticks = new ArrayList<>();
        for (int k = 0; k <= last; k++) ticks.add(new Svg.Tick(k, k == 0 ? "0 (SFT)" : String.valueOf(k)));
        StringBuilder s = new StringBuilder("<h2>Per round</h2><p class=\"note\">Mean over seeds");
        s.append(r.seeds().size() > 1 ? "; the bars span the min and max over seeds" : "");
        s.append(". Higher is better. Each method's points are shifted a little sideways, in legend order, so that"
                + " methods with equal values stay visible side by side. The black dot at round 0 is the SFT policy"
                + " every method starts from. Hover a point for its value.</p>");
        s.append(legend(methods)).append("<div class=\"charts\">");
        for (Metric m : Metric.values()) {
            boolean common = r.commonStart(m);
            Spread start = common ? r.spread(methods.getFirst(), 0, m) : null;
            List<Svg.Series> series = new ArrayList<>();
            for (int i = 0; i < methods.size(); i++) {
                double dx = (i - (methods.size() - 1) / 2.0) * step;
                List<Svg.Pt> pts = new ArrayList<>();
                for (int k = 0; k <= last; k++) {
                    Spread sp = r.spread(methods.get(i), k, m);
                    if (sp.n() == 0) continue;
                    // a shared start: every line leaves from the one black dot, not from its own shifted copy
                    if (k == 0 && common) pts.add(new Svg.Pt(-dx, sp.mean(), sp.min(), sp.max(), false));
                    else pts.add(new Svg.Pt(k, sp.mean(), sp.min(), sp.max()));
                }
                if (!pts.isEmpty()) series.add(new Svg.Series(MethodStyle.of(methods.get(i)), pts, dx));
            }
            s.append(Svg.render(new Svg.Chart(
                    "metric-chart",
                    width,
                    height,
                    m.title,
                    "round (0 = the SFT policy, before alignment)",
                    m.axisTitle,
                    xMin,
                    xMax,
                    ticks,
                    series,
                    List.of(),
                    start == null || start.n() == 0 ? null : new Svg.Pt(0, start.mean(), start.min(), start.max()),
                    Svg.yRange(series, METRIC_MIN_SPAN),
                    false)));
        }
        return s.append("</div>").toString();
    }

    /** The legend in columns, one per pair (baseline above its variant), the oracles last. */
    private static String legend(List<String> methods) {
        StringBuilder s = new StringBuilder("<div class=\"legend\">");
        for (List<String> group : groups(methods)) {
            s.append("<div>");
            for (String method : group) {
                MethodStyle st = MethodStyle.of(method);
                String role = st.baseline() != null
                        ? "adversarial"
                        : method.endsWith("-gold") ? "aligned on the gold reward" : "baseline";
                s.append("<div>")
                        .append(st.swatch())
                        .append("<b>")
                        .append(Svg.esc(st.label()))
                        .append("</b> <span class=\"note\">")
                        .append(role)
                        .append("</span></div>");
            }
            s.append("</div>");
        }
        return s.append("</div>").toString();
    }

    /** The methods grouped as the report shows them: each pair (baseline, variant), then the rest two by two. */
    static List<List<String>> groups(List<String> methods) {
        List<List<String>> out = new ArrayList<>();
        List<String> left = new ArrayList<>(methods);
        for (List<String> pair : MethodStyle.PAIRS) {
            List<String> group = new ArrayList<>();
            for (String m : pair.reversed()) if (left.remove(m)) group.add(m);
            if (!group.isEmpty()) out.add(group);
        }
        for (int i = 0; i < left.size(); i += 2) out.add(List.copyOf(left.subList(i, Math.min(left.size(), i + 2))));
        return out;
    }

    /**
     * The console's table: a row per method and round, a column per metric (the mean, then the min to max over
     * seeds). Round 0 is one row for all methods when it is the same measurement for each (it is, in the demo).
     */
    private static String wideTable(DemoResults r) {
        int last = r.lastRound();
        boolean common = Arrays.stream(Metric.values()).allMatch(r::commonStart);
        StringBuilder s = new StringBuilder(
                "<h2>All methods and rounds</h2><table id=\"wide\"><tr><th>method</th>" + "<th>round</th>");
        for (Metric m : Metric.values())
            s.append("<th>").append(Svg.esc(m.shortLabel)).append("</th>");
        s.append("</tr>");
        List<String> methods = r.methods();
        if (common && !methods.isEmpty())
            s.append("<tr class=\"start\"><td class=\"method\">SFT policy (every method's start)</td>")
                    .append(valueCells(r, methods.getFirst(), 0));
        for (String method : methods) {
            MethodStyle st = MethodStyle.of(method);
            int first = common ? 1 : 0;
            for (int k = first; k <= last; k++) {
                s.append(k == first ? "<tr class=\"start\">" : "<tr>");
                if (k == first)
                    s.append(Svg.f(
                            "<td class=\"method\" rowspan=\"%d\">%s%s</td>",
                            last + 1 - first, st.swatch(), Svg.esc(st.label())));
                s.append(valueCells(r, method, k));
            }
        }
        return s.append("</table>").toString();
    }

    /** The round's cell and one cell per metric (mean, then min to max over seeds), closing the row. */
    private static String valueCells(DemoResults r, String method, int round) {
        StringBuilder s = new StringBuilder("<td class=\"num\">").append(round).append("</td>");
        for (Metric m : Metric.values()) {
            Spread sp = r.spread(method, round, m);
            s.append("<td class=\"num\">").append(Svg.number(sp.mean(), 3));
            if (sp.n() > 1)
                s.append(" <span class=\"rng\">")
                        .append(Svg.number(sp.min(), 3))
                        .append("\u2013")
                        .append(Svg.number(sp.max(), 3))
                        .append("</span>");
            s.append("</td>");
        }
        return s.append("</tr>").toString();
    }

    /**
     * Each method's alignment curves, a row per pair (baseline, then variant) with the y axes shared inside a row
     * when both run the same algorithm, so the two can be compared at a glance.
     */
    private static String curves(DemoResults r, Path outputDir) throws IOException {
        StringBuilder s = new StringBuilder("<h2>Training curves</h2><p class=\"note\">From each round's"
                + " metrics.jsonl (seed-N/&lt;method&gt;/round-K/policy/), rounds joined end to end on one step"
                + " axis (dashed line: where a round starts).");
        s.append(r.seeds().size() > 1 ? " Line: the mean over seeds; band: their min and max." : "");
        s.append("</p>");
        int drawn = 0;
        for (List<String> row : groups(r.methods())) {
            Map<String, List<TrainingCurves.Curve>> curves = new LinkedHashMap<>();
            for (String method : row) {
                List<TrainingCurves.Curve> c = new ArrayList<>();
                for (String key : List.of("loss", TrainingCurves.headline(method)))
                    c.add(TrainingCurves.read(outputDir, method, r.seeds(), r.lastRound(), key));
                curves.put(method, c);
            }
            boolean shared = row.stream().map(MethodStyle::algorithm).distinct().count() == 1;
            Map<String, double[]> yRange = shared ? sharedRanges(curves) : Map.of();
            s.append("<div class=\"curve-row\">");
            for (var e : curves.entrySet()) {
                if (e.getValue().stream().allMatch(TrainingCurves.Curve::isEmpty)) continue;
                s.append(panel(e.getKey(), e.getValue(), yRange));
                drawn++;
            }
            s.append("</div>");
        }
        if (drawn == 0)
            s.append("<p>No metrics.jsonl was found under ")
                    .append(Svg.esc(outputDir.toString()))
                    .append("/seed-N/&lt;method&gt;/round-K/policy/.</p>");
        return s.toString();
    }

    private static String panel(String method, List<TrainingCurves.Curve> curves, Map<String, double[]> yRange) {
        MethodStyle st = MethodStyle.of(method);
        StringBuilder s = new StringBuilder(Svg.f(
                "<div class=\"panel\" data-method=\"%s\"><h3>%s%s</h3><div class=\"charts\">",
                Svg.esc(method), st.swatch(), Svg.esc(st.label())));
        for (TrainingCurves.Curve c : curves) {
            if (c.isEmpty()) continue;
            List<Svg.Tick> ticks = new ArrayList<>();
            for (double t : Svg.ticks(0, c.lastStep(), 4))
                if (t == Math.rint(t)) ticks.add(new Svg.Tick(t, Svg.number(t, 0))); // steps are whole numbers
            String yTitle = c.key().equals("loss") ? "loss" : TrainingCurves.headlineTitle(method);
            s.append(Svg.render(new Svg.Chart(
                    "curve-chart",
                    282,
                    220,
                    c.key(),
                    "optimizer step",
                    yTitle,
                    0,
                    c.lastStep(),
                    ticks,
                    List.of(new Svg.Series(st, c.pts(), 0)),
                    c.roundStarts(),
                    null,
                    yRange.get(c.key()),
                    true)));
        }
        return s.append("</div></div>").toString();
    }

    /** Per metric key, one y range over every curve in the row. */
    private static Map<String, double[]> sharedRanges(Map<String, List<TrainingCurves.Curve>> curves) {
        Map<String, List<Svg.Series>> byKey = new HashMap<>();
        for (var e : curves.entrySet())
            for (TrainingCurves.Curve c : e.getValue())
                if (!c.isEmpty())
                    byKey.computeIfAbsent(c.key(), k -> new ArrayList<>())
                            .add(new Svg.Series(MethodStyle.of(e.getKey()), c.pts(), 0));
        Map<String, double[]> out = new HashMap<>();
        byKey.forEach((k, v) -> out.put(k, Svg.yRange(v)));
        return out;
    }

    private static String or(String s) {
        return s == null ? "not recorded" : s;
    }
}
