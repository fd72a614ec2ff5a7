// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.trainer.DpoConfig;
import org.align4j.trainer.OnlineDpoConfig;
import org.align4j.trainer.OnlineDpoTrainer;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code online_dpo}: DPO on best-vs-worst pairs of the policy's own samples (see
 * {@link OnlineDpoTrainer}), with TRL's OnlineDPOConfig defaults ({@code
 * trl/experimental/online_dpo/online_dpo_config.py}: learning_rate 5e-7, 128 new tokens,
 * temperature 1.0, top_k 30, top_p 1.0, beta 0.1, loss_type sigmoid) and the dpo command's loss
 * keys, so any DPO loss_type applies. Rows are prompts, as for rjs.
 */
final class OnlineDpoCommand {
    /** The dpo command's loss and reference keys that online DPO shares. */
    private static final Set<String> DPO_KEYS = Set.of(
            "ref_model_name_or_path",
            "beta",
            "loss_type",
            "loss_weights",
            "label_smoothing",
            "f_divergence_type",
            "f_alpha_divergence_coef",
            "discopop_tau",
            "rpo_alpha",
            "reference_free",
            "use_weighting");

    static final List<Spec> SPECS;

    static {
        List<Spec> own = new java.util.ArrayList<>(DpoCommand.SPECS.stream()
                .filter(s -> DPO_KEYS.contains(s.key()))
                .toList());
        own.add(of(
                "missing_eos_penalty",
                Type.DOUBLE,
                null,
                "reward subtracted from completions that max_completion_length cut (default: none)"));
        SPECS = TrainingOptions.specs(
                5e-7,
                "prompt rows (prompt: a string or messages; other columns, e.g. answer, reach the reward functions)",
                OnlineOptions.specs(2, 128, 1.0, 30, own).toArray(Spec[]::new));
    }

    private OnlineDpoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("online_dpo", SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        OnlineDpoConfig cfg;
        try {
            DpoConfig dpo = new DpoConfig(
                    targs, DpoCommand.lossConfig(o), o.flag("reference_free"), o.flag("use_weighting"), false, 0);
            cfg = new OnlineDpoConfig(
                    dpo,
                    o.integer("num_generations"),
                    OnlineOptions.sampling(o),
                    o.has("missing_eos_penalty") ? o.number("missing_eos_penalty") : null);
        } catch (IllegalArgumentException e) {
            throw new CliException("online_dpo: " + e.getMessage());
        }
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(o);
                OnlineOptions.Rewards rewards = OnlineOptions.rewards("online_dpo", o)) {
            List<Rollouts.Prompt> prompts = OnlineOptions.prompts("online_dpo", o, m.tokenizer());
            TrainingOptions.maybeAttachLora("online_dpo", o, m);
            try (Transformer ref =
                    TrainingOptions.loadReference("online_dpo", o, m, cfg.dpo().referenceFree())) {
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
            Checkpoints.copyTokenizerFiles(m.source().tokenizerDir(), targs.outputDir());
            rewards.saveCoTrainedDiscriminator("online_dpo", targs.outputDir());
            System.err.println("online_dpo: final model in " + targs.outputDir());
        }
    }
}
