// SPDX-License-Identifier: Apache-2.0
package org.align4j.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.align4j.data.DatasetException;
import org.align4j.data.DatasetShape;
import org.align4j.data.Datasets;
import org.align4j.data.Encoded;
import org.align4j.data.Encoder;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Messages;

/**
 * Fuzzes the dataset reader ({@link Datasets#read} on {@code .jsonl}, {@code .jsonl.gz} and
 * {@code .json} files) and what reads rows next: shape detection, message lists, implicit prompts.
 *
 * <p>Documented errors: {@link DatasetException}, whose message names the file; nothing else may
 * escape (the reader wraps I/O errors in it), so any other exception or error is a finding. With
 * unreadable lines kept (skip_invalid_rows), reading must not fail for a line, and
 * {@link Encoder#encodeAll} must count every unreadable row.
 *
 * <p>Input: one mode byte, then the file. Mode bits 0-1: 0 {@code .jsonl}, 1 {@code .json},
 * 2 {@code .jsonl.gz} compressed by the harness, 3 {@code .jsonl.gz} as given (fuzzes the gzip
 * stream); bit 2: keep unreadable lines.
 */
class JsonRowsFuzzTest {
    private static final String[] SUFFIX = {".jsonl", ".json", ".jsonl.gz", ".jsonl.gz"};

    @FuzzTest(maxDuration = "2h", maxExecutions = 1_000_000)
    void readRows(byte[] input) {
        if (input.length == 0) return;
        int mode = input[0] & 0xff;
        byte[] payload = Arrays.copyOfRange(input, 1, input.length);
        if ((mode & 3) == 2) payload = gzip(payload);
        Path file = FuzzFiles.write("fuzz" + SUFFIX[mode & 3], payload);
        boolean keep = (mode & 4) != 0;
        List<Row> rows;
        try {
            rows = Datasets.read(file, "train", keep);
        } catch (DatasetException e) {
            if (!e.getMessage().contains(file.toString()))
                throw new AssertionError("the error does not name the file: " + e.getMessage());
            return;
        }
        Encoded<Integer> encoded = Encoder.encodeAll(rows, JsonRowsFuzzTest::readRow, true);
        long unreadable = rows.stream().filter(r -> !r.readable()).count();
        if (encoded.skipped() < unreadable)
            throw new AssertionError(unreadable + " unreadable rows but " + encoded.skipped() + " skipped");
        for (String m : encoded.errors())
            if (!m.contains(file.toString())) throw new AssertionError("a row error does not name the file: " + m);
    }

    /** What the encoders read first: the shape, message lists, an implicit prompt. */
    private static int readRow(Row row) {
        DatasetShape shape = DatasetShape.detect(row);
        boolean chat = DatasetShape.isConversational(row);
        for (String field : new String[] {"messages", "prompt", "completion", "chosen", "rejected"}) {
            JsonNode v = row.json().get(field);
            if (chat && v != null && v.isArray()) Messages.of(v, row, field);
        }
        if (shape == DatasetShape.PREFERENCE && !row.has("prompt")) Messages.extractPrompt(row);
        return shape.ordinal();
    }

    private static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
