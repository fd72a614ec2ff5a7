// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GSM8K accuracy: 1.0 when the completion's final answer equals the reference answer, else 0.0.
 * <ul>
 *   <li>Reference: the number after the last {@code ####} in the row's {@code answer} field (GSM8K's format, e.g.
 *       {@code "...\n#### 1,080"}), commas removed. A row without one is an error, not a 0.</li>
 *   <li>Completion: the first number after its last {@code ####} when it has one, otherwise the last number in the
 *       text; none gives 0.0.</li>
 *   <li>Numbers are compared as decimals ({@code 72}, {@code 72.00} and {@code 72.0} agree). A number is an optional
 *       minus sign (not when it follows a letter or digit, so {@code 10-5} reads as 10 and 5), digits with optional
 *       thousands commas in groups of three ({@code 1,080}), and an optional fraction ({@code 0.5}); a trailing
 *       sentence period is not part of it.</li>
 * </ul>
 */
public final class Gsm8kAnswerReward implements RewardFunction {
    /** Optional minus (not after a letter or digit), digits with thousands commas or plain, optional fraction. */
    private static final Pattern NUMBER =
            Pattern.compile("(?:(?<![\\w.])-)?(?<![\\d.])(?:\\d{1,3}(?:,\\d{3})+(?!\\d)|\\d+)(?:\\.\\d+)?");

    private static final String MARKER = "####";

    private final String name;
    private final String answerField;

    /** Name "gsm8k_answer", reference in the {@code answer} column. */
    public Gsm8kAnswerReward() {
        this("gsm8k_answer", "answer");
    }

    public Gsm8kAnswerReward(String name, String answerField) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("reward function name is empty");
        if (answerField == null || answerField.isBlank())
            throw new IllegalArgumentException("GSM8K answer column name is empty");
        this.name = name;
        this.answerField = answerField;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        if (rows == null || rows.size() != completions.size())
            throw new IllegalArgumentException(name + " needs one dataset row per completion (for its '" + answerField
                    + "' column), got " + (rows == null ? "none" : rows.size()) + " rows for " + completions.size()
                    + " completions");
        double[] out = new double[completions.size()];
        for (int i = 0; i < out.length; i++) {
            BigDecimal expected = expectedAnswer(rows.get(i), answerField, i);
            BigDecimal got = predictedAnswer(completions.get(i));
            out[i] = got != null && got.compareTo(expected) == 0 ? 1.0 : 0.0;
        }
        return out;
    }

    /** The reference number of a GSM8K {@code answer} text: after its last {@code ####}, commas removed. */
    public static BigDecimal referenceAnswer(String answer) {
        int at = answer.lastIndexOf(MARKER);
        if (at < 0)
            throw new IllegalArgumentException(
                    "GSM8K answer has no '#### <number>' line: \"" + RewardException.snippet(answer) + "\"");
        String tail = answer.substring(at + MARKER.length()).strip().replace(",", "");
        try {
            return new BigDecimal(tail);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "GSM8K answer's '####' is followed by \"" + RewardException.snippet(tail) + "\", not a number");
        }
    }

    /** The completion's final answer (see the class comment), or null when it has no number. */
    public static BigDecimal predictedAnswer(String completion) {
        int at = completion.lastIndexOf(MARKER);
        if (at >= 0) {
            Matcher m = NUMBER.matcher(completion);
            if (m.find(at + MARKER.length())) return parse(m.group());
            return null;
        }
        Matcher m = NUMBER.matcher(completion);
        String last = null;
        while (m.find()) last = m.group();
        return last == null ? null : parse(last);
    }

    private static BigDecimal expectedAnswer(JsonNode row, String field, int index) {
        if (row == null || !row.hasNonNull(field) || !row.get(field).isTextual())
            throw new IllegalArgumentException(
                    "dataset row " + index + " has no text column '" + field + "' (GSM8K's reference answer)");
        return referenceAnswer(row.get(field).asText());
    }

    private static BigDecimal parse(String number) {
        return new BigDecimal(number.replace(",", ""));
    }
}
