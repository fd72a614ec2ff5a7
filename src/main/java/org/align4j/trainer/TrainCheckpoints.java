// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.io.AtomicFiles;
import org.align4j.io.HfJson;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;

/**
 * {@code output_dir/checkpoint-N/}: the model in Hugging Face format (float32, so that a resumed
 * run continues from the exact weights; with LoRA, the adapter in PEFT's format), {@code optimizer.safetensors} (AdamW moments and step),
 * {@code trainer_state.json} (step, data position, seed) and {@code training_args.json} (the
 * resolved config). The folder is written as {@code checkpoint-N.tmp/} and renamed when complete,
 * so a run killed mid-write leaves the previous checkpoint intact and no half checkpoint behind.
 */
public final class TrainCheckpoints {
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

    /**
     * Where training stands after {@code globalStep} optimizer steps: the next micro-batch to read is
     * number {@code batchInEpoch} of epoch {@code epoch} in that epoch's seeded order.
     */
    public record State(int globalStep, int epoch, int batchInEpoch, long seed) {}

    private TrainCheckpoints() {}

    public static Path save(Path outputDir, Transformer model, AdamW opt, State state, Map<String, Object> config)
            throws IOException {
        Path target = outputDir.resolve("checkpoint-" + state.globalStep());
        AtomicFiles.writeDirAtomically(
                target,
                tmp -> {
                    if (org.align4j.model.Lora.attached(model))
                        org.align4j.model.Lora.saveAdapter(model, tmp, "", true); // the base is frozen
                    else Checkpoints.save(model, tmp, "float32", true);
                    opt.save(tmp.resolve("optimizer.safetensors"), false);
                    HfJson.writeJson(
                            tmp.resolve("trainer_state.json"),
                            Map.of(
                                    "global_step",
                                    state.globalStep(),
                                    "epoch",
                                    state.epoch(),
                                    "batch_in_epoch",
                                    state.batchInEpoch(),
                                    "seed",
                                    state.seed()),
                            false);
                    HfJson.writeJson(tmp.resolve("training_args.json"), config, false);
                },
                false);
        return target;
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

    public static State loadState(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve("trainer_state.json");
        if (!Files.isRegularFile(file))
            throw new IOException(checkpoint + " has no trainer_state.json: not a complete align4j checkpoint");
        JsonNode s = HfJson.readJson(file);
        for (String key : new String[] {"global_step", "epoch", "batch_in_epoch", "seed"})
            if (!s.hasNonNull(key)) throw new IOException(file + ": missing '" + key + "'");
        return new State(
                s.get("global_step").asInt(),
                s.get("epoch").asInt(),
                s.get("batch_in_epoch").asInt(),
                s.get("seed").asLong());
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

    /** A fresh run's output_dir: an existing run there is an error unless overwrite_output_dir is set (never clobbered silently). */
    public static void prepareOutputDir(TrainingArgs args) throws IOException {
        Path out = args.outputDir();
        if (Files.exists(out.resolve(MetricsLog.FILE)) || Files.exists(out.resolve("config.json"))) {
            if (!args.overwriteOutputDir())
                throw new IOException("output_dir " + out + " already holds a run; pass --overwrite_output_dir true, "
                        + "--resume_from_checkpoint latest, or choose another output_dir");
            AtomicFiles.deleteRecursively(out);
        }
        Files.createDirectories(out);
    }

    /** Loads a checkpoint's weights (or LoRA adapter values) and optimizer state into a live run; returns where it stood. */
    public static State restore(Path checkpoint, Transformer model, AdamW opt) throws IOException {
        State state = loadState(checkpoint);
        if (org.align4j.model.Lora.attached(model)) {
            org.align4j.model.Lora.restoreAdapterValues(model, checkpoint);
        } else {
            try (Transformer saved = Checkpoints.load(checkpoint);
                    org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                for (var e : model.parameters().entrySet())
                    e.getValue().copy_(saved.parameters().get(e.getKey()));
            }
        }
        opt.load(checkpoint.resolve("optimizer.safetensors"));
        return state;
    }

    /** The final model in output_dir: PEFT adapter files with LoRA, else the full HF checkpoint in the model's dtype; plus training_args.json. */
    public static void saveFinal(Transformer model, Path outputDir, Map<String, Object> resolvedConfig)
            throws IOException {
        if (org.align4j.model.Lora.attached(model)) org.align4j.model.Lora.saveAdapter(model, outputDir, "", true);
        else Checkpoints.save(model, outputDir, String.valueOf(model.config().torchDtype()), true);
        HfJson.writeJson(outputDir.resolve("training_args.json"), resolvedConfig, true);
    }

    /**
     * The tokenizer files of {@code modelDir} beside the final model in {@code outputDir}, so that it loads as a complete
     * Hugging Face model folder; a sequence classifier gets no {@code generation_config.json}, as transformers saves none.
     */
    public static void copyTokenizerFiles(Path modelDir, Path outputDir, boolean withGenerationConfig)
            throws IOException {
        for (String f : new String[] {
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "chat_template.jinja",
            "generation_config.json"
        })
            if ((withGenerationConfig || !f.equals("generation_config.json")) && Files.exists(modelDir.resolve(f)))
                Files.copy(
                        modelDir.resolve(f), outputDir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Start of a run: resume from the checkpoint resume_from_checkpoint names, or prepare a fresh output_dir. */
    public static State start(String command, TrainingArgs args, Transformer model, AdamW opt) throws IOException {
        Path resume = resumePath(args);
        if (resume == null) {
            prepareOutputDir(args);
            return new State(0, 0, 0, args.seed());
        }
        State state = restore(resume, model, opt);
        System.err.println(command + ": resumed from " + resume + " at step " + state.globalStep());
        return state;
    }
}
