// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.FormatReward;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's pipeline end to end at toy size (the real run's figures are in the README). */
class AdversarialDemoTest {
    @Test
    void everyMethodRunsItsRoundsAndIsMeasuredFromTheSameSftStart(@TempDir Path tmp) throws Exception {
        // a stand-in anchor (no sentence encoder here): rewards answers that end in a digit
        AdversarialDemo.Settings s = AdversarialDemo.Settings.full(tmp, 7)
                .rounds(1)
                .sftSteps(30)
                .rmSteps(6)
                .alignSteps(2)
                .humanPairs(40)
                .queriesPerRound(8)
                .anchor(ctx -> new FormatReward("aapa_anchor", "\\d\\z"))
                .build();
        List<AdversarialDemo.Row> rows = AdversarialDemo.run(s);
        Set<String> methods = rows.stream().map(AdversarialDemo.Row::method).collect(Collectors.toSet());
        assertEquals(Set.of("rjs", "apo-rjs", "dpo", "apo-dpo", "grpo", "grpo+aapa", "rjs-gold", "grpo-gold"), methods);
        assertEquals(16, rows.size(), "round 0 and round 1 of each method");
        AdversarialDemo.Row sft = rows.get(0);
        for (AdversarialDemo.Row r : rows) {
            assertTrue(
                    r.goldGreedy() >= -1
                            && r.goldGreedy() <= 1
                            && r.rmHeldOutAccuracy() >= 0
                            && r.rmHeldOutAccuracy() <= 1,
                    r.toString());
            // every method starts from the same SFT policy and base reward model
            if (r.round() == 0) assertEquals(sft.goldGreedy(), r.goldGreedy(), 0.0);
        }
        assertTrue(
                Files.exists(tmp.resolve("apo-rjs/round-1/rm/model.safetensors")),
                "APO retrains its reward model each round");
        assertTrue(Files.notExists(tmp.resolve("rjs/round-1/rm")), "the baseline keeps the base reward model");
        try (Transformer p = Checkpoints.load(tmp.resolve("grpo+aapa/round-1/policy"))) {
            assertTrue(p.numParameters() > 0);
        }
    }

    @Test
    void theGoldRewardPrefersCorrectAndConciseAnswers() {
        ArithmeticTask.Problem p = new ArithmeticTask.Problem(23, 19);
        assertEquals(1.0, ArithmeticTask.goldReward(p, "42"), 0.0);
        assertEquals(1.0 - 6 * ArithmeticTask.VERBOSITY_PENALTY, ArithmeticTask.goldReward(p, "42 is it"), 1e-12);
        assertEquals(0.0, ArithmeticTask.goldReward(p, "41"), 0.0);
        assertEquals(
                -ArithmeticTask.VERBOSITY_PENALTY,
                ArithmeticTask.goldReward(p, "4 2"),
                1e-12,
                "a wrong first number, one extra character");
        ArithmeticTask t = new ArithmeticTask(50, 100, 1);
        long flipped = t.humanPairs(1000, 0.2, 3).stream()
                .filter(x -> !x.chosen().equals(x.problem().answer()))
                .count();
        assertTrue(flipped > 150 && flipped < 250, "about 20% of the labels are flipped: " + flipped);
    }

    @Test
    void theGoldRewardFunctionReadsTheProblemFromThePromptAndDemonstrationsCarryChatterAtTheirShare() {
        double[] r = ArithmeticTask.goldRewardFunction()
                .score(List.of("23+19=", "2+2=", "7+0="), List.of("42", "5", "7 ok"), null);
        assertArrayEquals(new double[] {1.0, 0.0, 1.0 - 3 * ArithmeticTask.VERBOSITY_PENALTY}, r, 1e-12);
        assertThrows(
                IllegalArgumentException.class,
                () -> ArithmeticTask.goldRewardFunction().score(List.of("hello"), List.of("1"), null));
        java.util.Random rng = new java.util.Random(5);
        ArithmeticTask.Problem p = new ArithmeticTask.Problem(23, 19);
        int verbose = 0;
        for (int i = 0; i < 2000; i++) {
            String d = ArithmeticTask.demonstration(p, 0.5, rng);
            if (d.equals("42")) continue;
            verbose++;
            assertTrue(List.of(ArithmeticTask.CHATTER).contains(d.substring(3)) && d.startsWith("42 "), d);
        }
        assertTrue(verbose > 900 && verbose < 1100, "about half carry chatter: " + verbose);
        assertEquals("42", ArithmeticTask.demonstration(p, 0.0, rng));
    }
}
