// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Two clearly different response styles for the discriminator tests: "expert" = short worked arithmetic ending in a
 * GSM8K answer line, "policy" = rambling text that never answers. Generated from a seed, so train and held-out texts
 * differ in their numbers and sentence combinations.
 */
public final class DiscriminatorTestData {
    private static final String[] NAMES = {
        "Natalia", "Weng", "Betty", "Julie", "James", "Mark", "Albert", "Ken", "Alexis", "Tina"
    };
    private static final String[] RAMBLE = {
        "Well, that is a really interesting question and there are many ways one could think about it.",
        "Honestly I am not completely sure, but let me share some general thoughts first.",
        "Numbers have fascinated people for thousands of years, from ancient Babylon to modern computers.",
        "Some people prefer to count on their fingers, while others like to use a calculator or an abacus.",
        "It really depends on the context and on what exactly you mean by the question.",
        "Before answering, it is worth reflecting on why we care about problems like this at all.",
        "I think the most important thing is to stay curious and keep exploring ideas.",
        "There could be several interpretations, and each of them has its own merits and drawbacks.",
        "Let me tell you a short story about a merchant who once sold apples at a busy market.",
        "In any case, mathematics is a beautiful subject that rewards patience and careful thought."
    };

    private DiscriminatorTestData() {}

    public static List<String> prompts(int n, long seed) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++)
            out.add(NAMES[r.nextInt(NAMES.length)] + " has " + (2 + r.nextInt(50)) + " apples and buys "
                    + (2 + r.nextInt(50)) + " more. How many now?");
        return out;
    }

    public static List<String> expert(int n, long seed) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = 2 + r.nextInt(90), b = 2 + r.nextInt(90);
            out.add(
                    switch (r.nextInt(3)) {
                        case 0 -> a + " + " + b + " = " + (a + b) + "\n#### " + (a + b);
                        case 1 -> a + " * " + b + " = " + (a * b) + "\n#### " + (a * b);
                        default -> "#### " + (a + b);
                    });
        }
        return out;
    }

    public static List<String> policy(int n, long seed) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder s = new StringBuilder();
            int k = 2 + r.nextInt(3);
            for (int j = 0; j < k; j++) s.append(j == 0 ? "" : " ").append(RAMBLE[r.nextInt(RAMBLE.length)]);
            out.add(s.toString());
        }
        return out;
    }

    static List<EncoderDiscriminator.Example> examples(List<String> prompts, List<String> responses) {
        List<EncoderDiscriminator.Example> out = new ArrayList<>();
        for (int i = 0; i < responses.size(); i++)
            out.add(new EncoderDiscriminator.Example(prompts.get(i), responses.get(i)));
        return out;
    }
}
