// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;

/**
 * Which {@link TrainingListener}s hear the runs that a piece of code starts. The binding is a {@link ScopedValue}: it
 * holds for everything {@link #call} runs on this thread, however deep the trainer calls go, and ends with it. That
 * spares every trainer's static {@code train(...)} a listener parameter; a run inside a run hears the same listeners.
 *
 * <p>Unbound (a trainer called directly), a run reports its progress lines through SLF4J ({@link
 * ConsoleProgress#toLog()}), so a library user sees them in their own logging set-up and nothing is printed behind
 * its back.
 */
public final class TrainingListeners {
    private static final ScopedValue<List<TrainingListener>> BOUND = ScopedValue.newInstance();

    private TrainingListeners() {}

    /**
     * Runs {@code body} with {@code listeners} hearing every training run it starts (instead of any listeners bound
     * outside it), and returns what it returns.
     *
     * @param <T> the result type of {@code body}
     * @param <X> what {@code body} may throw
     * @param listeners the listeners, in the order they are told
     * @param body the code that trains
     * @return the result of {@code body}
     * @throws X what {@code body} throws
     */
    public static <T, X extends Throwable> T call(
            List<? extends TrainingListener> listeners, ScopedValue.CallableOp<? extends T, X> body) throws X {
        return ScopedValue.where(BOUND, List.<TrainingListener>copyOf(listeners))
                .call(body);
    }

    /** The listeners bound here, else the progress lines through SLF4J. */
    static List<TrainingListener> current() {
        return BOUND.isBound() ? BOUND.get() : List.of(ConsoleProgress.toLog());
    }
}
