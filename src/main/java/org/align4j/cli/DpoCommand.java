// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.PreferencePair;
import org.align4j.loss.DpoLoss;
import org.align4j.model.Transformer;
import org.align4j.trainer.DpoConfig;
import org.align4j.trainer.DpoTrainer;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code dpo}: TRL's DPOConfig keys (loss_type as a list with loss_weights, beta, label_smoothing,
 * f_divergence_type, use_weighting, precompute_ref_log_probs, ref_model_name_or_path) plus the
 * legacy reference_free and rpo_alpha (= an extra "sft" loss of that weight, as TRL v1.x writes RPO).
 */
final class DpoCommand {
    static final List<Spec> SPECS;

    static {
        DpoLoss.Config d = DpoLoss.Config.defaults(); // TRL's DPOConfig defaults, written once there
        List<Spec> own = new ArrayList<>(PreferenceData.specs());
        own.addAll(List.of(
                of(
                        "ref_model_name_or_path",
                        Type.PATH,
                        null,
                        "reference model (default: the initial policy; with LoRA the base with adapters off)"),
                of("beta", Type.DOUBLE, d.beta(), "KL coefficient (tau for ipo)"),
                of(
                        "loss_type",
                        Type.STRING,
                        String.join(",", d.lossTypes()),
                        "one or more of " + DpoLoss.LOSS_TYPES + ", comma-separated"),
                of("loss_weights", Type.STRING, null, "one weight per loss_type (default 1 each)"),
                of("label_smoothing", Type.DOUBLE, d.labelSmoothing(), "cDPO/robust/exo_pair/aot epsilon"),
                of(
                        "f_divergence_type",
                        Type.STRING,
                        d.fDivergenceType(),
                        "reverse_kl, forward_kl, js_divergence, alpha_divergence"),
                of("f_alpha_divergence_coef", Type.DOUBLE, d.fAlphaDivergenceCoef(), "alpha of alpha_divergence"),
                of("discopop_tau", Type.DOUBLE, d.discopopTau(), "DiscoPOP temperature"),
                of("rpo_alpha", Type.DOUBLE, null, "RPO: add alpha * NLL of the chosen completions"),
                of("reference_free", Type.BOOLEAN, false, "reference log-probs taken as 0"),
                of("use_weighting", Type.BOOLEAN, false, "WPO weighting of each pair's loss"),
                of(
                        "ld_alpha",
                        Type.DOUBLE,
                        null,
                        "LD-DPO: weight of the log-probs (policy and reference) past the pair's shared length, in [0, 1]; default off"),
                of(
                        "sync_ref_model",
                        Type.BOOLEAN,
                        false,
                        "TR-DPO: every ref_model_sync_steps steps, reference = alpha * policy + (1 - alpha) * reference"),
                of("ref_model_mixup_alpha", Type.DOUBLE, 0.6, "TR-DPO: alpha"),
                of("ref_model_sync_steps", Type.INT, 512, "TR-DPO: steps between reference updates"),
                of(
                        "precompute_ref_log_probs",
                        Type.BOOLEAN,
                        false,
                        "score every row with the reference once before training")));
        SPECS = TrainingOptions.specs(
                1e-6,
                "preference rows (prompt, chosen, rejected): .jsonl/.json/.parquet or a folder",
                own.toArray(Spec[]::new));
    }

    private DpoCommand() {}

    static DpoLoss.Config lossConfig(Options o) {
        List<String> types = new ArrayList<>(o.strings("loss_type"));
        List<Double> weights = o.has("loss_weights") ? new ArrayList<>(o.doubles("loss_weights")) : new ArrayList<>();
        if (weights.isEmpty()) for (int i = 0; i < types.size(); i++) weights.add(1.0);
        if (o.has("rpo_alpha")) { // TRL v0.28's rpo_alpha is v1.x's loss_type [..., "sft"] with weight alpha
            types.add("sft");
            weights.add(o.number("rpo_alpha"));
        }
        try {
            return new DpoLoss.Config(
                    types,
                    weights,
                    o.number("beta"),
                    o.number("label_smoothing"),
                    o.string("f_divergence_type"),
                    o.number("f_alpha_divergence_coef"),
                    o.number("discopop_tau"));
        } catch (IllegalArgumentException e) {
            throw new CliException("dpo: " + e.getMessage());
        }
    }

    static void run(String[] args) throws Exception {
        Options o = Options.parse("dpo", SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        DpoConfig cfg;
        try {
            cfg = new DpoConfig(
                    targs,
                    lossConfig(o),
                    o.flag("reference_free"),
                    o.flag("use_weighting"),
                    o.flag("precompute_ref_log_probs"),
                    TrainingOptions.evalSteps(o),
                    o.has("ld_alpha") ? o.number("ld_alpha") : null,
                    o.flag("sync_ref_model")
                            ? new DpoConfig.RefSync(
                                    o.number("ref_model_mixup_alpha"), o.integer("ref_model_sync_steps"))
                            : null);
        } catch (IllegalArgumentException e) {
            throw new CliException("dpo: " + e.getMessage());
        }
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(o)) {
            List<PreferencePair> train = PreferenceData.pairs("dpo", o, m.tokenizer(), false);
            List<PreferencePair> eval = PreferenceData.pairs("dpo", o, m.tokenizer(), true);
            TrainingOptions.maybeAttachLora("dpo", o, m);
            try (Transformer ref = TrainingOptions.loadReference("dpo", o, m, cfg.referenceFree())) {
                DpoTrainer.train(m.model(), ref, train, eval, cfg, m.tokenizer().padTokenId(), o.resolved());
            }
            System.err.println("dpo: final model in " + targs.outputDir());
        }
    }
}
