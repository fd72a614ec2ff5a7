// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Crash-safe writes: a file or folder appears under its final name complete or not at all, and
 * what was there before is never lost to a failed write (exception, full disk, killed process).
 *
 * <p>Files: write {@code .NAME.RANDOM.tmp} in the target's folder, fsync it, rename it over the
 * target ({@code ATOMIC_MOVE}), fsync the folder. Folders (checkpoints): write {@code NAME.tmp/},
 * fsync its files, rename it to {@code NAME}. On failure the temporary is deleted and the error
 * names the target; a full disk says "No space left on device".
 *
 * <p>The overwrite check and the rename are two steps, so two processes racing for the same new
 * name can both succeed (last one wins); align4j never does that.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes into the given path; may throw. */
    @FunctionalInterface
    public interface IOConsumer<T> {
        void accept(T t) throws IOException;
    }

    /**
     * Creates or replaces {@code target} with what {@code writerToTemp} writes into the temporary
     * file it is given (an existing, empty file in the same folder, to be opened for writing).
     * Creates missing parent folders.
     *
     * @param overwrite when false, an existing {@code target} is an error and is left untouched
     * @throws FileAlreadyExistsException if {@code target} exists and {@code overwrite} is false
     * @throws IOException                naming {@code target} if writing fails; the temporary is deleted
     */
    public static void writeAtomically(Path target, IOConsumer<Path> writerToTemp, boolean overwrite)
            throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        refuseExisting(target, overwrite);
        Files.createDirectories(dir);
        Path tmp = createTempSibling(dir, abs.getFileName().toString());
        boolean moved = false;
        try {
            writerToTemp.accept(tmp);
            fsync(tmp);
            refuseExisting(target, overwrite);
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
            fsyncDir(dir);
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            throw describe(e, target, tmp);
        } finally {
            if (!moved) Files.deleteIfExists(tmp);
        }
    }

    /**
     * Creates or replaces the folder {@code target} (e.g. {@code checkpoint-500}) with what
     * {@code writerToTempDir} writes into {@code target.tmp/} (created empty; a stale one left by
     * a crash is deleted first), then {@link #moveDirAtomically moves} it into place.
     */
    public static void writeDirAtomically(Path target, IOConsumer<Path> writerToTempDir, boolean overwrite)
            throws IOException {
        refuseExisting(target, overwrite);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        deleteRecursively(tmp);
        Files.createDirectories(tmp);
        boolean moved = false;
        try {
            writerToTempDir.accept(tmp);
            moveDirAtomically(tmp, target, overwrite);
            moved = true;
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            throw describe(e, target, tmp);
        } finally {
            if (!moved) deleteRecursively(tmp);
        }
    }

    /**
     * Moves the finished folder {@code source} to {@code target} with one rename, after fsyncing
     * every file in it. Both must be on the same file system (siblings, normally). If
     * {@code target} exists and {@code overwrite} is true, it is first renamed aside, then deleted
     * once the new folder is in place (if the move fails it is renamed back).
     */
    public static void moveDirAtomically(Path source, Path target, boolean overwrite) throws IOException {
        refuseExisting(target, overwrite);
        try (Stream<Path> files = Files.walk(source)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(p)) fsync(p);
                else if (Files.isDirectory(p)) fsyncDir(p);
            }
        }
        Path parent = target.toAbsolutePath().getParent();
        Path old = null;
        if (Files.exists(target)) {
            old = target.resolveSibling(target.getFileName() + ".old-"
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()));
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (old != null) Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            throw e;
        }
        fsyncDir(parent);
        if (old != null) deleteRecursively(old);
    }

    /** Deletes a file or a folder tree; nothing if it does not exist. */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> walk = Files.walk(path)) {
            List<Path> all = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) Files.deleteIfExists(p);
        }
    }

    private static void refuseExisting(Path target, boolean overwrite) throws FileAlreadyExistsException {
        if (!overwrite && Files.exists(target, LinkOption.NOFOLLOW_LINKS))
            throw new FileAlreadyExistsException(
                    target.toString(),
                    null,
                    "already exists; refusing to replace it (pass overwrite=true to replace it)");
    }

    private static Path createTempSibling(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                // createFile, not createTempFile: the result gets the usual permissions (umask), not 0600
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Makes a rename durable. Not every platform can open a folder; then this does nothing. */
    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // best effort: the data itself was already forced
        }
    }

    private static IOException describe(IOException e, Path target, Path tmp) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m != null && m.contains("No space left on device"))
                return new IOException(
                        "No space left on device while writing " + target + " (via " + tmp
                                + "); the partial temporary was deleted and any existing " + target + " is unchanged",
                        e);
        }
        return new IOException(
                "Could not write " + target + " (via " + tmp + "): " + e
                        + "; the partial temporary was deleted and any existing " + target + " is unchanged",
                e);
    }
}
