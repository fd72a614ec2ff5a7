package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading rules and error messages, on a tiny word-level tokenizer written here: its
 * post-processor adds BOS, so encode() must add it and encodeNoSpecial() must not.
 */
class TokenizerFilesTest {

    @TempDir
    Path dir;

    static final String TOKENIZER_JSON = """
    {"version": "1.0", "truncation": null, "padding": null,
     "added_tokens": [
       {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
       {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
       {"id": 6, "content": "<eot>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
     ],
     "normalizer": null,
     "pre_tokenizer": {"type": "Whitespace"},
     "post_processor": {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
       "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
     "decoder": null,
     "model": {"type": "WordLevel", "vocab": {"<s>": 0, "</s>": 1, "<unk>": 2, "hello": 3, "world": 4, "again": 5}, "unk_token": "<unk>"}}
    """;

    private void write(String name, String content) throws IOException {
        Files.writeString(dir.resolve(name), content);
    }

    private void writeTokenizer(String config) throws IOException {
        write("tokenizer.json", TOKENIZER_JSON);
        write("tokenizer_config.json", config);
    }

    private static String msg(Runnable r) {
        return assertThrows(TokenizerException.class, r::run).getMessage();
    }

    @Test
    void bosFromThePostProcessorAndTokenObjects() throws IOException {
        writeTokenizer("""
      {"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "pad_token": null,
       "add_bos_token": true}
      """);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new long[] {0, 3, 4}, t.encode("hello world"));
            assertArrayEquals(new long[] {3, 4}, t.encodeNoSpecial("hello world"));
            assertEquals(OptionalInt.of(0), t.bosTokenId());
            assertEquals(1, t.eosTokenId());
            assertEquals(1, t.padTokenId()); // no pad token: eos
            assertArrayEquals(new int[] {1}, t.stopTokenIds());
            assertEquals(7, t.vocabSize());
            assertEquals("hello world", t.decode(new long[] {0, 3, 4}, true));
            assertEquals(Map.of("bos_token", "<s>", "eos_token", "</s>"), t.specialTokens());
        }
    }

    @Test
    void addBosTokenMustAgreeWithThePostProcessor() throws IOException {
        writeTokenizer("{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": false}");
        String m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains("add_bos_token=false") && m.contains("adds the BOS token"), m);
        writeTokenizer("{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_eos_token\": true}");
        m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains("add_eos_token=true") && m.contains("does not add the EOS token"), m);
    }

    @Test
    void generationConfigAddsStopIds() throws IOException {
        writeTokenizer("{\"eos_token\": \"</s>\", \"pad_token\": \"<unk>\"}");
        write("generation_config.json", "{\"eos_token_id\": [6, 1, 6]}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {1, 6}, t.stopTokenIds());
            assertEquals(2, t.padTokenId());
        }
        write("generation_config.json", "{\"eos_token_id\": 6}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {1, 6}, t.stopTokenIds());
        }
    }

    @Test
    void chatTemplateSources() throws IOException {
        writeTokenizer("""
      {"eos_token": "</s>", "chat_template": [
        {"name": "default", "template": "D{% for m in messages %}[{{ m.content }}]{% endfor %}"},
        {"name": "tool_use", "template": "T{{ tools|length }}"}]}
      """);
        List<Map<String, Object>> msgs = List.of(Map.of("role", "user", "content", "hi"));
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals("D[hi]", t.applyChatTemplate(msgs, false, null));
            assertEquals("T2", t.applyChatTemplate(msgs, false, Map.of("tools", List.of(Map.of(), Map.of()))));
        }
        write("chat_template.jinja", "J{{ messages[0].content }}{{ eos_token }}\n");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals("Jhi</s>", t.applyChatTemplate(msgs, false, null)); // the file wins, final newline dropped
        }
    }

    @Test
    void missingDirectoryOrTokenizerJson() throws IOException {
        Path nowhere = dir.resolve("nope");
        assertTrue(msg(() -> Tokenizer.load(nowhere)).contains(nowhere.toString()));
        write("tokenizer_config.json", "{\"eos_token\": \"</s>\"}");
        String m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains(dir.resolve("tokenizer.json").toString()), m);
        assertTrue(m.contains("save_pretrained"), m);
    }

    @Test
    void malformedJsonNamesTheFile() throws IOException {
        writeTokenizer("{\"eos_token\": \"</s>\",, }");
        String m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains(dir.resolve("tokenizer_config.json").toString()), m);
        assertTrue(m.contains("not valid JSON") && m.contains("line 1"), m);

        write("tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0");
        m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains(dir.resolve("tokenizer.json").toString()) && m.contains("not valid JSON"), m);
    }

    @Test
    void eosNotInVocabulary() throws IOException {
        writeTokenizer("{\"eos_token\": \"<|eot_id|>\"}");
        String m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains("eos_token '<|eot_id|>'"), m);
        assertTrue(m.contains("tokenizer_config.json") && m.contains("tokenizer.json"), m);
    }

    @Test
    void noEosAnywhere() throws IOException {
        writeTokenizer("{}");
        String m = msg(() -> Tokenizer.load(dir));
        assertTrue(m.contains("no eos token") && m.contains("tokenizer_config.json"), m);
    }

    @Test
    void noChatTemplateWhenOneIsNeeded() throws IOException {
        writeTokenizer("{\"eos_token\": \"</s>\"}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            String m = msg(() -> t.applyChatTemplate(List.of(Map.of("role", "user", "content", "x")), true, null));
            assertTrue(m.contains("no chat template") && m.contains("chat_template"), m);
            assertTrue(m.contains(dir.toString()), m);
            // plain encoding still works without a template
            assertArrayEquals(new long[] {3}, t.encodeNoSpecial("hello"));
        }
    }

    @Test
    void templateErrorsNameTheProblem() throws IOException {
        writeTokenizer("""
      {"eos_token": "</s>", "chat_template": "{% for m in messages %}{{ m.content | shout }}{% endfor %}"}
      """);
        try (Tokenizer t = Tokenizer.load(dir)) {
            String m = msg(() -> t.applyChatTemplate(List.of(Map.of("role", "user", "content", "x")), false, null));
            assertTrue(m.contains("No filter named 'shout'"), m);
            assertTrue(m.contains("tokenizer_config.json"), m);
        }
    }
}
