package org.align4j.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The last resorts behind the render limits: what the limits miss still ends as a template error,
 * and the render thread stays usable afterwards.
 */
class RenderThreadsTest {

    private static final RenderLimits LIMITS = RenderLimits.defaults();

    /** Endless recursion with wide frames, to reach the end of the render thread's stack sooner. */
    private static long recurse(long a, long b, long c, long d, long e, long f, long g, long h) {
        return recurse(b, c, d, e, f, g, h, a + 1) + a * b + c * d + e * f + g * h;
    }

    @Test
    void aStackOverflowBecomesARecursionError() {
        JinjaException e = assertThrows(
                JinjaException.class, () -> RenderThreads.call(() -> "" + recurse(1, 2, 3, 4, 5, 6, 7, 8), LIMITS));
        assertTrue(
                e.getMessage().startsWith("RecursionError: ") && e.getMessage().contains("max*Depth"), e.getMessage());
        assertEquals("ok", JinjaEngine.render("{{ 'ok' }}", Map.of()), "the next render works");
    }

    @Test
    void runningOutOfHeapBecomesAMemoryError() {
        JinjaException e = assertThrows(
                JinjaException.class,
                () -> RenderThreads.call(
                        () -> {
                            throw new OutOfMemoryError("Java heap space");
                        },
                        LIMITS));
        assertTrue(
                e.getMessage().startsWith("MemoryError: ") && e.getMessage().contains("maxBuiltChars"), e.getMessage());
    }

    @Test
    void theCallerStopsWaitingShortlyAfterTheTimeLimit() {
        RenderLimits quick = LIMITS.withTimeout(Duration.ofMillis(100));
        long t0 = System.nanoTime();
        JinjaException e = assertThrows(
                JinjaException.class,
                () -> RenderThreads.call(
                        () -> {
                            Thread.sleep(60_000); // stuck somewhere that does not look at the clock
                            return "";
                        },
                        quick));
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(
                e.getMessage().startsWith("TimeoutError: ") && e.getMessage().contains("timeoutSeconds=0.1"),
                e.getMessage());
        assertTrue(millis < 5_000, "gave up after " + millis + " ms");
    }

    @Test
    void otherExceptionsPassThroughUnchanged() {
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> RenderThreads.call(
                        () -> {
                            throw new IllegalStateException("a bug");
                        },
                        LIMITS));
        assertEquals("a bug", e.getMessage());
    }
}
