// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

/** A user error: printed as one clear message (no stack trace), exit code 2. */
public final class CliException extends RuntimeException {
    public CliException(String message) {
        super(message);
    }
}
