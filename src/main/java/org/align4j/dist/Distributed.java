// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

/**
 * The process's place in a data-parallel job, as torch.distributed keeps a default process group: the collectives the
 * training loop uses ({@link SingleProcess} unless a worker of a launched job installed Gloo's). The CLI installs it
 * once, at the start of a command run by a launcher (torchrun semantics, see {@link Worker}); a library user who
 * starts workers themselves installs the {@link Collective} that {@link Worker#init} returns.
 */
public final class Distributed {
    private static volatile Collective current = new SingleProcess();

    private Distributed() {}

    public static Collective current() {
        return current;
    }

    /** Makes {@code c} the job's collectives; the previous one is returned (not closed). */
    public static Collective install(Collective c) {
        Collective before = current;
        current = c;
        return before;
    }
}
