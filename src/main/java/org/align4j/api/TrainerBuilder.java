// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.engine.NativeEnv;
import org.align4j.model.Lora;
import org.align4j.trainer.ConsoleProgress;
import org.align4j.trainer.TrainingArgs;
import org.align4j.trainer.TrainingListener;

/**
 * What every trainer builder takes, with TRL's meaning: the model ({@code model_name_or_path}), the training and
 * evaluation data ({@code train_dataset}, {@code eval_dataset}), the {@link TrainingArgs} ({@code args}), LoRA
 * ({@code peft_config}) and listeners ({@code callbacks}). Each method's builder ({@link Sft.Builder}, {@link
 * Dpo.Builder}, {@link Grpo.Builder}, {@link Reward.Builder}) adds its own keys.
 *
 * @param <B> the method's builder, returned by every setter so calls chain
 */
public abstract sealed class TrainerBuilder<B extends TrainerBuilder<B>>
        permits Sft.Builder, Dpo.Builder, Grpo.Builder, Reward.Builder {
    static {
        // no hidden set-up call: the C environment libtorch needs is set before anything here can load libtorch
        NativeEnv.onFirstUse();
    }

    private String model, revision;
    private DatasetSource train, eval;
    private TrainingArgs args;
    private Path outputDir;
    private Integer evalSteps;
    private Lora.Config peft;
    private boolean skipInvalidRows;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private TrainingListener progress = ConsoleProgress.toLog();

    TrainerBuilder() {}

    abstract B self();

    /**
     * The model to train: a Hugging Face model folder, a PEFT adapter folder (its base as recorded in
     * adapter_config.json), or a hub id ({@code Qwen/Qwen3-0.6B}) found in the local Hugging Face cache.
     *
     * @param nameOrPath the folder or hub id
     * @return this builder
     */
    public B model(String nameOrPath) {
        this.model = nameOrPath;
        return self();
    }

    /**
     * The model to train, as a folder ({@link #model(String)}).
     *
     * @param folder a model or adapter folder
     * @return this builder
     */
    public B model(Path folder) {
        return model(folder == null ? null : folder.toString());
    }

    /**
     * The branch, tag or commit of a hub id in the local cache (default: main).
     *
     * @param revision the revision
     * @return this builder
     */
    public B revision(String revision) {
        this.revision = revision;
        return self();
    }

    /**
     * The training rows: a .jsonl, .jsonl.gz, .json or .parquet file, or a folder laid out as the hub lays out
     * datasets, whose {@code train} split is read.
     *
     * @param fileOrFolder the dataset
     * @return this builder
     */
    public B dataset(Path fileOrFolder) {
        return dataset(fileOrFolder, "train");
    }

    /**
     * The training rows from {@code split} of a dataset folder ({@code dataset_train_split}).
     *
     * @param fileOrFolder the dataset
     * @param split the split read from a folder
     * @return this builder
     */
    public B dataset(Path fileOrFolder, String split) {
        this.train = DatasetSource.of(fileOrFolder, split);
        return self();
    }

    /**
     * The training rows given in memory, each a map in one of TRL's shapes (e.g. {@code Map.of("prompt", "2+2=",
     * "completion", " 4")}); nested lists and maps are fine (conversational rows).
     *
     * @param rows the rows
     * @return this builder
     */
    public B dataset(List<? extends Map<String, ?>> rows) {
        this.train = DatasetSource.of(rows);
        return self();
    }

    /**
     * Held-out rows in the training data's shape, evaluated every eval_steps and after the last step: a file, or the
     * {@code test} split of a folder.
     *
     * @param fileOrFolder the evaluation dataset
     * @return this builder
     */
    public B evalDataset(Path fileOrFolder) {
        return evalDataset(fileOrFolder, "test");
    }

    /**
     * Held-out rows from {@code split} of a dataset folder ({@code dataset_test_split}).
     *
     * @param fileOrFolder the evaluation dataset
     * @param split the split read from a folder
     * @return this builder
     */
    public B evalDataset(Path fileOrFolder, String split) {
        this.eval = DatasetSource.of(fileOrFolder, split);
        return self();
    }

    /**
     * Held-out rows given in memory.
     *
     * @param rows the rows
     * @return this builder
     */
    public B evalDataset(List<? extends Map<String, ?>> rows) {
        this.eval = DatasetSource.of(rows);
        return self();
    }

    /**
     * The training settings (output_dir, learning_rate, batch size, steps, logging, saving, report_to...). Start from
     * the method's own defaults ({@code Dpo.args(dir)}, ...) to get TRL's learning rate for it.
     *
     * @param args the settings
     * @return this builder
     */
    public B args(TrainingArgs args) {
        this.args = args;
        return self();
    }

    /**
     * Where the run writes, with the method's TRL defaults for everything else (instead of {@link #args}).
     *
     * @param outputDir output_dir
     * @return this builder
     */
    public B outputDir(Path outputDir) {
        this.outputDir = outputDir;
        return self();
    }

    /**
     * Evaluate every {@code steps} steps (default: logging_steps, as in transformers).
     *
     * @param steps eval_steps, at least 1
     * @return this builder
     */
    public B evalSteps(int steps) {
        if (steps < 1) throw new IllegalArgumentException("eval_steps must be >= 1, got " + steps);
        this.evalSteps = steps;
        return self();
    }

    /**
     * Train LoRA adapters instead of every weight (the base frozen); the output folder is then a PEFT adapter folder.
     * With an adapter folder as the model, that adapter is trained further (its own r, alpha and targets).
     *
     * @param config LoRA's r, alpha, dropout and target modules, or null for full training
     * @return this builder
     */
    public B peft(Lora.Config config) {
        this.peft = config;
        return self();
    }

    /**
     * Leave out (count and report) rows that cannot be used instead of stopping at the first.
     *
     * @param skip skip_invalid_rows
     * @return this builder
     */
    public B skipInvalidRows(boolean skip) {
        this.skipInvalidRows = skip;
        return self();
    }

    /**
     * Adds a listener that hears every step and every logged row (repeatable; told in the order added).
     *
     * @param listener the listener
     * @return this builder
     */
    public B listener(TrainingListener listener) {
        if (listener == null) throw new IllegalArgumentException("listener is null");
        listeners.add(listener);
        return self();
    }

    /**
     * How progress is reported: by default a line per logging step through SLF4J ({@link ConsoleProgress#toLog()});
     * {@link ConsoleProgress#toConsole()} prints to standard error with a live bar on a terminal, as the command line
     * does; null reports nothing (listeners still hear everything).
     *
     * @param progress the progress listener, or null
     * @return this builder
     */
    public B progress(TrainingListener progress) {
        this.progress = progress;
        return self();
    }

    /** The checked settings, with the method's TRL learning rate when only an output folder was given. */
    Setup setup(String command, double defaultLearningRate) {
        if (model == null || model.isBlank())
            throw new IllegalArgumentException(command + ": no model; call .model(folder or hub id)");
        if (train == null) throw new IllegalArgumentException(command + ": no training data; call .dataset(...)");
        if (args == null && outputDir == null)
            throw new IllegalArgumentException(command + ": no output folder; call .args(...) or .outputDir(...)");
        if (args != null && outputDir != null && !args.outputDir().equals(outputDir))
            throw new IllegalArgumentException(command + ": .outputDir(" + outputDir + ") and the args' output_dir "
                    + args.outputDir() + " differ; give one of them");
        TrainingArgs a = args != null
                ? args
                : TrainingArgs.builder(outputDir)
                        .learningRate(defaultLearningRate)
                        .build();
        List<TrainingListener> all = new ArrayList<>();
        if (progress != null) all.add(progress);
        all.addAll(listeners);
        return new Setup(
                command,
                model,
                revision,
                train,
                eval,
                a,
                evalSteps != null ? evalSteps : a.loggingSteps(),
                peft,
                skipInvalidRows,
                List.copyOf(all));
    }
}
