package org.align4j.fuzz;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Duration;
import java.util.ConcurrentModificationException;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.align4j.tokenizer.ChatTemplate;
import org.align4j.tokenizer.TokenizerException;
import org.align4j.tokenizer.jinja.RenderLimits;

/**
 * Fuzzes the chat-template engine (parser, Jinjava structure, Python semantics) with arbitrary
 * template text rendered over a small fixed conversation. The only acceptable failure is a
 * {@link ChatTemplate.ChatTemplateException} that is a template error, not an engine bug in
 * disguise: one caused by a Java runtime failure (NullPointerException, ClassCastException,
 * IndexOutOfBoundsException, a plain IllegalArgumentException, StackOverflowError, ...) is a
 * finding, as is anything else that escapes.
 *
 * <p>Normal test runs replay the inputs in {@code src/test/resources/org/align4j/fuzz/
 * ChatTemplateFuzzTestInputs/renderTemplate} (seed templates, crashes found so far and a
 * minimized corpus). A campaign runs outside CI:
 *
 * <pre>JAZZER_FUZZ=1 ./mvnw -B -o test -Dtest=ChatTemplateFuzzTest -Dspotless.check.skip=true</pre>
 *
 * (see docs/fuzzing.md for the last campaign's figures).
 */
class ChatTemplateFuzzTest {

    /**
     * Small limits: the same checks at a fraction of the cost, so that the fuzzer spends its time
     * on many templates rather than on a few that loop or grow up to the real limits.
     */
    private static final RenderLimits LIMITS = RenderLimits.defaults()
            .withTimeout(Duration.ofMillis(100))
            .withMaxOutputChars(1 << 16)
            .withMaxBuiltChars(1 << 20)
            .withMaxMacroDepth(20)
            .withMaxBlockDepth(30)
            .withMaxExpressionDepth(100)
            .withMaxIntBits(1 << 16);

    private static final List<Map<String, Object>> MESSAGES = List.of(
            Map.of("role", "system", "content", "You are helpful."),
            Map.of("role", "user", "content", "Hi <b>&'\"\n  there"),
            Map.of(
                    "role",
                    "assistant",
                    "content",
                    "<think>\nweather\n</think>\n\nLet me check.",
                    "tool_calls",
                    List.of(Map.of(
                            "type",
                            "function",
                            "function",
                            Map.of("name", "get_weather", "arguments", Map.of("city", "Paris", "days", 2))))),
            Map.of("role", "tool", "name", "get_weather", "content", "{\"temp\": 20}"),
            Map.of("role", "user", "content", "Thanks! ünïcödé 🙂"));

    private static final Map<String, Object> SPECIAL_TOKENS = Map.of("bos_token", "<s>", "eos_token", "</s>");

    private static final Map<String, Object> EXTRA = Map.of(
            "tools",
            List.of(Map.of(
                    "type",
                    "function",
                    "function",
                    Map.of(
                            "name",
                            "get_weather",
                            "description",
                            "Weather for a city",
                            "parameters",
                            Map.of(
                                    "type",
                                    "object",
                                    "properties",
                                    Map.of("city", Map.of("type", "string")),
                                    "required",
                                    List.of("city"))))),
            "enable_thinking",
            false);

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "4h")
    @DictionaryEntries({
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "{%-",
        "-%}",
        "{{-",
        "-}}",
        "macro",
        "endmacro",
        "call",
        "endcall",
        "caller()",
        "for",
        " in ",
        "endfor",
        "if",
        "elif",
        "else",
        "endif",
        "set",
        "endset",
        "namespace(",
        "generation",
        "endgeneration",
        "raw",
        "endraw",
        "break",
        "continue",
        "loop.index0",
        "loop.cycle(",
        "recursive",
        "range(",
        "dict(",
        "raise_exception(",
        "strftime_now(",
        "messages",
        "message.content",
        "tools",
        "add_generation_prompt",
        "|tojson",
        "|tojson(indent=",
        "|indent(",
        "|center(",
        "|join(",
        "|map(attribute=",
        "|selectattr(",
        "|dictsort",
        "|items",
        "|unique",
        "|sort",
        "|default(",
        "|string",
        "|int",
        "|round(",
        "|list",
        "|length",
        "|e",
        " is defined",
        " is not none",
        " is string",
        " not in ",
        " and ",
        " or ",
        " ~ ",
        " ** ",
        " // ",
        " % ",
        "[::-1]",
        ".split(",
        ".strip(",
        ".startswith(",
        ".format(",
        ".center(",
        ".zfill(",
        ".replace(",
        ".items()",
        ".get(",
        "2**64",
        "10**9",
        "-1"
    })
    void renderTemplate(byte[] input) {
        String template = new String(input, UTF_8);
        ChatTemplate t = new ChatTemplate(template, "fuzz").withLimits(LIMITS);
        try {
            t.apply(MESSAGES, input.length % 2 == 0, SPECIAL_TOKENS, EXTRA);
        } catch (ChatTemplate.ChatTemplateException e) {
            Throwable bug = engineFailure(e);
            if (bug != null) {
                throw new AssertionError("an engine failure behind the template error: " + e.getMessage(), bug);
            }
        }
    }

    /** The first Java runtime failure in the cause chain: a bug, not a template error. */
    private static Throwable engineFailure(Throwable e) {
        Set<Throwable> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable c = e; c != null && seen.add(c); c = c.getCause()) {
            if (c instanceof TokenizerException) {
                continue;
            }
            if (c instanceof Error
                    || c instanceof NullPointerException
                    || c instanceof ClassCastException
                    || c instanceof IndexOutOfBoundsException
                    || c instanceof NegativeArraySizeException
                    || c instanceof ArithmeticException
                    || c instanceof IllegalArgumentException
                    || c instanceof IllegalStateException
                    || c instanceof UnsupportedOperationException
                    || c instanceof ConcurrentModificationException
                    || c instanceof NoSuchElementException) {
                return c;
            }
        }
        return null;
    }
}
