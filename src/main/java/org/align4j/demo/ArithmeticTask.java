// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's own task with a hidden gold reward: two-number addition ("23+19=" -> "42"), where
 * the gold reward prefers correct and concise answers. Everything the demo trains on is derived
 * from it: expert (golden) answers, a limited and noisy set of human preference pairs for the
 * base reward model, and clean held-out pairs for measuring reward-model accuracy.
 */
public final class ArithmeticTask {
    /** The chatter a verbose answer carries after the sum (SFT demonstrations and distractors share it). */
    static final String[] CHATTER = {"ok", "is it", "I think"};
    /** Gold reward lost per character beyond the answer's own length. */
    public static final double VERBOSITY_PENALTY = 0.05;

    private static final Pattern FIRST_INT = Pattern.compile("-?\\d+"), PROMPT = Pattern.compile("(\\d+)\\+(\\d+)=");

    public record Problem(int a, int b) {
        public String prompt() {
            return a + "+" + b + "=";
        }

        public String answer() {
            return Integer.toString(a + b);
        }
    }

    /** A preference pair of completions for one problem; {@code chosen} is what the labeller preferred. */
    public record Pair(Problem problem, String chosen, String rejected) {}

    private final List<Problem> train, test;

    /** Every a + b with a, b below {@code maxOperand}, shuffled by {@code seed}; the first {@code heldOut} are the test set. */
    public ArithmeticTask(int maxOperand, int heldOut, long seed) {
        List<Problem> all = new ArrayList<>();
        for (int a = 0; a < maxOperand; a++) for (int b = 0; b < maxOperand; b++) all.add(new Problem(a, b));
        Collections.shuffle(all, new Random(seed));
        test = List.copyOf(all.subList(0, heldOut));
        train = List.copyOf(all.subList(heldOut, all.size()));
    }

    public List<Problem> train() {
        return train;
    }

    public List<Problem> test() {
        return test;
    }

    /**
     * The hidden gold reward of a completion: 1 when its first integer is the right sum, else 0,
     * minus {@link #VERBOSITY_PENALTY} per character beyond the answer's length (so "42" scores 1,
     * "42 is it" 0.7, "41" 0).
     */
    public static double goldReward(Problem p, String completion) {
        String c = completion.strip();
        Matcher m = FIRST_INT.matcher(c);
        double correct = m.find() && m.start() == 0 && m.group().equals(p.answer()) ? 1.0 : 0.0;
        return correct - VERBOSITY_PENALTY * Math.max(0, c.length() - p.answer().length());
    }

    /**
     * The hidden gold reward as a reward function (named {@code gold}) for aligning against it directly: the
     * demo's upper bound on what alignment reaches with a perfect reward model. Reads the problem from the
     * prompt text "a+b=".
     */
    public static org.align4j.reward.RewardFunction goldRewardFunction() {
        return org.align4j.reward.RewardFunction.perCompletion(
                "gold", (prompt, completion, row) -> goldReward(parse(prompt), completion));
    }

    /** The problem of a prompt "a+b=". */
    static Problem parse(String prompt) {
        Matcher m = PROMPT.matcher(prompt);
        if (!m.matches())
            throw new IllegalArgumentException("'" + prompt + "' is not an addition prompt of the form a+b=");
        return new Problem(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    public static boolean correct(Problem p, String completion) {
        return goldReward(p, completion) > 0.5 && completion.strip().startsWith(p.answer());
    }

    /** A plausible wrong or verbose answer to {@code p}: off by a small amount, or right with trailing chatter. */
    public static String distractor(Problem p, Random rng) {
        int sum = p.a() + p.b();
        return switch (rng.nextInt(3)) {
            case 0 -> Integer.toString(sum + 1 + rng.nextInt(9));
            case 1 -> Integer.toString(Math.max(0, sum - 1 - rng.nextInt(9)));
            default -> sum + " " + CHATTER[rng.nextInt(CHATTER.length)];
        };
    }

    /**
     * An SFT demonstration: the sum, followed with probability {@code verboseShare} by chatter ("42 is it"), as
     * demonstrations written by people often are. The gold reward prefers the bare sum, so a policy that learned
     * the chatter has something that preference alignment can fix without learning new arithmetic.
     */
    public static String demonstration(Problem p, double verboseShare, Random rng) {
        return rng.nextDouble() < verboseShare ? p.answer() + " " + CHATTER[rng.nextInt(CHATTER.length)] : p.answer();
    }

    /**
     * {@code n} human preference pairs over training problems: the gold answer against a
     * distractor, with each label flipped with probability {@code flip} (annotation noise).
     */
    public List<Pair> humanPairs(int n, double flip, long seed) {
        Random rng = new Random(seed);
        List<Pair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Problem p = train.get(rng.nextInt(train.size()));
            String good = p.answer(), bad = distractor(p, rng);
            out.add(rng.nextDouble() < flip ? new Pair(p, bad, good) : new Pair(p, good, bad));
        }
        return out;
    }

    /** Clean pairs on held-out problems (the labels agree with the gold reward): for reward-model accuracy. */
    public List<Pair> heldOutPairs(int n, long seed) {
        Random rng = new Random(seed);
        List<Pair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Problem p = test.get(i % test.size());
            out.add(new Pair(p, p.answer(), distractor(p, rng)));
        }
        return out;
    }
}
