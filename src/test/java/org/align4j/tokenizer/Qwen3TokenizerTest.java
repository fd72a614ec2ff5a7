package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real Qwen3 tokenizer. Expected ids are independent of the code under test: special-token ids
 * come from tokenizer.json's added_tokens, word ids from looking the byte-level tokens up in its
 * model.vocab (e.g. "Ġthere" = " there" = 1052, "Ċ" = "\n" = 198, "ĊĊ" = "\n\n" = 271).
 */
class Qwen3TokenizerTest {

    static final long IM_START = 151644;
    static final long IM_END = 151645;
    static final long ENDOFTEXT = 151643;
    static final long THINK = 151667;
    static final long END_THINK = 151668;

    private static Tokenizer tok;

    @BeforeAll
    static void load() {
        tok = Tokenizer.load(SharedFiles.qwen3Dir());
    }

    @AfterAll
    static void close() {
        if (tok != null) {
            tok.close();
        }
    }

    @Test
    void encodesAChatTurn() {
        assertArrayEquals(
                new long[] {IM_START, 872, 198, 13048, 1052, IM_END},
                tok.encode("<|im_start|>user\nHi there<|im_end|>"));
    }

    @Test
    void encodesWordsAsTheirVocabularyTokens() {
        assertArrayEquals(new long[] {9707, 1879}, tok.encode("Hello world")); // "Hello", "Ġworld"
        assertArrayEquals(
                new long[] {785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13},
                tok.encode("The quick brown fox jumps over the lazy dog."));
        assertArrayEquals(
                new long[] {IM_START, 77091, 198, THINK, 271, END_THINK, 271},
                tok.encode("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    }

    @Test
    void addsNoBosAndNoEos() {
        assertEquals(OptionalInt.empty(), tok.bosTokenId());
        assertArrayEquals(tok.encodeNoSpecial("Hi there"), tok.encode("Hi there"));
        assertArrayEquals(new long[] {13048, 1052}, tok.encode("Hi there"));
        assertEquals(0, tok.encode("").length);
    }

    @Test
    void specialTokenIds() {
        assertEquals(IM_END, tok.eosTokenId()); // eos_token "<|im_end|>"
        assertEquals(ENDOFTEXT, tok.padTokenId()); // pad_token "<|endoftext|>"
        assertArrayEquals(new int[] {(int) IM_END}, tok.stopTokenIds()); // no generation_config.json
        assertEquals(151669, tok.vocabSize()); // 151643 BPE tokens + 26 added tokens
        assertEquals(OptionalInt.of((int) THINK), tok.tokenId("<think>"));
        assertEquals(OptionalInt.of(1052), tok.tokenId("Ġthere"));
        assertEquals(OptionalInt.empty(), tok.tokenId("not-a-token-at-all"));
    }

    @Test
    void decodeRoundTrips() {
        String[] texts = {
            "<|im_start|>user\nHi there<|im_end|>",
            "Réponds en français: “quotes”, 東京の天気 🌧️ 👩‍👩‍👧\n\ttabs and\r\nCRLF  double  spaces ",
            "<think>\nreasoning\n</think>\n\nanswer<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
        };
        for (String t : texts) {
            assertEquals(t, tok.decode(tok.encode(t), false));
        }
        assertEquals("user\nHi there", tok.decode(tok.encode("<|im_start|>user\nHi there<|im_end|>"), true));
        // <think> is an added token but not a special one: it survives skipSpecialTokens
        assertEquals("<think>x</think>", tok.decode(tok.encode("<|im_start|><think>x</think><|endoftext|>"), true));
    }

    @Test
    void longTextIsNotTruncated() {
        String sentence = "The quick brown fox jumps over the lazy dog.";
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            parts.add(sentence);
        }
        long[] ids = tok.encode(String.join(" ", parts));
        assertEquals(1000, ids.length);
        assertTrue(ids.length > 512);
        assertEquals(785, ids[0]); // "The"
        assertEquals(576, ids[10]); // "ĠThe" after the first sentence
        assertEquals(13, ids[999]); // "."
        long[] chat = tok.encode("<|im_start|>user\n" + String.join(" ", parts) + "<|im_end|>");
        assertEquals(1004, chat.length);
        assertEquals(IM_END, chat[1003]);
    }

    @Test
    void chatTemplateThenEncode() {
        List<Map<String, Object>> messages = List.of(Map.of("role", "user", "content", "Hi there"));
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("enable_thinking", false);
        String prompt = tok.applyChatTemplate(messages, true, extra);
        assertEquals("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", prompt);
        assertArrayEquals(
                new long[] {
                    IM_START, 872, 198, 13048, 1052, IM_END, 198, IM_START, 77091, 198, THINK, 271, END_THINK, 271
                },
                tok.encodeNoSpecial(prompt));
        assertFalse(tok.applyChatTemplate(messages, false, null).contains("assistant"));
    }
}
