// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Scalars in TensorBoard's event-file format ({@code report_to tensorboard}), written without a
 * TensorFlow dependency: a TFRecord stream (tensorflow/core/lib/io/record_writer.cc: u64 length,
 * masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes) of {@code Event} protos
 * (tensorflow/core/util/event.proto: wall_time = 1 double, step = 2 int64, file_version = 3
 * string, summary = 5) whose {@code Summary.Value} (summary.proto: tag = 1, simple_value = 2
 * float) carries one metric each. The first event holds {@code file_version "brain.Event:2"}.
 */
public final class TensorBoardWriter implements AutoCloseable {
    private final OutputStream out;

    public TensorBoardWriter(Path logDir) throws IOException {
        Files.createDirectories(logDir);
        String host = java.net.InetAddress.getLoopbackAddress().getHostName();
        Path file = logDir.resolve("events.out.tfevents." + System.currentTimeMillis() / 1000 + "." + host);
        out = Files.newOutputStream(file);
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        writeDouble(ev, 1, System.currentTimeMillis() / 1000.0);
        writeBytes(ev, 3, "brain.Event:2".getBytes(StandardCharsets.UTF_8));
        record(ev.toByteArray());
    }

    /** One event per numeric metric at this step (non-numeric values are skipped). */
    public void scalars(long step, Map<String, Object> metrics) throws IOException {
        double now = System.currentTimeMillis() / 1000.0;
        for (var e : metrics.entrySet()) {
            if (!(e.getValue() instanceof Number n) || e.getKey().equals("step")) continue;
            ByteArrayOutputStream value = new ByteArrayOutputStream();
            // transformers' TensorBoard callback: train/<name>, and eval/<name> for the eval_ rows
            String tag = e.getKey().startsWith("eval_") ? "eval/" + e.getKey().substring(5) : "train/" + e.getKey();
            writeBytes(value, 1, tag.getBytes(StandardCharsets.UTF_8));
            writeTag(value, 2, 5); // float, fixed32
            value.write(ByteBuffer.allocate(4)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(n.floatValue())
                    .array());
            ByteArrayOutputStream summary = new ByteArrayOutputStream();
            writeBytes(summary, 1, value.toByteArray());
            ByteArrayOutputStream ev = new ByteArrayOutputStream();
            writeDouble(ev, 1, now);
            writeTag(ev, 2, 0);
            writeVarint(ev, step);
            writeBytes(ev, 5, summary.toByteArray());
            record(ev.toByteArray());
        }
        out.flush();
    }

    private void record(byte[] data) throws IOException {
        byte[] len = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(data.length)
                .array();
        out.write(len);
        out.write(le32(maskedCrc(len)));
        out.write(data);
        out.write(le32(maskedCrc(data)));
    }

    /** TFRecord's masked CRC: rotate right by 15 and add a constant (crc32c.h Mask). */
    static int maskedCrc(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static void writeTag(ByteArrayOutputStream o, int field, int wireType) {
        writeVarint(o, ((long) field << 3) | wireType);
    }

    private static void writeVarint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void writeDouble(ByteArrayOutputStream o, int field, double v) {
        writeTag(o, field, 1);
        o.writeBytes(ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putDouble(v)
                .array());
    }

    private static void writeBytes(ByteArrayOutputStream o, int field, byte[] b) {
        writeTag(o, field, 2);
        writeVarint(o, b.length);
        o.writeBytes(b);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
