// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TRL's {@code accuracy_reward} (trl/rewards/accuracy_rewards.py) for answers this parser can read: 1.0 when the
 * completion's final answer equals the row's {@code solution}, else 0.0. TRL verifies with math_verify (symbolic
 * LaTeX); this reads the common cases exactly and nothing more:
 *
 * <ul>
 *   <li>the answer of a text is the content of its last {@code \boxed{...}}, else what follows its last {@code ####},
 *       else (completions only) its last number;
 *   <li>two answers agree when both are numbers (integers, decimals, thousands commas, {@code a/b} or {@code
 *       \frac{a}{b}}, an optional {@code $} or {@code \%}) of equal value, or when their texts agree once spaces,
 *       {@code $} and {@code \left}/{@code \right} are removed.
 * </ul>
 *
 * A solution with no readable answer is an error naming the row (TRL skips such rows with None; here a data set is
 * expected to be readable, and the error says which row is not).
 */
public final class AccuracyReward implements RewardFunction {
    public static final String NAME = "accuracy_reward";
    private static final Pattern NUMBER = Pattern.compile("-?\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|-?\\d+(?:\\.\\d+)?");
    private static final Pattern FRACTION =
            Pattern.compile("(-?)\\\\[dt]?frac\\{(-?\\d+)\\}\\{(-?\\d+)\\}|(-?\\d+)\\s*/\\s*(-?\\d+)");

    private final String solutionField;

    public AccuracyReward() {
        this("solution");
    }

    public AccuracyReward(String solutionField) {
        this.solutionField = solutionField;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        if (rows == null || rows.size() != completions.size())
            throw new IllegalArgumentException(
                    NAME + " needs one dataset row per completion (its '" + solutionField + "' column)");
        double[] out = new double[completions.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode row = rows.get(i);
            if (row == null || !row.hasNonNull(solutionField))
                throw new IllegalArgumentException(
                        "dataset row " + i + " has no '" + solutionField + "' column (accuracy_reward's reference)");
            String gold = answer(row.get(solutionField).asText(), false);
            if (gold == null)
                throw new IllegalArgumentException("dataset row " + i + ": no answer can be read from its solution \""
                        + RewardException.snippet(row.get(solutionField).asText()) + "\"");
            String got = answer(completions.get(i), true);
            out[i] = got != null && agree(gold, got) ? 1.0 : 0.0;
        }
        return out;
    }

    /** The final answer of a text (see the class comment), or null. */
    static String answer(String text, boolean lastNumberFallback) {
        int boxed = text.lastIndexOf("\\boxed{");
        if (boxed >= 0) {
            int depth = 0, from = boxed + "\\boxed{".length();
            for (int i = from; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '{') depth++;
                else if (c == '}' && depth-- == 0)
                    return text.substring(from, i).strip();
            }
            return null;
        }
        int marker = text.lastIndexOf("####");
        if (marker >= 0) return text.substring(marker + 4).strip();
        if (!lastNumberFallback) return text.strip().isEmpty() ? null : text.strip();
        Matcher m = NUMBER.matcher(text);
        String last = null;
        while (m.find()) last = m.group();
        return last;
    }

    static boolean agree(String a, String b) {
        BigDecimal x = number(a), y = number(b);
        if (x != null && y != null) return x.compareTo(y) == 0;
        return normal(a).equals(normal(b));
    }

    /** The value of an answer that is a number or a simple fraction, rounded to 30 digits; null otherwise. */
    static BigDecimal number(String s) {
        String t = s.replace("$", "")
                .replace("\\%", "")
                .replace("%", "")
                .replace("\\!", "")
                .strip();
        Matcher f = FRACTION.matcher(t);
        if (f.matches()) {
            boolean latex = f.group(2) != null;
            BigDecimal num = new BigDecimal(latex ? f.group(2) : f.group(4)),
                    den = new BigDecimal(latex ? f.group(3) : f.group(5));
            if (den.signum() == 0) return null;
            BigDecimal v = num.divide(den, MathContext.DECIMAL128);
            return latex && f.group(1).equals("-") ? v.negate() : v;
        }
        if (!NUMBER.matcher(t).matches()) return null;
        return new BigDecimal(t.replace(",", ""));
    }

    private static String normal(String s) {
        return s.replace("\\left", "").replace("\\right", "").replace("$", "").replaceAll("\\s+", "");
    }
}
