// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

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
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Messages;
import org.align4j.loss.Calibration;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.RewardConfig;
import org.align4j.trainer.RewardTrainer;

/**
 * {@code reward}: a Bradley-Terry reward model with TRL's RewardConfig keys. Rows are preference
 * pairs: {@code chosen} and {@code rejected} (strings, or message lists rendered with the chat
 * template), an optional {@code prompt} of the same kind put in front of both (TRL's explicit
 * prompt), and an optional numeric {@code margin} (all rows or none). A causal-LM checkpoint
 * becomes a *ForSequenceClassification with a fresh one-output score head; the final model in
 * output_dir loads in transformers as that class. Evaluation reads a separate file,
 * {@code eval_dataset_name}, of the same shape.
 */
final class RewardCommand {
    static final List<Spec> SPECS = TrainingOptions.specs(
            RewardConfig.DEFAULT_LEARNING_RATE,
            "local .jsonl/.json with chosen and rejected (optional prompt, margin) rows",
            of(
                    "max_length",
                    Type.INT,
                    1024,
                    "drop pairs whose chosen or rejected sequence is longer (TRL filters, it does not truncate)"),
            of(
                    "center_rewards_coefficient",
                    Type.DOUBLE,
                    null,
                    "weight of mean((r_chosen + r_rejected)^2), e.g. 0.01 (default: off)"),
            of("disable_dropout", Type.BOOLEAN, true, "the transformer has no dropout; false is not supported"),
            of("per_device_eval_batch_size", Type.INT, 8, "pairs scored together during evaluation"));

    private RewardCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("reward", SPECS, args);
        if (o.flag("use_peft"))
            throw new CliException(
                    "reward: use_peft is not supported for reward models yet (the score head would have to be saved beside the "
                            + "adapters, PEFT's modules_to_save); drop --use_peft to train all weights");
        if (!o.flag("disable_dropout"))
            throw new CliException(
                    "reward: disable_dropout=false is not supported: align4j's transformer has no dropout layers");
        RewardConfig cfg = new RewardConfig(
                TrainingOptions.parse(o),
                o.has("center_rewards_coefficient") ? o.number("center_rewards_coefficient") : 0.0,
                o.integer("max_length"),
                TrainingOptions.evalSteps(o),
                o.integer("per_device_eval_batch_size"),
                Calibration.DEFAULT_BINS,
                RewardConfig.DROP);
        List<Row> rows = Datasets.read(o.path("dataset_name"), o.string("dataset_train_split"));
        List<Row> evalRows = o.has("eval_dataset_name")
                ? Datasets.read(o.path("eval_dataset_name"), o.string("dataset_test_split"))
                : List.of();
        Path modelDir = o.path("model_name_or_path");
        if (!Files.isDirectory(modelDir))
            throw new CliException("model_name_or_path " + modelDir
                    + " is not a directory (a Hugging Face model folder; no hub downloads)");
        try (Tokenizer tok = Tokenizer.load(modelDir);
                Transformer model = RewardTrainer.loadRewardModel(modelDir, tok, o.longValue("seed"), "reward")) {
            List<RewardTrainer.Pair> train = pairs(tok, rows), eval = evalRows.isEmpty() ? null : pairs(tok, evalRows);
            System.err.printf(
                    "reward: %d pairs from %s%s%n",
                    train.size(),
                    o.path("dataset_name"),
                    eval == null ? "" : ", " + eval.size() + " eval pairs from " + o.path("eval_dataset_name"));
            RewardTrainer.train(model, train, eval, cfg, tok.padTokenId(), o.resolved());
            // what transformers' tokenizer.save_pretrained writes beside a sequence classifier (no generation_config)
            Checkpoints.copyTokenizerFilesForClassifier(modelDir, cfg.args().outputDir());
            System.err.println("reward: final model ("
                    + model.config().raw().path("architectures").path(0).asText() + ") in "
                    + cfg.args().outputDir());
        }
    }

    static List<RewardTrainer.Pair> pairs(Tokenizer tok, List<Row> rows) {
        if (rows.isEmpty()) throw new DatasetException("the dataset has no rows");
        boolean margins = rows.get(0).json().has("margin");
        List<RewardTrainer.Pair> out = new ArrayList<>();
        for (Row r : rows) {
            if (r.json().has("margin") != margins)
                throw new DatasetException(r.where() + ": "
                        + (margins
                                ? "no 'margin' field, but the first row has one"
                                : "a 'margin' field, but the first row has none")
                        + "; give every row a margin or none");
            out.add(pair(tok, r));
        }
        return out;
    }

    /**
     * TRL's RewardTrainer tokenization: the prompt (if any) is put in front of each response and
     * the whole sequence is tokenized. Plain strings get the EOS token appended unless they end
     * with it and are encoded as the tokenizer encodes (its BOS, if any); message lists are
     * rendered with the chat template (no generation prompt) and encoded without extra special
     * tokens. (Pairs for DPO-style methods are tokenized apart instead, by data.Encoder.)
     */
    static RewardTrainer.Pair pair(Tokenizer tok, Row r) {
        JsonNode chosen = r.require("chosen"),
                rejected = r.require("rejected"),
                prompt = r.json().get("prompt");
        if (prompt != null && prompt.isNull()) prompt = null;
        float margin = 0f;
        if (r.json().has("margin")) {
            JsonNode m = r.json().get("margin");
            if (!m.isNumber()) throw new DatasetException(r.where() + ": field 'margin' must be a number, got " + m);
            margin = m.floatValue();
        }
        if (chosen.isTextual() && rejected.isTextual() && (prompt == null || prompt.isTextual())) {
            String p = prompt == null ? "" : prompt.asText();
            return new RewardTrainer.Pair(
                    encodeText(tok, p + chosen.asText()), encodeText(tok, p + rejected.asText()), margin);
        }
        if (chosen.isArray() && rejected.isArray() && (prompt == null || prompt.isArray())) {
            List<Map<String, Object>> p = prompt == null ? List.of() : Messages.of(prompt, r, "prompt");
            return new RewardTrainer.Pair(
                    encodeChat(tok, p, Messages.of(chosen, r, "chosen")),
                    encodeChat(tok, p, Messages.of(rejected, r, "rejected")),
                    margin);
        }
        throw new DatasetException(
                r.where()
                        + ": 'chosen', 'rejected' (and 'prompt' when present) must all be strings or all be lists of {role, content} messages");
    }

    private static long[] encodeText(Tokenizer tok, String text) {
        Object e = tok.specialTokens().get("eos_token");
        String eos = e instanceof String s ? s : tok.decode(new long[] {tok.eosTokenId()}, false);
        return tok.encode(text.endsWith(eos) ? text : text + eos);
    }

    private static long[] encodeChat(
            Tokenizer tok, List<Map<String, Object>> prompt, List<Map<String, Object>> response) {
        List<Map<String, Object>> all = new ArrayList<>(prompt);
        all.addAll(response);
        return tok.encodeNoSpecial(tok.applyChatTemplate(all, false, Map.of()));
    }
}
