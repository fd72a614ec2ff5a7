// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.util.ArrayList;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.loss.CpoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.trainer.CpoConfig;
import org.align4j.trainer.CpoTrainer;
import org.align4j.trainer.OrpoConfig;
import org.align4j.trainer.OrpoTrainer;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code cpo} (TRL's CPOConfig: loss_type sigmoid, hinge, ipo, simpo, alphapo; cpo_alpha,
 * simpo_gamma, alpha) and {@code orpo} (TRL's ORPOConfig: beta): the reference-free paired methods.
 * SimPO is {@code --loss_type simpo --cpo_alpha 0}.
 */
final class CpoCommand {
    private static final String DATA = "preference rows (prompt, chosen, rejected): .jsonl/.json/.parquet or a folder";
    static final List<Spec> CPO_SPECS, ORPO_SPECS;

    static {
        CpoLoss.Config d = CpoLoss.Config.defaults(); // TRL's CPOConfig defaults, written once there
        List<Spec> cpo = new ArrayList<>(PreferenceData.specs());
        cpo.addAll(List.of(
                of("beta", Type.DOUBLE, d.beta(), "preference temperature"),
                of("loss_type", Type.STRING, d.lossType(), "sigmoid, hinge, ipo, simpo or alphapo"),
                of("label_smoothing", Type.DOUBLE, d.labelSmoothing(), "conservative smoothing of sigmoid and simpo"),
                of("cpo_alpha", Type.DOUBLE, d.cpoAlpha(), "weight of the chosen NLL (behaviour cloning) term"),
                of("simpo_gamma", Type.DOUBLE, d.simpoGamma(), "SimPO target reward margin"),
                of("alpha", Type.DOUBLE, d.alpha(), "AlphaPO reward-shape parameter (0: SimPO's log-prob reward)")));
        CPO_SPECS = TrainingOptions.specs(1e-6, DATA, cpo.toArray(Spec[]::new));
        List<Spec> orpo = new ArrayList<>(PreferenceData.specs());
        orpo.add(
                of("beta", Type.DOUBLE, OrpoConfig.DEFAULT_BETA, "weight of the odds-ratio term (the paper's lambda)"));
        ORPO_SPECS = TrainingOptions.specs(1e-6, DATA, orpo.toArray(Spec[]::new));
    }

    private CpoCommand() {}

    static void runCpo(String[] args) throws Exception {
        Options o = Options.parse("cpo", CPO_SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        double cpoAlpha = o.number("cpo_alpha");
        if (o.string("loss_type").equals("alphapo")
                && cpoAlpha != 0) { // TRL's CPOConfig turns loss_type alphapo into simpo with cpo_alpha 0
            System.err.println("cpo: loss_type alphapo uses cpo_alpha 0 (as TRL does); ignoring cpo_alpha " + cpoAlpha);
            cpoAlpha = 0;
        }
        CpoLoss.Config loss;
        try {
            loss = new CpoLoss.Config(
                    o.string("loss_type"),
                    o.number("beta"),
                    o.number("label_smoothing"),
                    o.number("simpo_gamma"),
                    o.number("alpha"),
                    cpoAlpha);
        } catch (IllegalArgumentException e) {
            throw new CliException("cpo: " + e.getMessage());
        }
        CpoConfig cfg = new CpoConfig(targs, loss, TrainingOptions.evalSteps(o));
        try (LoadedModel m = LoadedModel.load(o)) {
            var train = PreferenceData.pairs("cpo", o, m.tokenizer(), false);
            var eval = PreferenceData.pairs("cpo", o, m.tokenizer(), true);
            TrainingOptions.maybeAttachLora("cpo", o, m);
            CpoTrainer.train(m.model(), train, eval, cfg, m.tokenizer().padTokenId(), o.resolved());
            Checkpoints.copyTokenizerFiles(m.source().tokenizerDir(), targs.outputDir());
            System.err.println("cpo: final model in " + targs.outputDir());
        }
    }

    static void runOrpo(String[] args) throws Exception {
        Options o = Options.parse("orpo", ORPO_SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        OrpoConfig cfg = new OrpoConfig(targs, o.number("beta"), TrainingOptions.evalSteps(o));
        try (LoadedModel m = LoadedModel.load(o)) {
            var train = PreferenceData.pairs("orpo", o, m.tokenizer(), false);
            var eval = PreferenceData.pairs("orpo", o, m.tokenizer(), true);
            TrainingOptions.maybeAttachLora("orpo", o, m);
            OrpoTrainer.train(m.model(), train, eval, cfg, m.tokenizer().padTokenId(), o.resolved());
            Checkpoints.copyTokenizerFiles(m.source().tokenizerDir(), targs.outputDir());
            System.err.println("orpo: final model in " + targs.outputDir());
        }
    }
}
