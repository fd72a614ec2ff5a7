// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.align4j.data.DataFixtures.row;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.LongStream;
import org.align4j.data.JsonRows.Row;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncation semantics, each rule on its own: ids 100.. for prompts, 200.. for completions. */
class TruncationTest {
    private static long[] range(long from, int n) {
        return LongStream.range(from, from + n).toArray();
    }

    @Test
    void thePromptKeepsItsEndAndTheCompletionItsStart() {
        Truncation t = new Truncation(1000, 3, 2, "keep_start");
        assertArrayEquals(
                new long[] {103, 104, 105},
                t.prompt(range(100, 6)),
                "left truncation: the tokens nearest the completion stay");
        assertArrayEquals(new long[] {200, 201}, t.completion(range(200, 5)));
        long[] short_ = range(100, 2);
        assertSame(short_, t.prompt(short_), "nothing to cut: the same array");
    }

    @Test
    void aSequenceKeepsItsStartOrItsEnd() {
        Sequence s = Sequence.promptCompletion(range(100, 4), range(200, 4)); // mask 0 0 0 0 1 1 1 1
        Sequence start = Truncation.maxLength(6, "keep_start").sequence(s);
        assertArrayEquals(new long[] {100, 101, 102, 103, 200, 201}, start.inputIds());
        assertArrayEquals(new float[] {0, 0, 0, 0, 1, 1}, start.targetMask());
        Sequence end = Truncation.maxLength(6, "keep_end").sequence(s);
        assertArrayEquals(new long[] {102, 103, 200, 201, 202, 203}, end.inputIds());
        assertArrayEquals(new float[] {0, 0, 1, 1, 1, 1}, end.targetMask());
        assertSame(s, Truncation.maxLength(8, "keep_start").sequence(s));
    }

    @Test
    void pairsAreCutByTheLongerCompletionAndKeepOneSharedPrompt() {
        long[] p = range(100, 4), c = range(200, 5), r = range(300, 2);
        long[][] start = Truncation.maxLength(7, "keep_start").promptAndCompletions(p, c, r);
        assertArrayEquals(p, start[0]);
        assertArrayEquals(range(200, 3), start[1], "keep_start: each completion to max_length - prompt");
        assertArrayEquals(r, start[2], "the short completion already fits");
        long[][] end = Truncation.maxLength(7, "keep_end").promptAndCompletions(p, c, r);
        assertArrayEquals(
                range(102, 2),
                end[0],
                "keep_end: prompt tokens dropped from its start until prompt + longer completion fit");
        assertArrayEquals(c, end[1]);
        assertArrayEquals(r, end[2]);
        // all three steps: prompt 6 -> last 4, completion 5 -> first 4, then max_length 6 keeps the start
        long[][] all = new Truncation(6, 4, 4, "keep_start").promptAndCompletions(range(100, 6), range(200, 5));
        assertArrayEquals(range(102, 4), all[0]);
        assertArrayEquals(range(200, 2), all[1]);
    }

    @Test
    void aPairWithNothingLeftIsRefusedSayingWhichLimitToChange() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Truncation.maxLength(4, "keep_start").promptAndCompletions(range(100, 4), range(200, 2)));
        assertTrue(
                e.getMessage().contains("leaves no room") && e.getMessage().contains("max_prompt_length"),
                e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Truncation.maxLength(4, "keep_end").promptAndCompletions(range(100, 2), range(200, 4)));
        assertTrue(
                e.getMessage().contains("at least one prompt token")
                        && e.getMessage().contains("max_completion_length"),
                e.getMessage());
    }

    @Test
    void badSettingsAreRefused() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Truncation.maxLength(10, "keep_middle"));
        assertTrue(
                e.getMessage().contains("keep_start or keep_end")
                        && e.getMessage().contains("keep_middle"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Truncation.maxLength(1, "keep_start"));
        assertThrows(IllegalArgumentException.class, () -> new Truncation(10, 0, null, "keep_start"));
        assertThrows(IllegalArgumentException.class, () -> new Truncation(10, null, 0, "keep_start"));
    }

    @Test
    void sftRowsAreCutAndCountedAndARowLeftWithoutTargetsIsInvalid(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = DataFixtures.tinyTokenizer()) {
            Row r = row(tmp, "{\"prompt\": \"abcdef\", \"completion\": \"ghij\"}");
            long[] p = tok.encode("abcdef"),
                    c = DataFixtures.concat(tok.encodeNoSpecial("ghij"), new long[] {tok.eosTokenId()});
            int n = p.length + c.length;
            Encoder start = new Encoder(tok, Truncation.maxLength(n - 2, "keep_start"));
            Sequence s = start.sft(r);
            assertArrayEquals(Arrays.copyOf(DataFixtures.concat(p, c), n - 2), s.inputIds());
            assertEquals(c.length - 2, s.targets(), "the completion's last two tokens are gone");
            assertEquals(1, start.truncatedRows());
            Sequence end = new Encoder(tok, Truncation.maxLength(c.length + 1, "keep_end")).sft(r);
            assertArrayEquals(Arrays.copyOfRange(DataFixtures.concat(p, c), n - c.length - 1, n), end.inputIds());
            assertEquals(c.length, end.targets());
            // the prompt limit applies before max_length
            Sequence limited = new Encoder(tok, new Truncation(1000, 2, null, "keep_start")).sft(r);
            assertArrayEquals(
                    DataFixtures.concat(Arrays.copyOfRange(p, p.length - 2, p.length), c), limited.inputIds());
            DatasetException e = assertThrows(
                    DatasetException.class,
                    () -> new Encoder(tok, Truncation.maxLength(p.length, "keep_start")).sft(r));
            assertTrue(
                    e.getMessage().contains("rows.jsonl:1")
                            && e.getMessage().contains("no loss tokens are left after truncation"),
                    e.getMessage());
        }
    }
}
