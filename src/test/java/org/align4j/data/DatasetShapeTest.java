// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.align4j.data.DataFixtures.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.align4j.data.JsonRows.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TRL's dataset shapes told apart by their fields, plain or conversational. */
class DatasetShapeTest {
    @Test
    void eachShapeIsRecognisedFromItsFields(@TempDir Path tmp) throws Exception {
        List<Row> r = rows(
                tmp,
                "{\"text\": \"t\"}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}",
                "{\"prompt\": \"p\", \"completion\": \"c\"}",
                "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}",
                "{\"chosen\": \"p a\", \"rejected\": \"p b\"}",
                "{\"prompt\": \"p\", \"completion\": \"c\", \"label\": false}",
                "{\"prompt\": \"p\"}",
                "{\"prompt\": \"p\", \"completion\": \"c\", \"text\": \"also text\"}",
                "{\"prompt\": \"p\", \"completion\": null}");
        List<DatasetShape> expected = List.of(
                DatasetShape.LANGUAGE_MODELING,
                DatasetShape.LANGUAGE_MODELING,
                DatasetShape.PROMPT_COMPLETION,
                DatasetShape.PREFERENCE,
                DatasetShape.PREFERENCE,
                DatasetShape.UNPAIRED_PREFERENCE,
                DatasetShape.PROMPT_ONLY,
                DatasetShape.PROMPT_COMPLETION,
                DatasetShape.PROMPT_ONLY);
        for (int i = 0; i < r.size(); i++)
            assertEquals(expected.get(i), DatasetShape.detect(r.get(i)), "row " + (i + 1));
        Row custom = rows(tmp, "{\"content\": \"t\"}").get(0);
        assertEquals(DatasetShape.LANGUAGE_MODELING, DatasetShape.detect(custom, "content"));
    }

    @Test
    void conversationalMeansTheFirstKnownFieldIsAMessageList(@TempDir Path tmp) throws Exception {
        List<Row> r = rows(
                tmp,
                "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}",
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"q\"}], \"completion\": [{\"role\": \"assistant\", \"content\": \"a\"}]}",
                "{\"chosen\": [{\"role\": \"user\", \"content\": \"q\"}], \"rejected\": [{\"role\": \"user\", \"content\": \"r\"}]}",
                "{\"prompt\": \"q\", \"completion\": \"a\"}",
                "{\"text\": \"t\"}",
                "{\"messages\": [\"not\", \"messages\"]}");
        assertEquals(
                List.of(true, true, true, false, false, false),
                r.stream().map(DatasetShape::isConversational).toList());
    }

    @Test
    void anUnknownShapeListsTheAcceptedOnes(@TempDir Path tmp) throws Exception {
        Row row = rows(tmp, "{\"question\": \"q\", \"answer\": \"a\"}").get(0);
        DatasetException e = assertThrows(DatasetException.class, () -> DatasetShape.detect(row));
        String m = e.getMessage();
        assertTrue(m.startsWith(tmp.resolve("rows.jsonl") + ":1:") && m.contains("[question, answer]"), m);
        for (String shape : new String[] {
            "language modeling ('text' or 'messages')",
            "prompt-completion ('prompt', 'completion')",
            "preference (['prompt',] 'chosen', 'rejected')",
            "unpaired preference ('prompt', 'completion', 'label')",
            "prompt-only ('prompt')"
        }) assertTrue(m.contains(shape), "lists " + shape + ": " + m);
        assertFalse(DatasetShape.isConversational(row));
    }
}
