// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.dist.Collective;
import org.align4j.io.AtomicFiles;
import org.align4j.io.HfJson;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.bytedeco.pytorch.NoGradGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code output_dir/checkpoint-N/}: the model in Hugging Face format (float32, so that a resumed run continues from the
 * exact weights; with LoRA, the adapter in PEFT's format), {@code optimizer.safetensors} (AdamW moments and step),
 * {@code trainer_state.json} and {@code training_args.json} (the resolved config). The folder is written as {@code
 * checkpoint-N.tmp/} and renamed when complete, so a run killed mid-write leaves the previous checkpoint intact.
 *
 * <p>{@code trainer_state.json} carries transformers' fields (global_step, epoch as a float, max_steps,
 * logging_steps, save_steps, train_batch_size, log_history) so tools that read it work, and under {@code align4j}
 * what an exact resume needs: num_tokens, the position of every data cursor, the seed, the batch layout, the
 * training data's fingerprint and whether the run trains a LoRA adapter.
 *
 * <p>Resume rules (README, "Resuming"): any checkpoint-N resumes, not only the latest; the checkpoints the resumed
 * run reaches again are replaced as it reaches them (as transformers does); metrics.jsonl is cut back to step N only
 * once the weights, optimizer and cursors are restored. A different batch size, accumulation, seed, training data
 * or LoRA setting is refused with the reason. {@code save_total_limit} keeps the newest checkpoints and removes
 * older ones (only checkpoint-N folders align4j wrote).
 */
public final class TrainCheckpoints {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCheckpoints.class);
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String STATE_FILE = "trainer_state.json";
    /** How long the other workers wait for rank 0 to write a checkpoint or the final model. */
    private static final java.time.Duration SAVE_WAIT = java.time.Duration.ofMinutes(30);

    private TrainCheckpoints() {}

    /** A step's own state beyond the data cursors, saved into and restored from a checkpoint folder (GRPO's batch in flight). */
    public interface Resumable {
        void save(Path checkpointDir) throws IOException;

        void restore(Path checkpointDir) throws IOException;
    }

    /**
     * What the training data looks like to a resume check: its row count and a hash of every row's token counts in
     * order (a changed, reordered, filtered or re-tokenized data set changes it; identical token counts in the same
     * order with other token ids do not).
     */
    public record Fingerprint(int rows, String hash) {
        @SafeVarargs
        public static <T> Fingerprint of(List<T> rows, ToLongFunction<T>... counts) {
            MessageDigest d = sha256();
            for (T r : rows)
                for (ToLongFunction<T> c : counts) {
                    long v = c.applyAsLong(r);
                    for (int i = 0; i < 8; i++) d.update((byte) (v >>> (8 * i)));
                }
            return new Fingerprint(rows.size(), HexFormat.of().formatHex(d.digest(), 0, 8));
        }

        public static Fingerprint ofText(List<String> rows) {
            MessageDigest d = sha256();
            for (String r : rows) {
                d.update(r.getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
            }
            return new Fingerprint(rows.size(), HexFormat.of().formatHex(d.digest(), 0, 8));
        }

        private static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Where a run stood after {@code globalStep} optimizer steps (see the class comment). */
    record State(
            int globalStep,
            long numTokens,
            long seed,
            List<int[]> cursors,
            int batchSize,
            int accumulation,
            Fingerprint data,
            boolean lora,
            int worldSize) {}

    /** A live run's output_dir and checkpoints: it saves, rotates, saves the final model and releases the folder. */
    static final class Session implements AutoCloseable {
        private final TrainLoop.Run run;
        private final AdamW opt;
        private final OutputDir dir; // null on a data-parallel worker other than rank 0
        private final Collective dist;
        private final int resumedStep;
        private final long resumedNumTokens;

        private Session(
                TrainLoop.Run run, AdamW opt, OutputDir dir, Collective dist, int resumedStep, long resumedNumTokens) {
            this.dist = dist;
            this.run = run;
            this.opt = opt;
            this.dir = dir;
            this.resumedStep = resumedStep;
            this.resumedNumTokens = resumedNumTokens;
        }

        int resumedStep() {
            return resumedStep;
        }

        long resumedNumTokens() {
            return resumedNumTokens;
        }

        /** checkpoint-{@code done}, replacing one an earlier run left there, then rotation (save_total_limit). */
        void save(int done, long numTokens) throws IOException {
            TrainingArgs a = run.args();
            List<int[]> cursors = new ArrayList<>();
            for (DataCursor c : run.cursors()) cursors.add(new int[] {c.epoch(), c.batchInEpoch()});
            State state = new State(
                    done,
                    numTokens,
                    a.seed(),
                    cursors,
                    a.perDeviceTrainBatchSize(),
                    a.gradientAccumulationSteps(),
                    run.fingerprint(),
                    Lora.attached(run.model()),
                    dist.worldSize());
            // rank 0 writes; the others wait for it (a save can take longer than a collective's timeout)
            if (!dist.isMain()) {
                dist.barrier(SAVE_WAIT);
                return;
            }
            Path target = a.outputDir().resolve("checkpoint-" + done);
            if (Files.exists(target) && !OutputDir.isArtifact(target))
                throw new IOException(target + " exists and is not an align4j checkpoint; move it away to let the run"
                        + " save its checkpoint there");
            AtomicFiles.writeDirAtomically(
                    target,
                    tmp -> {
                        if (Lora.attached(run.model()))
                            Lora.saveAdapter(run.model(), tmp, run.model().source(), true); // the base is frozen
                        else Checkpoints.save(run.model(), tmp, "float32", true);
                        opt.save(tmp.resolve("optimizer.safetensors"), false);
                        copyTokenizerFiles(run.model(), tmp); // a checkpoint is a complete model folder
                        if (run.resumable() != null) run.resumable().save(tmp);
                        HfJson.writeJson(tmp.resolve(STATE_FILE), stateJson(state, run), false);
                        HfJson.writeJson(tmp.resolve("training_args.json"), run.resolvedConfig(), false);
                    },
                    true);
            rotate(a.outputDir(), a.saveTotalLimit(), done);
            dist.barrier(SAVE_WAIT);
        }

        /** The final model in output_dir: the PEFT adapter with LoRA, else the full model in its dtype; plus training_args.json. */
        void saveFinal(List<Map<String, Object>> logged) throws IOException {
            if (!dist.isMain()) {
                dist.barrier(SAVE_WAIT);
                return;
            }
            Transformer model = run.model();
            Path out = run.args().outputDir();
            if (Lora.attached(model)) Lora.saveAdapter(model, out, model.source(), true);
            else Checkpoints.save(model, out, String.valueOf(model.config().torchDtype()), true);
            HfJson.writeJson(out.resolve("training_args.json"), run.resolvedConfig(), true);
            copyTokenizerFiles(model, out);
            ModelCard.write(out, run.command(), run.resolvedConfig(), Lora.attached(model), logged);
            dist.barrier(SAVE_WAIT);
        }

        @Override
        public void close() throws IOException {
            if (dir != null) dir.close();
        }
    }

    /** The tokenizer files (and, for a causal LM, generation_config.json) of the model's source beside its weights. */
    private static void copyTokenizerFiles(Transformer model, Path dir) throws IOException {
        Path from = model.tokenizerDir();
        if (from == null
                || from.toAbsolutePath().normalize().equals(dir.toAbsolutePath().normalize())) return;
        if (model.config().isSequenceClassification()) Checkpoints.copyTokenizerFilesForClassifier(from, dir);
        else Checkpoints.copyTokenizerFiles(from, dir);
    }

    /**
     * Start of a run: resume from the checkpoint resume_from_checkpoint names (weights, optimizer, cursors, the step's
     * own state), or claim a fresh output_dir.
     */
    static Session start(TrainLoop.Run run, AdamW opt, Collective dist) throws IOException {
        TrainingArgs a = run.args();
        Path resume = resumePath(a);
        // rank 0 alone claims output_dir (and writes everything there); the others read the checkpoint after it has
        OutputDir dir = dist.isMain()
                ? OutputDir.claim(run.command(), a.outputDir(), a.overwriteOutputDir(), resume != null, List.of())
                : null;
        try {
            dist.barrier();
            if (resume == null) return new Session(run, opt, dir, dist, 0, 0);
            State state = loadState(resume);
            checkCompatible(run, resume, state, dist.worldSize());
            restoreWeights(resume, run.model(), opt);
            for (int i = 0; i < run.cursors().size(); i++)
                run.cursors()
                        .get(i)
                        .seek(state.cursors().get(i)[0], state.cursors().get(i)[1]);
            if (run.resumable() != null) run.resumable().restore(resume);
            LOG.info("{}: resumed from {} at step {}", run.command(), resume, state.globalStep());
            return new Session(run, opt, dir, dist, state.globalStep(), state.numTokens());
        } catch (IOException | RuntimeException e) {
            if (dir != null) dir.close();
            throw e;
        }
    }

    /** Refuses a resume that would not continue the same run, naming what changed. */
    private static void checkCompatible(TrainLoop.Run run, Path checkpoint, State s, int worldSize) throws IOException {
        TrainingArgs a = run.args();
        String why = null;
        if (s.worldSize() != worldSize)
            why = "it was saved by " + s.worldSize() + " data-parallel worker(s), this run has " + worldSize
                    + " (the data order is sharded by worker count)";
        else if (s.globalStep() < 0 || s.globalStep() > run.totalSteps())
            why = "it stands at step " + s.globalStep() + " of a run of " + run.totalSteps() + " steps";
        else if (s.batchSize() != a.perDeviceTrainBatchSize())
            why = "it was saved with per_device_train_batch_size " + s.batchSize() + ", this run has "
                    + a.perDeviceTrainBatchSize();
        else if (s.accumulation() != a.gradientAccumulationSteps())
            why = "it was saved with gradient_accumulation_steps " + s.accumulation() + ", this run has "
                    + a.gradientAccumulationSteps();
        else if (s.seed() != a.seed()) why = "it was saved with seed " + s.seed() + ", this run has " + a.seed();
        else if (s.lora() != Lora.attached(run.model()))
            why = s.lora()
                    ? "it holds a LoRA adapter (use_peft true) and this run trains all weights"
                    : "it holds full weights and this run trains a LoRA adapter (use_peft true)";
        else if (s.cursors().size() != run.cursors().size())
            why = "it has " + s.cursors().size() + " data cursor(s), this " + run.command() + " run has "
                    + run.cursors().size();
        else if (s.data() != null && run.fingerprint() != null && !s.data().equals(run.fingerprint()))
            why = "its training data differs (" + s.data().rows() + " rows, fingerprint "
                    + s.data().hash() + "; now " + run.fingerprint().rows() + " rows, "
                    + run.fingerprint().hash() + ")";
        if (why != null)
            throw new IOException(run.command() + ": cannot resume from " + checkpoint + ": " + why
                    + "; resume with the settings and data it was saved with, or start a new run");
    }

    private static void restoreWeights(Path checkpoint, Transformer model, AdamW opt) throws IOException {
        if (Lora.attached(model)) {
            Lora.restoreAdapterValues(model, checkpoint);
        } else {
            try (Transformer saved = Checkpoints.load(checkpoint);
                    NoGradGuard g = new NoGradGuard()) {
                for (var e : model.parameters().entrySet())
                    e.getValue().copy_(saved.parameters().get(e.getKey()));
            }
        }
        opt.load(checkpoint.resolve("optimizer.safetensors"));
    }

    private static ObjectNode stateJson(State s, TrainLoop.Run run) throws IOException {
        TrainingArgs a = run.args();
        ObjectNode n = JSON.createObjectNode();
        DataCursor first = run.cursors().getFirst();
        n.put("global_step", s.globalStep());
        n.put("epoch", first.epochFloat());
        n.put("max_steps", run.totalSteps());
        n.put("logging_steps", a.loggingSteps());
        n.put("save_steps", a.saveSteps());
        n.put("train_batch_size", a.perDeviceTrainBatchSize());
        ArrayNode history = n.putArray("log_history");
        Path metrics = a.outputDir().resolve(MetricsLog.FILE);
        if (Files.exists(metrics)) for (JsonNode row : MetricsLog.read(a.outputDir())) history.add(row);
        ObjectNode own = n.putObject("align4j");
        own.put("num_tokens", s.numTokens());
        own.put("seed", s.seed());
        ArrayNode cursors = own.putArray("cursors");
        for (int[] c : s.cursors()) cursors.addObject().put("epoch", c[0]).put("batch_in_epoch", c[1]);
        own.put("per_device_train_batch_size", s.batchSize());
        own.put("gradient_accumulation_steps", s.accumulation());
        if (s.data() != null)
            own.putObject("train_data")
                    .put("rows", s.data().rows())
                    .put("hash", s.data().hash());
        own.put("use_peft", s.lora());
        own.put("world_size", s.worldSize());
        return n;
    }

    /** Reads a checkpoint's trainer_state.json, naming the file and key when something is missing or out of range. */
    static State loadState(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(STATE_FILE);
        if (!Files.isRegularFile(file))
            throw new IOException(checkpoint + " has no " + STATE_FILE + ": not a complete align4j checkpoint");
        JsonNode n = HfJson.readJson(file);
        JsonNode own = n.path("align4j");
        if (!own.isObject())
            throw new IOException(file + ": no 'align4j' section; it was written by another tool or an older align4j,"
                    + " whose checkpoints cannot be resumed exactly; start a new run from its weights instead");
        int step = intField(file, n, "global_step");
        if (step < 0) throw new IOException(file + ": global_step " + step + " is negative");
        List<int[]> cursors = new ArrayList<>();
        for (JsonNode c : own.path("cursors"))
            cursors.add(new int[] {intField(file, c, "epoch"), intField(file, c, "batch_in_epoch")});
        if (cursors.isEmpty()) throw new IOException(file + ": align4j.cursors is missing or empty");
        JsonNode d = own.path("train_data");
        Fingerprint data = d.isObject()
                ? new Fingerprint(intField(file, d, "rows"), d.path("hash").asText())
                : null;
        return new State(
                step,
                longField(file, own, "num_tokens"),
                longField(file, own, "seed"),
                cursors,
                intField(file, own, "per_device_train_batch_size"),
                intField(file, own, "gradient_accumulation_steps"),
                data,
                own.path("use_peft").asBoolean(false),
                own.path("world_size").asInt(1));
    }

    private static int intField(Path file, JsonNode n, String key) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber())
            throw new IOException(file + ": '" + key + "' is missing or not an integer");
        return v.asInt();
    }

    private static long longField(Path file, JsonNode n, String key) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber())
            throw new IOException(file + ": '" + key + "' is missing or not an integer");
        return v.asLong();
    }

    /**
     * Keeps the {@code limit} checkpoints with the highest steps up to {@code justSaved} (null or <= 0 keeps all).
     * Checkpoints past it, left by a run this one resumed over, are left alone until the run reaches and replaces
     * them.
     */
    static void rotate(Path outputDir, Integer limit, int justSaved) throws IOException {
        if (limit == null || limit <= 0) return;
        List<Path> reached = new ArrayList<>();
        try (Stream<Path> s = Files.list(outputDir)) {
            for (Path p : (Iterable<Path>) s::iterator)
                if (NAME.matcher(p.getFileName().toString()).matches()
                        && stepOf(p) <= justSaved
                        && OutputDir.isArtifact(p)) reached.add(p);
        }
        reached.sort(Comparator.comparingInt(TrainCheckpoints::stepOf));
        for (Path p : reached.subList(0, Math.max(0, reached.size() - limit))) AtomicFiles.deleteRecursively(p);
    }

    /** The checkpoint folder with the highest step in {@code outputDir}, if any (unfinished .tmp folders ignored). */
    public static Optional<Path> latest(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) return Optional.empty();
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> Files.isDirectory(p)
                            && NAME.matcher(p.getFileName().toString()).matches())
                    .max(Comparator.comparingInt(TrainCheckpoints::stepOf));
        }
    }

    public static int stepOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(checkpoint + " is not a checkpoint-N folder");
        return Integer.parseInt(m.group(1));
    }

    /** The checkpoint that resume_from_checkpoint names ("latest"/"true": the newest in output_dir), or null for a fresh run. */
    public static Path resumePath(TrainingArgs args) throws IOException {
        String r = args.resumeFromCheckpoint();
        if (r == null || r.isBlank() || r.equals("false")) return null;
        if (r.equals("latest") || r.equals("true"))
            return latest(args.outputDir())
                    .orElseThrow(() -> new IOException("resume_from_checkpoint=" + r + " but " + args.outputDir()
                            + " has no checkpoint-N folder"));
        Path p = Path.of(r);
        if (!Files.isDirectory(p)) throw new IOException("resume_from_checkpoint " + p + " is not a directory");
        return p;
    }
}
