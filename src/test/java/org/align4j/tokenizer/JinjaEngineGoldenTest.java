package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One template per jinja2 feature (whitespace control, operators, Python string/list/dict methods,
 * filters, tests, loops, namespaces, errors), each compared with what jinja2 3.1 renders in
 * transformers' environment. Where jinja2 raises, align4j must raise; where jinja2 prints an
 * undefined value as "" ("strict" cases), align4j raises on purpose.
 */
class JinjaEngineGoldenTest {

    @SuppressWarnings("unchecked")
    static Stream<Arguments> cases() {
        Map<String, Object> g = SharedFiles.golden("jinja_engine_goldens.json");
        return ((List<Map<String, Object>>) g.get("cases")).stream().map(c -> Arguments.of(c.get("name"), c));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @SuppressWarnings("unchecked")
    void matchesJinja2(String name, Map<String, Object> c) {
        ChatTemplate t = new ChatTemplate((String) c.get("template"), name);
        Map<String, Object> vars = (Map<String, Object>) c.get("vars");
        if (c.containsKey("error") || Boolean.TRUE.equals(c.get("strict"))) {
            ChatTemplate.ChatTemplateException e = assertThrows(
                    ChatTemplate.ChatTemplateException.class,
                    () -> t.render(vars),
                    name + ": jinja2 "
                            + (c.containsKey("error")
                                    ? "raised " + c.get("error")
                                    : "printed \"\" for an undefined value"));
            assertTrue(e.getMessage().startsWith(name + ": "), e.getMessage());
            if (Boolean.TRUE.equals(c.get("strict"))) {
                assertTrue(e.getMessage().contains("undefined"), e.getMessage());
            } else {
                // the same kind of error as jinja2's; raise_exception messages verbatim
                String jinja2 = (String) c.get("error");
                String type = jinja2.substring(0, jinja2.indexOf(':'));
                if (type.equals("TemplateSyntaxError")) {
                    assertTrue(e.getMessage().contains("yntax"), e.getMessage());
                } else if (type.equals("TemplateError")) {
                    assertTrue(e.getMessage().contains(jinja2), e.getMessage() + " should contain " + jinja2);
                } else {
                    assertTrue(e.getMessage().contains(type + ": "), e.getMessage() + " should be a " + type);
                }
            }
        } else {
            assertEquals(c.get("expected"), t.render(vars), name);
        }
    }
}
