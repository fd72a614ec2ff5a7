// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.align4j.data.JsonRows;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;

/** Gsm8kAnswerReward on the real GSM8K training file (shared/data/gsm8k/train.jsonl) and on hand-made completions. */
class Gsm8kAnswerRewardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Gsm8kAnswerReward reward = new Gsm8kAnswerReward();

    static List<JsonNode> trainRows() {
        List<JsonNode> rows = new ArrayList<>();
        for (JsonRows.Row r : JsonRows.read(Golden.shared("data/gsm8k/train.jsonl"))) rows.add(r.json());
        return rows;
    }

    @Test
    void everyTrainingAnswerParsesAndItsOwnSolutionScoresOne() {
        List<JsonNode> rows = trainRows();
        assertEquals(7473, rows.size(), "GSM8K train split");
        List<String> solutions = new ArrayList<>(), wrong = new ArrayList<>();
        int withCommas = 0;
        for (JsonNode row : rows) {
            String answer = row.get("answer").asText();
            BigDecimal ref = Gsm8kAnswerReward.referenceAnswer(answer);
            if (answer.substring(answer.lastIndexOf("####")).contains(",")) withCommas++;
            solutions.add(answer); // the reference solution, "#### n" line included, is a correct completion
            wrong.add(answer.substring(0, answer.lastIndexOf("####")) + "#### "
                    + ref.add(BigDecimal.ONE).toPlainString());
        }
        assertTrue(withCommas > 0, "some references use thousands separators (e.g. 1,080)");
        double[] right = reward.score(Collections.nCopies(rows.size(), "q"), solutions, rows);
        double[] off = reward.score(Collections.nCopies(rows.size(), "q"), wrong, rows);
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(1.0, right[i], "row " + i + ": its own solution");
            assertEquals(0.0, off[i], "row " + i + ": answer + 1");
        }
    }

    @Test
    void freeFormCompletionsOnRealRows() {
        List<JsonNode> rows = trainRows();
        JsonNode natalia = rows.get(0); // "#### 72"
        JsonNode commas = null;
        for (JsonNode r : rows)
            if (r.get("answer").asText().endsWith("#### 1,080")) {
                commas = r;
                break;
            }
        assertTrue(commas != null, "train.jsonl has a row answering 1,080");
        List<String> completions = List.of(
                "She sold 48 + 24 = 72 clips.",
                "The answer is 72.00",
                "48/2 = 24, so 48+24 = 73",
                "#### 72 (from 48 + 24)",
                "Total: $1,080.",
                "1080",
                "It is 1,080 minus 1 = 1,079",
                "no idea");
        List<JsonNode> rs = List.of(natalia, natalia, natalia, natalia, commas, commas, commas, commas);
        assertArrayEquals(
                new double[] {1, 1, 0, 1, 1, 1, 0, 0}, reward.score(Collections.nCopies(8, "q"), completions, rs));
    }

    @Test
    void predictedAnswerRules() {
        assertEquals(0, new BigDecimal("-5").compareTo(Gsm8kAnswerReward.predictedAnswer("the change is -5")));
        assertEquals(
                0,
                new BigDecimal("5").compareTo(Gsm8kAnswerReward.predictedAnswer("10-5")),
                "a minus after a digit is subtraction");
        assertEquals(
                0,
                new BigDecimal("3").compareTo(Gsm8kAnswerReward.predictedAnswer("#### 3 apples, not 4")),
                "first number after the last ####");
        assertEquals(0, new BigDecimal("2.5").compareTo(Gsm8kAnswerReward.predictedAnswer("x = 2.5.")));
        assertEquals(0, new BigDecimal("1234567").compareTo(Gsm8kAnswerReward.predictedAnswer("1,234,567")));
        assertEquals(
                0,
                new BigDecimal("34").compareTo(Gsm8kAnswerReward.predictedAnswer("12,34")),
                "not a thousands group: two numbers");
        assertNull(Gsm8kAnswerReward.predictedAnswer("#### unknown"));
        assertNull(Gsm8kAnswerReward.predictedAnswer(""));
    }

    @Test
    void rowsWithoutAReferenceAreErrors() {
        ObjectNode row = JSON.createObjectNode().put("answer", "no marker here");
        assertTrue(assertThrows(
                        IllegalArgumentException.class, () -> reward.score(List.of("q"), List.of("1"), List.of(row)))
                .getMessage()
                .contains("####"));
        ObjectNode noColumn = JSON.createObjectNode().put("question", "q");
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> reward.score(List.of("q"), List.of("1"), List.of(noColumn)))
                .getMessage()
                .contains("'answer'"));
        assertThrows(IllegalArgumentException.class, () -> reward.score(List.of("q"), List.of("1"), List.of()));
        assertThrows(IllegalArgumentException.class, () -> Gsm8kAnswerReward.referenceAnswer("#### seven"));
    }
}
