// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The demo report rendered from a fixture shaped like a real 3-seed, 2-round run: results.json
 * (src/test/resources/demo/results-fixture.json, the README's per-seed gold rewards) and metrics.jsonl files where
 * the demo's rounds write them, with the keys its trainers log. A copy lands in target/demo-report/report.html to
 * look at.
 */
class DemoReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> METHODS =
            List.of("rjs", "apo-rjs", "dpo", "apo-dpo", "grpo", "grpo+aapa", "rjs-gold", "grpo-gold");

    @TempDir
    static Path run;

    static String html;
    static Document doc;

    @BeforeAll
    static void render() throws Exception {
        try (var in = DemoReportTest.class.getResourceAsStream("/demo/results-fixture.json")) {
            Files.write(run.resolve("results.json"), in.readAllBytes());
        }
        for (long seed = 42; seed <= 44; seed++)
            for (String method : METHODS) for (int round = 1; round <= 2; round++) writeCurve(run, seed, method, round);
        Path file = DemoReport.write(run);
        html = Files.readString(file);
        Path copy = Path.of("target/demo-report/report.html");
        Files.createDirectories(copy.getParent());
        Files.writeString(copy, html);
        doc = parse(html);
    }

    @Test
    void isWellFormedXhtmlAndSelfContained() {
        assertEquals("html", doc.getDocumentElement().getTagName());
        assertFalse(html.contains("http://") || html.contains("https://"), "no link out, not even an SVG namespace");
        assertFalse(html.contains("<script"), "no script");
        assertFalse(html.contains("<link") || html.contains("@import") || html.contains("url("), "no fetched style");
        Matcher src = Pattern.compile("(src|href)=\"([^\"]*)\"").matcher(html);
        while (src.find()) assertTrue(src.group(2).startsWith("data:"), "only data: URIs, got " + src.group());
    }

    @Test
    void everyMetricChartHasOneSeriesPerMethodEachWithItsOwnColourDashAndMarker() {
        List<Element> charts = byClass("svg", "metric-chart");
        assertEquals(DemoResults.Metric.values().length, charts.size());
        for (Element chart : charts) {
            List<Element> series = byClass(chart, "g", "series");
            Set<String> methods = new HashSet<>(), looks = new HashSet<>();
            for (Element s : series) {
                methods.add(s.getAttribute("data-method"));
                looks.add(s.getAttribute("data-colour") + " " + s.getAttribute("data-dash") + " "
                        + s.getAttribute("data-marker"));
                assertTrue(
                        s.getElementsByTagName("polyline").getLength() == 1,
                        "a line per method: " + s.getAttribute("data-method"));
                // a marker per round after round 0; round 0, the SFT policy, is one black dot for all
                assertEquals(2, markers(s), "markers of " + s.getAttribute("data-method"));
                assertEquals(2, byClass(s, "path", "whisker").size(), "min-max over seeds per round");
            }
            assertEquals(Set.copyOf(METHODS), methods);
            assertEquals(1, byClass(chart, "g", "start").size(), "the shared start");
            assertEquals(METHODS.size(), looks.size(), "distinct (colour, dash, marker) for every method");
        }
    }

    @Test
    void pairsShareAHueTheBaselineSolidTheVariantDashedAndTheOraclesAreGrey() {
        for (List<String> pair : MethodStyle.PAIRS) {
            MethodStyle v = MethodStyle.of(pair.get(0)), b = MethodStyle.of(pair.get(1));
            assertTrue(hueGap(v.colour(), b.colour()) < 15, pair + " in one colour family");
            assertEquals("none", b.dash(), "the baseline is solid");
            assertFalse(v.dash().equals("none"), "the variant is dashed");
            assertEquals(b.marker(), v.marker(), "one marker shape per pair, hollow vs filled");
            assertTrue(v.filled() && !b.filled());
            for (List<String> other : MethodStyle.PAIRS)
                if (other != pair)
                    assertTrue(hueGap(v.colour(), MethodStyle.of(other.get(0)).colour()) > 60, pair + " vs " + other);
        }
        for (String oracle : List.of("rjs-gold", "grpo-gold"))
            assertTrue(saturation(MethodStyle.of(oracle).colour()) < 0.05, oracle + " is neutral grey");
        // the page uses exactly these styles
        for (Element s : byClass(byClass("svg", "metric-chart").getFirst(), "g", "series")) {
            MethodStyle st = MethodStyle.of(s.getAttribute("data-method"));
            assertEquals(st.colour(), s.getAttribute("data-colour"));
            assertEquals(st.dash(), s.getAttribute("data-dash"));
        }
    }

    @Test
    void chartsHaveAxisTitlesTicksAndGridlines() {
        for (Element chart : byClass("svg", "metric-chart")) {
            List<String> titles = byClass(chart, "text", "axis-title").stream()
                    .map(Element::getTextContent)
                    .toList();
            assertEquals(2, titles.size());
            assertTrue(titles.getFirst().startsWith("round"), titles.toString());
            assertTrue(
                    titles.get(1).contains("(fraction") || titles.get(1).contains("(mean"),
                    "the y title names the unit: " + titles);
            assertTrue(byClass(chart, "line", "grid").size() >= 6, "gridlines at the ticks");
            assertTrue(byClass(chart, "text", "tick").size() >= 6, "tick labels on both axes");
        }
        for (Element chart : byClass("svg", "curve-chart"))
            assertEquals(
                    "optimizer step",
                    byClass(chart, "text", "axis-title").getFirst().getTextContent());
    }

    @Test
    void theSummaryGivesEachPairsDifferenceAfterTheLastRoundWithItsSpreadOverSeeds() {
        // gold reward (greedy) after round 2, variant minus baseline per seed 42, 43, 44 (the README's figures)
        assertDelta("apo-rjs", "gold_reward_greedy", (0.000 + 0.029 + 0.018) / 3, 0.000, 0.029);
        assertDelta("apo-dpo", "gold_reward_greedy", (0.032 - 0.106 + 0.007) / 3, -0.106, 0.032);
        assertDelta("grpo+aapa", "gold_reward_greedy", (0.000 + 0.010 + 0.003) / 3, 0.000, 0.010);
        // RM accuracy on the policy's own samples: APO's reward model keeps up with the shifted policy
        assertDelta("apo-dpo", "rm_accuracy_on_policy_samples", (0.028 + 0.096 + 0.143) / 3, 0.028, 0.143);
        assertDelta("apo-rjs", "rm_accuracy_on_policy_samples", (-0.064 + 0.115 + 0.118) / 3, -0.064, 0.118);
        Element dpo = cell("apo-dpo", "gold_reward_greedy");
        assertTrue(dpo.getAttribute("class").contains("worse"), "behind on the mean: red");
        String text = dpo.getTextContent();
        assertTrue(text.startsWith("\u22120.022"), text);
        assertTrue(text.contains("min \u22120.106, max +0.032"), text);
        assertTrue(text.contains("ahead in 2 of 3"), text);
        assertTrue(cell("apo-rjs", "gold_reward_greedy").getTextContent().contains("ahead in 2 of 3, tied in 1"));
        assertEquals(
                3,
                byTag("tr").stream().filter(r -> r.hasAttribute("data-variant")).count(),
                "one row per pair");
    }

    @Test
    void theWideTableHasARowPerMethodAndRoundWithTheMeanOverSeeds() throws Exception {
        Element wide = byId("wide");
        // a header, the SFT start once (the same for every method), then rounds 1 and 2 of each method
        assertEquals(1 + 1 + METHODS.size() * 2, wide.getElementsByTagName("tr").getLength());
        // rjs after round 2: (0.960 + 0.767 + 0.981) / 3 = 0.903, then the seeds' min and max
        assertTrue(wide.getTextContent().contains("0.903 0.767\u20130.981"), "mean then spread");
        // seed 44's rjs-gold has no RM accuracy on its samples (NaN): the mean is over the other two
        DemoResults r = DemoResults.read(run.resolve("results.json"));
        DemoResults.Spread sp = r.spread("rjs-gold", 2, DemoResults.Metric.RM_ON_POLICY);
        assertEquals(2, sp.n());
        assertTrue(Double.isFinite(sp.mean()));
    }

    @Test
    void eachMethodHasTrainingCurvesOfItsLossAndItsOwnHeadline() {
        List<Element> panels = byClass("div", "panel");
        assertEquals(METHODS.size(), panels.size());
        Map<String, List<String>> titles = new LinkedHashMap<>();
        for (Element p : panels) {
            List<String> t = new ArrayList<>();
            for (Element chart : byClass(p, "svg", "curve-chart")) {
                t.add(byClass(chart, "text", "chart-title").getFirst().getTextContent());
                assertEquals(1, chart.getElementsByTagName("polyline").getLength());
                assertEquals(1, byClass(chart, "polygon", "band").size(), "3 seeds: a min-max band");
                assertEquals(1, byClass(chart, "line", "mark").size(), "where round 2 starts");
            }
            titles.put(p.getAttribute("data-method"), t);
        }
        assertEquals(List.of("loss", "mean_token_accuracy"), titles.get("apo-rjs"));
        assertEquals(List.of("loss", "rewards/margins"), titles.get("dpo"));
        assertEquals(List.of("loss", "reward"), titles.get("grpo+aapa"));
        assertEquals(List.of("loss", "reward"), titles.get("grpo-gold"));
    }

    @Test
    void theMetadataSaysWhatWasRunWhereAndWhen() {
        String meta = byClass("table", "meta").getFirst().getTextContent();
        for (String s : List.of(
                "2025-06-12T16:04:31+02:00",
                "42, 43, 44",
                "2 alignment rounds",
                "full",
                "14.0 min (4.7 min per seed)",
                "commit 9a916c1e4b2d",
                "AMD EPYC 7B13, 2 cores")) assertTrue(meta.contains(s), s + " in " + meta);
    }

    @Test
    void aQuickOneSeedRunHasNoSpreadToShowAndSaysSo(@TempDir Path tmp) throws Exception {
        // --quick: one seed, one round; the fixture cut down to seed 42's rounds 0 and 1
        var root = (com.fasterxml.jackson.databind.node.ObjectNode)
                JSON.readTree(run.resolve("results.json").toFile());
        var rows = JSON.createArrayNode();
        for (var row : root.get("rows"))
            if (row.get("seed").asLong() == 42 && row.get("round").asInt() <= 1) rows.add(row);
        root.put("seeds", 1)
                .put("rounds", 1)
                .put("quick", true)
                .put("minutes", 2.7)
                .set("rows", rows);
        JSON.writeValue(tmp.resolve("results.json").toFile(), root);
        for (String method : METHODS) writeCurve(tmp, 42, method, 1);
        String page = Files.readString(DemoReport.write(tmp));
        Files.writeString(Path.of("target/demo-report/quick.html"), page);
        Document d = parse(page);
        assertFalse(page.contains("class=\"whisker\"") || page.contains("class=\"band\""), "one seed: no spread");
        assertTrue(page.contains("One seed, so no spread"));
        assertTrue(page.contains("quick (--quick"));
        assertFalse(page.contains("class=\"mark\""), "one round: no round boundary");
        // gold reward (greedy), round 1 of seed 42: APO-RJS minus RJS, as the fixture has it
        DemoResults r = DemoResults.read(tmp.resolve("results.json"));
        double expected =
                r.perSeed("apo-rjs", 1, DemoResults.Metric.GOLD_GREEDY).get(42L)
                        - r.perSeed("rjs", 1, DemoResults.Metric.GOLD_GREEDY).get(42L);
        for (Element tr : children(d.getElementsByTagName("tr")))
            if (tr.getAttribute("data-variant").equals("apo-rjs"))
                assertEquals(
                        expected,
                        Double.parseDouble(
                                ((Element) tr.getElementsByTagName("td").item(1)).getAttribute("data-mean")),
                        1e-6);
    }

    @Test
    void anOlderResultsJsonWithoutSeedsOrMetadataStillRenders(@TempDir Path tmp) throws Exception {
        // before rows carried their seed: seeds follow from the order (one seed's rows after the other)
        List<Map<String, Object>> rows = new ArrayList<>();
        for (long seed : List.of(7L, 8L))
            for (String m : List.of("dpo", "apo-dpo"))
                for (int k = 0; k <= 1; k++)
                    rows.add(Map.of(
                            "method",
                            m,
                            "round",
                            k,
                            "gold_reward_greedy",
                            k == 0 ? 0.5 : seed / 10.0 + (m.equals("dpo") ? 0 : 0.05),
                            "accuracy_greedy",
                            0.5,
                            "gold_reward_sampled",
                            0.4,
                            "rm_heldout_accuracy",
                            0.6,
                            "rm_accuracy_on_policy_samples",
                            "NaN"));
        Files.writeString(
                tmp.resolve("results.json"),
                JSON.writeValueAsString(
                        Map.of("seeds", 2, "first_seed", 7, "rounds", 1, "quick", true, "minutes", 2.5, "rows", rows)));
        DemoResults r = DemoResults.read(tmp.resolve("results.json"));
        assertEquals(List.of(7L, 8L), r.seeds());
        assertEquals(
                List.of(0.05, 0.05),
                r.deltas("apo-dpo", "dpo", 1, DemoResults.Metric.GOLD_GREEDY).stream()
                        .map(d -> Math.round(d * 1e6) / 1e6)
                        .toList());
        String page = Files.readString(DemoReport.write(tmp));
        Document d = parse(page);
        assertTrue(page.contains("not recorded"), "missing metadata is said, not invented");
        assertTrue(page.contains("No metrics.jsonl was found"));
        assertEquals("html", d.getDocumentElement().getTagName());
    }

    @Test
    void runMetadataNamesTheCommitTheCpuAndTheDate() {
        Map<String, Object> m = RunMetadata.collect(java.time.ZonedDateTime.parse("2025-06-12T16:04:31.5+02:00"));
        assertEquals("2025-06-12T16:04:31+02:00", m.get("date"));
        assertTrue(String.valueOf(m.get("cpu")).matches(".+, \\d+ cores?"), String.valueOf(m.get("cpu")));
        // built in a git checkout here: its commit (best effort elsewhere: null, never a failure)
        Object commit = m.get("git_commit");
        assertTrue(commit == null || commit.toString().matches("[0-9a-f]{12}(\\+changes)?"), String.valueOf(commit));
    }

    @Test
    void ticksAreRoundNumbersInsideTheRange() {
        assertEquals(
                List.of(0.65, 0.7, 0.75, 0.8, 0.85),
                Svg.ticks(0.62, 0.86, 6).stream()
                        .map(t -> Math.round(t * 1e9) / 1e9)
                        .toList());
        assertEquals(2, Svg.decimals(List.of(0.65, 0.7)));
        assertEquals(3, Svg.decimals(List.of(0.025, 0.05)));
        assertEquals("\u22120.022", Svg.signed(-0.0223, 3));
        assertEquals("+0.016", Svg.signed(0.01567, 3));
        assertEquals("0.000", Svg.signed(-0.0001, 3));
    }

    // -- the fixture's training curves -------------------------------------------------------------------------

    /**
     * One round's metrics.jsonl where ApoLoop writes it, with the keys and logging steps of the demo's trainers: RJS's
     * SFT on 8 batches logs every step; online DPO and GRPO log every 3rd of 16 steps. Values follow smooth curves
     * that differ by seed, so means and bands are not flat.
     */
    private static void writeCurve(Path out, long seed, String method, int round) throws Exception {
        Path dir = out.resolve("seed-" + seed)
                .resolve(method)
                .resolve("round-" + round)
                .resolve("policy");
        Files.createDirectories(dir);
        String algorithm = MethodStyle.algorithm(method);
        List<Integer> steps =
                algorithm.equals("rjs") ? List.of(1, 2, 3, 4, 5, 6, 7, 8) : List.of(1, 3, 6, 9, 12, 15, 16);
        double wobble = (seed - 43) * 0.04, t0 = round - 1;
        StringBuilder lines = new StringBuilder();
        for (int step : steps) {
            double t = t0 + step / (double) steps.getLast();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("step", step);
            row.put("epoch", step / (double) steps.getLast());
            row.put("learning_rate", 1e-4);
            row.put("grad_norm", 1.5 - 0.3 * t);
            switch (algorithm) {
                case "rjs" -> {
                    row.put("loss", 0.9 * Math.exp(-0.6 * t) + wobble * 0.5);
                    row.put("mean_token_accuracy", 0.72 + 0.08 * t + wobble);
                }
                case "dpo" -> {
                    row.put("loss", 0.693 - 0.05 * t + wobble * 0.2);
                    row.put("rewards/accuracies", Math.min(1, 0.5 + 0.15 * t + wobble));
                    row.put("rewards/margins", 0.02 + 0.09 * t + wobble * 0.3);
                    row.put("reward", 0.3 + 0.2 * t);
                }
                default -> {
                    row.put("loss", 0.01 * Math.sin(step + seed) + wobble * 0.02);
                    row.put(
                            "reward",
                            (method.endsWith("-gold") ? 0.7 : 0.1)
                                    + 0.1 * t
                                    + wobble
                                    + (method.endsWith("+aapa") ? 0.3 : 0));
                    row.put("reward_std", 0.2);
                }
            }
            lines.append(JSON.writeValueAsString(row)).append('\n');
        }
        Files.writeString(dir.resolve("metrics.jsonl"), lines);
    }

    // -- reading the page ---------------------------------------------------------------------------------------

    private static Document parse(String page) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(page.getBytes(StandardCharsets.UTF_8)));
    }

    private static void assertDelta(String variant, String metric, double mean, double min, double max) {
        Element c = cell(variant, metric);
        assertEquals(mean, Double.parseDouble(c.getAttribute("data-mean")), 1e-6, variant + " " + metric + " mean");
        assertEquals(min, Double.parseDouble(c.getAttribute("data-min")), 1e-6, variant + " " + metric + " min");
        assertEquals(max, Double.parseDouble(c.getAttribute("data-max")), 1e-6, variant + " " + metric + " max");
    }

    private static Element cell(String variant, String metric) {
        for (Element tr : byTag("tr"))
            if (tr.getAttribute("data-variant").equals(variant))
                for (Element td : children(tr.getElementsByTagName("td")))
                    if (td.getAttribute("data-metric").equals(metric)) return td;
        throw new AssertionError("no summary cell for " + variant + " " + metric);
    }

    private static int markers(Element series) {
        int n = 0;
        for (String tag : List.of("circle", "rect", "polygon"))
            n += series.getElementsByTagName(tag).getLength();
        return n;
    }

    private static Element byId(String id) {
        for (Element e : byTag("table")) if (e.getAttribute("id").equals(id)) return e;
        throw new AssertionError("no #" + id);
    }

    private static List<Element> byTag(String tag) {
        return children(doc.getElementsByTagName(tag));
    }

    private static List<Element> byClass(String tag, String cls) {
        return byClass(doc.getDocumentElement(), tag, cls);
    }

    private static List<Element> byClass(Element root, String tag, String cls) {
        return children(root.getElementsByTagName(tag)).stream()
                .filter(e -> List.of(e.getAttribute("class").split(" ")).contains(cls))
                .toList();
    }

    private static List<Element> children(NodeList nodes) {
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) out.add((Element) nodes.item(i));
        return out;
    }

    /** The hue of "#rrggbb" in degrees, and the shortest distance between two hues. */
    private static double hueGap(String a, String b) {
        double d = Math.abs(hsl(a)[0] - hsl(b)[0]);
        return Math.min(d, 360 - d);
    }

    private static double saturation(String c) {
        return hsl(c)[1];
    }

    private static double[] hsl(String hex) {
        double r = Integer.parseInt(hex.substring(1, 3), 16) / 255.0,
                g = Integer.parseInt(hex.substring(3, 5), 16) / 255.0,
                b = Integer.parseInt(hex.substring(5, 7), 16) / 255.0;
        double max = Math.max(r, Math.max(g, b)), min = Math.min(r, Math.min(g, b)), d = max - min;
        double h = d == 0
                ? 0
                : max == r ? 60 * (((g - b) / d) % 6) : max == g ? 60 * ((b - r) / d + 2) : 60 * ((r - g) / d + 4);
        double l = (max + min) / 2, s = d == 0 ? 0 : d / (1 - Math.abs(2 * l - 1));
        return new double[] {(h + 360) % 360, s, l};
    }
}
