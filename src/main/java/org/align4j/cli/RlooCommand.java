// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.model.Transformer;
import org.align4j.trainer.RlooConfig;
import org.align4j.trainer.RlooTrainer;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code rloo}: TRL's RLOOTrainer ({@link RlooTrainer}) with RLOOConfig's keys and defaults (num_generations 2,
 * max_completion_length 512, temperature 1.0, top_k 0, beta 0.05, epsilon 0.2, epsilon_high, num_iterations 1,
 * normalize_advantages, reward_clip_range, mask_truncated_completions, reward_funcs, reward_weights, learning_rate
 * 1e-6). Rows are prompts, as for grpo.
 */
final class RlooCommand {
    static final List<Spec> SPECS;

    static {
        RlooConfig d =
                RlooConfig.builder(TrainingArgs.defaults(Path.of("output"))).build(); // TRL's defaults, once
        List<Spec> own = List.of(
                of(
                        "ref_model_name_or_path",
                        Type.PATH,
                        null,
                        "reference for the KL penalty (default: the initial policy; with LoRA the base)"),
                of("beta", Type.DOUBLE, d.beta(), "k1 KL penalty in the reward (0: no reference model)"),
                of("epsilon", Type.DOUBLE, d.epsilon(), "lower clip range of the sequence ratio"),
                of("epsilon_high", Type.DOUBLE, null, "upper clip range (default: epsilon)"),
                of("num_iterations", Type.INT, d.numIterations(), "optimizer steps per generation batch"),
                of(
                        "normalize_advantages",
                        Type.BOOLEAN,
                        d.normalizeAdvantages(),
                        "scale the advantages to mean 0, std 1 over the generation batch"),
                of(
                        "reward_clip_range",
                        Type.STRING,
                        null,
                        "min,max: clamp each reward total before the KL penalty (default: no clipping)"),
                of(
                        "mask_truncated_completions",
                        Type.BOOLEAN,
                        d.maskTruncatedCompletions(),
                        "exclude completions cut by max_completion_length from the loss"));
        own = new java.util.ArrayList<>(own);
        own.addAll(OnlineOptions.LOG_COMPLETIONS_SPECS);
        SPECS = TrainingOptions.specs(
                RlooConfig.LEARNING_RATE,
                "prompt rows (.jsonl/.json/.parquet or a folder), with the columns the reward functions read",
                OnlineOptions.specs(d.numGenerations(), d.maxCompletionLength(), d.temperature(), d.topK(), own)
                        .toArray(Spec[]::new));
    }

    private RlooCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("rloo", SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        RlooConfig cfg;
        try {
            cfg = RlooConfig.builder(targs)
                    .beta(o.number("beta"))
                    .epsilon(o.number("epsilon"))
                    .epsilonHigh(o.has("epsilon_high") ? o.number("epsilon_high") : null)
                    .numGenerations(o.integer("num_generations"))
                    .maxCompletionLength(o.integer("max_completion_length"))
                    .temperature(o.number("temperature"))
                    .topP(o.number("top_p"))
                    .topK(o.integer("top_k"))
                    .numIterations(o.integer("num_iterations"))
                    .normalizeAdvantages(o.flag("normalize_advantages"))
                    .rewardClipRange(clipRange(o))
                    .maskTruncatedCompletions(o.flag("mask_truncated_completions"))
                    .logCompletions(OnlineOptions.logCompletions("rloo", o))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CliException("rloo: " + e.getMessage());
        }
        try (LoadedModel m = LoadedModel.load(o);
                OnlineOptions.Rewards rewards = OnlineOptions.rewards("rloo", o)) {
            List<Rollouts.Prompt> prompts = OnlineOptions.prompts("rloo", o, m.tokenizer());
            TrainingOptions.maybeAttachLora("rloo", o, m);
            try (Transformer ref = cfg.beta() > 0 ? TrainingOptions.loadReference("rloo", o, m, false) : null) {
                RlooTrainer.train(
                        m.model(),
                        ref,
                        m.tokenizer(),
                        prompts,
                        rewards.weighted(),
                        cfg,
                        OnlineOptions.eval("rloo", o, m.tokenizer()),
                        o.resolved());
            }
            rewards.finish("rloo", m, targs.outputDir());
            System.err.println("rloo: final model in " + targs.outputDir());
        }
    }

    /** reward_clip_range "min,max" (a YAML list arrives as "[min, max]"), or null when unset. */
    private static double[] clipRange(Options o) {
        if (!o.has("reward_clip_range")) return null;
        List<Double> v = o.doubles("reward_clip_range");
        if (v.size() != 2) throw new CliException("rloo: reward_clip_range takes two numbers min,max, got " + v.size());
        return new double[] {v.get(0), v.get(1)};
    }
}
