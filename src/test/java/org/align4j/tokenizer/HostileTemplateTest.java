package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.align4j.tokenizer.jinja.RenderLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Templates that recurse, nest, repeat or loop without end fail with a {@link
 * ChatTemplate.ChatTemplateException} that names the template and the limit that stopped them
 * ({@link RenderLimits}), never with a Java error, a truncated count or a hang. Depths that jinja2
 * renders still render (measured with jinja2 3.1.6 in transformers' sandboxed environment).
 */
class HostileTemplateTest {

    private static String render(String template) {
        return new ChatTemplate(template, "hostile").render(Map.of());
    }

    private static String render(String template, RenderLimits limits) {
        return new ChatTemplate(template, "hostile").withLimits(limits).render(Map.of());
    }

    /** The error's message, checked to name the template and the limit's knob. */
    private static String refused(String template, String limit) {
        return refused(template, limit, RenderLimits.defaults());
    }

    private static String refused(String template, String limit, RenderLimits limits) {
        String m = assertThrows(ChatTemplate.ChatTemplateException.class, () -> render(template, limits))
                .getMessage();
        assertTrue(m.startsWith("hostile: "), "names the template: " + m);
        assertTrue(m.contains("align4j.template." + limit + "="), "names the limit " + limit + ": " + m);
        return m;
    }

    private static String repeat(String s, int n) {
        return s.repeat(n);
    }

    // ------------------------------------------------------------------ recursion and nesting

    @Test
    void runawayMacroRecursionIsARecursionError() {
        String m = refused("{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(0) }}", "maxMacroDepth");
        assertTrue(m.contains("RecursionError") && m.contains("macro 'f'"), m);
    }

    @Test
    void macroRecursionStopsWhereJinja2DoesNotRender() {
        String countdown = "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(DEPTH) }}x";
        // jinja2 renders f(197) and raises RecursionError from f(198); 300 used to render here
        assertEquals("x", render(countdown.replace("DEPTH", "199")));
        refused(countdown.replace("DEPTH", "200"), "maxMacroDepth");
        refused(countdown.replace("DEPTH", "300"), "maxMacroDepth");
    }

    @Test
    void aNamespaceThatWouldHoldItselfIsATemplateError() {
        // fuzz finding 5: Jinjava's map refused the cycle with an IllegalArgumentException
        String m = assertThrows(
                        ChatTemplate.ChatTemplateException.class,
                        () -> render("{% set ns = namespace(a=1) %}{% set ns.a = ns %}{{ ns.a }}"))
                .getMessage();
        assertTrue(m.startsWith("hostile: ") && m.contains("namespace cannot hold itself"), m);
    }

    @Test
    void macroCallsThroughCallCount() {
        refused("{% macro f() %}{% call f() %}x{% endcall %}{{ caller() }}{% endmacro %}{{ f() }}", "maxMacroDepth");
    }

    /** A construct nested {@code n} deep. */
    private record Nesting(String construct, String open, String middle, String close, int jinja2Renders) {

        String nested(int n) {
            return open.repeat(n) + middle + close.repeat(n);
        }

        @Override
        public String toString() {
            return construct;
        }
    }

    static List<Nesting> expressions() {
        // the deepest "{{ (...) is defined }}" jinja2 3.1.6 renders; one more is a RecursionError
        // (or Python's "too many nested parentheses" in the code jinja2 compiles to)
        return List.of(
                new Nesting("list literal", "[", "1", "]", 74),
                new Nesting("parentheses", "(", "1", ")", 68),
                new Nesting("unary minus", "-", "1", "", 490),
                new Nesting("not", "not ", "1", "", 490),
                new Nesting("filters", "", "'a'", "|upper", 327),
                new Nesting("plus chain", "", "1", " + 1", 490),
                new Nesting("conditional chain", "1 if true else ", "2", "", 490),
                new Nesting("call arguments", "dict(a=", "1", ")", 68),
                new Nesting("subscripts", "", "'a'", "[0]", 490),
                new Nesting("method calls", "", "'a'", ".upper()", 99));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("expressions")
    void deepExpressionsAreRecursionErrors(Nesting n) {
        assertEquals("True", render("{{ (" + n.nested(n.jinja2Renders()) + ") is defined }}"), "as deep as jinja2");
        String m = refused("{{ " + n.nested(5000) + " }}", "maxExpressionDepth");
        assertTrue(m.contains("RecursionError") && m.contains("(template line 1)"), m);
    }

    @Test
    void theReportedFiveThousandDeepListLiteralIsARecursionError() {
        refused("{{ " + repeat("[", 5000) + repeat("]", 5000) + " }}", "maxExpressionDepth");
    }

    @Test
    void aLongConcatenationChainIsOneLevelAsInJinja2() {
        assertEquals("a".repeat(20_001), render("{{ 'a'" + repeat(" ~ 'a'", 20_000) + " }}"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "{% if true %}            | {% endif %}",
                "{% for a in [1] %}       | {% endfor %}",
                "{% set x %}              | {% endset %}",
                "{% macro m() %}          | {% endmacro %}",
                "{% generation %}         | {% endgeneration %}",
            })
    void deepBlockNestingIsARecursionError(String open, String close) {
        assertTrue(render(repeat(open, 100) + "x" + repeat(close, 100)).length() <= 1, "100 levels render");
        String m = refused(repeat(open, 101) + "x" + repeat(close, 101), "maxBlockDepth");
        assertTrue(m.contains("RecursionError") && m.contains("(template line "), m);
    }

    @Test
    void valuesNestedAtRunTimeStopAtARecursionError() {
        String nest = "{% set ns = namespace(a=[], b=[]) %}{% for i in range(3000) %}"
                + "{% set ns.a = [ns.a] %}{% set ns.b = [ns.b] %}{% endfor %}";
        for (String use : List.of("{{ ns.a == ns.b }}", "{{ ns.a < ns.b }}", "{{ ns.a|tojson }}", "{{ ns.a }}")) {
            String m = assertThrows(ChatTemplate.ChatTemplateException.class, () -> render(nest + use))
                    .getMessage();
            assertTrue(m.contains("RecursionError"), use + ": " + m);
        }
    }

    @Test
    void recursionWithDeepBodiesEndsAtALimitNotAStackOverflow() {
        String body = repeat("{% if true %}", 99) + "{{ f(n+1) if " + repeat("(", 400) + "n" + repeat(")", 400)
                + " >= 0 }}" + repeat("{% endif %}", 99);
        refused("{% macro f(n) %}" + body + "{% endmacro %}{{ f(0) }}", "maxMacroDepth");
    }

    @Test
    void theCallersStackSizeDoesNotMatter() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread small = new Thread(
                null,
                () -> {
                    try {
                        render("{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(0) }}");
                    } catch (Throwable t) {
                        thrown.set(t);
                    }
                },
                "small-stack",
                128 * 1024);
        small.start();
        small.join();
        assertInstanceOf(ChatTemplate.ChatTemplateException.class, thrown.get());
        assertTrue(
                thrown.get().getMessage().contains("maxMacroDepth"),
                thrown.get().getMessage());
    }

    @Test
    void aRenderErrorIsATokenizerErrorWhichTheDataLayerReportsPerRow() {
        // data/Encoder turns a TokenizerException into a DatasetException naming file:line, which
        // --skip_invalid_rows skips (EncoderTest.aTemplateThatHitsARenderLimitIsASkippableRow)
        Exception e =
                assertThrows(Exception.class, () -> render("{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(0) }}"));
        assertInstanceOf(TokenizerException.class, e);
    }

    // ------------------------------------------------------------------ repeat counts and widths

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiterString = "=>",
            quoteCharacter = '"',
            value = {
                "{{ 'x' * 2**40 }}                 => the '*' operator",
                "{{ 'ab' * (2**32+1) }}            => the '*' operator",
                "{{ 'ab' * 2**31 }}                => the '*' operator",
                "{{ (2**40) * 'x' }}               => the '*' operator",
                "{{ [1] * 2**31 }}                 => the '*' operator",
                "{{ [1, 2] * (2**32+1) }}          => the '*' operator",
                "{{ 'x' * 10**9 }}                 => the '*' operator",
                "{{ 'x'.center(2**32+5) }}         => str.center(4294967301)",
                "{{ 'x'.ljust(2**40) }}            => str.ljust",
                "{{ 'x'.rjust(2**32) }}            => str.rjust",
                "{{ '7'.zfill(2**32+1) }}          => str.zfill",
                "{{ 'x'|center(2**32+5) }}         => str.center",
                "{{ 'ab'|indent(2**32+2, true) }}  => the indent filter (width 4294967298)",
                "{{ [1]|tojson(indent=2**32+1) }}  => tojson(indent=4294967297)",
                "{{ ('x' * 40000000) ~ ('y' * 40000000) }} => the '~' operator",
                "{{ ('x' * 40000000) + ('y' * 40000000) }} => the '+' operator",
                "{{ ['x' * 40000000, 'y' * 40000000]|join }} => the join filter",
                "{{ ('x' * 40000000).replace('x', 'yy') }} => str.replace",
            })
    void countsThatDoNotFitAreRefusedNamingTheOperation(String template, String operation) {
        String m = refused(template, "maxOutputChars");
        assertTrue(m.contains("MemoryError") && m.contains(operation), m);
    }

    @Test
    void countsBeyondSixtyFourBitsAreOverflowErrorsAsInPython() {
        for (String t : List.of("{{ 'x'.center(2**70) }}", "{{ 'a,b'.split(',', 2**70) }}")) {
            String m = assertThrows(ChatTemplate.ChatTemplateException.class, () -> render(t))
                    .getMessage();
            assertTrue(m.contains("OverflowError: ") && m.contains("too large"), t + ": " + m);
        }
    }

    @Test
    void countsThatFitAreExact() {
        assertEquals(
                "ababab||[1, 2, 1, 2]|(1, 1)",
                render("{{ 'ab' * 3 }}|{{ 'ab' * -2 }}|{{ [1, 2] * 2 }}|{{ (1,) * 2 }}"));
        assertEquals(
                "  x  |x   |   x|007|-07",
                render("{{ 'x'.center(5) }}|{{ 'x'.ljust(4) }}|{{ 'x'.rjust(4) }}|"
                        + "{{ '7'.zfill(3) }}|{{ '-7'.zfill(3) }}"));
        assertEquals("a\n  b", render("{{ 'a\nb'|indent(2) }}"));
        // big ints index and slice as Python does (out of range, clamped), never wrapped around
        assertEquals(
                "False||-1|[18446744073709551616, 18446744073709551617]",
                render("{{ [1, 2][2**64] is defined }}|{{ 'abc'[2**64:] }}|{{ 'abc'.find('a', 2**70) }}|"
                        + "{{ range(2**64, 2**64 + 2)|list }}"));
        assertEquals(
                "2.5|0.0|10", render("{{ 2.5|round(2**70) }}|{{ 2.5|round(-(2**70)) }}|{{ '10'|int(base=2**32+16) }}"));
    }

    @Test
    void hugeIntegersAreRefusedBeforeTheyAreComputed() {
        String m = refused("{{ 3 ** (10**7) }}", "maxIntBits");
        assertTrue(m.contains("'**'"), m);
        refused("{{ 2 ** (2**40) }}", "maxIntBits");
        assertEquals("30103", render("{{ (2**100000)|string|length }}"));
    }

    // ------------------------------------------------------------------ size and time

    @Test
    void theDefaultsAreDocumentedValues() {
        RenderLimits d = RenderLimits.defaults();
        assertEquals(Duration.ofSeconds(10), d.timeout());
        assertEquals(64L << 20, d.maxOutputChars());
        assertEquals(256L << 20, d.maxBuiltChars());
        assertEquals(200, d.maxMacroDepth());
        assertEquals(100, d.maxBlockDepth());
        assertEquals(500, d.maxExpressionDepth());
    }

    @Test
    void aSystemPropertyChangesALimit() {
        System.setProperty("align4j.template.maxMacroDepth", "3");
        try {
            String countdown = "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{% endif %}{% endmacro %}";
            assertEquals("", render(countdown + "{{ f(2) }}"));
            refused(countdown + "{{ f(3) }}", "maxMacroDepth");
        } finally {
            System.clearProperty("align4j.template.maxMacroDepth");
        }
    }

    @Test
    void theNestedRangeLoopBombStopsAtTheTimeLimit() {
        RenderLimits oneSecond = RenderLimits.defaults().withTimeout(Duration.ofSeconds(1));
        String bomb = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
        String m = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> refused(bomb, "timeoutSeconds", oneSecond));
        assertTrue(m.contains("TimeoutError") && m.contains("1 s"), m);
        String printing = "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}";
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> refused(printing, "timeoutSeconds", oneSecond));
    }

    @Test
    void aHugeRepeatFailsFastWithoutBuildingIt() {
        String m =
                assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused("{{ 'x' * 10**9 }}", "maxOutputChars"));
        assertTrue(m.contains("1,000,000,000 characters"), m);
    }

    @Test
    void theOutputIsLimited() {
        RenderLimits small = RenderLimits.defaults().withMaxOutputChars(1000);
        assertEquals(
                1000, render("{% for i in range(1000) %}x{% endfor %}", small).length());
        String m = refused(
                "{% for i in range(100000) %}{% for j in range(10) %}x{% endfor %}{% endfor %}",
                "maxOutputChars", small);
        assertTrue(m.contains("MemoryError: the rendered output is longer than 1,000 characters"), m);
        refused("{% for i in range(1001) %}x{% endfor %}", "maxOutputChars", small);
        refused("{{ 'x' * 1001 }}", "maxOutputChars", small);
    }

    @Test
    void doublingAStringStopsAtTheSizeLimit() {
        String m = refused(
                "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                "maxOutputChars");
        assertTrue(m.contains("the '~' operator"), m);
    }

    @Test
    void buildingManyLargeStringsStopsAtTheTotal() {
        String m = refused("{% for i in range(100) %}{% set x = 'x' * 60000000 %}{% endfor %}", "maxBuiltChars");
        assertTrue(m.contains("MemoryError"), m);
    }
}
