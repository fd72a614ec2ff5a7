// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.List;
import org.align4j.data.Sequence;

/** Lets tests in other packages reuse {@link SftTrainerTest}'s arithmetic examples. */
public final class SftTrainerTestAccess {
    private SftTrainerTestAccess() {}

    public static List<Sequence> arithmetic(int n, long seed) {
        return SftTrainerTest.arithmetic(n, seed);
    }
}
