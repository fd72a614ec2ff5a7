// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.model.Transformer;
import org.align4j.trainer.OnlineDpoConfig;
import org.align4j.trainer.OnlineDpoTrainer;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code online_dpo}: TRL's experimental OnlineDPOTrainer ({@link OnlineDpoTrainer}) with OnlineDPOConfig's keys and
 * defaults ({@link OnlineDpoConfig}: learning_rate 5e-7, max_new_tokens 64, temperature 0.9, top_k 0, top_p 1.0, beta
 * 0.1, loss_type sigmoid or ipo, missing_eos_penalty), 2 samples per prompt paired first vs second. {@code pairing
 * best_vs_worst} with {@code num_generations} G keeps align4j's earlier pairing (the best against the worst of G,
 * tied prompts dropped). {@code max_completion_length}, the other online commands' name, is accepted for
 * max_new_tokens. Rows are prompts, as for rjs.
 */
final class OnlineDpoCommand {
    static final List<Spec> SPECS;

    static {
        OnlineDpoConfig d = OnlineDpoConfig.builder(TrainingArgs.defaults(Path.of("output")))
                .build(); // TRL's defaults, written once there
        List<Spec> own = List.of(
                of(
                        "ref_model_name_or_path",
                        Type.PATH,
                        null,
                        "reference model (default: the initial policy; with LoRA the base)"),
                of("beta", Type.DOUBLE, d.beta(), "deviation from the reference (ipo: its tau)"),
                of(
                        "loss_type",
                        Type.STRING,
                        d.lossType(),
                        "sigmoid or ipo (TRL's online ipo: on summed log-probs, not length-normalised)"),
                of(
                        "pairing",
                        Type.STRING,
                        d.pairing(),
                        "first_vs_second (TRL: 2 samples, ties kept) or best_vs_worst (of num_generations, ties dropped)"),
                of("max_new_tokens", Type.INT, d.sampling().maxNewTokens(), "tokens generated at most per completion"),
                of(
                        "missing_eos_penalty",
                        Type.DOUBLE,
                        null,
                        "reward subtracted from completions that max_new_tokens cut (default: none)"));
        own = new java.util.ArrayList<>(own);
        own.addAll(OnlineOptions.LOG_COMPLETIONS_SPECS);
        SPECS = TrainingOptions.specs(
                OnlineDpoConfig.LEARNING_RATE,
                "prompt rows (prompt: a string or messages; other columns, e.g. answer, reach the reward functions)",
                OnlineOptions.specs(
                                d.numGenerations(),
                                null,
                                d.sampling().temperature(),
                                d.sampling().topK(),
                                own)
                        .toArray(Spec[]::new));
    }

    private OnlineDpoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("online_dpo", SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        if (o.given("max_completion_length") && o.given("max_new_tokens"))
            throw new CliException(
                    "online_dpo: max_completion_length and max_new_tokens name the same setting; give one (TRL's is max_new_tokens)");
        int maxNewTokens =
                o.has("max_completion_length") ? o.integer("max_completion_length") : o.integer("max_new_tokens");
        OnlineDpoConfig cfg;
        try {
            cfg = OnlineDpoConfig.builder(targs)
                    .beta(o.number("beta"))
                    .lossType(o.string("loss_type"))
                    .pairing(o.string("pairing"))
                    .numGenerations(o.integer("num_generations"))
                    .sampling(OnlineOptions.sampling(o, maxNewTokens))
                    .missingEosPenalty(o.has("missing_eos_penalty") ? o.number("missing_eos_penalty") : null)
                    .logCompletions(OnlineOptions.logCompletions("online_dpo", o))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CliException("online_dpo: " + e.getMessage());
        }
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(o);
                OnlineOptions.Rewards rewards = OnlineOptions.rewards("online_dpo", o)) {
            List<Rollouts.Prompt> prompts = OnlineOptions.prompts("online_dpo", o, m.tokenizer());
            TrainingOptions.maybeAttachLora("online_dpo", o, m);
            try (Transformer ref = TrainingOptions.loadReference("online_dpo", o, m, false)) {
                OnlineDpoTrainer.train(
                        m.model(),
                        ref,
                        m.tokenizer(),
                        prompts,
                        rewards.weighted(),
                        cfg,
                        OnlineOptions.eval("online_dpo", o, m.tokenizer()),
                        o.resolved());
            }
            rewards.finish("online_dpo", m, targs.outputDir());
            System.err.println("online_dpo: final model in " + targs.outputDir());
        }
    }
}
