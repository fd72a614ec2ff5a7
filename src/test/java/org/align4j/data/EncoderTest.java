// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.align4j.data.DataFixtures.concat;
import static org.align4j.data.DataFixtures.contextRuns;
import static org.align4j.data.DataFixtures.row;
import static org.align4j.data.DataFixtures.rows;
import static org.align4j.data.DataFixtures.targetRuns;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.align4j.data.JsonRows.Row;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.tokenizer.TokenizerException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token ids and loss masks for every dataset shape, with the tiny golden tokenizer (byte-level
 * BPE, ChatML template: {@code <|im_start|>role\ncontent<|im_end|>\n}, eos {@code <|im_end|>}).
 * Expected masks are checked as the text they cover, written out by hand from the template.
 */
class EncoderTest {
    private static Tokenizer tok;
    private static long eos;

    @BeforeAll
    static void load() {
        tok = DataFixtures.tinyTokenizer();
        eos = tok.eosTokenId();
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    private static Encoder encoder() {
        return new Encoder(tok, Truncation.none());
    }

    private static Encoder sft(boolean completionOnly, boolean assistantOnly) {
        return new Encoder(tok, Truncation.none(), new Encoder.SftOptions("text", completionOnly, assistantOnly));
    }

    private static long[] ids(String s) {
        return tok.encodeNoSpecial(s);
    }

    // ------------------------------------------------------------------ SFT

    @Test
    void textRowsTrainOnEveryTokenAndAnAppendedEos(@TempDir Path tmp) throws Exception {
        List<Row> r = rows(
                tmp, "{\"text\": \"hello world\"}", "{\"text\": \"ends with eos<|im_end|>\"}", "{\"body\": \"x\"}");
        Sequence s = encoder().sft(r.get(0));
        assertArrayEquals(concat(tok.encode("hello world"), new long[] {eos}), s.inputIds());
        for (float m : s.targetMask()) assertEquals(1f, m);
        assertEquals(s.length() - 1, s.targets(), "every token but the first is predicted");
        Sequence ended = encoder().sft(r.get(1));
        assertArrayEquals(
                tok.encode("ends with eos<|im_end|>"),
                ended.inputIds(),
                "no second EOS after a text that already ends with it");
        Sequence custom =
                new Encoder(tok, Truncation.none(), new Encoder.SftOptions("body", true, false)).sft(r.get(2));
        assertArrayEquals(
                concat(tok.encode("x"), new long[] {eos}), custom.inputIds(), "dataset_text_field picks the field");
    }

    @Test
    void plainPromptCompletionTrainsOnTheCompletionAndEos(@TempDir Path tmp) throws Exception {
        Row r = row(tmp, "{\"prompt\": \"2+2=\", \"completion\": \"4\"}");
        Sequence s = encoder().sft(r);
        long[] p = tok.encode("2+2="), c = concat(ids("4"), new long[] {eos});
        assertArrayEquals(concat(p, c), s.inputIds());
        for (int i = 0; i < s.length(); i++) assertEquals(i >= p.length ? 1f : 0f, s.targetMask()[i], "position " + i);
        Sequence all = sft(false, false).sft(r);
        assertEquals(s.length() - 1, all.targets(), "completion_only_loss false: every token");
    }

    @Test
    void conversationalPromptCompletionTrainsOnTheTemplatesCompletionText(@TempDir Path tmp) throws Exception {
        Row r = row(tmp, """
                {"prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "hello"}]}""");
        Sequence s = encoder().sft(r);
        assertEquals(
                List.of(
                        "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
                contextRuns(tok, s));
        assertEquals(
                List.of("hello<|im_end|>\n"),
                targetRuns(tok, s),
                "the completion is the template's text after the prompt; no extra EOS");
    }

    @Test
    void messagesTrainOnEverythingOrOnlyOnAssistantTurns(@TempDir Path tmp) throws Exception {
        Row r = row(tmp, """
                {"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                              {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]}""");
        String rendered =
                "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
                        + "<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\na2<|im_end|>\n";
        Sequence all = encoder().sft(r);
        assertEquals(rendered, tok.decode(all.inputIds(), false));
        assertEquals(all.length() - 1, all.targets(), "assistant_only_loss false (TRL's default): every token");
        Sequence assistant = sft(true, true).sft(r);
        assertArrayEquals(all.inputIds(), assistant.inputIds());
        assertEquals(
                List.of("a1<|im_end|>", "a2<|im_end|>"),
                targetRuns(tok, assistant),
                "exactly each assistant turn's content and its end-of-turn token");
        assertEquals(
                List.of(
                        "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\n",
                        "\n<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n",
                        "\n"),
                contextRuns(tok, assistant));
    }

    @Test
    void assistantOnlyLossOnConversationalPromptCompletionKeepsTheAssistantPart(@TempDir Path tmp) throws Exception {
        Row r = row(tmp, """
                {"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "yo"}]}""");
        assertEquals(
                List.of("yo<|im_end|>"), targetRuns(tok, sft(true, true).sft(r)), "completion mask AND assistant mask");
        assertEquals(List.of("yo<|im_end|>"), targetRuns(tok, sft(false, true).sft(r)));
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> sft(true, true).sft(row(tmp, "{\"prompt\": \"a\", \"completion\": \"b\"}")));
        assertTrue(
                e.getMessage().contains("rows.jsonl:1")
                        && e.getMessage().contains("assistant_only_loss needs conversational"),
                e.getMessage());
        e = assertThrows(DatasetException.class, () -> sft(true, true).sft(row(tmp, "{\"text\": \"a\"}")));
        assertTrue(e.getMessage().contains("assistant_only_loss needs conversational"), e.getMessage());
        e = assertThrows(
                DatasetException.class,
                () -> sft(true, true)
                        .sft(row(tmp, "{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}")));
        assertTrue(e.getMessage().contains("no assistant message"), e.getMessage());
    }

    @Test
    void aTemplateThatIsNotPrefixPreservingIsRefusedForAssistantOnlyLoss(@TempDir Path tmp) throws Exception {
        // a template that prints the message count first: no prefix of the conversation renders as its start
        Path dir = Files.createDirectories(tmp.resolve("tok"));
        Path golden = Golden.resourceDir("golden/llama-tiny");
        Files.copy(golden.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        String config = Files.readString(golden.resolve("tokenizer_config.json"))
                .replace("\"chat_template\": \"", "\"chat_template\": \"{{ messages|length }}");
        Files.writeString(dir.resolve("tokenizer_config.json"), config);
        try (Tokenizer counting = Tokenizer.load(dir)) {
            Row r = row(
                    tmp,
                    "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}");
            DatasetException e = assertThrows(
                    DatasetException.class,
                    () -> new Encoder(counting, Truncation.none(), new Encoder.SftOptions("text", true, true)).sft(r));
            assertTrue(
                    e.getMessage().contains("rows.jsonl:1")
                            && e.getMessage().contains("not prefix-preserving at messages[1]"),
                    e.getMessage());
        }
    }

    @Test
    void sftRefusesOtherShapesNamingTheRow(@TempDir Path tmp) throws Exception {
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> encoder().sft(row(tmp, "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}")));
        assertTrue(e.getMessage().contains("rows.jsonl:1") && e.getMessage().contains("preference"), e.getMessage());
        e = assertThrows(
                DatasetException.class, () -> encoder().sft(row(tmp, "{\"question\": \"q\", \"answer\": \"a\"}")));
        assertTrue(
                e.getMessage().contains("[question, answer]")
                        && e.getMessage().contains("prompt-completion ('prompt', 'completion')"),
                e.getMessage());
    }

    // ------------------------------------------------------------------ preference, unpaired, prompt-only

    @Test
    void plainPreferencePairsEndWithEos(@TempDir Path tmp) throws Exception {
        PreferencePair p =
                encoder().preference(row(tmp, "{\"prompt\": \"Q:\", \"chosen\": \" yes\", \"rejected\": \" no way\"}"));
        assertArrayEquals(tok.encode("Q:"), p.prompt());
        assertArrayEquals(concat(ids(" yes"), new long[] {eos}), p.chosen());
        assertArrayEquals(concat(ids(" no way"), new long[] {eos}), p.rejected());
    }

    @Test
    void theImplicitPromptIsTheSharedStartAsInTrlsExtractPrompt(@TempDir Path tmp) throws Exception {
        // strings: the common prefix, with the space before the first difference moved to the completions
        PreferencePair p = encoder()
                .preference(
                        row(
                                tmp,
                                "{\"chosen\": \"Human: hi Assistant: hello\", \"rejected\": \"Human: hi Assistant: go away\"}"));
        assertEquals("Human: hi Assistant:", tok.decode(p.prompt(), false));
        assertEquals(" hello<|im_end|>", tok.decode(p.chosen(), false));
        assertEquals(" go away<|im_end|>", tok.decode(p.rejected(), false));
        // conversations: the shared leading messages
        PreferencePair c = encoder().preference(row(tmp, """
                {"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                 "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "go away"}]}""".replace("\n", " ")));
        assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", tok.decode(c.prompt(), false));
        assertEquals("hello<|im_end|>\n", tok.decode(c.chosen(), false));
        assertEquals("go away<|im_end|>\n", tok.decode(c.rejected(), false));
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> encoder().preference(row(tmp, "{\"chosen\": \"abc\", \"rejected\": \"xyz\"}")));
        assertTrue(
                e.getMessage().contains("rows.jsonl:1")
                        && e.getMessage().contains("implicit prompt")
                        && e.getMessage().contains("add a 'prompt'"),
                e.getMessage());
    }

    @Test
    void explicitConversationalPreferenceUsesTemplateDifferences(@TempDir Path tmp) throws Exception {
        PreferencePair p = encoder().preference(row(tmp, """
                {"prompt": [{"role": "user", "content": "2+2?"}], "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}"""));
        assertArrayEquals(ids("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"), p.prompt());
        assertArrayEquals(ids("4<|im_end|>\n"), p.chosen());
        assertArrayEquals(ids("5<|im_end|>\n"), p.rejected());
        DatasetException e =
                assertThrows(DatasetException.class, () -> encoder().preference(row(tmp, """
                {"prompt": "plain", "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}""")));
        assertTrue(e.getMessage().contains("maybe_extract_prompt"), e.getMessage());
        // the same row with the prompt inside both conversations (ultrafeedback_binarized's shape) reads as TRL reads
        // it
        PreferencePair implicit = encoder().preference(row(tmp, """
                {"prompt": "2+2?", "chosen": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}], "rejected": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}]}"""));
        assertArrayEquals(p.prompt(), implicit.prompt());
        assertArrayEquals(p.chosen(), implicit.chosen());
    }

    @Test
    void unpairedRowsNeedABooleanLabel(@TempDir Path tmp) throws Exception {
        List<Row> r = rows(
                tmp,
                "{\"prompt\": \"Q\", \"completion\": \" good\", \"label\": true}",
                "{\"prompt\": \"Q\", \"completion\": \" bad\", \"label\": false}",
                "{\"prompt\": \"Q\", \"completion\": \" x\", \"label\": \"yes\"}",
                "{\"prompt\": \"Q\", \"label\": true}");
        UnpairedExample good = encoder().unpaired(r.get(0));
        assertTrue(good.desirable());
        assertArrayEquals(tok.encode("Q"), good.prompt());
        assertArrayEquals(concat(ids(" good"), new long[] {eos}), good.completion());
        assertFalse(encoder().unpaired(r.get(1)).desirable());
        DatasetException e =
                assertThrows(DatasetException.class, () -> encoder().unpaired(r.get(2)));
        assertTrue(
                e.getMessage().contains("rows.jsonl:3")
                        && e.getMessage().contains("'label' must be true or false")
                        && e.getMessage().contains("a string"),
                e.getMessage());
        e = assertThrows(DatasetException.class, () -> encoder().unpaired(r.get(3)));
        assertTrue(
                e.getMessage().contains("rows.jsonl:4") && e.getMessage().contains("missing field 'completion'"),
                e.getMessage());
    }

    @Test
    void promptOnlyRowsKeepTheEndOfLongPrompts(@TempDir Path tmp) throws Exception {
        Row r = row(tmp, "{\"prompt\": \"abcdefgh\"}");
        long[] full = tok.encode("abcdefgh");
        assertArrayEquals(full, encoder().prompt(r));
        Encoder cut = new Encoder(tok, new Truncation(100, 3, null, "keep_start"));
        assertArrayEquals(Arrays.copyOfRange(full, full.length - 3, full.length), cut.prompt(r));
        assertEquals(1, cut.truncatedRows());
    }

    // ------------------------------------------------------------------ errors

    @Test
    void malformedFieldsAreNamedWithFileLineAndField(@TempDir Path tmp) throws Exception {
        List<Row> r = rows(
                tmp,
                "{\"prompt\": 3, \"completion\": \"x\"}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"content\": \"a\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": [\"image\", \"text\"]}]}",
                "{\"messages\": \"not a list\"}",
                "{\"messages\": []}",
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"q\"}], \"completion\": \"plain\"}");
        String[][] expected = {
            {"rows.jsonl:1", "field 'prompt' must be a string or a list of {role, content} messages, found a number"},
            {"rows.jsonl:2", "messages[1].role must be a string, found null"},
            {"rows.jsonl:3", "messages[0].content must be a string, found a list"},
            {"rows.jsonl:4", "field 'messages' must be a list of {role, content} messages, found a string"},
            {"rows.jsonl:5", "'messages' is an empty message list"},
            {"rows.jsonl:6", "'prompt' and 'completion' must both be strings or both be message lists"},
        };
        for (int i = 0; i < expected.length; i++) {
            Row row = r.get(i);
            DatasetException e =
                    assertThrows(DatasetException.class, () -> encoder().sft(row), "row " + (i + 1));
            assertTrue(
                    e.getMessage().startsWith(tmp.resolve("rows.jsonl") + ":" + (i + 1) + ":")
                            && e.getMessage().contains(expected[i][1]),
                    e.getMessage());
        }
    }

    @Test
    void encodeAllStopsAtTheFirstBadRowOrSkipsAndCountsThem(@TempDir Path tmp) throws Exception {
        List<Row> r = rows(
                tmp,
                "{\"prompt\": \"a\", \"completion\": \"b\"}",
                "{\"prompt\": \"a\"}",
                "{\"text\": \"fine\"}",
                "{\"prompt\": \"a\", \"completion\": 7}",
                "{\"text\": \"also fine\"}");
        Encoder enc = encoder();
        DatasetException e = assertThrows(DatasetException.class, () -> Encoder.encodeAll(r, enc::sft, false));
        assertTrue(e.getMessage().contains("rows.jsonl:2"), "the first bad row: " + e.getMessage());
        Encoded<Sequence> out = Encoder.encodeAll(r, enc::sft, true);
        assertEquals(3, out.items().size());
        assertEquals(2, out.skipped());
        assertEquals(2, out.errors().size());
        assertTrue(
                out.errors().get(0).contains("rows.jsonl:2")
                        && out.errors().get(1).contains("rows.jsonl:4"),
                out.errors().toString());
        assertArrayEquals(enc.sft(r.get(2)).inputIds(), out.items().get(1).inputIds(), "kept rows stay in order");
        assertTrue(
                out.summary(1).startsWith("2 invalid row(s) skipped; first: ")
                        && !out.summary(1).contains("rows.jsonl:4"),
                out.summary(1));
        assertEquals("", Encoder.encodeAll(r.subList(0, 1), enc::sft, true).summary(3));
    }

    @Test
    void aTokenizerWithoutChatTemplateIsASetupErrorNotASkippableRow(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tok"));
        Path golden = Golden.resourceDir("golden/llama-tiny");
        Files.copy(golden.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|im_end|>\"}");
        try (Tokenizer plain = Tokenizer.load(dir)) {
            List<Row> r = rows(
                    tmp,
                    "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}");
            Encoder enc = new Encoder(plain, Truncation.none());
            TokenizerException e = assertThrows(TokenizerException.class, () -> Encoder.encodeAll(r, enc::sft, true));
            assertTrue(e.getMessage().contains("no chat template"), e.getMessage());
        }
    }

    @Test
    void aTemplateThatHitsARenderLimitIsASkippableRow(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tok"));
        Path golden = Golden.resourceDir("golden/llama-tiny");
        Files.copy(golden.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        // ChatML, except that a message saying 'recurse' sends the template into endless recursion
        String template = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{% for m in messages %}"
                + "{% if m.content == 'recurse' %}{{ f(0) }}{% endif %}"
                + "{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}";
        Files.writeString(
                dir.resolve("tokenizer_config.json"),
                new ObjectMapper().writeValueAsString(Map.of("eos_token", "<|im_end|>", "chat_template", template)));
        try (Tokenizer hostile = Tokenizer.load(dir)) {
            String user = "{\"messages\": [{\"role\": \"user\", \"content\": \"%s\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"a\"}]}";
            List<Row> r = rows(tmp, user.formatted("q"), user.formatted("recurse"), user.formatted("q2"));
            Encoder enc = new Encoder(hostile, Truncation.none());
            DatasetException e = assertThrows(DatasetException.class, () -> Encoder.encodeAll(r, enc::sft, false));
            assertTrue(
                    e.getMessage().startsWith(tmp.resolve("rows.jsonl") + ":2:")
                            && e.getMessage().contains("RecursionError")
                            && e.getMessage().contains("align4j.template.maxMacroDepth=200"),
                    e.getMessage());
            Encoded<Sequence> out = Encoder.encodeAll(r, enc::sft, true);
            assertEquals(2, out.items().size());
            assertEquals(1, out.skipped());
        }
    }
}
