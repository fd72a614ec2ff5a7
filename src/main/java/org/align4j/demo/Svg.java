// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart as inline SVG, the only kind the report draws: axes with titles, "nice" ticks with gridlines, one
 * series per method (line, markers, and the min-max over seeds as whiskers or a band), optional vertical marks
 * (round boundaries). Written as XML (every element closed, no namespace prefix, no entity but the five XML ones) so
 * the page is also well-formed XHTML and a test can parse it.
 */
final class Svg {
    private Svg() {}

    /**
     * One point; {@code lo} and {@code hi} are the min and max over seeds (NaN when there is one seed); an unmarked
     * point only bends the line (the chart draws the shared start point itself).
     */
    record Pt(double x, double y, double lo, double hi, boolean marked) {
        Pt(double x, double y, double lo, double hi) {
            this(x, y, lo, hi, true);
        }

        Pt(double x, double y) {
            this(x, y, Double.NaN, Double.NaN);
        }

        boolean spread() {
            return Double.isFinite(lo) && Double.isFinite(hi) && hi > lo;
        }
    }

    /**
     * A method's points; {@code dx} shifts them sideways (in x units) so that equal values of several methods sit
     * side by side instead of on top of each other.
     */
    record Series(MethodStyle style, List<Pt> pts, double dx) {}

    /** An x position to label with a tick (and a vertical gridline). */
    record Tick(double x, String label) {}

    /** A vertical dashed line with a label at the top, e.g. where round 2 starts. */
    record Mark(double x, String label) {}

    /**
     * Everything one chart shows. {@code start}, when not null, is a point every series starts from (the SFT
     * policy), drawn once in black instead of once per series. {@code yRange} fixes the y axis (to share it across
     * small multiples), or is null to fit the data; {@code band} draws the spread as a shaded band (dense training
     * curves) rather than whiskers.
     */
    record Chart(
            String cssClass,
            int width,
            int height,
            String title,
            String xTitle,
            String yTitle,
            double xMin,
            double xMax,
            List<Tick> xTicks,
            List<Series> series,
            List<Mark> marks,
            Pt start,
            double[] yRange,
            boolean band) {}

    private static final int LEFT = 62, RIGHT = 14, TOP = 30, BOTTOM = 46;

    static String render(Chart c) {
        double[] yr = c.yRange() != null ? c.yRange() : yRange(c.series());
        List<Double> yTicks = ticks(yr[0], yr[1], c.height() < 260 ? 4 : 6);
        double lo = Math.min(yr[0], yTicks.getFirst()), hi = Math.max(yr[1], yTicks.getLast());
        int x0 = LEFT, x1 = c.width() - RIGHT, y0 = TOP, y1 = c.height() - BOTTOM;
        Scale sx = new Scale(c.xMin(), c.xMax(), x0, x1), sy = new Scale(lo, hi, y1, y0);
        StringBuilder s = new StringBuilder();
        s.append(f(
                "<svg class=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">",
                c.cssClass(), c.width(), c.height(), c.width(), c.height()));
        s.append(f("<text class=\"chart-title\" x=\"%d\" y=\"18\">%s</text>", x0, esc(c.title())));
        // gridlines first, so that data is drawn over them
        int decimals = decimals(yTicks);
        for (double t : yTicks) {
            double y = sy.at(t);
            s.append(f("<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", x0, y, x1, y));
            s.append(f(
                    "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                    x0 - 5, y + 4, number(t, decimals)));
        }
        for (Tick t : c.xTicks()) {
            double x = sx.at(t.x());
            s.append(f("<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, y0, x, y1));
            s.append(f(
                    "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                    x, y1 + 15, esc(t.label())));
        }
        for (Mark m : c.marks()) {
            double x = sx.at(m.x());
            s.append(f("<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, y0, x, y1));
            s.append(f("<text class=\"mark-label\" x=\"%.1f\" y=\"%d\">%s</text>", x + 3, y0 + 10, esc(m.label())));
        }
        s.append(f("<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", x0, y0, x1 - x0, y1 - y0));
        s.append(f(
                "<text class=\"axis-title\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                (x0 + x1) / 2.0, c.height() - 8, esc(c.xTitle())));
        double yMid = (y0 + y1) / 2.0;
        s.append(f(
                "<text class=\"axis-title\" x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">%s</text>",
                yMid, yMid, esc(c.yTitle())));
        for (Series ser : c.series()) s.append(series(ser, sx, sy, c.band(), decimals + 1));
        if (c.start() != null) s.append(start(c.start(), sx, sy, decimals + 1));
        return s.append("</svg>").toString();
    }

    private static String series(Series ser, Scale sx, Scale sy, boolean band, int decimals) {
        MethodStyle st = ser.style();
        StringBuilder s = new StringBuilder(f(
                "<g class=\"series\" data-method=\"%s\" data-colour=\"%s\" data-dash=\"%s\" data-marker=\"%s\">",
                esc(st.method()), st.colour(), st.dash(), st.marker()));
        List<Pt> pts = ser.pts();
        if (band && pts.stream().anyMatch(Pt::spread)) {
            StringBuilder poly = new StringBuilder();
            for (Pt p : pts) poly.append(f("%.1f,%.1f ", sx.at(p.x() + ser.dx()), sy.at(spreadHi(p))));
            for (Pt p : pts.reversed()) poly.append(f("%.1f,%.1f ", sx.at(p.x() + ser.dx()), sy.at(spreadLo(p))));
            s.append(f(
                    "<polygon class=\"band\" fill=\"%s\" points=\"%s\"/>",
                    st.colour(), poly.toString().trim()));
        }
        if (!band)
            for (Pt p : pts)
                if (p.spread() && p.marked()) s.append(whisker(p, sx.at(p.x() + ser.dx()), sy, st.colour()));
        StringBuilder line = new StringBuilder();
        for (Pt p : pts) line.append(f("%.1f,%.1f ", sx.at(p.x() + ser.dx()), sy.at(p.y())));
        s.append(f(
                "<polyline class=\"line\" stroke=\"%s\" stroke-dasharray=\"%s\" points=\"%s\"/>",
                st.colour(), st.dash(), line.toString().trim()));
        // markers on sparse series only: on a dense training curve they would hide the line itself
        if (pts.size() <= 12)
            for (Pt p : pts)
                if (p.marked())
                    s.append(st.marker(sx.at(p.x() + ser.dx()), sy.at(p.y()), st.label() + ": " + value(p, decimals)));
        return s.append("</g>").toString();
    }

    /** The shared start: one black dot (and its spread) where every series begins. */
    private static String start(Pt p, Scale sx, Scale sy, int decimals) {
        double x = sx.at(p.x()), y = sy.at(p.y());
        return "<g class=\"start\">" + (p.spread() ? whisker(p, x, sy, "#222") : "")
                + f("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#222\">", x, y)
                + "<title>SFT policy, every method's start: " + value(p, decimals) + "</title></circle></g>";
    }

    /** A vertical bar with caps from the min to the max over seeds. */
    private static String whisker(Pt p, double x, Scale sy, String colour) {
        double a = sy.at(p.lo()), b = sy.at(p.hi());
        return f(
                "<path class=\"whisker\" stroke=\"%s\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\"/>",
                colour, x, a, b, x - 3, a, x + 3, x - 3, b, x + 3);
    }

    private static String value(Pt p, int decimals) {
        return number(p.y(), decimals)
                + (p.spread()
                        ? " (" + number(p.lo(), decimals) + " to " + number(p.hi(), decimals) + " over seeds)"
                        : "");
    }

    private static double spreadLo(Pt p) {
        return p.spread() ? p.lo() : p.y();
    }

    private static double spreadHi(Pt p) {
        return p.spread() ? p.hi() : p.y();
    }

    /** {@link #yRange(List, double)} with a minimum span of 2 % of the largest value (at least 0.001). */
    static double[] yRange(List<Series> series) {
        return yRange(series, 0);
    }

    /**
     * The data's y extent (spread included) with 8 % air; a flatter line gets {@code minSpan} around it (or 2 % of
     * its value, at least 0.001), so that it reads as flat instead of magnifying the last digit into a slope.
     */
    static double[] yRange(List<Series> series, double minSpan) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Series s : series)
            for (Pt p : s.pts()) {
                lo = Math.min(lo, Math.min(p.y(), spreadLo(p)));
                hi = Math.max(hi, Math.max(p.y(), spreadHi(p)));
            }
        if (!(lo <= hi)) return new double[] {0, 1};
        double span = hi - lo, min = Math.max(minSpan, Math.max(1e-3, Math.abs(hi) * 0.02));
        if (span < min) {
            double mid = (lo + hi) / 2;
            return new double[] {mid - min / 2, mid + min / 2};
        }
        return new double[] {lo - 0.08 * span, hi + 0.08 * span};
    }

    /** Ticks at a "nice" step (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi], about {@code target} of them. */
    static List<Double> ticks(double lo, double hi, int target) {
        double raw = (hi - lo) / Math.max(1, target), mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 2.5, 5, 10})
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        List<Double> out = new ArrayList<>();
        // the ticks just inside the range, so the axis is not stretched past the data by almost a whole step
        for (double t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
            out.add(Math.abs(t) < step * 1e-9 ? 0.0 : t);
        if (out.size() < 2) out = List.of(Math.floor(lo / step) * step, Math.ceil(hi / step) * step);
        return out;
    }

    /** Decimals enough to tell the ticks apart (0.05 steps need 2, 0.025 steps 3). */
    static int decimals(List<Double> ticks) {
        if (ticks.size() < 2) return 2;
        double step = Math.abs(ticks.get(1) - ticks.get(0));
        for (int d = 0; d < 6; d++)
            if (Math.abs(step * Math.pow(10, d) - Math.rint(step * Math.pow(10, d))) < 1e-6) return d;
        return 6;
    }

    /** A number for the page: a true minus sign, no "-0". */
    static String number(double v, int decimals) {
        if (!Double.isFinite(v)) return "n/a";
        String s = String.format(Locale.ROOT, "%." + decimals + "f", v);
        if (s.matches("-0\\.?0*")) s = s.substring(1);
        return s.replace('-', '\u2212');
    }

    /** A signed number: "+0.015", "−0.023", "0.000". */
    static String signed(double v, int decimals) {
        String s = number(v, decimals);
        return Double.isFinite(v) && !s.startsWith("\u2212") && !s.matches("0\\.?0*") ? "+" + s : s;
    }

    static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;")
                .replace("'", "&#39;");
    }

    /** Data to pixels, linear. */
    private record Scale(double from, double to, double px0, double px1) {
        double at(double v) {
            return to == from ? (px0 + px1) / 2 : px0 + (px1 - px0) * (v - from) / (to - from);
        }
    }
}
