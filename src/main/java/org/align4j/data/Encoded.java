// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.util.List;

/**
 * The result of encoding a dataset: the items, in row order, and, when invalid rows are skipped
 * (skip_invalid_rows), how many were and why (one message per skipped row, naming file and line).
 */
public record Encoded<T>(List<T> items, int skipped, List<String> errors) {
    public Encoded {
        items = List.copyOf(items);
        errors = List.copyOf(errors);
    }

    /** "N rows skipped; first: a; b; c" for the caller to print, or "" when nothing was skipped. */
    public String summary(int firstFew) {
        if (skipped == 0) return "";
        return skipped + " invalid row(s) skipped; first: "
                + String.join("; ", errors.subList(0, Math.min(firstFew, errors.size())));
    }
}
