package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs each render on a pooled thread with a deep stack, for two reasons:
 *
 * <ul>
 *   <li>the depth limits of {@link RenderLimits} then end a deep template whatever thread called
 *       the engine (a worker with a small stack, a test runner, a fuzzer), so the error names the
 *       limit instead of being a {@link StackOverflowError};
 *   <li>the caller stops waiting shortly after the time limit even if the template is stuck in one
 *       long operation that does not look at the clock.
 * </ul>
 *
 * A stack overflow or out-of-memory error that still happens is turned into a template error
 * here, as a last resort; the thread is reused afterwards only once Jinjava's per-thread state has
 * been reset.
 */
final class RenderThreads {

    private RenderThreads() {}

    /**
     * Stack of a render thread (reserved, committed only as used). The deepest template the limits
     * allow that was measured (200 nested macro calls, each 99 blocks and a 495-level expression
     * deep) needed between 16 and 32 MiB.
     */
    static final long STACK_BYTES = 128L << 20;

    private static final AtomicInteger COUNT = new AtomicInteger();

    private static final ExecutorService POOL =
            new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                Thread t = new Thread(null, r, "align4j-template-" + COUNT.incrementAndGet(), STACK_BYTES);
                t.setDaemon(true);
                return t;
            });

    /**
     * Runs {@code render} on a render thread and returns its result on this thread; its exceptions
     * and errors are rethrown here unchanged, except stack and heap exhaustion (template errors).
     */
    static String call(Callable<String> render, RenderLimits limits) {
        Future<String> result = POOL.submit(() -> {
            resetJinjava();
            try {
                return render.call();
            } catch (StackOverflowError e) {
                throw new JinjaException(
                        "RecursionError: the template nests so deeply that the render thread's "
                                + (STACK_BYTES >> 20) + " MiB stack overflowed before one of align4j's depth "
                                + "limits (" + RenderLimits.PROPERTY_PREFIX + "max*Depth) stopped it",
                        -1,
                        null);
            } catch (OutOfMemoryError e) {
                throw new JinjaException(
                        "MemoryError: the Java heap ran out while rendering the template ("
                                + RenderLimits.named("maxBuiltChars", limits.maxBuiltChars())
                                + " bounds most but not all of what a template can build)",
                        -1,
                        null);
            }
        });
        long waitMillis = limits.timeoutMillis() + Math.max(1000, limits.timeoutMillis() / 2);
        try {
            return result.get(waitMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("template render failed", cause);
        } catch (TimeoutException e) {
            result.cancel(true); // interrupts the render thread, which stops at its next check
            throw new JinjaException(RenderBudget.timeout(limits).getMessage(), -1, null);
        } catch (InterruptedException e) {
            result.cancel(true);
            Thread.currentThread().interrupt();
            throw new JinjaException("InterruptedError: interrupted while waiting for the template to render", -1, e);
        }
    }

    /** A render ended by a stack overflow may have left interpreters on Jinjava's per-thread stack. */
    private static void resetJinjava() {
        while (JinjavaInterpreter.getCurrent() != null) {
            JinjavaInterpreter.popCurrent();
        }
        Thread.interrupted(); // a cancelled earlier render must not stop this one
    }
}
