// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.nio.file.Path;

/**
 * The settings every trainer shares: transformers' TrainingArguments (which TRL's XxxConfig classes extend), with
 * their names, defaults and meanings (learning_rate 2e-5, per_device_train_batch_size 8, num_train_epochs 3,
 * logging_steps 10, save_steps 500, seed 42, lr_scheduler_type linear, max_grad_norm 1.0 where 0 or less means no
 * clipping, weight_decay 0). Built by name: {@code TrainingArgs.builder(dir).learningRate(1e-4).build()}, or {@code
 * args.toBuilder()...build()}. Every number is checked here, so nonsense fails before a run starts, naming the key and
 * its valid range.
 *
 * @param maxSteps total optimizer steps; -1 (or 0) lets num_train_epochs decide
 * @param saveSteps checkpoint every N steps; 0 = never
 * @param saveTotalLimit keep at most this many checkpoints (the newest); null = all
 * @param resumeFromCheckpoint a checkpoint-N folder, "latest" for the newest in output_dir, or null
 * @param reportTo "none" or "tensorboard" (event files under output_dir/runs)
 * @param gradientCheckpointing recompute activations layer by layer in backward (less memory, ~1.3x compute)
 * @param loggingStrategy log every logging_steps ("steps", and the first step), at the end of each epoch ("epoch"),
 *     or never ("no")
 * @param saveStrategy checkpoint every save_steps ("steps"), at the end of each epoch ("epoch"), or never ("no")
 * @param evalStrategy with an eval set: evaluate every eval_steps and after the last step ("steps"), at the end of
 *     each epoch ("epoch"), or never ("no")
 * @param bf16 the forward and backward passes under libtorch's CPU autocast to bfloat16 (matrix products in bfloat16,
 *     log-probs and losses in float32), weights and optimizer in float32: TRL's bf16 (engine/Autocast)
 */
public record TrainingArgs(
        Path outputDir,
        double learningRate,
        int perDeviceTrainBatchSize,
        int gradientAccumulationSteps,
        int maxSteps,
        double numTrainEpochs,
        int loggingSteps,
        int saveSteps,
        Integer saveTotalLimit,
        long seed,
        String lrSchedulerType,
        double warmupRatio,
        int warmupSteps,
        double weightDecay,
        double maxGradNorm,
        boolean overwriteOutputDir,
        String resumeFromCheckpoint,
        String reportTo,
        boolean gradientCheckpointing,
        String loggingStrategy,
        String saveStrategy,
        String evalStrategy,
        boolean bf16) {
    private static final java.util.List<String> STRATEGIES = java.util.List.of("no", "steps", "epoch");

    public TrainingArgs {
        if (outputDir == null) throw new IllegalArgumentException("output_dir is required");
        if (!(learningRate >= 0 && learningRate <= 1))
            throw new IllegalArgumentException("learning_rate must be in [0, 1], got " + learningRate);
        atLeast("per_device_train_batch_size", perDeviceTrainBatchSize, 1);
        atLeast("gradient_accumulation_steps", gradientAccumulationSteps, 1);
        if ((long) perDeviceTrainBatchSize * gradientAccumulationSteps > Integer.MAX_VALUE)
            throw new IllegalArgumentException("per_device_train_batch_size x gradient_accumulation_steps "
                    + "must fit in 2^31 - 1 rows per step, got " + perDeviceTrainBatchSize + " x "
                    + gradientAccumulationSteps);
        atLeast("max_steps", maxSteps, -1);
        if (!(numTrainEpochs >= 0 && numTrainEpochs < 1e9))
            throw new IllegalArgumentException("num_train_epochs must be a number in [0, 1e9), got " + numTrainEpochs);
        if (maxSteps <= 0 && numTrainEpochs <= 0)
            throw new IllegalArgumentException("set max_steps > 0 or num_train_epochs > 0");
        atLeast("logging_steps", loggingSteps, 1);
        atLeast("save_steps", saveSteps, 0);
        if (saveTotalLimit != null) atLeast("save_total_limit", saveTotalLimit, 1);
        if (!(warmupRatio >= 0 && warmupRatio <= 1))
            throw new IllegalArgumentException("warmup_ratio must be in [0, 1], got " + warmupRatio);
        atLeast("warmup_steps", warmupSteps, 0);
        if (!Double.isFinite(weightDecay))
            throw new IllegalArgumentException("weight_decay must be a finite number, got " + weightDecay);
        if (Double.isNaN(maxGradNorm))
            throw new IllegalArgumentException(
                    "max_grad_norm must be a number (0 or less: no clipping), got " + maxGradNorm);
        if (lrSchedulerType == null) throw new IllegalArgumentException("lr_scheduler_type is required");
        for (String[] st : new String[][] {
            {"logging_strategy", loggingStrategy}, {"save_strategy", saveStrategy}, {"eval_strategy", evalStrategy}
        })
            if (!STRATEGIES.contains(st[1]))
                throw new IllegalArgumentException(st[0] + " '" + st[1] + "' is not supported; use no, steps or epoch");
        if (reportTo == null || !(reportTo.equals("none") || reportTo.equals("tensorboard")))
            throw new IllegalArgumentException(
                    "report_to '" + reportTo + "' is not supported; use none or tensorboard");
    }

    private static void atLeast(String key, long value, long min) {
        if (value < min) throw new IllegalArgumentException(key + " must be >= " + min + ", got " + value);
    }

    /** Optimizer steps of the run: max_steps, else num_train_epochs passes over {@code rows} rows. */
    public int totalSteps(int rows) {
        if (maxSteps > 0) return maxSteps;
        long batchesPerEpoch = Math.ceilDiv((long) rows, perDeviceTrainBatchSize);
        // transformers: ceil(batches / accumulation), the last window of an epoch being shorter
        long stepsPerEpoch = Math.max(1, Math.ceilDiv(batchesPerEpoch, gradientAccumulationSteps));
        double steps = Math.ceil(numTrainEpochs * stepsPerEpoch);
        if (steps > Integer.MAX_VALUE)
            throw new IllegalArgumentException("num_train_epochs " + numTrainEpochs + " gives " + (long) steps
                    + " optimizer steps, more than 2^31 - 1; lower num_train_epochs or set max_steps");
        return (int) steps;
    }

    public LrSchedule schedule(int totalSteps) {
        return new LrSchedule(
                lrSchedulerType,
                learningRate,
                LrSchedule.warmupSteps(warmupSteps, warmupRatio, totalSteps),
                totalSteps);
    }

    /**
     * These settings under transformers' key names (output_dir, learning_rate, ...), as training_args.json records
     * them; unset optional keys (save_total_limit, resume_from_checkpoint) are left out.
     */
    public java.util.Map<String, Object> asConfig() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("output_dir", outputDir.toString());
        m.put("learning_rate", learningRate);
        m.put("per_device_train_batch_size", perDeviceTrainBatchSize);
        m.put("gradient_accumulation_steps", gradientAccumulationSteps);
        m.put("max_steps", maxSteps);
        m.put("num_train_epochs", numTrainEpochs);
        m.put("logging_steps", loggingSteps);
        m.put("save_steps", saveSteps);
        if (saveTotalLimit != null) m.put("save_total_limit", saveTotalLimit);
        m.put("seed", seed);
        m.put("lr_scheduler_type", lrSchedulerType);
        m.put("warmup_ratio", warmupRatio);
        m.put("warmup_steps", warmupSteps);
        m.put("weight_decay", weightDecay);
        m.put("max_grad_norm", maxGradNorm);
        m.put("overwrite_output_dir", overwriteOutputDir);
        if (resumeFromCheckpoint != null) m.put("resume_from_checkpoint", resumeFromCheckpoint);
        m.put("report_to", reportTo);
        m.put("gradient_checkpointing", gradientCheckpointing);
        m.put("logging_strategy", loggingStrategy);
        m.put("save_strategy", saveStrategy);
        m.put("eval_strategy", evalStrategy);
        return m;
    }

    /** transformers' defaults with {@code outputDir}. */
    public static Builder builder(Path outputDir) {
        return new Builder(outputDir);
    }

    public static TrainingArgs defaults(Path outputDir) {
        return builder(outputDir).build();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** max_steps, batch size, accumulation and learning rate in one call (what most tests vary). */
    public TrainingArgs withSteps(int maxSteps, int batch, int accumulation, double lr) {
        return toBuilder()
                .maxSteps(maxSteps)
                .perDeviceTrainBatchSize(batch)
                .gradientAccumulationSteps(accumulation)
                .learningRate(lr)
                .build();
    }

    /**
     * The arguments of the whole job when {@code workers} data-parallel workers share it: gradient_accumulation_steps
     * times {@code workers} micro-batches per optimizer step (TRL's generation batch: per_device x accumulation x
     * processes), of which each worker trains every {@code workers}-th. These arguments, unchanged, for one worker.
     */
    public TrainingArgs jobOf(int workers) {
        if (workers == 1) return this;
        return toBuilder()
                .gradientAccumulationSteps(gradientAccumulationSteps * workers)
                .build();
    }

    public TrainingArgs withLogging(int loggingSteps, int saveSteps) {
        return toBuilder().loggingSteps(loggingSteps).saveSteps(saveSteps).build();
    }

    /** The same run in {@code dir} resuming from {@code checkpoint}. */
    public TrainingArgs withResume(String checkpoint, Path dir) {
        return toBuilder().outputDir(dir).resumeFromCheckpoint(checkpoint).build();
    }

    /** Builds {@link TrainingArgs} by name; unset keys keep transformers' defaults. */
    public static final class Builder {
        private Path outputDir;
        private double learningRate = 2e-5;
        private int perDeviceTrainBatchSize = 8, gradientAccumulationSteps = 1, maxSteps = -1;
        private double numTrainEpochs = 3.0;
        private int loggingSteps = 10, saveSteps = 500;
        private Integer saveTotalLimit;
        private long seed = 42;
        private String lrSchedulerType = "linear";
        private double warmupRatio;
        private int warmupSteps;
        private double weightDecay, maxGradNorm = 1.0;
        private boolean overwriteOutputDir;
        private String resumeFromCheckpoint;
        private String reportTo = "none";
        private boolean gradientCheckpointing;
        private String loggingStrategy = "steps", saveStrategy = "steps", evalStrategy = "steps";
        private boolean bf16;

        private Builder(Path outputDir) {
            this.outputDir = outputDir;
        }

        private Builder(TrainingArgs a) {
            outputDir = a.outputDir;
            learningRate = a.learningRate;
            perDeviceTrainBatchSize = a.perDeviceTrainBatchSize;
            gradientAccumulationSteps = a.gradientAccumulationSteps;
            maxSteps = a.maxSteps;
            numTrainEpochs = a.numTrainEpochs;
            loggingSteps = a.loggingSteps;
            saveSteps = a.saveSteps;
            saveTotalLimit = a.saveTotalLimit;
            seed = a.seed;
            lrSchedulerType = a.lrSchedulerType;
            warmupRatio = a.warmupRatio;
            warmupSteps = a.warmupSteps;
            weightDecay = a.weightDecay;
            maxGradNorm = a.maxGradNorm;
            overwriteOutputDir = a.overwriteOutputDir;
            resumeFromCheckpoint = a.resumeFromCheckpoint;
            reportTo = a.reportTo;
            gradientCheckpointing = a.gradientCheckpointing;
            loggingStrategy = a.loggingStrategy;
            saveStrategy = a.saveStrategy;
            evalStrategy = a.evalStrategy;
            bf16 = a.bf16;
        }

        public Builder outputDir(Path v) {
            outputDir = v;
            return this;
        }

        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        public Builder perDeviceTrainBatchSize(int v) {
            perDeviceTrainBatchSize = v;
            return this;
        }

        public Builder gradientAccumulationSteps(int v) {
            gradientAccumulationSteps = v;
            return this;
        }

        public Builder maxSteps(int v) {
            maxSteps = v;
            return this;
        }

        public Builder numTrainEpochs(double v) {
            numTrainEpochs = v;
            return this;
        }

        public Builder loggingSteps(int v) {
            loggingSteps = v;
            return this;
        }

        public Builder saveSteps(int v) {
            saveSteps = v;
            return this;
        }

        public Builder saveTotalLimit(Integer v) {
            saveTotalLimit = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder lrSchedulerType(String v) {
            lrSchedulerType = v;
            return this;
        }

        public Builder warmupRatio(double v) {
            warmupRatio = v;
            return this;
        }

        public Builder warmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder maxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        public Builder overwriteOutputDir(boolean v) {
            overwriteOutputDir = v;
            return this;
        }

        public Builder resumeFromCheckpoint(String v) {
            resumeFromCheckpoint = v;
            return this;
        }

        public Builder reportTo(String v) {
            reportTo = v;
            return this;
        }

        public Builder gradientCheckpointing(boolean v) {
            gradientCheckpointing = v;
            return this;
        }

        public Builder loggingStrategy(String v) {
            loggingStrategy = v;
            return this;
        }

        public Builder saveStrategy(String v) {
            saveStrategy = v;
            return this;
        }

        public Builder evalStrategy(String v) {
            evalStrategy = v;
            return this;
        }

        public Builder bf16(boolean v) {
            bf16 = v;
            return this;
        }

        public TrainingArgs build() {
            return new TrainingArgs(
                    outputDir,
                    learningRate,
                    perDeviceTrainBatchSize,
                    gradientAccumulationSteps,
                    maxSteps,
                    numTrainEpochs,
                    loggingSteps,
                    saveSteps,
                    saveTotalLimit,
                    seed,
                    lrSchedulerType,
                    warmupRatio,
                    warmupSteps,
                    weightDecay,
                    maxGradNorm,
                    overwriteOutputDir,
                    resumeFromCheckpoint,
                    reportTo,
                    gradientCheckpointing,
                    loggingStrategy,
                    saveStrategy,
                    evalStrategy,
                    bf16);
        }
    }
}
