package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One render's account against its {@link RenderLimits}: the deadline, the macro call depth and
 * the characters built so far. The engine's operations call the static methods here before they
 * build something large or nest deeper; a limit that is hit throws {@link Exceeded}.
 *
 * <p>Outside a render (helpers called directly) the default limits apply without a deadline.
 */
final class RenderBudget {

    private static final ThreadLocal<RenderBudget> CURRENT = new ThreadLocal<>();

    /** Ticks between two looks at the clock: often enough to stop within milliseconds. */
    private static final int CHECK_EVERY = 256;

    /** Java arrays (and so strings and ArrayLists) hold at most about this many elements. */
    private static final long JAVA_MAX = Integer.MAX_VALUE - 16;

    final RenderLimits limits;
    private final long deadline;
    private int countdown = CHECK_EVERY;
    private int macroDepth;
    private long built;

    private RenderBudget(RenderLimits limits, long deadline) {
        this.limits = limits;
        this.deadline = deadline;
    }

    /** Runs {@code body} on this thread with a fresh budget for {@code limits}. */
    static <T> T run(RenderLimits limits, Supplier<T> body) {
        RenderBudget previous = CURRENT.get();
        CURRENT.set(new RenderBudget(limits, System.nanoTime() + limits.timeoutMillis() * 1_000_000L));
        try {
            return body.get();
        } finally {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }

    static RenderBudget current() {
        RenderBudget b = CURRENT.get();
        return b != null ? b : new RenderBudget(RenderLimits.defaults(), Long.MAX_VALUE);
    }

    /**
     * A render limit was hit. An {@link Error}, not an exception, because Jinjava records
     * exceptions and keeps rendering; this must end the render at once. {@link JinjaEngine}
     * turns it into a {@link JinjaException}.
     */
    static final class Exceeded extends Error {

        private static final long serialVersionUID = 1L;
        private final int line;

        Exceeded(String pythonType, String message) {
            this(pythonType, message, currentLine());
        }

        Exceeded(String pythonType, String message, int line) {
            super(pythonType + ": " + message);
            this.line = line;
        }

        int line() {
            return line;
        }

        private static int currentLine() {
            JinjavaInterpreter i = JinjavaInterpreter.getCurrent();
            return i == null ? -1 : i.getLineNumber();
        }
    }

    // ------------------------------------------------------------------ time

    /** Counts one step of work; every few hundred steps, checks the deadline and interrupts. */
    static void tick() {
        RenderBudget b = CURRENT.get();
        if (b != null && --b.countdown <= 0) {
            b.check();
        }
    }

    private void check() {
        countdown = CHECK_EVERY;
        if (Thread.currentThread().isInterrupted()) {
            throw new Exceeded("InterruptedError", "the render was interrupted (the caller gave up waiting)");
        }
        if (System.nanoTime() - deadline > 0) {
            throw timeout(limits);
        }
        outputTooBig(JinjavaInterpreter.getCurrent());
    }

    static Exceeded timeout(RenderLimits limits) {
        return new Exceeded(
                "TimeoutError",
                "the template ran longer than " + seconds(limits) + " s ("
                        + RenderLimits.named("timeoutSeconds", seconds(limits))
                        + "); it loops far more than a chat template needs (jinja2 has no limit and would hang)");
    }

    private static String seconds(RenderLimits limits) {
        double s = limits.timeoutMillis() / 1000.0;
        return s == Math.rint(s) ? Long.toString((long) s) : Double.toString(s);
    }

    /**
     * Jinjava enforces the output limit in its own string builders and records an error instead of
     * stopping; this ends the render once such an error is there.
     */
    static void outputTooBig(JinjavaInterpreter interpreter) {
        if (interpreter == null) {
            return;
        }
        List<TemplateError> errors = interpreter.getErrors();
        for (int i = errors.size() - 1; i >= 0; i--) {
            if (errors.get(i).getException() instanceof OutputTooBigException) {
                throw outputLimit(current().limits, -1);
            }
        }
    }

    static Exceeded outputLimit(RenderLimits limits, int line) {
        return new Exceeded(
                "MemoryError",
                "the rendered output is longer than " + chars(limits.maxOutputChars()) + " characters ("
                        + RenderLimits.named("maxOutputChars", limits.maxOutputChars())
                        + "); no chat prompt is that long",
                line);
    }

    // ------------------------------------------------------------------ size

    /** Checks that {@code what} may build a string of {@code n} characters; returns n as an int. */
    static int size(long n, String what) {
        return check(n, what, "characters");
    }

    /** Checks that {@code what} may build a list of {@code n} items; returns n as an int. */
    static int items(long n, String what) {
        return check(n, what, "items");
    }

    private static int check(long n, String what, String unit) {
        RenderLimits l = current().limits;
        if (n > l.maxOutputChars() || n > JAVA_MAX) {
            throw new Exceeded(
                    "MemoryError",
                    what + " would build " + chars(n) + " " + unit + ", more than one string or list may hold ("
                            + RenderLimits.named("maxOutputChars", l.maxOutputChars()) + ")");
        }
        return (int) Math.max(0, n);
    }

    /** {@code unit * count} characters (or items, for a list), checked without overflowing; returns count. */
    static int repeat(long unit, BigInteger count, String what, boolean list) {
        if (count.signum() <= 0 || unit == 0) {
            return 0;
        }
        BigInteger total = count.multiply(BigInteger.valueOf(unit));
        long n = total.bitLength() < 63 ? total.longValue() : Long.MAX_VALUE;
        check(n, what, list ? "items" : "characters");
        return count.intValueExact();
    }

    /**
     * Charges a value an operation built to the render's total and returns it. Strings count
     * their characters, lists and dicts their items.
     */
    static <T> T built(T value) {
        RenderBudget b = CURRENT.get();
        if (b == null) {
            return value;
        }
        long n = 0;
        if (value instanceof String s) {
            n = s.length();
        } else if (value instanceof Collection<?> c) {
            n = c.size();
        } else if (value instanceof Map<?, ?> m) {
            n = m.size();
        }
        b.built += n;
        if (b.built > b.limits.maxBuiltChars()) {
            throw new Exceeded(
                    "MemoryError",
                    "the template built more than " + chars(b.limits.maxBuiltChars())
                            + " characters and list items in one render ("
                            + RenderLimits.named("maxBuiltChars", b.limits.maxBuiltChars())
                            + "); it copies large strings far more often than a chat template needs");
        }
        if (--b.countdown <= 0) {
            b.check();
        }
        return value;
    }

    /** Checks an integer result of {@code bits} bits. */
    static void intBits(long bits, String op) {
        RenderLimits l = current().limits;
        if (bits > l.maxIntBits()) {
            throw new Exceeded(
                    "MemoryError",
                    "'" + op + "' would build an integer of about " + chars(bits) + " bits, more than "
                            + RenderLimits.named("maxIntBits", l.maxIntBits()));
        }
    }

    // ------------------------------------------------------------------ depth

    /** Enters one macro call; pair with {@link #exitMacro()} in a finally block. */
    static void enterMacro(String name) {
        RenderBudget b = current();
        if (b.macroDepth >= b.limits.maxMacroDepth()) {
            throw new Exceeded(
                    "RecursionError",
                    "macro '" + name + "' was called with " + b.macroDepth + " macro calls already running ("
                            + RenderLimits.named("maxMacroDepth", b.limits.maxMacroDepth())
                            + "; jinja2 raises RecursionError near 200); the template recurses without end"
                            + " or deeper than a chat template needs");
        }
        b.macroDepth++;
        tick();
    }

    static void exitMacro() {
        RenderBudget b = CURRENT.get();
        if (b != null && b.macroDepth > 0) {
            b.macroDepth--;
        }
    }

    /** Checks the nesting depth of an expression being parsed. */
    static void expressionDepth(int depth) {
        RenderLimits l = current().limits;
        if (depth > l.maxExpressionDepth()) {
            throw new Exceeded(
                    "RecursionError",
                    "an expression nests deeper than " + l.maxExpressionDepth() + " levels ("
                            + RenderLimits.named("maxExpressionDepth", l.maxExpressionDepth())
                            + "; jinja2 raises RecursionError from about 70 brackets or 490 operators); "
                            + "split it with {% set %}");
        }
    }

    /** Checks how deeply block tags nest in a parsed template, without recursion. */
    static void blockDepth(Node root) {
        RenderLimits l = current().limits;
        Deque<Node> nodes = new ArrayDeque<>();
        Deque<Integer> depths = new ArrayDeque<>();
        nodes.push(root);
        depths.push(0);
        while (!nodes.isEmpty()) {
            Node n = nodes.pop();
            int d = depths.pop();
            // a block is a tag with a body; elif/else markers and plain tags do not nest
            if (n instanceof TagNode && !n.getChildren().isEmpty() && d >= l.maxBlockDepth()) {
                throw new Exceeded(
                        "RecursionError",
                        "block tags ('" + ((TagNode) n).getName() + "' and those around it) nest deeper than "
                                + l.maxBlockDepth() + " levels ("
                                + RenderLimits.named("maxBlockDepth", l.maxBlockDepth())
                                + "; jinja2 refuses 20 nested 'for' or 98 nested 'if' blocks)",
                        n.getLineNumber());
            }
            for (Node child : n.getChildren()) {
                nodes.push(child);
                depths.push(n instanceof TagNode ? d + 1 : d);
            }
        }
    }

    private static String chars(long n) {
        return String.format("%,d", n);
    }
}
