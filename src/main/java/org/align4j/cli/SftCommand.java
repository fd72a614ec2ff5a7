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
import org.align4j.data.JsonRows.Row;
import org.align4j.data.PackedSequence;
import org.align4j.data.Packing;
import org.align4j.data.Sequence;
import org.align4j.data.Truncation;
import org.align4j.trainer.SftTrainer;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code sft}: supervised fine-tuning with TRL's SFTConfig keys. Rows are language modeling
 * ({@code text}, or conversational {@code messages}) or prompt-completion (strings or message
 * lists); the loss masks follow TRL: {@code completion_only_loss} (default: on for
 * prompt-completion rows), {@code assistant_only_loss} (default off: every token of a
 * conversation), see {@link Encoder#sft}. Sequences are cut to {@code max_length}
 * ({@code truncation_mode}); {@code packing} packs them best-fit-decreasing into rows of
 * max_length with per-example positions and attention.
 */
final class SftCommand {
    static final List<Spec> SPECS = TrainingOptions.specs(
            2e-5,
            "local .jsonl/.jsonl.gz/.json/.parquet file, or a folder with the split's files (text, messages or prompt+completion rows)",
            OnlineOptions.withCotrain(
                    of("dataset_text_field", Type.STRING, "text", "the field of language-modeling rows"),
                    of("max_length", Type.INT, 1024, "longest sequence in tokens (and the packed row length)"),
                    of(
                            "truncation_mode",
                            Type.STRING,
                            "keep_start",
                            "keep_start (drop the end of long sequences) or keep_end"),
                    of(
                            "completion_only_loss",
                            Type.BOOLEAN,
                            null,
                            "prompt-completion rows: loss on the completion only (default true)"),
                    of(
                            "assistant_only_loss",
                            Type.BOOLEAN,
                            false,
                            "conversational rows: loss on the assistant turns only"),
                    of("packing", Type.BOOLEAN, false, "pack several sequences into each row of max_length"),
                    of("packing_strategy", Type.STRING, "bfd", "bfd (best-fit decreasing; sequences are never split)"),
                    of(
                            "aapa_discriminator_path",
                            Type.PATH,
                            null,
                            "AAPA-anchored SFT: a folder from ./align4j discriminator"),
                    of("aapa_coef", Type.DOUBLE, 0.1, "AAPA: the anchor's coefficient"),
                    of("aapa_rollouts", Type.INT, 2, "AAPA: rollouts sampled per prompt for the anchor term"),
                    of("aapa_max_completion_length", Type.INT, 128, "AAPA: tokens generated at most per rollout")));

    private SftCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("sft", SPECS, args);
        TrainingArgs cfg = TrainingOptions.parse(o);
        if (!o.string("packing_strategy").equals("bfd"))
            throw new CliException(
                    "sft: packing_strategy '" + o.string("packing_strategy") + "' is not supported; use bfd");
        Truncation truncation;
        try {
            truncation = Truncation.maxLength(o.integer("max_length"), o.string("truncation_mode"));
        } catch (IllegalArgumentException e) {
            throw new CliException("sft: " + e.getMessage());
        }
        Encoder.SftOptions loss = new Encoder.SftOptions(
                o.string("dataset_text_field"),
                !o.has("completion_only_loss") || o.flag("completion_only_loss"),
                o.flag("assistant_only_loss"));
        List<Row> rows =
                Datasets.read(o.path("dataset_name"), o.string("dataset_train_split"), o.flag("skip_invalid_rows"));
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(o)) {
            Encoder encoder = new Encoder(m.tokenizer(), truncation, loss);
            Encoded<Sequence> data = Encoder.encodeAll(rows, encoder::sft, o.flag("skip_invalid_rows"));
            System.err.printf(
                    "sft: %d rows from %s (%d truncated to max_length %d, %s)%n",
                    data.items().size(),
                    o.path("dataset_name"),
                    encoder.truncatedRows(),
                    truncation.maxLength(),
                    truncation.truncationMode());
            if (data.skipped() > 0) System.err.println("sft: " + data.summary(3));
            TrainingOptions.maybeAttachLora("sft", o, m);
            if (o.flag("packing")) {
                List<PackedSequence> packed = Packing.bestFitDecreasing(data.items(), truncation.maxLength());
                long tokens = data.items().stream().mapToLong(Sequence::length).sum();
                System.err.printf(
                        "sft: packed %d sequences into %d rows of up to %d tokens (%.0f%% full)%n",
                        data.items().size(),
                        packed.size(),
                        truncation.maxLength(),
                        100.0 * tokens / ((double) packed.size() * truncation.maxLength()));
                SftTrainer.trainPacked(m.model(), packed, cfg, m.tokenizer().padTokenId(), o.resolved());
            } else {
                List<Sequence> eval = List.of();
                TrainingOptions.EvalSource source = TrainingOptions.evalSource(o);
                if (source != null) {
                    Encoded<Sequence> encoded = Encoder.encodeAll(
                            Datasets.read(source.fileOrDir(), source.split(), o.flag("skip_invalid_rows")),
                            encoder::sft,
                            o.flag("skip_invalid_rows"));
                    if (encoded.skipped() > 0) System.err.println("sft: eval set: " + encoded.summary(3));
                    eval = encoded.items();
                    System.err.printf(
                            "sft: %d eval rows from %s (split %s)%n", eval.size(), source.fileOrDir(), source.split());
                }
                if (o.has("aapa_discriminator_path")) {
                    try (org.align4j.aapa.Discriminator d =
                            org.align4j.aapa.Discriminator.open(o.path("aapa_discriminator_path"))) {
                        var anchor = OnlineOptions.anchor(
                                "sft", o, d, org.align4j.aapa.AnchorSchedule.constant(o.number("aapa_coef")));
                        SftTrainer.trainAnchored(
                                m.model(),
                                data.items(),
                                cfg,
                                m.tokenizer().padTokenId(),
                                new SftTrainer.Anchoring(
                                        anchor,
                                        m.tokenizer(),
                                        o.integer("aapa_rollouts"),
                                        new org.align4j.generate.SamplingParams(
                                                1.0, 0, 1.0, o.integer("aapa_max_completion_length"), cfg.seed())),
                                o.resolved());
                        OnlineOptions.saveCoTrainedDiscriminator("sft", d, cfg.outputDir());
                    }
                } else {
                    SftTrainer.train(
                            m.model(),
                            data.items(),
                            eval,
                            TrainingOptions.evalSteps(o),
                            cfg,
                            m.tokenizer().padTokenId(),
                            o.resolved());
                }
            }
            System.err.println("sft: final model in " + cfg.outputDir());
        }
    }
}
