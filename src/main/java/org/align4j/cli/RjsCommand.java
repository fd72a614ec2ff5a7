// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.trainer.RjsConfig;
import org.align4j.trainer.RjsTrainer;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code rjs}: rejection sampling fine-tuning (best-of-n SFT, APO's RJS baseline; see
 * {@link RjsTrainer}). Rows are prompts ({@code prompt}: a string, or messages rendered with the
 * chat template and its generation prompt); their other columns reach the reward functions (GSM8K's
 * {@code answer}). The sampling defaults are APO's ({@code tools/inference_llm.py}: 4 samples,
 * temperature 1.2, top_p 1.0, 256 new tokens); the SFT of each round takes the shared training keys
 * (learning_rate defaults to SFTConfig's 2e-5, num_train_epochs are epochs over the kept samples).
 */
final class RjsCommand {
    static final List<Spec> SPECS = TrainingOptions.specs(
            2e-5,
            "prompt rows (prompt: a string or messages; other columns, e.g. answer, reach the reward functions)",
            OnlineOptions.specs(
                            4,
                            256,
                            1.2,
                            0,
                            List.of(
                                    of(
                                            "generation_batch_size",
                                            Type.INT,
                                            null,
                                            "completions sampled together, a multiple of num_generations (default: per_device_train_batch_size * num_generations)"),
                                    of("rjs_rounds", Type.INT, 1, "sample, select, fine-tune rounds (APO's epochs)"),
                                    of(
                                            "rjs_reward_threshold",
                                            Type.DOUBLE,
                                            null,
                                            "keep a prompt's best sample only when its reward is greater than this (default: keep every prompt's best)")))
                    .toArray(Spec[]::new));

    private RjsCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("rjs", SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        int n = o.integer("num_generations");
        int genBatch = o.has("generation_batch_size")
                ? o.integer("generation_batch_size")
                : targs.perDeviceTrainBatchSize() * n;
        if (genBatch % n != 0)
            throw new CliException(
                    "rjs: generation_batch_size " + genBatch + " is not a multiple of num_generations " + n);
        RjsConfig cfg;
        try {
            cfg = new RjsConfig(
                    targs,
                    n,
                    OnlineOptions.sampling(o),
                    o.integer("rjs_rounds"),
                    o.has("rjs_reward_threshold") ? o.number("rjs_reward_threshold") : null,
                    genBatch / n);
        } catch (IllegalArgumentException e) {
            throw new CliException("rjs: " + e.getMessage());
        }
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(o);
                OnlineOptions.Rewards rewards = OnlineOptions.rewards("rjs", o)) {
            List<Rollouts.Prompt> prompts = OnlineOptions.prompts("rjs", o, m.tokenizer());
            TrainingOptions.maybeAttachLora("rjs", o, m);
            RjsTrainer.train(
                    m.model(),
                    m.tokenizer(),
                    prompts,
                    rewards.weighted(),
                    cfg,
                    OnlineOptions.eval("rjs", o, m.tokenizer()),
                    o.resolved());
            rewards.finish("rjs", m, targs.outputDir());
            System.err.println("rjs: final model in " + targs.outputDir()
                    + " (per-round samples and models in round-K/, round metrics in rjs_rounds.jsonl)");
        }
    }
}
