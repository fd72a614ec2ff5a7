// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * 1.0 when the completion contains a match of a regular expression ({@link java.util.regex.Matcher#find()}), else 0.0.
 * Anchor the pattern ({@code ^}, {@code $}, {@code \A}, {@code \z}) to require a whole-text format; flags go inline,
 * e.g. {@code (?s)} for DOTALL.
 */
public final class FormatReward implements RewardFunction {
    /** GSM8K's answer line at the very end: {@code #### <number>}, then only whitespace. */
    public static final String GSM8K_ANSWER_AT_END = "####\\s*-?[\\d,]*\\d(?:\\.\\d+)?\\s*\\z";

    private final String name;
    private final Pattern pattern;

    public FormatReward(String name, String regex) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("reward function name is empty");
        if (regex == null || regex.isEmpty())
            throw new IllegalArgumentException("format reward '" + name + "': the regular expression is empty");
        this.name = name;
        try {
            this.pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(
                    "format reward '" + name + "': invalid regular expression: " + e.getMessage(), e);
        }
    }

    /** Name "format": 1 when the completion ends with {@code #### <number>} ({@link #GSM8K_ANSWER_AT_END}). */
    public static FormatReward gsm8kAnswerAtEnd() {
        return new FormatReward("format", GSM8K_ANSWER_AT_END);
    }

    @Override
    public String name() {
        return name;
    }

    public String regex() {
        return pattern.pattern();
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        double[] out = new double[completions.size()];
        for (int i = 0; i < out.length; i++)
            out[i] = pattern.matcher(completions.get(i)).find() ? 1.0 : 0.0;
        return out;
    }
}
