// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.nio.file.Path;

/**
 * The settings every trainer shares: transformers' TrainingArguments (which TRL's XxxConfig classes
 * extend), with their names and defaults (learning_rate 2e-5, per_device_train_batch_size 8, num_train_epochs 3, logging_steps
 * 10, save_steps 500, seed 42, lr_scheduler_type linear, max_grad_norm 1.0, weight_decay 0).
 *
 * @param maxSteps total optimizer steps; when <= 0, num_train_epochs over the data decides
 * @param resumeFromCheckpoint a checkpoint-N folder, "latest" for the newest in output_dir, or null
 * @param reportTo "none" or "tensorboard" (event files under output_dir/runs)
 * @param gradientCheckpointing recompute activations layer by layer in backward (less memory, ~1.3x compute)
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
        long seed,
        String lrSchedulerType,
        double warmupRatio,
        int warmupSteps,
        double weightDecay,
        double maxGradNorm,
        boolean overwriteOutputDir,
        String resumeFromCheckpoint,
        String reportTo,
        boolean gradientCheckpointing) {

    public TrainingArgs {
        if (learningRate < 0) throw new IllegalArgumentException("learning_rate must be >= 0, got " + learningRate);
        if (perDeviceTrainBatchSize < 1)
            throw new IllegalArgumentException(
                    "per_device_train_batch_size must be >= 1, got " + perDeviceTrainBatchSize);
        if (gradientAccumulationSteps < 1)
            throw new IllegalArgumentException(
                    "gradient_accumulation_steps must be >= 1, got " + gradientAccumulationSteps);
        if (loggingSteps < 1) throw new IllegalArgumentException("logging_steps must be >= 1, got " + loggingSteps);
        if (maxSteps <= 0 && numTrainEpochs <= 0)
            throw new IllegalArgumentException("set max_steps > 0 or num_train_epochs > 0");
        if (!reportTo.equals("none") && !reportTo.equals("tensorboard"))
            throw new IllegalArgumentException(
                    "report_to '" + reportTo + "' is not supported; use none or tensorboard");
    }

    /** Optimizer steps of the run: max_steps, else num_train_epochs passes over {@code rows} rows. */
    public int totalSteps(int rows) {
        int batchesPerEpoch = (rows + perDeviceTrainBatchSize - 1) / perDeviceTrainBatchSize;
        int stepsPerEpoch = Math.max(1, batchesPerEpoch / gradientAccumulationSteps);
        return maxSteps > 0 ? maxSteps : (int) Math.ceil(numTrainEpochs * stepsPerEpoch);
    }

    public LrSchedule schedule(int totalSteps) {
        return new LrSchedule(
                lrSchedulerType,
                learningRate,
                LrSchedule.warmupSteps(warmupSteps, warmupRatio, totalSteps),
                totalSteps);
    }

    public static TrainingArgs defaults(Path outputDir) {
        return new TrainingArgs(
                outputDir, 2e-5, 8, 1, -1, 3.0, 10, 500, 42, "linear", 0.0, 0, 0.0, 1.0, false, null, "none", false);
    }

    public TrainingArgs withSteps(int maxSteps, int batch, int accumulation, double lr) {
        return new TrainingArgs(
                outputDir,
                lr,
                batch,
                accumulation,
                maxSteps,
                numTrainEpochs,
                loggingSteps,
                saveSteps,
                seed,
                lrSchedulerType,
                warmupRatio,
                warmupSteps,
                weightDecay,
                maxGradNorm,
                overwriteOutputDir,
                resumeFromCheckpoint,
                reportTo,
                gradientCheckpointing);
    }

    public TrainingArgs withLogging(int loggingSteps, int saveSteps) {
        return new TrainingArgs(
                outputDir,
                learningRate,
                perDeviceTrainBatchSize,
                gradientAccumulationSteps,
                maxSteps,
                numTrainEpochs,
                loggingSteps,
                saveSteps,
                seed,
                lrSchedulerType,
                warmupRatio,
                warmupSteps,
                weightDecay,
                maxGradNorm,
                overwriteOutputDir,
                resumeFromCheckpoint,
                reportTo,
                gradientCheckpointing);
    }

    public TrainingArgs withSchedule(String type, double warmupRatio, double weightDecay) {
        return new TrainingArgs(
                outputDir,
                learningRate,
                perDeviceTrainBatchSize,
                gradientAccumulationSteps,
                maxSteps,
                numTrainEpochs,
                loggingSteps,
                saveSteps,
                seed,
                type,
                warmupRatio,
                warmupSteps,
                weightDecay,
                maxGradNorm,
                overwriteOutputDir,
                resumeFromCheckpoint,
                reportTo,
                gradientCheckpointing);
    }

    public TrainingArgs withReportTo(String reportTo) {
        return new TrainingArgs(
                outputDir,
                learningRate,
                perDeviceTrainBatchSize,
                gradientAccumulationSteps,
                maxSteps,
                numTrainEpochs,
                loggingSteps,
                saveSteps,
                seed,
                lrSchedulerType,
                warmupRatio,
                warmupSteps,
                weightDecay,
                maxGradNorm,
                overwriteOutputDir,
                resumeFromCheckpoint,
                reportTo,
                gradientCheckpointing);
    }

    public TrainingArgs withGradientCheckpointing(boolean on) {
        return new TrainingArgs(
                outputDir,
                learningRate,
                perDeviceTrainBatchSize,
                gradientAccumulationSteps,
                maxSteps,
                numTrainEpochs,
                loggingSteps,
                saveSteps,
                seed,
                lrSchedulerType,
                warmupRatio,
                warmupSteps,
                weightDecay,
                maxGradNorm,
                overwriteOutputDir,
                resumeFromCheckpoint,
                reportTo,
                on);
    }

    public TrainingArgs withResume(String checkpoint, Path dir) {
        return new TrainingArgs(
                dir,
                learningRate,
                perDeviceTrainBatchSize,
                gradientAccumulationSteps,
                maxSteps,
                numTrainEpochs,
                loggingSteps,
                saveSteps,
                seed,
                lrSchedulerType,
                warmupRatio,
                warmupSteps,
                weightDecay,
                maxGradNorm,
                true,
                checkpoint,
                reportTo,
                gradientCheckpointing);
    }
}
