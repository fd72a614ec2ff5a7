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
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

/**
 * Scalars in TensorBoard's event-file format ({@code report_to tensorboard}), written without a
 * TensorFlow dependency: a TFRecord stream (tensorflow/core/lib/io/record_writer.cc: u64 length,
 * masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes) of {@code Event} protos
 * (tensorflow/core/util/event.proto: wall_time = 1 double, step = 2 int64, file_version = 3
 * string, summary = 5) whose {@code Summary.Value} (summary.proto: tag = 1, simple_value = 2
 * float) carries one metric each. The first event holds {@code file_version "brain.Event:2"}; {@link #text} adds
 * a text summary (the run's args, as transformers writes them).
 */
public final class TensorBoardWriter implements AutoCloseable {
    /** transformers' run-folder time stamp, Python's {@code "%b%d_%H-%M-%S"} in the C locale: Dec05_14-03-59. */
    private static final DateTimeFormatter RUN_STAMP = DateTimeFormatter.ofPattern("MMMdd_HH-mm-ss", Locale.ENGLISH);
    /** torch's SummaryWriter numbers the event files of one process (its _global_uid), so two never collide. */
    private static final AtomicInteger FILES = new AtomicInteger();

    private final OutputStream out;

    /** Opens a new event file in {@code logDir} (created if needed), named as torch's SummaryWriter names it. */
    public TensorBoardWriter(Path logDir) throws IOException {
        Files.createDirectories(logDir);
        long now = System.currentTimeMillis();
        // events.out.tfevents.<time>.<host>.<pid>.<n>, as torch.utils.tensorboard's EventFileWriter
        String name = String.format(
                Locale.ROOT,
                "events.out.tfevents.%010d.%s.%d.%d",
                now / 1000,
                hostname(),
                ProcessHandle.current().pid(),
                FILES.getAndIncrement());
        out = Files.newOutputStream(logDir.resolve(name));
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        writeDouble(ev, 1, now / 1000.0);
        writeBytes(ev, 3, "brain.Event:2".getBytes(StandardCharsets.UTF_8));
        record(ev.toByteArray());
    }

    /**
     * A new run's folder under {@code runs}: {@code <Mon>DD_HH-MM-SS_<hostname>}, transformers' default logging_dir
     * ({@code runs/Dec05_14-03-59_myhost}), so TensorBoard lists each start (a resumed run too) as its own run. A
     * start within the same second as an earlier one gets {@code _2}, {@code _3}, ... appended.
     */
    public static Path runDir(Path runs) {
        String name = LocalDateTime.now().format(RUN_STAMP) + "_" + hostname();
        Path dir = runs.resolve(name);
        for (int n = 2; Files.exists(dir); n++) dir = runs.resolve(name + "_" + n);
        return dir;
    }

    /**
     * This machine's name, as Python's socket.gethostname() gives it: the kernel's host name, else HOSTNAME or
     * COMPUTERNAME, else the JDK's resolution of the local host, else localhost.
     */
    static String hostname() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            if (!h.isEmpty()) return h;
        } catch (IOException | RuntimeException e) {
            // not Linux: ask the environment
        }
        for (String var : new String[] {"HOSTNAME", "COMPUTERNAME"}) {
            String h = System.getenv(var);
            if (h != null && !h.isBlank()) return h.trim();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException e) {
            return "localhost";
        }
    }

    /**
     * A text summary at step 0, as torch's {@code SummaryWriter.add_text} writes it (transformers writes the run's
     * args so): {@code Summary.Value} {tag = 1 "&lt;tag&gt;/text_summary", metadata = 9 {plugin_data = 1 {plugin_name = 1
     * "text"}}, tensor = 8 {dtype = 1 DT_STRING (7), tensor_shape = 2 {dim = 2 {size = 1: 1}}, string_val = 8}}.
     */
    public void text(String tag, String text) throws IOException {
        ByteArrayOutputStream plugin = new ByteArrayOutputStream();
        writeBytes(plugin, 1, "text".getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream metadata = new ByteArrayOutputStream();
        writeBytes(metadata, 1, plugin.toByteArray());
        ByteArrayOutputStream dim = new ByteArrayOutputStream();
        writeTag(dim, 1, 0);
        writeVarint(dim, 1);
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        writeBytes(shape, 2, dim.toByteArray());
        ByteArrayOutputStream tensor = new ByteArrayOutputStream();
        writeTag(tensor, 1, 0);
        writeVarint(tensor, 7); // DT_STRING
        writeBytes(tensor, 2, shape.toByteArray());
        writeBytes(tensor, 8, text.getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        writeBytes(value, 1, (tag + "/text_summary").getBytes(StandardCharsets.UTF_8));
        writeBytes(value, 9, metadata.toByteArray());
        writeBytes(value, 8, tensor.toByteArray());
        event(0, value.toByteArray());
        out.flush();
    }

    /** One event per numeric metric at this step (non-numeric values are skipped). */
    public void scalars(long step, Map<String, Object> metrics) throws IOException {
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
            event(step, value.toByteArray());
        }
        out.flush();
    }

    /** An Event {wall_time = 1, step = 2, summary = 5 {value = 1}} holding one Summary.Value. */
    private void event(long step, byte[] summaryValue) throws IOException {
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        writeBytes(summary, 1, summaryValue);
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        writeDouble(ev, 1, System.currentTimeMillis() / 1000.0);
        writeTag(ev, 2, 0);
        writeVarint(ev, step);
        writeBytes(ev, 5, summary.toByteArray());
        record(ev.toByteArray());
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
