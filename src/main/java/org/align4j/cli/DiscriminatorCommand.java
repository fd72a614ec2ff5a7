// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.align4j.cli.Options.Spec.required;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.DatasetException;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Messages;
import org.align4j.reward.Discriminator;
import org.align4j.reward.DiscriminatorConfig;
import org.align4j.reward.DiscriminatorMetrics;
import org.align4j.reward.MiniLmSentenceEncoder;

/**
 * {@code discriminator}: trains AAPA's fixed sentence-level discriminator once, offline (docs/aapa.md). Rows of both
 * files have a {@code completion} (a string, or messages whose contents are joined with newlines) and an optional
 * {@code prompt} of the same kind: expert responses from {@code expert_dataset_name}, the base policy's rollouts from
 * {@code policy_dataset_name} (e.g. written by {@code ./align4j generate}). The frozen all-MiniLM-L6-v2 embeds each
 * response; a small head learns expert (1) vs policy (0). Writes {@code discriminator.json} and
 * {@code head.safetensors} to {@code output_dir} and prints the held-out accuracy and ROC-AUC.
 */
final class DiscriminatorCommand {
    static final List<Spec> SPECS = specs();

    private DiscriminatorCommand() {}

    private static List<Spec> specs() {
        DiscriminatorConfig d = DiscriminatorConfig.defaults();
        return List.of(
                required("expert_dataset_name", Type.PATH, "local .jsonl/.json of expert responses: completion (and optional prompt) rows"),
                required("policy_dataset_name", Type.PATH, "local .jsonl/.json of base-policy rollouts: completion (and optional prompt) rows, e.g. from ./align4j generate"),
                required("output_dir", Type.PATH, "folder to write discriminator.json and head.safetensors to"),
                of("overwrite_output_dir", Type.BOOLEAN, false, "replace an existing output_dir"),
                of("head", Type.STRING, d.head(), "logistic | mlp (one ReLU hidden layer)"),
                of("hidden_size", Type.INT, DiscriminatorConfig.DEFAULT_HIDDEN_SIZE, "mlp head: hidden units"),
                of("epochs", Type.INT, d.epochs(), "passes over the training split"),
                of("learning_rate", Type.DOUBLE, d.learningRate(), "AdamW step size"),
                of("per_device_train_batch_size", Type.INT, d.batchSize(), "examples per AdamW step"),
                of("weight_decay", Type.DOUBLE, d.weightDecay(), "decoupled weight decay on the head's weight matrices"),
                of("seed", Type.LONG, d.seed(), "fixes the split, the initial weights and the shuffles"),
                of("eval_fraction", Type.DOUBLE, d.evalFraction(), "share of each class held out for accuracy and ROC-AUC (0 = none)"),
                of("include_prompt", Type.BOOLEAN, d.includePrompt(), "encode prompt + newline + response instead of the response alone"),
                of("encoder_batch_size", Type.INT, 32, "texts embedded together by the sentence encoder"));
    }

    static void run(String[] args) throws Exception {
        Options o = Options.parse("discriminator", SPECS, args);
        Path out = o.path("output_dir");
        if (Files.exists(out) && !o.flag("overwrite_output_dir"))
            throw new CliException("output_dir " + out + " already exists; choose another folder or pass --overwrite_output_dir true");
        DiscriminatorConfig cfg;
        try {
            cfg = new DiscriminatorConfig(o.string("head"), o.integer("hidden_size"), o.integer("epochs"), o.number("learning_rate"),
                    o.integer("per_device_train_batch_size"), o.number("weight_decay"), o.longValue("seed"), o.number("eval_fraction"), o.flag("include_prompt"));
        } catch (IllegalArgumentException e) {
            throw new CliException("discriminator: " + e.getMessage());
        }
        List<Discriminator.Example> expert = examples(Datasets.read(o.path("expert_dataset_name"), "train"));
        List<Discriminator.Example> policy = examples(Datasets.read(o.path("policy_dataset_name"), "train"));
        System.err.printf("discriminator: %d expert responses from %s, %d policy rollouts from %s%n", expert.size(), o.path("expert_dataset_name"),
                policy.size(), o.path("policy_dataset_name"));
        long t0 = System.nanoTime();
        try (MiniLmSentenceEncoder enc = new MiniLmSentenceEncoder(o.integer("encoder_batch_size"), 0)) {
            System.err.printf("discriminator: %s loaded in %.1f s%n", enc.name(), (System.nanoTime() - t0) / 1e9);
            Discriminator d = Discriminator.train(enc, expert, policy, cfg);
            Discriminator.Report r = d.report();
            System.err.printf("discriminator: embedded %d texts in %.1f s, trained the %s head in %.1f s; last-epoch loss %.4f%n",
                    expert.size() + policy.size(), r.embedSeconds(), cfg.head(), r.trainSeconds(), r.finalTrainLoss());
            d.save(out, o.flag("overwrite_output_dir"));
            System.out.println("discriminator: train " + line(r.train()));
            System.out.println(r.eval() == null ? "discriminator: no held-out split (eval_fraction 0)" : "discriminator: held-out " + line(r.eval()));
            System.out.println("discriminator: wrote " + out.resolve(Discriminator.CONFIG_FILE) + " and " + out.resolve(Discriminator.HEAD_FILE));
        }
    }

    private static String line(DiscriminatorMetrics m) {
        return String.format("accuracy %.4f, ROC-AUC %.4f (%d expert, %d policy; mean logit %.3f expert, %.3f policy)", m.accuracy(), m.rocAuc(),
                m.expert(), m.policy(), m.meanLogitExpert(), m.meanLogitPolicy());
    }

    static List<Discriminator.Example> examples(List<Row> rows) {
        List<Discriminator.Example> out = new ArrayList<>();
        for (Row r : rows) out.add(new Discriminator.Example(r.has("prompt") ? text(r, "prompt") : "", text(r, "completion")));
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
        throw new DatasetException(r.where() + ": field '" + field + "' must be a string or a list of {role, content} messages, found " + JsonRows.typeName(v));
    }
}
