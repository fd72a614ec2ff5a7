// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.Datasets;
import org.align4j.data.Encoded;
import org.align4j.data.Encoder;
import org.align4j.data.Sequence;
import org.align4j.data.Truncation;
import org.align4j.loss.GrpoLoss;
import org.align4j.model.Transformer;
import org.align4j.trainer.GrpoConfig;
import org.align4j.trainer.GrpoTrainer;
import org.align4j.trainer.OnlineEval;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code grpo}: TRL's GRPOConfig keys (num_generations, max_completion_length, temperature,
 * top_p, top_k, beta, epsilon, epsilon_high, delta, loss_type, scale_rewards,
 * importance_sampling_level, num_iterations, mask_truncated_completions, reward_funcs,
 * reward_weights), plus leave_one_out_baseline, dynamic_sampling (DAPO) and the chord_* keys (CHORD).
 *
 * <p>The old {@code rloo} key is refused with a pointer to the {@code rloo} command: it meant GRPO with a
 * leave-one-out baseline, which is not TRL's RLOOTrainer (no k1 KL reward, token-level ratio), and a silent alias
 * would keep the two confused.
 */
final class GrpoCommand {
    static final List<Spec> SPECS;

    static {
        // TRL's GRPOConfig defaults, written once in GrpoLoss.Config and GrpoConfig's builder
        GrpoLoss.Config l = GrpoLoss.Config.defaults();
        GrpoConfig g =
                GrpoConfig.builder(TrainingArgs.defaults(Path.of("output")), l).build();
        List<Spec> own = List.of(
                of(
                        "ref_model_name_or_path",
                        Type.PATH,
                        null,
                        "reference for the KL term (default: the initial policy; with LoRA the base)"),
                of("beta", Type.DOUBLE, l.beta(), "k3 KL coefficient (0: no reference model)"),
                of("epsilon", Type.DOUBLE, l.epsilon(), "lower clip range"),
                of("epsilon_high", Type.DOUBLE, null, "upper clip range (default: epsilon)"),
                of("delta", Type.DOUBLE, null, "two-sided clip of the ratio (INTELLECT-2)"),
                of(
                        "loss_type",
                        Type.STRING,
                        l.lossType(),
                        "dapo, grpo, bnpo, dr_grpo or cispo (set epsilon_high, e.g. 5.0: cispo clips the weight at epsilon_high itself)"),
                of("scale_rewards", Type.STRING, g.scaleRewards(), "group, batch or none"),
                of("importance_sampling_level", Type.STRING, l.importanceSamplingLevel(), "token, or sequence (GSPO)"),
                of("num_iterations", Type.INT, g.numIterations(), "optimizer steps per generation batch"),
                of(
                        "mask_truncated_completions",
                        Type.BOOLEAN,
                        g.maskTruncatedCompletions(),
                        "exclude completions cut by max_completion_length from the loss"),
                of(
                        "leave_one_out_baseline",
                        Type.BOOLEAN,
                        g.leaveOneOutBaseline(),
                        "GRPO with the leave-one-out baseline instead of the group mean (TRL's RLOO is the rloo command)"),
                of("rloo", Type.BOOLEAN, null, "removed: use the rloo command, or leave_one_out_baseline"),
                of(
                        "dynamic_sampling",
                        Type.BOOLEAN,
                        g.dynamicSampling(),
                        "DAPO: drop groups whose rewards all agree and refill the batch"),
                of(
                        "max_sampling_rounds",
                        Type.INT,
                        g.maxSamplingRounds(),
                        "generation rounds at most per step with dynamic_sampling"),
                of(
                        "chord_dataset_name",
                        Type.PATH,
                        null,
                        "CHORD: expert prompt-completion rows (enables the expert SFT term)"),
                of("chord_expert_per_step", Type.INT, 2, "CHORD: expert rows per optimizer step"),
                of("chord_mu_warmup_steps", Type.INT, 0, "CHORD: mu warm-up steps"),
                of("chord_mu_decay_steps", Type.INT, 0, "CHORD: mu cosine decay steps"),
                of("chord_mu_peak", Type.DOUBLE, 0.1, "CHORD: mu peak"),
                of("chord_mu_valley", Type.DOUBLE, 0.1, "CHORD: mu valley"),
                of("chord_enable_phi_function", Type.BOOLEAN, true, "CHORD: weight expert tokens by p(1-p)"),
                of("chord_cutoff_prob", Type.DOUBLE, 1.0, "CHORD: clamp expert log p at log(cutoff)"));
        own = new java.util.ArrayList<>(own);
        own.addAll(OnlineOptions.LOG_COMPLETIONS_SPECS);
        SPECS = TrainingOptions.specs(
                1e-6,
                "prompt rows (.jsonl/.json/.parquet or a folder), with the columns the reward functions read",
                OnlineOptions.specs(g.numGenerations(), l.maxCompletionLength(), g.temperature(), g.topK(), own)
                        .toArray(Spec[]::new));
    }

    private GrpoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("grpo", SPECS, args);
        if (o.given("rloo"))
            throw new CliException("grpo: the rloo key is gone: it was GRPO with a leave-one-out baseline, now "
                    + "leave_one_out_baseline; for TRL's RLOOTrainer (sequence-level ratio, k1 KL in the reward, "
                    + "beta 0.05, 2 generations) run ./align4j rloo");
        TrainingArgs targs = TrainingOptions.parse(o);
        try (LoadedModel m = LoadedModel.load(o);
                OnlineOptions.Rewards rewards = OnlineOptions.rewards("grpo", o)) {
            List<Rollouts.Prompt> prompts = OnlineOptions.prompts("grpo", o, m.tokenizer());
            GrpoConfig.Chord chord = null;
            if (o.has("chord_dataset_name")) {
                Encoder expertEnc = new Encoder(m.tokenizer(), Truncation.maxLength(1 << 20, "keep_start"));
                Encoded<Sequence> encoded = Encoder.encodeAll(
                        Datasets.read(
                                o.path("chord_dataset_name"),
                                o.string("dataset_train_split"),
                                o.flag("skip_invalid_rows")),
                        expertEnc::sft,
                        o.flag("skip_invalid_rows"));
                if (encoded.skipped() > 0) System.err.println("grpo: chord_dataset_name: " + encoded.summary(3));
                List<Sequence> expert = encoded.items();
                chord = new GrpoConfig.Chord(
                        expert,
                        o.integer("chord_expert_per_step"),
                        o.integer("chord_mu_warmup_steps"),
                        o.integer("chord_mu_decay_steps"),
                        o.number("chord_mu_peak"),
                        o.number("chord_mu_valley"),
                        o.flag("chord_enable_phi_function"),
                        o.number("chord_cutoff_prob"));
            }
            GrpoConfig cfg;
            try {
                GrpoLoss.Config loss = new GrpoLoss.Config(
                        o.string("loss_type"),
                        o.number("epsilon"),
                        o.has("epsilon_high") ? o.number("epsilon_high") : null,
                        o.has("delta") ? o.number("delta") : null,
                        o.number("beta"),
                        o.string("importance_sampling_level"),
                        o.integer("max_completion_length"));
                cfg = GrpoConfig.builder(targs, loss)
                        .numGenerations(o.integer("num_generations"))
                        .temperature(o.number("temperature"))
                        .topP(o.number("top_p"))
                        .topK(o.integer("top_k"))
                        .scaleRewards(o.string("scale_rewards"))
                        .leaveOneOutBaseline(o.flag("leave_one_out_baseline"))
                        .numIterations(o.integer("num_iterations"))
                        .maskTruncatedCompletions(o.flag("mask_truncated_completions"))
                        .dynamicSampling(o.flag("dynamic_sampling"))
                        .maxSamplingRounds(o.integer("max_sampling_rounds"))
                        .chord(chord)
                        .logCompletions(OnlineOptions.logCompletions("grpo", o))
                        .build();
            } catch (IllegalArgumentException e) {
                throw new CliException("grpo: " + e.getMessage());
            }
            if (cfg.loss().lossType().equals("cispo") && cfg.loss().epsilonHighOrDefault() < 1)
                System.err.printf(
                        "grpo: warning: cispo clips the importance weight at epsilon_high itself (%.2f < 1 clips every on-policy token); "
                                + "the ScaleRL paper and TRL recommend epsilon_high 5.0%n",
                        cfg.loss().epsilonHighOrDefault());
            TrainingOptions.maybeAttachLora("grpo", o, m);
            try (Transformer ref = o.number("beta") > 0 ? TrainingOptions.loadReference("grpo", o, m, false) : null) {
                OnlineEval eval = OnlineOptions.eval("grpo", o, m.tokenizer());
                GrpoTrainer.train(m.model(), ref, m.tokenizer(), prompts, rewards.weighted(), cfg, eval, o.resolved());
            }
            rewards.finish("grpo", m, targs.outputDir());
            System.err.println("grpo: final model in " + targs.outputDir());
        }
    }
}
