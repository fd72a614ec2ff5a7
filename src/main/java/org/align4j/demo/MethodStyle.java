// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.util.List;

/**
 * How the report draws one method, so that 8 methods stay apart in colour, line and marker alike (and in
 * greyscale, or for a reader who cannot tell the hues apart):
 *
 * <ul>
 *   <li>hue = the alignment algorithm's pair: blue RJS, orange DPO, green GRPO, grey for the two oracle rows
 *       (aligned on the hidden gold reward, a reference rather than a contender);
 *   <li>line = the role: the baseline solid, its adversarial variant dashed, the oracles dotted and dash-dotted;
 *   <li>marker shape = the algorithm (circle RJS, square DPO, triangle GRPO, diamond oracle), hollow for the
 *       baseline and filled for the variant, so a pair reads as one shape in two fills.
 * </ul>
 *
 * The variant gets the darker shade of its hue: it is what the report is about, and a dashed line needs more
 * ink than a solid one to be seen.
 *
 * @param dash an SVG stroke-dasharray, or "none" for a solid line
 * @param marker circle, square, triangle or diamond
 * @param baseline for an adversarial variant, the method it is compared with; null otherwise
 */
public record MethodStyle(
        String method, String label, String colour, String dash, String marker, boolean filled, String baseline) {

    /** The demo's pairs, variant then baseline, in the order the report shows them. */
    public static final List<List<String>> PAIRS =
            List.of(List.of("apo-rjs", "rjs"), List.of("apo-dpo", "dpo"), List.of("grpo+aapa", "grpo"));

    private static final String SOLID = "none", DASHED = "7 4", DOTTED = "2 3", DASH_DOT = "9 3 2 3";

    public static MethodStyle of(String method) {
        return switch (method) {
            case "rjs" -> new MethodStyle(method, "RJS", "#6baed6", SOLID, "circle", false, null);
            case "apo-rjs" -> new MethodStyle(method, "APO-RJS", "#08519c", DASHED, "circle", true, "rjs");
            case "dpo" -> new MethodStyle(method, "DPO", "#fd8d3c", SOLID, "square", false, null);
            case "apo-dpo" -> new MethodStyle(method, "APO-DPO", "#a63603", DASHED, "square", true, "dpo");
            case "grpo" -> new MethodStyle(method, "GRPO", "#74c476", SOLID, "triangle", false, null);
            case "grpo+aapa" -> new MethodStyle(method, "GRPO+AAPA", "#0e6b22", DASHED, "triangle", true, "grpo");
            case "rjs-gold" -> new MethodStyle(method, "RJS-gold (oracle)", "#525252", DOTTED, "diamond", false, null);
            case "grpo-gold" ->
                new MethodStyle(method, "GRPO-gold (oracle)", "#969696", DASH_DOT, "diamond", true, null);
            // a method this list does not know yet: purple, told apart by its name's hash in dash and marker
            default -> {
                int h = Math.floorMod(method.hashCode(), 4);
                yield new MethodStyle(
                        method,
                        method,
                        "#6a51a3",
                        List.of(SOLID, DASHED, DOTTED, DASH_DOT).get(h),
                        List.of("circle", "square", "triangle", "diamond").get(h),
                        true,
                        null);
            }
        };
    }

    /** The alignment algorithm a demo method runs: rjs, dpo or grpo (as AdversarialDemo derives it). */
    public static String algorithm(String method) {
        return method.replace("apo-", "").replace("+aapa", "").replace("-gold", "");
    }

    /** An SVG marker of this style centred on (x, y), with a hover title. */
    String marker(double x, double y, String title) {
        String fill = filled ? colour : "#fff";
        String paint =
                String.format(java.util.Locale.ROOT, " fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"", fill, colour);
        String shape = switch (marker) {
            case "square" -> Svg.f("<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\"", x - 3.5, y - 3.5);
            case "triangle" ->
                Svg.f("<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"", x, y - 4.6, x + 4.3, y + 3, x - 4.3, y + 3);
            case "diamond" ->
                Svg.f(
                        "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\"",
                        x, y - 4.8, x + 4.2, y, x, y + 4.8, x - 4.2, y);
            default -> Svg.f("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\"", x, y);
        };
        String tag = shape.substring(1, shape.indexOf(' '));
        return shape + paint + "><title>" + Svg.esc(title) + "</title></" + tag + ">";
    }

    /** A short line sample with the marker in its middle, as legends and table rows show the method. */
    String swatch() {
        return "<svg class=\"swatch\" width=\"40\" height=\"14\" viewBox=\"0 0 40 14\">"
                + Svg.f(
                        "<line x1=\"1\" y1=\"7\" x2=\"39\" y2=\"7\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\"/>",
                        colour, dash)
                + marker(20, 7, label) + "</svg>";
    }
}
