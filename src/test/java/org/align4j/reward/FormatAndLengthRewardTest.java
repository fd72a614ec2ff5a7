// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class FormatAndLengthRewardTest {

    @Test
    void gsm8kFormatNeedsTheAnswerLineAtTheEnd() {
        FormatReward f = FormatReward.gsm8kAnswerAtEnd();
        assertEquals("format", f.name());
        List<String> c = List.of(
                "48/2 = 24\n#### 72",
                "#### 1,080\n",
                "#### -3.5",
                "#### 72 apples",
                "The answer is 72",
                "#### \n72",
                "####72");
        assertArrayEquals(
                new double[] {1, 1, 1, 0, 0, 1, 1},
                f.score(Collections.nCopies(c.size(), ""), c, Collections.nCopies(c.size(), null)));
    }

    @Test
    void customPatternUsesFind() {
        FormatReward f = new FormatReward("think", "(?s)<think>.+</think>");
        assertArrayEquals(
                new double[] {1, 0},
                f.score(
                        List.of("", ""),
                        List.of("a <think>x\ny</think> b", "<think></think>"),
                        Collections.nCopies(2, null)));
        assertThrows(IllegalArgumentException.class, () -> new FormatReward("bad", "(unclosed"));
        assertThrows(IllegalArgumentException.class, () -> new FormatReward("", "x"));
    }

    @Test
    void lengthPenaltyIsLinearBeyondTheTarget() {
        LengthReward r = new LengthReward("length", 5, 0.1);
        // 3, 5, 8 characters; "é😀" is 2 code points (3 UTF-16 chars)
        double[] got = r.score(
                Collections.nCopies(4, ""),
                List.of("abc", "abcde", "abcdefgh", "abcdé😀"),
                Collections.nCopies(4, null));
        assertArrayEquals(new double[] {0, 0, -0.1 * 3, -0.1 * 1}, got, 1e-15);
        assertThrows(IllegalArgumentException.class, () -> new LengthReward("l", -1, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new LengthReward("l", 5, -0.1));
        assertThrows(IllegalArgumentException.class, () -> new LengthReward("l", 5, Double.POSITIVE_INFINITY));
    }
}
