// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows.Row;
import org.align4j.loss.Calibration;
import org.align4j.loss.ScpoWeighting;
import org.align4j.model.Checkpoints;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardModelReward;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.RewardConfig;
import org.align4j.trainer.RewardPairs;
import org.align4j.trainer.RewardTrainer;
import org.align4j.trainer.ScpoConfig;
import org.align4j.trainer.TrainResult;

/**
 * {@code reward}: a Bradley-Terry reward model with TRL's RewardConfig keys. Rows are preference
 * pairs: {@code chosen} and {@code rejected} (strings, or message lists rendered with the chat
 * template), an optional {@code prompt} of the same kind put in front of both (TRL's explicit
 * prompt), and an optional numeric {@code margin} (all rows or none). A causal-LM checkpoint
 * becomes a *ForSequenceClassification with a fresh one-output score head; the final model in
 * output_dir loads in transformers as that class. Evaluation reads a separate file,
 * {@code eval_dataset_name}, of the same shape.
 *
 * <p>SCPO (Steerable Cultural Preference Optimization of reward models; {@link org.align4j.loss.ScpoWeighting}):
 * {@code scpo_global_reward_model} names a frozen reward-model folder that scores every pair first (each row encoded
 * with that model's own tokenizer, as this command encodes rows); training then keeps the pairs with
 * sigma(r+ - r-) < {@code scpo_tau} and weights each by {@code scpo_weighting}, and evaluation adds
 * {@code eval_filtered_accuracy}. {@code scpo_group_column} trains one reward model per value of that column (the
 * paper's one model per country), each into {@code output_dir/group-<value>/} ({@link RewardGroups}).
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
            of("per_device_eval_batch_size", Type.INT, 8, "pairs scored together during evaluation"),
            of(
                    "scpo_global_reward_model",
                    Type.PATH,
                    null,
                    "SCPO: a frozen reward-model folder whose rewards r+, r- filter and weight the pairs (default: off)"),
            of(
                    "scpo_weighting",
                    Type.STRING,
                    ScpoConfig.defaults().weighting().key,
                    "scpo: w = min(exp((r+ - r-)/scpo_beta), 1); inverse: the ablation's w = max(exp(r- - r+), 1); none: w = 1"),
            of("scpo_beta", Type.DOUBLE, ScpoConfig.defaults().beta(), "SCPO's weighting temperature (> 0)"),
            of(
                    "scpo_tau",
                    Type.DOUBLE,
                    ScpoConfig.defaults().tau(),
                    "train only on pairs with sigma(r+ - r-) < scpo_tau under the global model; 1 keeps every pair"),
            of(
                    "scpo_group_column",
                    Type.STRING,
                    null,
                    "train one reward model per value of this row field (e.g. country), into output_dir/group-<value>/"),
            of(
                    "scpo_train_global",
                    Type.BOOLEAN,
                    false,
                    "with scpo_group_column: also train one model on the pairs of every group, into output_dir/global/"));

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
                RewardConfig.DROP,
                scpo(o));
        String groupColumn = o.has("scpo_group_column") ? o.string("scpo_group_column") : null;
        if (o.flag("scpo_train_global") && groupColumn == null)
            throw new CliException(
                    "reward: scpo_train_global needs scpo_group_column (the global model is trained"
                            + " beside the per-group ones); without groups the one model in output_dir is already trained on every pair");
        List<Row> rows = Datasets.read(o.path("dataset_name"), o.string("dataset_train_split"));
        TrainingOptions.EvalSource evalSource = TrainingOptions.evalSource(o);
        List<Row> evalRows = evalSource == null ? List.of() : Datasets.read(evalSource.fileOrDir(), evalSource.split());
        ModelSource source;
        try {
            source = ModelSource.resolve(
                    o.path("model_name_or_path").toString(),
                    o.has("model_revision") ? o.string("model_revision") : null);
        } catch (IOException e) {
            throw new CliException("reward: " + e.getMessage());
        }
        try (Tokenizer tok = Tokenizer.load(source.tokenizerDir())) {
            List<RewardTrainer.Pair> train = pairs(tok, rows), eval = evalRows.isEmpty() ? null : pairs(tok, evalRows);
            System.err.printf(
                    "reward: %d pairs from %s%s%n",
                    train.size(),
                    o.path("dataset_name"),
                    eval == null ? "" : ", " + eval.size() + " eval pairs from " + evalSource.fileOrDir());
            if (cfg.scpo() != null) { // scored once, then freed before any training starts
                Path dir = o.path("scpo_global_reward_model");
                try (RewardModelReward global = RewardModelReward.load(dir, cfg.perDeviceEvalBatchSize())) {
                    train = withGlobalRewards(global, rows, train, cfg.maxLength());
                    if (eval != null) eval = withGlobalRewards(global, evalRows, eval, cfg.maxLength());
                }
                System.err.printf("reward: every pair scored by the global reward model %s%n", dir);
            }
            if (groupColumn != null) {
                RewardGroups.train(
                        source, tok, new RewardGroups.Split(rows, train, evalRows, eval), groupColumn, cfg, o);
                return;
            }
            trainOne(source, tok, train, eval, cfg, o.longValue("seed"), o.resolved());
        }
    }

    /**
     * One reward model from {@code source} (an adapter folder merged into its base; its score head, if new, drawn from {@code seed}) trained on {@code train}
     * into cfg's output_dir, with its tokenizer files; {@code resolved} is what training_args.json records.
     */
    static TrainResult trainOne(
            ModelSource source,
            Tokenizer tok,
            List<RewardTrainer.Pair> train,
            List<RewardTrainer.Pair> eval,
            RewardConfig cfg,
            long seed,
            Map<String, Object> resolved)
            throws IOException {
        try (Transformer base = source.loadMerged();
                Transformer model = RewardTrainer.loadRewardModel(base, source.asGiven(), tok, seed, "reward")) {
            TrainResult r = RewardTrainer.train(model, train, eval, cfg, tok.padTokenId(), resolved);
            // what transformers' tokenizer.save_pretrained writes beside a sequence classifier (no generation_config)
            Checkpoints.copyTokenizerFilesForClassifier(
                    source.tokenizerDir(), cfg.args().outputDir());
            System.err.println("reward: final model ("
                    + model.config().raw().path("architectures").path(0).asText() + ") in "
                    + cfg.args().outputDir());
            return r;
        }
    }

    /** SCPO's settings, or null when no scpo_global_reward_model is given (then no other scpo_ key may be set). */
    private static ScpoConfig scpo(Options o) {
        if (!o.has("scpo_global_reward_model")) {
            for (String k : List.of("scpo_weighting", "scpo_beta", "scpo_tau"))
                if (o.given(k))
                    throw new CliException(
                            "reward: " + k
                                    + " needs scpo_global_reward_model (the frozen reward model whose rewards filter and weight the pairs)");
            return null;
        }
        Path dir = o.path("scpo_global_reward_model");
        if (!Files.isDirectory(dir))
            throw new CliException("reward: scpo_global_reward_model " + dir
                    + " is not a directory (a reward-model folder: config.json, weights, tokenizer)");
        try {
            return new ScpoConfig(
                    ScpoWeighting.Weighting.of(o.string("scpo_weighting")),
                    o.number("scpo_beta"),
                    o.number("scpo_tau"));
        } catch (IllegalArgumentException e) {
            throw new CliException("reward: " + e.getMessage());
        }
    }

    /**
     * SCPO's global rewards: each row encoded with the global model's own tokenizer ({@link #pair}) and scored by it
     * without gradients, per_device_eval_batch_size sequences at a time. Pairs the trained model's tokenization puts
     * over {@code maxLength} are left unscored: the trainer drops them first (the global model never needs them).
     */
    static List<RewardTrainer.Pair> withGlobalRewards(
            RewardModelReward global, List<Row> rows, List<RewardTrainer.Pair> pairs, int maxLength) {
        List<Integer> scored = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++)
            if (pairs.get(i).chosen().length <= maxLength && pairs.get(i).rejected().length <= maxLength) scored.add(i);
        List<long[]> seqs = new ArrayList<>(2 * scored.size());
        for (int i : scored) {
            RewardTrainer.Pair g = pair(global.tokenizer(), rows.get(i));
            seqs.add(g.chosen());
            seqs.add(g.rejected());
        }
        float[] r = global.scoreIds(seqs); // chosen, rejected, chosen, ...
        List<RewardTrainer.Pair> out = new ArrayList<>(pairs);
        for (int k = 0; k < scored.size(); k++) {
            int i = scored.get(k);
            out.set(i, pairs.get(i).withGlobal(r[2 * k], r[2 * k + 1]));
        }
        return out;
    }

    /** Every row as a reward pair, TRL's RewardTrainer tokenization ({@link RewardPairs#encode(Tokenizer, List)}). */
    static List<RewardTrainer.Pair> pairs(Tokenizer tok, List<Row> rows) {
        return RewardPairs.encode(tok, rows);
    }

    /** One row as a reward pair ({@link RewardPairs#encode(Tokenizer, Row)}). */
    static RewardTrainer.Pair pair(Tokenizer tok, Row r) {
        return RewardPairs.encode(tok, r);
    }
}
