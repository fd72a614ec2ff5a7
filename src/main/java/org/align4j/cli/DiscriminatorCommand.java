// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.align4j.cli.Options.Spec.required;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.aapa.Discriminator;
import org.align4j.aapa.DiscriminatorConfig;
import org.align4j.aapa.DiscriminatorMetrics;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.aapa.MiniLmSentenceEncoder;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.DatasetException;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Messages;
import org.align4j.trainer.LmDiscriminatorTrainer;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code discriminator}: trains AAPA's fixed discriminator once, offline (docs/aapa.md). Rows of both files have a
 * {@code completion} (a string, or messages whose contents are joined with newlines) and an optional {@code prompt} of
 * the same kind: expert responses from {@code expert_dataset_name}, the base policy's rollouts from
 * {@code policy_dataset_name} (e.g. written by {@code ./align4j generate}). Two kinds, chosen by
 * {@code discriminator_type}:
 * <ul>
 *   <li>{@code sentence_encoder} (the default): the frozen all-MiniLM-L6-v2 embeds each response and a small head
 *       learns expert (1) vs policy (0); writes {@code discriminator.json} and {@code head.safetensors};
 *   <li>{@code causal_lm}: the causal LM in {@code model_name_or_path} becomes a one-label
 *       {@code *ForSequenceClassification} trained whole on prompt + response + EOS with the same class-balanced
 *       cross-entropy ({@link LmDiscriminatorTrainer}); writes a Hugging Face sequence-classifier folder
 *       ({@code config.json}, {@code model.safetensors}, tokenizer files, {@code metrics.jsonl}) and, last,
 *       {@code discriminator.json}. Here {@code epochs} means num_train_epochs, and when not given
 *       {@code learning_rate} is 1e-5, {@code epochs} 3 and {@code per_device_train_batch_size} 8.
 * </ul>
 * A key of one kind given for the other is an error that names it. Both print the accuracy and ROC-AUC on the
 * training and the held-out split.
 */
final class DiscriminatorCommand {
    static final List<Spec> SPECS = specs();
    /** Keys that only one kind reads. */
    private static final List<String>
            SENTENCE_ENCODER_KEYS = List.of("head", "hidden_size", "include_prompt", "encoder_batch_size"),
            CAUSAL_LM_KEYS = List.of("model_name_or_path", "max_length");
    /** causal_lm's defaults for the shared keys whose defaults suit a small head on embeddings, not a whole LM. */
    static final double LM_LEARNING_RATE = 1e-5;

    static final int LM_EPOCHS = 3, LM_BATCH_SIZE = 8, LM_MAX_LENGTH = 1024;

    private DiscriminatorCommand() {}

    private static List<Spec> specs() {
        DiscriminatorConfig d = DiscriminatorConfig.defaults();
        return List.of(
                required(
                        "expert_dataset_name",
                        Type.PATH,
                        "local .jsonl/.json of expert responses: completion (and optional prompt) rows"),
                required(
                        "policy_dataset_name",
                        Type.PATH,
                        "local .jsonl/.json of base-policy rollouts: completion (and optional prompt) rows, e.g. from ./align4j generate"),
                required("output_dir", Type.PATH, "folder to write the discriminator to"),
                of("overwrite_output_dir", Type.BOOLEAN, false, "replace an existing output_dir"),
                of(
                        "discriminator_type",
                        Type.STRING,
                        Discriminator.SENTENCE_ENCODER,
                        "sentence_encoder (frozen MiniLM + small head) | causal_lm (a small causal LM with a score head, trained whole)"),
                of("head", Type.STRING, d.head(), "sentence_encoder: logistic | mlp (one ReLU hidden layer)"),
                of(
                        "hidden_size",
                        Type.INT,
                        DiscriminatorConfig.DEFAULT_HIDDEN_SIZE,
                        "sentence_encoder, mlp head: hidden units"),
                of(
                        "epochs",
                        Type.INT,
                        d.epochs(),
                        "passes over the training split (causal_lm: default " + LM_EPOCHS + ")"),
                of(
                        "learning_rate",
                        Type.DOUBLE,
                        d.learningRate(),
                        "AdamW step size (causal_lm: default 1e-5, decayed linearly)"),
                of(
                        "per_device_train_batch_size",
                        Type.INT,
                        d.batchSize(),
                        "examples per AdamW step (causal_lm: default " + LM_BATCH_SIZE + ")"),
                of("weight_decay", Type.DOUBLE, d.weightDecay(), "decoupled weight decay on the weight matrices"),
                of("seed", Type.LONG, d.seed(), "fixes the split, the initial weights and the shuffles"),
                of(
                        "eval_fraction",
                        Type.DOUBLE,
                        d.evalFraction(),
                        "share of each class held out for accuracy and ROC-AUC (0 = none)"),
                of(
                        "include_prompt",
                        Type.BOOLEAN,
                        d.includePrompt(),
                        "sentence_encoder: encode prompt + newline + response instead of the response alone "
                                + "(causal_lm always reads prompt + response)"),
                of(
                        "encoder_batch_size",
                        Type.INT,
                        32,
                        "sentence_encoder: texts embedded together by the sentence encoder"),
                of(
                        "model_name_or_path",
                        Type.PATH,
                        null,
                        "causal_lm (required): the small causal LM, a Hugging Face model folder"),
                of(
                        "max_length",
                        Type.INT,
                        LM_MAX_LENGTH,
                        "causal_lm: drop examples whose prompt + response + EOS is longer, in tokens"));
    }

    static void run(String[] args) throws Exception {
        Options o = Options.parse("discriminator", SPECS, args);
        String kind = o.string("discriminator_type");
        List<String> foreign = switch (kind) {
            case Discriminator.SENTENCE_ENCODER -> CAUSAL_LM_KEYS;
            case Discriminator.CAUSAL_LM -> SENTENCE_ENCODER_KEYS;
            default ->
                throw new CliException("discriminator: discriminator_type '" + kind + "' is unknown; valid: "
                        + Discriminator.SENTENCE_ENCODER + ", " + Discriminator.CAUSAL_LM);
        };
        for (String k : foreign)
            if (o.given(k))
                throw new CliException("discriminator: --" + k + " applies to discriminator_type "
                        + (kind.equals(Discriminator.CAUSAL_LM)
                                ? Discriminator.SENTENCE_ENCODER
                                : Discriminator.CAUSAL_LM)
                        + " only; drop it for " + kind);
        Path out = o.path("output_dir");
        org.align4j.trainer.OutputDir.checkLocation("discriminator", out, o.inputPaths());
        if (Files.exists(out) && !o.flag("overwrite_output_dir"))
            throw new CliException(
                    "output_dir " + out + " already exists; choose another folder or pass --overwrite_output_dir true");
        if (kind.equals(Discriminator.CAUSAL_LM)) runCausalLm(o, out);
        else runSentenceEncoder(o, out);
    }

    private static void runSentenceEncoder(Options o, Path out) throws Exception {
        DiscriminatorConfig cfg;
        try {
            cfg = DiscriminatorConfig.builder()
                    .head(o.string("head"))
                    .hiddenSize(o.integer("hidden_size"))
                    .epochs(o.integer("epochs"))
                    .learningRate(o.number("learning_rate"))
                    .batchSize(o.integer("per_device_train_batch_size"))
                    .weightDecay(o.number("weight_decay"))
                    .seed(o.longValue("seed"))
                    .evalFraction(o.number("eval_fraction"))
                    .includePrompt(o.flag("include_prompt"))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CliException("discriminator: " + e.getMessage());
        }
        List<List<EncoderDiscriminator.Example>> data = read(o);
        List<EncoderDiscriminator.Example> expert = data.get(0), policy = data.get(1);
        long t0 = System.nanoTime();
        try (MiniLmSentenceEncoder enc = new MiniLmSentenceEncoder(o.integer("encoder_batch_size"), 0)) {
            System.err.printf("discriminator: %s loaded in %.1f s%n", enc.name(), (System.nanoTime() - t0) / 1e9);
            EncoderDiscriminator d = EncoderDiscriminator.train(enc, expert, policy, cfg);
            EncoderDiscriminator.Report r = d.report();
            System.err.printf(
                    "discriminator: embedded %d texts in %.1f s, trained the %s head in %.1f s; last-epoch loss %.4f%n",
                    expert.size() + policy.size(), r.embedSeconds(), cfg.head(), r.trainSeconds(), r.finalTrainLoss());
            if (o.flag("overwrite_output_dir")) d.saveReplacing(out);
            else d.save(out);
            printMetrics(r.train(), r.eval());
            System.out.println("discriminator: wrote " + out.resolve(EncoderDiscriminator.CONFIG_FILE) + " and "
                    + out.resolve(EncoderDiscriminator.HEAD_FILE));
        }
    }

    private static void runCausalLm(Options o, Path out) throws Exception {
        if (!o.has("model_name_or_path"))
            throw new CliException(
                    "discriminator: --model_name_or_path is required for discriminator_type causal_lm (the small causal LM to train, a Hugging Face model folder)");
        Path base = o.path("model_name_or_path");
        if (!Files.isDirectory(base))
            throw new CliException("model_name_or_path " + base
                    + " is not a directory (a Hugging Face model folder; no hub downloads)");
        double lr = o.given("learning_rate") ? o.number("learning_rate") : LM_LEARNING_RATE;
        int epochs = o.given("epochs") ? o.integer("epochs") : LM_EPOCHS,
                batch =
                        o.given("per_device_train_batch_size")
                                ? o.integer("per_device_train_batch_size")
                                : LM_BATCH_SIZE;
        LmDiscriminatorTrainer.Settings settings;
        try {
            if (!(lr > 0)) throw new IllegalArgumentException("learning_rate must be a positive number, got " + lr);
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            TrainingArgs a = TrainingArgs.builder(out)
                    .learningRate(lr)
                    .perDeviceTrainBatchSize(batch)
                    .numTrainEpochs(epochs)
                    .seed(o.longValue("seed"))
                    .weightDecay(o.number("weight_decay"))
                    .overwriteOutputDir(o.flag("overwrite_output_dir"))
                    .build();
            settings = new LmDiscriminatorTrainer.Settings(a, o.number("eval_fraction"), o.integer("max_length"));
        } catch (IllegalArgumentException e) {
            throw new CliException("discriminator: " + e.getMessage());
        }
        // what training_args.json records: the values this kind used, without the other kind's keys
        Map<String, Object> resolved = new LinkedHashMap<>(o.resolved());
        SENTENCE_ENCODER_KEYS.forEach(resolved::remove);
        resolved.put("learning_rate", lr);
        resolved.put("epochs", epochs);
        resolved.put("per_device_train_batch_size", batch);
        List<List<EncoderDiscriminator.Example>> data = read(o);
        try (LmDiscriminatorTrainer.Result r =
                LmDiscriminatorTrainer.train(base, data.get(0), data.get(1), settings, resolved)) {
            LmDiscriminatorTrainer.Report rep = r.report();
            System.err.printf(
                    "discriminator: trained %s in %.1f s (%d optimizer steps); final training loss %.4f%n",
                    base, rep.trainSeconds(), rep.run().globalStep(), rep.finalTrainLoss());
            printMetrics(rep.train(), rep.eval());
            System.out.println("discriminator: wrote the sequence classifier and "
                    + out.resolve(EncoderDiscriminator.CONFIG_FILE));
        }
    }

    /** [expert, policy] examples from the two files. */
    private static List<List<EncoderDiscriminator.Example>> read(Options o) {
        List<EncoderDiscriminator.Example> expert = examples(Datasets.read(o.path("expert_dataset_name"), "train"));
        List<EncoderDiscriminator.Example> policy = examples(Datasets.read(o.path("policy_dataset_name"), "train"));
        System.err.printf(
                "discriminator: %d expert responses from %s, %d policy rollouts from %s%n",
                expert.size(), o.path("expert_dataset_name"), policy.size(), o.path("policy_dataset_name"));
        return List.of(expert, policy);
    }

    private static void printMetrics(DiscriminatorMetrics train, DiscriminatorMetrics eval) {
        System.out.println("discriminator: train " + line(train));
        System.out.println(
                eval == null
                        ? "discriminator: no held-out split (eval_fraction 0)"
                        : "discriminator: held-out " + line(eval));
    }

    private static String line(DiscriminatorMetrics m) {
        return String.format(
                "accuracy %.4f, ROC-AUC %.4f (%d expert, %d policy; mean logit %.3f expert, %.3f policy)",
                m.accuracy(), m.rocAuc(), m.expert(), m.policy(), m.meanLogitExpert(), m.meanLogitPolicy());
    }

    static List<EncoderDiscriminator.Example> examples(List<Row> rows) {
        List<EncoderDiscriminator.Example> out = new ArrayList<>();
        for (Row r : rows)
            out.add(new EncoderDiscriminator.Example(r.has("prompt") ? text(r, "prompt") : "", text(r, "completion")));
        return out;
    }

    /** A string field as is; a message list as its contents joined by newlines (roles dropped). */
    static String text(Row r, String field) {
        JsonNode v = r.require(field);
        if (v.isTextual()) return v.asText();
        if (v.isArray()) {
            List<String> parts = new ArrayList<>();
            for (Map<String, Object> m : Messages.of(v, r, field)) parts.add((String) m.get("content"));
            return String.join("\n", parts);
        }
        throw new DatasetException(r.where() + ": field '" + field
                + "' must be a string or a list of {role, content} messages, found " + JsonRows.typeName(v));
    }
}
