// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream into lines before anything is decoded, so that a line whose bytes are not
 * UTF-8 can be reported (or skipped) by its number. Lines end at {@code \n}, {@code \r\n} or a lone
 * {@code \r}, as {@link java.io.BufferedReader#readLine()} splits them, so line numbers stay what
 * they were; a last line without a terminator counts, an empty tail after the last terminator does
 * not. Splitting bytes is safe for UTF-8: {@code \n} and {@code \r} never occur inside a multi-byte
 * sequence.
 */
final class ByteLines {
    private final InputStream in;
    private final long maxLineBytes;
    private final byte[] chunk = new byte[1 << 16];
    private int pos, end;
    /** The previous line ended with \r: a \n that follows belongs to that terminator. */
    private boolean afterCr;

    private byte[] line = new byte[256];
    private int length;

    /** Thrown for a line longer than the limit; the caller names the file and line. */
    static final class LineTooLong extends IOException {
        LineTooLong(String message) {
            super(message);
        }
    }

    ByteLines(InputStream in, long maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    /**
     * Reads the next line; its bytes are {@link #bytes()}[0, {@link #length()}) until the next call.
     *
     * @return false at the end of the stream
     */
    boolean next() throws IOException {
        length = 0;
        while (true) {
            if (pos == end && !fill()) return length > 0;
            if (afterCr) {
                afterCr = false;
                if (chunk[pos] == '\n') {
                    pos++;
                    continue;
                }
            }
            int start = pos;
            while (pos < end && chunk[pos] != '\n' && chunk[pos] != '\r') pos++;
            append(start, pos - start);
            if (pos < end) {
                afterCr = chunk[pos] == '\r';
                pos++;
                return true;
            }
        }
    }

    byte[] bytes() {
        return line;
    }

    int length() {
        return length;
    }

    private boolean fill() throws IOException {
        int n;
        do n = in.read(chunk);
        while (n == 0);
        pos = 0;
        end = Math.max(n, 0);
        return n > 0;
    }

    private void append(int from, int n) throws LineTooLong {
        if (n == 0) return;
        if (length + (long) n > maxLineBytes)
            throw new LineTooLong("the line is longer than align4j's limit of " + maxLineBytes + " bytes");
        if (length + n > line.length) line = Arrays.copyOf(line, (int) Math.min(maxLineBytes, 2L * (length + n)));
        System.arraycopy(chunk, from, line, length, n);
        length += n;
    }
}
