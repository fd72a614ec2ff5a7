// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path tmp;

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static AtomicFiles.IOConsumer<Path> text(String s) {
        return p -> Files.writeString(p, s);
    }

    @Test
    void existingFileIsNotClobberedWithoutOverwrite() throws IOException {
        Path f = tmp.resolve("model.safetensors");
        Files.writeString(f, "old");
        FileAlreadyExistsException e = assertThrows(
                FileAlreadyExistsException.class, () -> AtomicFiles.writeAtomically(f, text("new"), false));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("overwrite=true"), e.getMessage());
        assertEquals("old", Files.readString(f));
        assertEquals(List.of("model.safetensors"), names(tmp));

        AtomicFiles.writeAtomically(f, text("new"), true);
        assertEquals("new", Files.readString(f));
        assertEquals(List.of("model.safetensors"), names(tmp));
    }

    @Test
    void safetensorsWriterRefusesToOverwriteUnlessAsked() throws IOException {
        Path f = tmp.resolve("w.safetensors");
        SafetensorsWriter.write(f, List.of(TensorBlob.ofFloats("w", new float[] {1})), null);
        byte[] before = Files.readAllBytes(f);
        FileAlreadyExistsException e = assertThrows(
                FileAlreadyExistsException.class,
                () -> SafetensorsWriter.write(f, List.of(TensorBlob.ofFloats("w", new float[] {2})), null));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("overwrite"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));
        SafetensorsWriter.write(f, List.of(TensorBlob.ofFloats("w", new float[] {2})), null, true);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertArrayEquals(new float[] {2}, sf.toFloats("w"));
        }
    }

    @Test
    void writerThatThrowsMidwayLeavesThePreviousFileIntactAndNoTempFile() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "previous");
        IllegalStateException boom = assertThrows(
                IllegalStateException.class,
                () -> AtomicFiles.writeAtomically(
                        f,
                        p -> {
                            try (OutputStream out = Files.newOutputStream(p)) {
                                out.write("half of the new con".getBytes());
                                throw new IllegalStateException("boom");
                            }
                        },
                        true));
        assertEquals("boom", boom.getMessage());
        assertEquals("previous", Files.readString(f));
        assertEquals(List.of("config.json"), names(tmp));
    }

    @Test
    void diskFullIsReportedWithThePathAndThePartialFileIsDeleted() throws IOException {
        Path f = tmp.resolve("model.safetensors");
        Files.writeString(f, "previous");
        IOException e = assertThrows(
                IOException.class,
                () -> AtomicFiles.writeAtomically(
                        f,
                        p -> {
                            Files.writeString(p, "partial");
                            throw new IOException("No space left on device");
                        },
                        true));
        assertTrue(e.getMessage().startsWith("No space left on device while writing " + f), e.getMessage());
        assertTrue(e.getMessage().contains("unchanged"), e.getMessage());
        assertEquals("previous", Files.readString(f));
        assertEquals(List.of("model.safetensors"), names(tmp));
    }

    @Test
    void failingSafetensorsWriteLeavesNoTempFile() throws IOException {
        Path f = tmp.resolve("w.safetensors");
        var arena = java.lang.foreign.Arena.ofConfined();
        var seg = arena.allocate(4);
        arena.close(); // the blob's memory is gone: the copy fails midway through the write
        assertThrows(
                IllegalStateException.class,
                () -> SafetensorsWriter.write(
                        f,
                        List.of(
                                TensorBlob.ofFloats("a", new float[] {1}),
                                new TensorBlob("b", DType.F32, new long[] {1}, seg)),
                        null));
        assertEquals(List.of(), names(tmp));
    }

    @Test
    void writeDirAtomicallyReplacesACheckpointFolderOnlyWhenComplete() throws IOException {
        Path ckpt = tmp.resolve("checkpoint-10");
        AtomicFiles.writeDirAtomically(
                ckpt,
                d -> {
                    Files.writeString(d.resolve("trainer_state.json"), "{}");
                    Files.createDirectories(d.resolve("sub"));
                    Files.writeString(d.resolve("sub/x"), "1");
                },
                false);
        assertEquals(List.of("checkpoint-10"), names(tmp));
        assertEquals("1", Files.readString(ckpt.resolve("sub/x")));

        assertThrows(FileAlreadyExistsException.class, () -> AtomicFiles.writeDirAtomically(ckpt, d -> {}, false));

        IOException e = assertThrows(
                IOException.class,
                () -> AtomicFiles.writeDirAtomically(
                        ckpt,
                        d -> {
                            Files.writeString(d.resolve("trainer_state.json"), "{\"half\":");
                            throw new IOException("No space left on device");
                        },
                        true));
        assertTrue(e.getMessage().contains("No space left on device while writing " + ckpt), e.getMessage());
        assertEquals(List.of("checkpoint-10"), names(tmp), "no checkpoint-10.tmp left behind");
        assertEquals("{}", Files.readString(ckpt.resolve("trainer_state.json")));

        AtomicFiles.writeDirAtomically(
                ckpt, d -> Files.writeString(d.resolve("trainer_state.json"), "{\"v\":2}"), true);
        assertEquals(List.of("checkpoint-10"), names(tmp));
        assertEquals(List.of("trainer_state.json"), names(ckpt));
    }

    @Test
    void staleTempFolderFromACrashIsDiscarded() throws IOException {
        Path stale = Files.createDirectories(tmp.resolve("checkpoint-5.tmp"));
        Files.writeString(stale.resolve("garbage"), "x");
        AtomicFiles.writeDirAtomically(
                tmp.resolve("checkpoint-5"), d -> Files.writeString(d.resolve("ok"), "y"), false);
        assertEquals(List.of("checkpoint-5"), names(tmp));
        assertEquals(List.of("ok"), names(tmp.resolve("checkpoint-5")));
    }

    @Test
    void writeJsonRefusesToOverwriteAndKeepsTheOldContent() throws IOException {
        Path f = tmp.resolve("config.json");
        HfJson.writeJson(f, Map.of("a", 1), false);
        assertThrows(FileAlreadyExistsException.class, () -> HfJson.writeJson(f, Map.of("a", 2), false));
        assertEquals("{\n  \"a\": 1\n}\n", Files.readString(f));
    }
}
