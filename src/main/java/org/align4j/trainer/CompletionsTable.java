// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * log_completions' console table (TRL's {@code print_prompt_completions_sample} without rich): a title line, then one
 * bordered row per completion with its columns in the order of completions.jsonl ({@code step} left out: the title
 * says it). Texts wrap at their column's width, keeping their own line breaks; numbers are right-aligned with 2
 * decimals as TRL shows them; a missing value (a reward function's "no reward") is {@code -}.
 *
 * <pre>
 * grpo: completions at step 10 (2 of 16; all in completions.jsonl)
 * +--------+---------------------+--------+--------+-----------+
 * | prompt | completion          | sevens | reward | advantage |
 * +--------+---------------------+--------+--------+-----------+
 * | 1+3=   | 77                  |   2.00 |   2.00 |      1.22 |
 * +--------+---------------------+--------+--------+-----------+
 * </pre>
 */
final class CompletionsTable {
    /** Widest a text column gets before it wraps: the completion, any other text. */
    static final int COMPLETION_WIDTH = 64, TEXT_WIDTH = 32;

    private CompletionsTable() {}

    static String render(String command, int step, int total, List<Map<String, Object>> rows) {
        StringBuilder out = new StringBuilder(String.format(
                Locale.ROOT,
                "%s: completions at step %d (%s; all in %s)",
                command,
                step,
                rows.size() == total ? "all " + total : rows.size() + " of " + total,
                MetricsLog.COMPLETIONS));
        if (rows.isEmpty()) return out.toString();
        Map<String, Integer> widths = new LinkedHashMap<>();
        Map<String, Boolean> numeric = new LinkedHashMap<>();
        for (String k : rows.getFirst().keySet()) {
            if (k.equals("step")) continue;
            int cap = k.equals("completion") ? COMPLETION_WIDTH : TEXT_WIDTH;
            int w = k.length();
            boolean num = true;
            for (Map<String, Object> r : rows) {
                Object v = r.get(k);
                num &= v == null || v instanceof Number;
                for (String line : cell(v).split("\n", -1)) w = Math.max(w, Math.min(cap, line.length()));
            }
            widths.put(k, Math.max(1, w));
            numeric.put(k, num);
        }
        String rule = rule(widths);
        out.append('\n').append(rule).append('\n');
        List<List<String>> header = new ArrayList<>();
        for (var e : widths.entrySet()) header.add(wrap(e.getKey(), e.getValue()));
        appendRow(out, header, widths, numeric, true);
        out.append(rule);
        for (Map<String, Object> r : rows) {
            List<List<String>> cells = new ArrayList<>();
            for (var e : widths.entrySet()) cells.add(wrap(cell(r.get(e.getKey())), e.getValue()));
            out.append('\n');
            appendRow(out, cells, widths, numeric, false);
            out.append(rule);
        }
        return out.toString();
    }

    /** A value as the table shows it: 2 decimals for a fraction, integers and text as they are, null as "-". */
    static String cell(Object v) {
        if (v == null) return "-";
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%.2f", d);
        }
        // tabs and other control characters would break the borders
        StringBuilder s = new StringBuilder();
        String text = String.valueOf(v).replace("\r\n", "\n");
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            s.append(c == '\n' ? c : c == '\t' ? ' ' : Character.isISOControl(c) ? '?' : c);
        }
        return s.toString();
    }

    /** {@code text}'s lines cut to {@code width} characters each (an empty text is one empty line). */
    static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) lines.add("");
            for (int from = 0; from < line.length(); from += width)
                lines.add(line.substring(from, Math.min(line.length(), from + width)));
        }
        return lines;
    }

    private static void appendRow(
            StringBuilder out,
            List<List<String>> cells,
            Map<String, Integer> widths,
            Map<String, Boolean> numeric,
            boolean header) {
        int height = cells.stream().mapToInt(List::size).max().orElse(1);
        List<String> keys = new ArrayList<>(widths.keySet());
        for (int line = 0; line < height; line++) {
            out.append('|');
            for (int c = 0; c < keys.size(); c++) {
                List<String> cell = cells.get(c);
                String text = line < cell.size() ? cell.get(line) : "";
                int w = widths.get(keys.get(c));
                String pad = " ".repeat(w - text.length());
                boolean right = numeric.get(keys.get(c)) && !header;
                out.append(' ').append(right ? pad + text : text + pad).append(" |");
            }
            out.append('\n');
        }
    }

    private static String rule(Map<String, Integer> widths) {
        StringBuilder s = new StringBuilder("+");
        for (int w : widths.values()) s.append("-".repeat(w + 2)).append('+');
        return s.toString();
    }
}
