// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.util.ArrayList;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.loss.KtoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.trainer.KtoConfig;
import org.align4j.trainer.KtoTrainer;
import org.align4j.trainer.TrainingArgs;

/** {@code kto}: TRL's KTOConfig keys (beta, desirable_weight, undesirable_weight, loss_type kto or apo_zero_unpaired). */
final class KtoCommand {
    static final List<Spec> SPECS;

    static {
        KtoLoss.Config d = KtoLoss.Config.defaults(); // TRL's KTOConfig defaults
        List<Spec> own = new ArrayList<>(PreferenceData.specs());
        own.addAll(List.of(
                of(
                        "ref_model_name_or_path",
                        Type.PATH,
                        null,
                        "reference model (default: the initial policy; with LoRA the base with adapters off)"),
                of("beta", Type.DOUBLE, d.beta(), "KL coefficient"),
                of("loss_type", Type.STRING, d.lossType(), "kto or apo_zero_unpaired"),
                of("desirable_weight", Type.DOUBLE, d.desirableWeight(), "lambda_D, weight of desirable rows"),
                of("undesirable_weight", Type.DOUBLE, d.undesirableWeight(), "lambda_U, weight of undesirable rows")));
        SPECS = TrainingOptions.specs(
                1e-6,
                "unpaired rows (prompt, completion, label) or preference rows, split in two",
                own.toArray(Spec[]::new));
    }

    private KtoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("kto", SPECS, args);
        TrainingArgs targs = TrainingOptions.parse(o);
        KtoLoss.Config loss;
        try {
            loss = new KtoLoss.Config(
                    o.string("loss_type"),
                    o.number("beta"),
                    o.number("desirable_weight"),
                    o.number("undesirable_weight"));
        } catch (IllegalArgumentException e) {
            throw new CliException("kto: " + e.getMessage());
        }
        KtoConfig cfg = new KtoConfig(targs, loss, TrainingOptions.evalSteps(o));
        try (LoadedModel m = LoadedModel.load(o)) {
            var train = PreferenceData.unpaired("kto", o, m.tokenizer(), false);
            var eval = PreferenceData.unpaired("kto", o, m.tokenizer(), true);
            TrainingOptions.maybeAttachLora("kto", o, m);
            try (Transformer ref = TrainingOptions.loadReference("kto", o, m, false)) {
                KtoTrainer.train(m.model(), ref, train, eval, cfg, m.tokenizer().padTokenId(), o.resolved());
            }
            Checkpoints.copyTokenizerFiles(m.source().tokenizerDir(), targs.outputDir());
            System.err.println("kto: final model in " + targs.outputDir());
        }
    }
}
