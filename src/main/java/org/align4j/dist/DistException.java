// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.util.List;

/**
 * A distributed job cannot go on: a peer died or hung, the store is unreachable, a port is taken.
 * The message names the ranks (and ports, variables) involved and what to do; {@link #suspects()}
 * lists the ranks found responsible, empty when none could be named.
 */
public final class DistException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final List<Integer> suspects;

    public DistException(String message, List<Integer> suspects, Throwable cause) {
        super(message, cause);
        this.suspects = List.copyOf(suspects);
    }

    public DistException(String message) {
        this(message, List.of(), null);
    }

    public List<Integer> suspects() {
        return suspects;
    }

    /**
     * The first line of a c10d/Gloo error, without the C++ stack trace libtorch appends and with
     * the build machine's source path shortened to the file name ("[/home/runner/.../pair.cc:547]
     * Connection closed by peer" becomes "pair.cc:547: Connection closed by peer").
     */
    static String firstLine(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) return t.getClass().getSimpleName();
        String line = m.lines().findFirst().orElse(m).strip();
        return line.replaceFirst("^\\[[^\\]]*/([^/\\]]+:\\d+)\\]\\s*", "$1: ");
    }
}
