// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.io.AtomicFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run's output_dir: the folder it claims, the lock that keeps a second run out while it writes, and the only files
 * align4j ever replaces or removes there.
 *
 * <p>Rules (README, "Output folders"):
 *
 * <ul>
 *   <li>output_dir may not be {@code /}, the home folder, the current folder, an input of the run (the model, the
 *       reference, a dataset) or a folder that contains one of them; it may not be a file.
 *   <li>A folder that already holds a run (metrics.jsonl or completions.jsonl with content, a model, or checkpoint-N
 *       folders) is refused unless the run resumes from it or {@code overwrite_output_dir} is set. Overwriting removes
 *       only align4j's own artifacts ({@link #isArtifact}): checkpoint-N folders that hold a trainer_state.json,
 *       metrics.jsonl, completions.jsonl (log_completions), training_args.json, the files of a saved model, adapter or
 *       tokenizer, a README.md model card align4j wrote, and TensorBoard event files under runs/.
 *       Anything else (notes, data, other folders) stays.
 *   <li>A live run holds a lock on {@code .align4j.lock} (the file stays, empty of meaning once the run ends: the lock
 *       dies with the process); a second run into the same folder is refused while the first lives.
 *   <li>Temporary files of an interrupted save ({@code checkpoint-N.tmp/}, {@code .NAME.HEX.tmp}, {@code
 *       checkpoint-N.old-HEX/}) are removed at the next start.
 * </ul>
 */
public final class OutputDir implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutputDir.class);
    public static final String LOCK_FILE = ".align4j.lock";
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-\\d+");
    private static final Pattern TEMPORARY =
            Pattern.compile("(checkpoint-\\d+\\.tmp|checkpoint-\\d+\\.old-[0-9a-f]+|\\..+\\.[0-9a-f]+\\.tmp)");
    private static final Pattern MODEL_FILE = Pattern.compile("(model|adapter_model)(-\\d{5}-of-\\d{5})?\\.safetensors"
            + "|model\\.safetensors\\.index\\.json|config\\.json|adapter_config\\.json|generation_config\\.json"
            + "|tokenizer\\.json|tokenizer_config\\.json|special_tokens_map\\.json|chat_template\\.jinja"
            + "|training_args\\.json|metrics\\.jsonl|completions\\.jsonl");

    /** Folders this process holds the lock of, with how many claims are open on each. */
    private static final Map<Path, Integer> HELD = new HashMap<>();

    private final Path dir, key;
    private final FileChannel lockChannel; // null for a nested claim
    private final FileLock lock;

    private OutputDir(Path dir, FileChannel lockChannel, FileLock lock, Path key) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.key = key;
    }

    public Path path() {
        return dir;
    }

    /**
     * Claims {@code out} for a run of {@code command}: checks it against the rules above (with {@code inputs}, the
     * run's model and data paths, when known), creates it, takes the lock, removes stale temporaries, and for a fresh
     * run ({@code resuming} false) refuses a folder that holds a run unless {@code overwrite}, in which case align4j's
     * artifacts there are removed.
     */
    public static OutputDir claim(String command, Path out, boolean overwrite, boolean resuming, List<Path> inputs)
            throws IOException {
        return claim(command, out, overwrite, resuming, inputs, p -> false);
    }

    /**
     * {@link #claim} for a method that writes more than a trainer's files: {@code own} says which other entries of
     * output_dir are its artifacts (rjs: rjs_rounds.jsonl and round-K/; the demo: results.json, report.html and
     * seed-N/), which also mark an earlier run and which overwriting removes.
     */
    public static OutputDir claim(
            String command, Path out, boolean overwrite, boolean resuming, List<Path> inputs, Predicate<Path> own)
            throws IOException {
        checkLocation(command, out, inputs);
        try {
            Files.createDirectories(out);
        } catch (FileSystemException e) {
            throw new IOException(command + ": cannot create output_dir " + out + ": " + reason(e), e);
        }
        if (!Files.isWritable(out))
            throw new IOException(command + ": output_dir " + out + " is not writable; choose a folder you can write");
        OutputDir claimed = lock(command, out);
        try {
            removeTemporaries(out);
            if (!resuming) {
                List<Path> run = new ArrayList<>(runArtifacts(out));
                run.addAll(owned(out, own));
                if (!run.isEmpty() && !overwrite)
                    throw new IOException(command + ": output_dir " + out + " already holds a run (" + names(run)
                            + "); pass --resume_from_checkpoint latest to continue it, --overwrite_output_dir true to"
                            + " replace align4j's files there (nothing else is touched), or choose another output_dir");
                // only an earlier run is replaced: files put there for this run (a tokenizer) stay
                if (overwrite && !run.isEmpty()) {
                    for (Path p : run) AtomicFiles.deleteRecursively(p);
                    for (Path p : artifacts(out)) AtomicFiles.deleteRecursively(p);
                }
            }
            return claimed;
        } catch (IOException | RuntimeException e) {
            claimed.close();
            throw e;
        }
    }

    /**
     * Refuses an output_dir that is a file, {@code /}, the home or current folder, an input of the run or a folder
     * that contains an input; named with the reason and the fix.
     */
    public static void checkLocation(String command, Path out, List<Path> inputs) throws IOException {
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new IOException(command + ": output_dir " + out + " is a file, not a folder; choose a folder");
        Path abs = real(out);
        String fix = "; choose a new folder for the run's outputs";
        if (abs.getParent() == null)
            throw new IOException(command + ": output_dir " + out + " is the root folder" + fix);
        if (abs.equals(real(Path.of(System.getProperty("user.home")))))
            throw new IOException(command + ": output_dir " + out + " is the home folder" + fix);
        if (abs.equals(real(Path.of(""))))
            throw new IOException(command + ": output_dir " + out + " is the current folder" + fix);
        for (Path in : inputs) {
            if (in == null) continue;
            Path i = real(in);
            if (i.equals(abs))
                throw new IOException(command + ": output_dir " + out + " is an input of this run (" + in + ")" + fix);
            if (i.startsWith(abs))
                throw new IOException(
                        command + ": output_dir " + out + " contains an input of this run (" + in + ")" + fix);
        }
    }

    /**
     * align4j's files in {@code out} that mark a run: metrics.jsonl or completions.jsonl with content, a model,
     * checkpoint-N folders.
     */
    static List<Path> runArtifacts(Path out) throws IOException {
        List<Path> found = new ArrayList<>();
        for (Path p : artifacts(out)) {
            String name = p.getFileName().toString();
            if ((name.equals(MetricsLog.FILE) || name.equals(MetricsLog.COMPLETIONS)) && Files.size(p) == 0)
                continue; // an empty log blocks nothing
            if (name.equals("runs") || name.equals("training_args.json") || name.startsWith("tokenizer")) continue;
            found.add(p);
        }
        return found;
    }

    private static List<Path> owned(Path out, Predicate<Path> own) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out)) {
            for (Path p : ds) if (!Files.isSymbolicLink(p) && own.test(p)) found.add(p);
        }
        return found;
    }

    /** Every align4j artifact directly in {@code out} (see the class comment). */
    static List<Path> artifacts(Path out) throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(out)) return found;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out)) {
            for (Path p : ds) if (isArtifact(p)) found.add(p);
        }
        found.sort(null);
        return found;
    }

    /** Whether align4j wrote {@code p} (by name and, for folders, by content): the only paths it may remove. */
    static boolean isArtifact(Path p) throws IOException {
        String name = p.getFileName().toString();
        if (Files.isSymbolicLink(p)) return false;
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            if (CHECKPOINT.matcher(name).matches()) return Files.isRegularFile(p.resolve("trainer_state.json"));
            if (name.equals("runs")) return onlyEventFiles(p);
            return false;
        }
        if (name.equals("config.json")) return isModelConfig(p);
        if (name.equals(ModelCard.FILE)) return ModelCard.isOurs(p);
        return MODEL_FILE.matcher(name).matches();
    }

    /** A config.json that align4j would write: a JSON object naming a model_type (someone else's config.json is not). */
    private static boolean isModelConfig(Path p) {
        try {
            return org.align4j.io.HfJson.readJson(p).hasNonNull("model_type");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** runs/ holding nothing but TensorBoard event files (in dated subfolders or flat). */
    private static boolean onlyEventFiles(Path runs) throws IOException {
        try (Stream<Path> s = Files.walk(runs)) {
            return s.filter(Files::isRegularFile)
                    .allMatch(f -> f.getFileName().toString().startsWith("events.out.tfevents."));
        }
    }

    private static void removeTemporaries(Path out) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out)) {
            for (Path p : ds)
                if (TEMPORARY.matcher(p.getFileName().toString()).matches() && !Files.isSymbolicLink(p)) {
                    LOG.info("removing {}, left by an interrupted save", p);
                    AtomicFiles.deleteRecursively(p);
                }
        }
    }

    private static OutputDir lock(String command, Path out) throws IOException {
        Path file = out.resolve(LOCK_FILE);
        Path key = out.toRealPath();
        synchronized (HELD) {
            // a run inside a run of this process (rjs' last round, the demo's stages) shares the outer lock
            if (HELD.containsKey(key)) {
                HELD.merge(key, 1, Integer::sum);
                return new OutputDir(out, null, null, key);
            }
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            ch.close();
            String holder = "";
            try {
                holder = " (process "
                        + Files.readString(file, StandardCharsets.UTF_8).trim() + ")";
            } catch (IOException ignored) {
                // the holder's pid is only for the message
            }
            throw new IOException(command + ": output_dir " + out + " is in use by another align4j run" + holder
                    + "; wait for it to finish or choose another output_dir");
        }
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap(
                String.valueOf(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)));
        synchronized (HELD) {
            HELD.put(key, 1);
        }
        return new OutputDir(out, ch, l, key);
    }

    private static Path real(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        // the nearest existing ancestor resolved through links, then the rest as given
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs;
        return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
    }

    private static String names(List<Path> paths) {
        List<String> n = new ArrayList<>();
        for (Path p : paths.subList(0, Math.min(4, paths.size())))
            n.add(p.getFileName().toString());
        return String.join(", ", n) + (paths.size() > 4 ? ", ..." : "");
    }

    static String reason(FileSystemException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof java.nio.file.FileAlreadyExistsException) return "a file of that name is in the way";
        return e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            if (HELD.merge(key, -1, Integer::sum) > 0) return;
            HELD.remove(key);
        }
        try {
            if (lock.isValid()) lock.release();
        } finally {
            lockChannel.close(); // the file stays: deleting it would let a waiting run lock a file no one else sees
        }
    }
}
