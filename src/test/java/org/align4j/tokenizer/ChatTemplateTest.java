package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Behaviour of the template engine that the goldens do not cover: Java inputs and errors. */
class ChatTemplateTest {

    private static String render(String template, Map<String, ?> vars) {
        return new ChatTemplate(template, "test").render(vars);
    }

    private static String error(String template, Map<String, ?> vars) {
        return assertThrows(ChatTemplate.ChatTemplateException.class, () -> render(template, vars))
                .getMessage();
    }

    @Test
    void unknownFilterMethodAndTestFail() {
        assertTrue(error("{{ x | shout }}", Map.of("x", "a")).contains("No filter named 'shout'"));
        assertTrue(error("{{ x.shout() }}", Map.of("x", "a")).contains("'str' object has no attribute 'shout'"));
        assertTrue(error("{{ x.getBytes() }}", Map.of("x", "a")).contains("has no attribute 'getBytes'"));
        assertTrue(error("{{ x.toUpperCase() }}", Map.of("x", "a")).contains("has no attribute 'toUpperCase'"));
        assertTrue(
                error("{{ x.keySet() }}", Map.of("x", Map.of())).contains("'dict' object has no attribute 'keySet'"));
        assertTrue(error("{{ x.size() }}", Map.of("x", List.of())).contains("'list' object has no attribute 'size'"));
        assertTrue(error("{% if x is shouting %}{% endif %}", Map.of("x", "a")).contains("No test named 'shouting'"));
        assertTrue(error("{{ x | truncate(3) }}", Map.of("x", "abcdef")).contains("'truncate' is not supported"));
    }

    @Test
    void undefinedValuesFailInsteadOfVanishing() {
        Map<String, Object> msg = Map.of("role", "user");
        String m = error("<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>", Map.of("m", msg));
        assertTrue(m.contains("undefined"), m);
        assertTrue(error("{{ nothing }}", Map.of()).contains("undefined"));
        assertTrue(error("{{ m.content.strip() }}", Map.of("m", msg)).contains("'m.content' is undefined"));
        // tests and defaults on undefined values are fine, as in jinja2
        assertEquals(
                "no|dflt",
                render(
                        "{{ 'yes' if m.content is defined else 'no' }}|{{ m.content | default('dflt') }}",
                        Map.of("m", msg)));
    }

    @Test
    void raiseExceptionMessageIsKept() {
        String m = error("{{ raise_exception('Conversation roles must alternate user/assistant') }}", Map.of());
        assertTrue(m.contains("Conversation roles must alternate user/assistant"), m);
        assertTrue(m.startsWith("test: "), m);
    }

    @Test
    void messagesWithPercentSignsAreKept() {
        // Jinjava ran error messages through String.format (found by ChatTemplateFuzzTest)
        assertTrue(
                error("{{ raise_exception('only 100% sure') }}", Map.of()).contains("TemplateError: only 100% sure"));
        assertTrue(
                error("{% if raise_exception('a %s b') %}{% endif %}", Map.of()).contains("TemplateError: a %s b"));
        assertTrue(error("{{ '%d %' % 5 }}", Map.of()).contains("ValueError: incomplete format"));
        // the same through a macro's body, whose Jinjava error quotes the '{%if%}' tag
        String m = error("{%macro f()%}{%if%}{%endif%}{%endmacro%}{{f()}}", Map.of());
        assertTrue(m.contains("TemplateSyntaxError: ") && m.contains("'{%if%}'"), m);
    }

    @Test
    void emptyTagsAreSyntaxErrorsAsInJinja2() {
        // Jinjava 2.8.4 failed on these with StringIndexOutOfBoundsException (found by ChatTemplateFuzzTest)
        for (String t : List.of("a{%-%}b", "a{%%}b", "a{%--%}b", "a{{-}}b", "a{{}}b", "a{{ }}b")) {
            String m = error(t, Map.of());
            assertTrue(m.contains("TemplateSyntaxError: ") && m.contains("(template line 1)"), t + ": " + m);
        }
        assertEquals("ab", render("a{#-#}b", Map.of()), "an empty comment with a trim marker is a comment");
        // Jinjava's tokenizer reads this as an empty '{{%}' (minimized from a ChatTemplateFuzzTest finding)
        assertTrue(error("{%call''}}{{%}", Map.of())
                .contains("TemplateSyntaxError: the template cannot be split into tags"));
    }

    @Test
    void syntaxErrorsFail() {
        assertTrue(error("{% if %}x{% endif %}", Map.of()).toLowerCase().contains("syntax"));
        assertTrue(error("{{ 'unclosed }}", Map.of()).length() > 0);
        assertTrue(error("{% for x in xs %}", Map.of("xs", List.of())).contains("endfor"));
    }

    @Test
    void javaValuesBecomePythonValues() {
        Map<String, Object> vars = new LinkedHashMap<>();
        Map<String, Object> ordered = new LinkedHashMap<>();
        ordered.put("z", 1);
        ordered.put("a", 2.5f);
        ordered.put("n", null);
        ordered.put("arr", new int[] {1, 2});
        vars.put("d", ordered);
        vars.put("nothing", null);
        assertEquals(
                "{\"z\": 1, \"a\": 2.5, \"n\": null, \"arr\": [1, 2]}|None|True|True",
                render("{{ d | tojson }}|{{ nothing }}|{{ nothing is none }}|{{ nothing is defined }}", vars));
        List<Object> mutable = new ArrayList<>(Arrays.asList(3, 1, 2));
        assertEquals("[1, 2, 3]", render("{{ l | sort }}", Map.of("l", mutable)));
        assertEquals(List.of(3, 1, 2), mutable);
    }

    @Test
    void strftimeNowFormats() {
        String out = render("{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %b %Y') }}", Map.of());
        assertTrue(out.matches("\\d{4}-\\d{2}-\\d{2}\\|\\d{2} [A-Z][a-z]{2} \\d{4}"), out);
    }

    @Test
    void renderedTextIsNeverReinterpreted() {
        Map<String, Object> m = new HashMap<>();
        m.put("c", "{{ 7 * 7 }} {% raw %}");
        assertEquals("{{ 7 * 7 }} {% raw %}", render("{{ c }}", m));
    }

    @Test
    void applyPassesTransformersVariables() {
        ChatTemplate t = new ChatTemplate(
                "{{ messages|length }} {{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ eos_token }} {{ flag }}");
        assertEquals(
                "1 True True True </s> x",
                t.apply(
                        List.of(Map.of("role", "user", "content", "c")),
                        true,
                        Map.of("eos_token", "</s>"),
                        Map.of("flag", "x")));
        assertThrows(
                IllegalArgumentException.class,
                () -> t.apply(List.of(), true, Map.of(), Map.of("add_generation_prompt", false)));
    }
}
