// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.align4j.io.AtomicFiles;

/**
 * The demo's HTML report: one line chart (inline SVG, no scripts, no network) per metric with a
 * line per method over rounds, and the full table. Self-contained, so it opens from the output
 * folder as it is.
 */
public final class DemoReport {
    /** One measured point: method, round (0 = before alignment), metric name, value. */
    public record Point(String method, int round, String metric, double value) {}

    private static final String[] COLOURS = {
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"
    };

    private DemoReport() {}

    public static void write(Path file, String title, List<String> notes, List<Point> points) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
                .append(esc(title))
                .append("</title>")
                .append(
                        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}")
                .append(
                        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:16px}</style>")
                .append("</head><body><h1>")
                .append(esc(title))
                .append("</h1>");
        for (String n : notes) h.append("<p>").append(esc(n)).append("</p>");
        Map<String, List<Point>> byMetric = new LinkedHashMap<>();
        for (Point p : points)
            byMetric.computeIfAbsent(p.metric(), k -> new ArrayList<>()).add(p);
        h.append("<div class=\"charts\">");
        for (var e : byMetric.entrySet()) h.append(chart(e.getKey(), e.getValue()));
        h.append("</div><h2>All values</h2><table><tr><th>method</th><th>round</th><th>metric</th><th>value</th></tr>");
        for (Point p : points)
            h.append(String.format(
                    Locale.ROOT,
                    "<tr><td>%s</td><td>%d</td><td>%s</td><td>%.4f</td></tr>",
                    esc(p.method()),
                    p.round(),
                    esc(p.metric()),
                    p.value()));
        h.append("</table></body></html>\n");
        byte[] bytes = h.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.writeAtomically(file, tmp -> java.nio.file.Files.write(tmp, bytes), true);
    }

    /** A 480x280 SVG line chart of one metric, a polyline per method, rounds on x. */
    static String chart(String metric, List<Point> pts) {
        int w = 480, hgt = 280, left = 50, bottom = 30, top = 30, right = 130;
        double minY = pts.stream().mapToDouble(Point::value).min().orElse(0),
                maxY = pts.stream().mapToDouble(Point::value).max().orElse(1);
        if (maxY - minY < 1e-9) {
            minY -= 0.5;
            maxY += 0.5;
        }
        int maxX = Math.max(1, pts.stream().mapToInt(Point::round).max().orElse(1));
        final double lo = minY, hi = maxY;
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">", w, hgt));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"14\">%s</text>", left, esc(metric)));
        s.append(String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>",
                left,
                hgt - bottom,
                w - right,
                hgt - bottom));
        s.append(String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>",
                left,
                top,
                left,
                hgt - bottom));
        s.append(String.format(
                Locale.ROOT,
                "<text x=\"4\" y=\"%d\" font-size=\"10\">%.3g</text><text x=\"4\" y=\"%d\" font-size=\"10\">%.3g</text>",
                top + 4,
                hi,
                hgt - bottom,
                lo));
        for (int r = 0; r <= maxX; r++)
            s.append(String.format(
                    Locale.ROOT,
                    "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%d</text>",
                    x(r, maxX, left, w - right),
                    hgt - bottom + 14,
                    r));
        Map<String, List<Point>> byMethod = new LinkedHashMap<>();
        for (Point p : pts)
            byMethod.computeIfAbsent(p.method(), k -> new ArrayList<>()).add(p);
        int i = 0;
        for (var e : byMethod.entrySet()) {
            String colour = COLOURS[i % COLOURS.length];
            StringBuilder line = new StringBuilder();
            for (Point p : e.getValue())
                line.append(String.format(
                        Locale.ROOT,
                        "%.1f,%.1f ",
                        x(p.round(), maxX, left, w - right),
                        y(p.value(), lo, hi, top, hgt - bottom)));
            s.append("<polyline fill=\"none\" stroke=\"")
                    .append(colour)
                    .append("\" stroke-width=\"2\" points=\"")
                    .append(line.toString().trim())
                    .append("\"/>");
            s.append(String.format(
                    Locale.ROOT,
                    "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">%s</text>",
                    w - right + 8,
                    top + 14 * i + 10,
                    colour,
                    esc(e.getKey())));
            i++;
        }
        return s.append("</svg>").toString();
    }

    private static double x(int round, int maxX, int x0, int x1) {
        return x0 + (x1 - x0) * (double) round / maxX;
    }

    private static double y(double v, double lo, double hi, int y0, int y1) {
        return y1 - (y1 - y0) * (v - lo) / (hi - lo);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
