package org.align4j.tokenizer.jinja;

import java.time.Duration;

/**
 * The limits one render runs under, so that a hostile or broken chat template fails with a
 * template error instead of hanging the run, exhausting the heap or overflowing the stack. The
 * defaults are chosen so that every template jinja2 can render (transformers' environment,
 * Python's default recursion limit of 1000) renders here too; each one can be changed with the
 * system property named beside it ({@code -Dalign4j.template.timeoutSeconds=30}).
 *
 * <table>
 *   <caption>Limits and their defaults</caption>
 *   <tr><th>limit</th><th>default</th><th>property</th><th>jinja2 3.1.6 for comparison</th></tr>
 *   <tr><td>render time</td><td>10 s</td><td>timeoutSeconds</td><td>none (loops run forever)</td></tr>
 *   <tr><td>characters of the rendered output, and of any one string or list built on the
 *       way</td><td>64 Mi (67,108,864)</td><td>maxOutputChars</td><td>none (MemoryError)</td></tr>
 *   <tr><td>characters and list items built by operations in one render, in total</td>
 *       <td>256 Mi</td><td>maxBuiltChars</td><td>none</td></tr>
 *   <tr><td>macro calls nested inside each other (recursion)</td><td>200</td>
 *       <td>maxMacroDepth</td><td>RecursionError after 198</td></tr>
 *   <tr><td>block tags ({@code if}, {@code for}, {@code macro}, ...) nested inside each other</td>
 *       <td>100</td><td>maxBlockDepth</td><td>SyntaxError after 98 {@code if}s or 20 {@code for}s</td></tr>
 *   <tr><td>nesting of one expression (brackets, operators, filters, calls)</td><td>500</td>
 *       <td>maxExpressionDepth</td><td>RecursionError after 69 brackets, 328 filters, 491 operators</td></tr>
 *   <tr><td>bits of an integer result</td><td>1,048,576 (about 315,000 digits)</td>
 *       <td>maxIntBits</td><td>none (slow)</td></tr>
 * </table>
 *
 * <p>Chains of {@code ~} are one level however long, as in jinja2. The render runs on a thread
 * whose stack holds these depths many times over, so the limits, not the stack, end a deep
 * template; a {@link StackOverflowError} or {@link OutOfMemoryError} that still happens is
 * reported as a template error too.
 *
 * @param timeout wall-clock time for one render
 * @param maxOutputChars characters of the output and of any one string (or items of any one list)
 * @param maxBuiltChars characters and list items that operations build in one render, in total
 * @param maxMacroDepth macro calls nested inside each other
 * @param maxBlockDepth block tags nested inside each other
 * @param maxExpressionDepth nesting depth of one expression
 * @param maxIntBits bits of any integer result
 */
public record RenderLimits(
        Duration timeout,
        long maxOutputChars,
        long maxBuiltChars,
        int maxMacroDepth,
        int maxBlockDepth,
        int maxExpressionDepth,
        int maxIntBits) {

    /** Prefix of the system properties that override the defaults. */
    public static final String PROPERTY_PREFIX = "align4j.template.";

    public RenderLimits {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the render timeout must be positive, got " + timeout);
        }
        positive("maxOutputChars", maxOutputChars);
        positive("maxBuiltChars", maxBuiltChars);
        positive("maxMacroDepth", maxMacroDepth);
        positive("maxBlockDepth", maxBlockDepth);
        positive("maxExpressionDepth", maxExpressionDepth);
        positive("maxIntBits", maxIntBits);
    }

    /** The defaults above, each replaced by its system property when that is set. */
    public static RenderLimits defaults() {
        return new RenderLimits(
                Duration.ofMillis((long) (property("timeoutSeconds", 10) * 1000)),
                (long) property("maxOutputChars", 64L << 20),
                (long) property("maxBuiltChars", 256L << 20),
                (int) property("maxMacroDepth", 200),
                (int) property("maxBlockDepth", 100),
                (int) property("maxExpressionDepth", 500),
                (int) property("maxIntBits", 1 << 20));
    }

    public RenderLimits withTimeout(Duration t) {
        return new RenderLimits(
                t, maxOutputChars, maxBuiltChars, maxMacroDepth, maxBlockDepth, maxExpressionDepth, maxIntBits);
    }

    public RenderLimits withMaxOutputChars(long n) {
        return new RenderLimits(
                timeout, n, maxBuiltChars, maxMacroDepth, maxBlockDepth, maxExpressionDepth, maxIntBits);
    }

    public RenderLimits withMaxBuiltChars(long n) {
        return new RenderLimits(
                timeout, maxOutputChars, n, maxMacroDepth, maxBlockDepth, maxExpressionDepth, maxIntBits);
    }

    public RenderLimits withMaxMacroDepth(int n) {
        return new RenderLimits(
                timeout, maxOutputChars, maxBuiltChars, n, maxBlockDepth, maxExpressionDepth, maxIntBits);
    }

    public RenderLimits withMaxBlockDepth(int n) {
        return new RenderLimits(
                timeout, maxOutputChars, maxBuiltChars, maxMacroDepth, n, maxExpressionDepth, maxIntBits);
    }

    public RenderLimits withMaxExpressionDepth(int n) {
        return new RenderLimits(timeout, maxOutputChars, maxBuiltChars, maxMacroDepth, maxBlockDepth, n, maxIntBits);
    }

    public RenderLimits withMaxIntBits(int n) {
        return new RenderLimits(
                timeout, maxOutputChars, maxBuiltChars, maxMacroDepth, maxBlockDepth, maxExpressionDepth, n);
    }

    /** The timeout in milliseconds, at most 100 days (a larger one means no limit in practice). */
    long timeoutMillis() {
        return timeout.compareTo(Duration.ofDays(100)) > 0
                ? Duration.ofDays(100).toMillis()
                : timeout.toMillis();
    }

    /** "the limit align4j.template.NAME=VALUE": how error messages name a limit and its knob. */
    static String named(String name, Object value) {
        return "align4j's limit " + PROPERTY_PREFIX + name + "=" + value;
    }

    private static double property(String name, double dflt) {
        String v = System.getProperty(PROPERTY_PREFIX + name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            double d = Double.parseDouble(v.strip());
            if (d > 0 && d <= Long.MAX_VALUE) {
                return d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                "system property " + PROPERTY_PREFIX + name + "=" + v + " must be a positive number");
    }

    private static void positive(String name, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException("render limit " + name + " must be positive, got " + v);
        }
    }
}
