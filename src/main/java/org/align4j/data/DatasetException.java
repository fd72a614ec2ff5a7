// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

/** Bad dataset input; the message names the file, the line and the field. */
public final class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }
}
