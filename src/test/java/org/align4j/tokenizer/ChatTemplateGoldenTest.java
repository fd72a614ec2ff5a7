package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The real Qwen3 chat template rendered through align4j matches transformers' rendering (jinja2
 * 3.1, goldens written by tools/chat_template/render_goldens.py) character for character.
 */
class ChatTemplateGoldenTest {

    private static Tokenizer qwen3;

    @BeforeAll
    static void load() {
        qwen3 = Tokenizer.load(SharedFiles.qwen3Dir());
    }

    @AfterAll
    static void close() {
        if (qwen3 != null) {
            qwen3.close();
        }
    }

    @SuppressWarnings("unchecked")
    static Stream<Arguments> cases() {
        Map<String, Object> g = SharedFiles.golden("qwen3_chat_goldens.json");
        return ((List<Map<String, Object>>) g.get("cases")).stream().map(c -> Arguments.of(c.get("name"), c));
    }

    @Test
    void goldensWereRenderedFromTheRealTemplate() throws Exception {
        Path config = SharedFiles.qwen3Dir().resolve("tokenizer_config.json");
        JsonNode real = SharedFiles.JSON.readTree(config.toFile());
        Map<String, Object> g = SharedFiles.golden("qwen3_chat_goldens.json");
        assertEquals(
                real.get("chat_template").asText(),
                g.get("template_source"),
                "qwen3_chat_goldens.json is stale: regenerate it with tools/chat_template/render_goldens.py");
        assertEquals(g.get("special_tokens"), qwen3.specialTokens());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @SuppressWarnings("unchecked")
    void rendersLikeTransformers(String name, Map<String, Object> c) {
        Map<String, Object> extra = new LinkedHashMap<>((Map<String, Object>) c.get("extra"));
        if (c.containsKey("tools")) {
            extra.put("tools", c.get("tools"));
        }
        String got = qwen3.applyChatTemplate(
                (List<Map<String, Object>>) c.get("messages"), (Boolean) c.get("add_generation_prompt"), extra);
        assertEquals(c.get("expected"), got, name);
    }
}
