// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.align4j.cli.Options.Spec.required;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.trainer.OutputDir;
import org.align4j.trainer.TrainingArgs;

/**
 * The keys every trainer command shares (transformers' TrainingArguments and PEFT's LoRA keys, with
 * their names), so a TRL recipe's common section ports to any align4j trainer unchanged.
 */
final class TrainingOptions {
    private TrainingOptions() {}

    /** model, dataset, output and TrainingArguments keys; {@code learningRate} is the method's TRL default. */
    static List<Spec> specs(double learningRate, String datasetHelp, Spec... own) {
        TrainingArgs d = TrainingArgs.defaults(Path.of("output")); // transformers' defaults, written once there
        List<Spec> s = new ArrayList<>(List.of(
                required("model_name_or_path", Type.PATH, "Hugging Face model directory"),
                required("dataset_name", Type.PATH, datasetHelp),
                required("output_dir", Type.PATH, "where metrics.jsonl, checkpoint-N/ and the final model go"),
                of("learning_rate", Type.DOUBLE, learningRate, "AdamW peak learning rate"),
                of("per_device_train_batch_size", Type.INT, d.perDeviceTrainBatchSize(), "rows per micro-batch"),
                of(
                        "gradient_accumulation_steps",
                        Type.INT,
                        d.gradientAccumulationSteps(),
                        "micro-batches per optimizer step"),
                of("max_steps", Type.INT, d.maxSteps(), "optimizer steps (overrides num_train_epochs when > 0)"),
                of("num_train_epochs", Type.DOUBLE, d.numTrainEpochs(), "passes over the data"),
                of("logging_steps", Type.INT, d.loggingSteps(), "log every N steps (and the first)"),
                of("save_steps", Type.INT, d.saveSteps(), "checkpoint every N steps (0 = never)"),
                of("save_total_limit", Type.INT, null, "keep only the newest N checkpoints (default: all)"),
                of("seed", Type.LONG, d.seed(), "data order and LoRA init"),
                of(
                        "lr_scheduler_type",
                        Type.STRING,
                        d.lrSchedulerType(),
                        "linear, cosine, constant, constant_with_warmup"),
                of("warmup_ratio", Type.DOUBLE, d.warmupRatio(), "fraction of steps to warm up"),
                of("warmup_steps", Type.INT, d.warmupSteps(), "warm-up steps (wins over warmup_ratio)"),
                of(
                        "weight_decay",
                        Type.DOUBLE,
                        d.weightDecay(),
                        "AdamW decoupled weight decay (not on biases and norms)"),
                of("max_grad_norm", Type.DOUBLE, d.maxGradNorm(), "global gradient-norm clip (0 or less: no clipping)"),
                of(
                        "gradient_checkpointing",
                        Type.BOOLEAN,
                        d.gradientCheckpointing(),
                        "recompute activations in backward to save memory"),
                of(
                        "bf16",
                        Type.BOOLEAN,
                        d.bf16(),
                        "matrix products in bfloat16 (CPU autocast; faster where the CPU has AMX or AVX512_BF16),"
                                + " weights, optimizer, log-probs and losses in float32"),
                of("use_peft", Type.BOOLEAN, false, "train LoRA adapters instead of all weights"),
                of("lora_r", Type.INT, 16, "LoRA rank"),
                of("lora_alpha", Type.DOUBLE, 32.0, "LoRA alpha (scale = alpha / r)"),
                of("lora_dropout", Type.DOUBLE, 0.05, "dropout on the LoRA input"),
                of(
                        "lora_target_modules",
                        Type.STRING,
                        "q_proj,v_proj",
                        "linear names (comma-separated or a YAML list), or all-linear"),
                of(
                        "adapter_mode",
                        Type.STRING,
                        "auto",
                        "model_name_or_path is an adapter folder: continue it, merge it first, or auto (continue with"
                                + " use_peft, else merge)"),
                of("model_revision", Type.STRING, null, "branch, tag or commit of a hub id in the local cache"),
                of("chat_template", Type.STRING, null, "a Jinja chat template replacing the tokenizer's"),
                of("chat_template_path", Type.PATH, null, "a chat_template.jinja file (or a folder with one)"),
                of("report_to", Type.STRING, d.reportTo(), "none, tensorboard, all, or a list"),
                of("resume_from_checkpoint", Type.STRING, null, "a checkpoint-N folder, or latest"),
                of(
                        "overwrite_output_dir",
                        Type.BOOLEAN,
                        d.overwriteOutputDir(),
                        "replace an existing run in output_dir"),
                of("dataset_train_split", Type.STRING, "train", "the split read when dataset_name is a folder"),
                of(
                        "eval_dataset_name",
                        Type.PATH,
                        null,
                        "held-out rows (a file or folder) in the training data's shape, for eval_* metrics"),
                of(
                        "dataset_test_split",
                        Type.STRING,
                        "test",
                        "the evaluation split of eval_dataset_name, or of dataset_name when no eval_dataset_name"),
                of("eval_steps", Type.INT, null, "evaluate every N steps and at the end (default: logging_steps)")
                        .atLeast(1),
                of(
                        "eval_strategy",
                        Type.STRING,
                        null,
                        "no, steps or epoch (default: steps when an eval set is given, else no)"),
                of("logging_strategy", Type.STRING, d.loggingStrategy(), "no, steps or epoch"),
                of("save_strategy", Type.STRING, d.saveStrategy(), "no, steps or epoch"),
                of(
                        "skip_invalid_rows",
                        Type.BOOLEAN,
                        false,
                        "leave out (count and report) rows that cannot be used instead of stopping at the first")));
        s.addAll(List.of(own));
        return List.copyOf(s);
    }

    /**
     * The TrainingArguments keys as {@link TrainingArgs} (a value out of range is an error naming the key), after
     * checking that output_dir is not one of the run's inputs nor a folder holding one (README, "Output folders").
     */
    static TrainingArgs parse(Options o) {
        TrainingArgs a;
        try {
            a = TrainingArgs.builder(o.path("output_dir"))
                    .learningRate(o.number("learning_rate"))
                    .perDeviceTrainBatchSize(o.integer("per_device_train_batch_size"))
                    .gradientAccumulationSteps(o.integer("gradient_accumulation_steps"))
                    .maxSteps(o.integer("max_steps"))
                    .numTrainEpochs(o.number("num_train_epochs"))
                    .loggingSteps(o.integer("logging_steps"))
                    .saveSteps(o.integer("save_steps"))
                    .saveTotalLimit(o.has("save_total_limit") ? o.integer("save_total_limit") : null)
                    .seed(o.longValue("seed"))
                    .lrSchedulerType(o.string("lr_scheduler_type"))
                    .warmupRatio(o.number("warmup_ratio"))
                    .warmupSteps(o.integer("warmup_steps"))
                    .weightDecay(o.number("weight_decay"))
                    .maxGradNorm(o.number("max_grad_norm"))
                    .overwriteOutputDir(o.flag("overwrite_output_dir"))
                    .resumeFromCheckpoint(o.string("resume_from_checkpoint"))
                    .reportTo(reportTo(o))
                    .loggingStrategy(o.string("logging_strategy"))
                    .saveStrategy(o.string("save_strategy"))
                    .evalStrategy(evalSource(o) == null ? "no" : evalStrategy(o))
                    .gradientCheckpointing(o.flag("gradient_checkpointing"))
                    .bf16(o.flag("bf16"))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CliException(o.command() + ": " + e.getMessage());
        }
        try {
            OutputDir.checkLocation(o.command(), a.outputDir(), o.inputPaths());
        } catch (java.io.IOException e) {
            throw new CliException(e.getMessage());
        }
        return a;
    }

    /** Where evaluation rows come from: a file or folder and the split to read in a folder. */
    record EvalSource(Path fileOrDir, String split) {}

    /**
     * The evaluation set, as TRL's scripts choose it: none when eval_strategy is no; eval_dataset_name (its
     * dataset_test_split when a folder) when given; else, when evaluation is asked for (eval_strategy steps or epoch,
     * eval_steps, or dataset_test_split given), the dataset_test_split of the dataset_name folder. Asking for
     * evaluation with no eval set is an error, never a silent skip.
     */
    static EvalSource evalSource(Options o) {
        String strategy = o.has("eval_strategy") ? o.string("eval_strategy") : null;
        if (strategy != null && !List.of("no", "steps", "epoch").contains(strategy))
            throw new CliException(
                    o.command() + ": eval_strategy '" + strategy + "' is unknown; use no, steps or epoch");
        if ("no".equals(strategy)) return null;
        String split = o.string("dataset_test_split");
        if (o.has("eval_dataset_name")) return new EvalSource(o.path("eval_dataset_name"), split);
        boolean asked = strategy != null || o.given("eval_steps") || o.given("dataset_test_split");
        if (!asked) return null;
        Path data = o.path("dataset_name");
        if (!Files.isDirectory(data) && !org.align4j.io.HfCache.isRepoId(data.toString()))
            throw new CliException(o.command() + ": evaluation is asked for ("
                    + (strategy != null
                            ? "eval_strategy " + strategy
                            : o.given("eval_steps") ? "eval_steps" : "dataset_test_split")
                    + ") but there is no eval set: give eval_dataset_name, or a dataset_name folder with a '" + split
                    + "' split (e.g. " + split + ".jsonl), or set eval_strategy no");
        return new EvalSource(data, split);
    }

    /** eval_strategy as given, else steps (an eval set was given). */
    private static String evalStrategy(Options o) {
        return o.has("eval_strategy") ? o.string("eval_strategy") : "steps";
    }

    /** report_to: none, tensorboard, all, or a list; backends align4j lacks (wandb, trackio, ...) are warned about. */
    static String reportTo(Options o) {
        List<String> asked = o.strings("report_to");
        boolean tb = false;
        List<String> lacking = new ArrayList<>();
        for (String r : asked) {
            switch (r) {
                case "tensorboard", "all" -> tb = true;
                case "none" -> {}
                default -> lacking.add(r);
            }
        }
        if (!lacking.isEmpty())
            System.err.println(o.command() + ": warning: report_to " + lacking + " is not available here (no network);"
                    + " every metric is in output_dir/metrics.jsonl" + (tb ? " and TensorBoard" : ""));
        return tb ? "tensorboard" : "none";
    }

    /** eval_steps, which defaults to logging_steps as in transformers. */
    static int evalSteps(Options o) {
        return o.has("eval_steps") ? o.integer("eval_steps") : o.integer("logging_steps");
    }

    /**
     * The trainable part of the policy. A full model: LoRA adapters when use_peft is set (the base frozen), else every
     * weight. An adapter folder (model_name_or_path naming a PEFT adapter), by adapter_mode: {@code continue} keeps
     * training that adapter (its r, alpha and target modules; the lora_* keys do not apply), {@code merge} folds it
     * into the base first (PEFT's merge_and_unload) and then trains as for a full model; {@code auto} (the default)
     * continues with use_peft and merges without it.
     */
    static void maybeAttachLora(String command, Options o, LoadedModel m) throws IOException {
        Transformer model = m.model();
        if (m.source().isAdapter()) {
            String mode = o.string("adapter_mode");
            if (!List.of("auto", "continue", "merge").contains(mode))
                throw new CliException(
                        command + ": adapter_mode '" + mode + "' is unknown; use auto, continue or merge");
            boolean merge = mode.equals("merge") || (mode.equals("auto") && !o.flag("use_peft"));
            if (!merge) {
                System.err.println(command + ": continuing the LoRA adapter of "
                        + m.source().adapterDir() + " on " + m.source().baseName() + " (adapter_mode " + mode + ")");
                return;
            }
            Lora.merge(model);
            System.err.println(
                    command + ": merged the LoRA adapter of " + m.source().adapterDir() + " into its base; training "
                            + (o.flag("use_peft") ? "a new LoRA adapter on it" : "all weights"));
            if (o.flag("use_peft")) {
                // a new adapter needs its base as a folder: the merged model, saved beside the run's outputs
                Path base = o.path("output_dir").resolve("merged_base");
                Checkpoints.save(model, base, String.valueOf(model.config().torchDtype()), true);
                Checkpoints.copyTokenizerFiles(m.source().tokenizerDir(), base);
                model.setSource(base.toString());
            }
        }
        if (!o.flag("use_peft")) return;
        List<String> targets = loraTargets(o, model);
        int n = Lora.attach(
                model,
                new Lora.Config(o.integer("lora_r"), o.number("lora_alpha"), o.number("lora_dropout"), targets),
                o.longValue("seed"));
        System.err.println(command + ": LoRA on " + n + " modules " + targets);
    }

    /** lora_target_modules: names ("q_proj,v_proj" or a YAML list), or PEFT's "all-linear" (every linear but lm_head). */
    static List<String> loraTargets(Options o, Transformer model) {
        List<String> named = o.strings("lora_target_modules");
        if (named.size() == 1 && named.get(0).equals("all-linear")) return Lora.allLinear(model);
        return named;
    }

    /**
     * The frozen reference of dpo, kto, online DPO and GRPO's KL: ref_model_name_or_path, else a second load of the
     * initial policy (with an adapter folder: its base with the adapter merged); null when there is none to load
     * (reference_free, or a fresh LoRA without ref_model_name_or_path: the base with adapters off is the initial
     * policy).
     */
    static Transformer loadReference(String command, Options o, LoadedModel policy, boolean referenceFree)
            throws IOException {
        if (referenceFree) return null;
        boolean continuedAdapter = policy.source().isAdapter() && Lora.attached(policy.model());
        if (!o.has("ref_model_name_or_path") && o.flag("use_peft") && !continuedAdapter) return null;
        Transformer ref = o.has("ref_model_name_or_path")
                ? ModelSource.resolve(o.path("ref_model_name_or_path").toString(), null)
                        .loadMerged()
                : policy.source().loadMerged();
        if (ref.config().vocabSize() != policy.model().config().vocabSize()) {
            ref.close();
            throw new CliException(command + ": the reference model's vocab_size "
                    + ref.config().vocabSize() + " differs from the policy's "
                    + policy.model().config().vocabSize() + "; the reference must share the policy's tokenizer");
        }
        return ref;
    }
}
