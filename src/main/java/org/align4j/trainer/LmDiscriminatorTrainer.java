// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.aapa.DiscriminatorMetrics;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.aapa.HeldOut;
import org.align4j.aapa.LmDiscriminator;
import org.align4j.loss.BalancedBce;
import org.align4j.model.Checkpoints;
import org.align4j.model.ClassifierBatch;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains AAPA's discriminator of the causal-LM kind once, offline (arXiv 2509.25148; docs/aapa.md; the kind itself is
 * our choice): a small causal LM becomes a one-label sequence classifier ({@link RewardTrainer#rewardModel}: the
 * backbone plus a fresh {@code score.weight} (1, H)) and all of its weights learn expert (label 1) vs base-policy
 * rollout (label 0) with the class-balanced cross-entropy of {@link BalancedBce}. In order:
 * <ol>
 *   <li>each class is split on its own by {@link HeldOut#split}, as the sentence-encoder kind splits;
 *   <li>every example becomes the ids of prompt + response + EOS ({@link LmDiscriminator#encode}, which is how it is
 *       scored later); ids longer than max_length are dropped, with a printed count, as the reward command does;
 *   <li>the class weights n/(2·n_class) come from the training split;
 *   <li>{@link TrainLoop} runs AdamW over the training rows: a micro-batch of B sequences is one right-padded batch
 *       (ids (B, T)) whose logits z (B) are read at each row's last non-pad token ({@link ClassifierBatch#forward}), and
 *       it contributes Σ ℓᵢ / (rows of its accumulation window);
 *   <li>the held-out split is scored after every epoch and at the end;
 *   <li>the final classifier (float32, by TrainLoop), its tokenizer files and, last, {@code discriminator.json} with
 *       the settings and the final train / held-out metrics.
 * </ol>
 * Logged per step: {@code loss}, {@code accuracy} (z > 0 ⇔ expert), {@code mean_logit_expert},
 * {@code mean_logit_policy}; on the held-out split {@code eval_loss}, {@code eval_accuracy}, {@code eval_roc_auc},
 * {@code eval_mean_logit_expert}, {@code eval_mean_logit_policy}.
 */
public final class LmDiscriminatorTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(LmDiscriminatorTrainer.class);

    private LmDiscriminatorTrainer() {}

    /** One labelled sequence: the ids of prompt + response + EOS, and whether it is an expert response. */
    record Row(long[] ids, boolean expert) {}

    /**
     * What the discriminator command sets besides the shared training arguments.
     *
     * @param evalFraction share of each class held out (0 = none)
     * @param maxLength examples with more tokens are dropped
     */
    public record Settings(TrainingArgs args, double evalFraction, int maxLength) {
        public Settings {
            if (!(evalFraction >= 0 && evalFraction < 1))
                throw new IllegalArgumentException("eval_fraction must be in [0, 1), got " + evalFraction);
            if (maxLength < 2) throw new IllegalArgumentException("max_length must be >= 2, got " + maxLength);
        }
    }

    /** What the run did: examples given and dropped, class weights, final metrics (eval null without a held-out split). */
    public record Report(
            int expertExamples,
            int policyExamples,
            int dropped,
            BalancedBce.Weights weights,
            double finalTrainLoss,
            DiscriminatorMetrics train,
            DiscriminatorMetrics eval,
            double trainSeconds,
            TrainResult run) {}

    /** The trained discriminator (it owns the model and tokenizer) and its report. */
    public record Result(LmDiscriminator discriminator, Report report) implements AutoCloseable {
        @Override
        public void close() {
            discriminator.close();
        }
    }

    /**
     * Trains a discriminator from the causal LM (or one-label classifier) in {@code baseModel} and writes it to the
     * output folder of {@code s.args()}; a folder that already holds a discriminator is replaced only with
     * overwrite_output_dir.
     */
    public static Result train(
            Path baseModel,
            List<EncoderDiscriminator.Example> expert,
            List<EncoderDiscriminator.Example> policy,
            Settings s,
            Map<String, Object> resolvedConfig)
            throws IOException {
        if (expert.isEmpty() || policy.isEmpty())
            throw new IllegalArgumentException("training the discriminator needs expert and policy examples, got "
                    + expert.size() + " expert and " + policy.size() + " policy");
        prepareFolder(s.args());
        Tokenizer tok = Tokenizer.load(baseModel);
        Transformer model;
        try {
            model = RewardTrainer.loadRewardModel(baseModel, tok, s.args().seed(), "discriminator");
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
        LmDiscriminator d = LmDiscriminator.of(model, tok, s.args().perDeviceTrainBatchSize());
        try {
            return new Result(d, fit(d, model, tok.padTokenId(), baseModel, expert, policy, s, resolvedConfig));
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /**
     * An earlier discriminator in output_dir (of either kind) is refused, or with overwrite_output_dir its files are
     * removed (the training loop then replaces the model files; nothing else in the folder is touched).
     */
    private static void prepareFolder(TrainingArgs a) throws IOException {
        if (!Files.exists(a.outputDir().resolve(EncoderDiscriminator.CONFIG_FILE))) return;
        if (!a.overwriteOutputDir())
            throw new IOException("output_dir " + a.outputDir()
                    + " already holds a discriminator; pass --overwrite_output_dir true or choose another folder");
        for (String f : List.of(
                EncoderDiscriminator.CONFIG_FILE, EncoderDiscriminator.HEAD_FILE, EncoderDiscriminator.EXPERT_FILE))
            Files.deleteIfExists(a.outputDir().resolve(f));
    }

    private static Report fit(
            LmDiscriminator d,
            Transformer model,
            long padId,
            Path baseModel,
            List<EncoderDiscriminator.Example> expert,
            List<EncoderDiscriminator.Example> policy,
            Settings s,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainingArgs a = s.args();
        Random split = new Random(a.seed());
        List<List<EncoderDiscriminator.Example>> expertSplit = HeldOut.split(expert, s.evalFraction(), split, "expert");
        List<List<EncoderDiscriminator.Example>> policySplit = HeldOut.split(policy, s.evalFraction(), split, "policy");
        List<Row> trainAll = rows(d, expertSplit.get(0), policySplit.get(0)),
                evalAll = rows(d, expertSplit.get(1), policySplit.get(1));
        List<Row> train = withinMaxLength(trainAll, s.maxLength(), "training"),
                eval = withinMaxLength(evalAll, s.maxLength(), "held-out");
        int dropped = trainAll.size() - train.size() + evalAll.size() - eval.size();
        long trainExpert = train.stream().filter(Row::expert).count();
        if (dropped > 0 && (trainExpert == 0 || trainExpert == train.size()))
            throw new IllegalArgumentException("after dropping examples longer than max_length " + s.maxLength()
                    + ", the training split has " + trainExpert + " expert and " + (train.size() - trainExpert)
                    + " policy examples; raise max_length");
        BalancedBce.Weights w = BalancedBce.Weights.of(trainExpert, train.size() - trainExpert);
        int batch = a.perDeviceTrainBatchSize();
        TrainLoop.MicroBatch<Row> step = (mb, window, training) ->
                logged(model, mb, padId, w, window.size(), Pass.of(training, a.gradientCheckpointing()));
        int stepsPerEpoch = (int) Math.max(
                1, Math.ceilDiv(Math.ceilDiv((long) train.size(), batch), a.gradientAccumulationSteps()));
        TrainLoop.Evaluation evaluation = eval.isEmpty()
                ? null
                : new TrainLoop.Evaluation(stepsPerEpoch, done -> evalRow(score(model, eval, padId, batch, w)));
        long t0 = System.nanoTime();
        TrainResult run = TrainLoop.train(
                "discriminator",
                model,
                new TrainLoop.Rows<>(train, r -> r.ids().length, r -> r.ids().length),
                a,
                evaluation,
                resolvedConfig,
                step,
                false); // not split into parts (yet)
        double seconds = (System.nanoTime() - t0) / 1e9;
        Scored trainScores = score(model, train, padId, batch, w);
        DiscriminatorMetrics trainMetrics = trainScores.metrics(),
                evalMetrics =
                        eval.isEmpty()
                                ? null
                                : score(model, eval, padId, batch, w).metrics();
        Report report = new Report(
                expert.size(), policy.size(), dropped, w, trainScores.loss(), trainMetrics, evalMetrics, seconds, run);
        Checkpoints.copyTokenizerFilesForClassifier(baseModel, a.outputDir());
        LmDiscriminator.writeConfig(
                a.outputDir(),
                model.config(),
                baseModel.toString(),
                s.maxLength(),
                trainingJson(s, report),
                trainMetrics,
                evalMetrics);
        return report;
    }

    /** Expert rows first, then policy rows, each encoded as the discriminator reads it. */
    private static List<Row> rows(
            LmDiscriminator d, List<EncoderDiscriminator.Example> expert, List<EncoderDiscriminator.Example> policy) {
        List<Row> out = new ArrayList<>(expert.size() + policy.size());
        for (EncoderDiscriminator.Example e : expert) out.add(new Row(d.encode(e.prompt(), e.response()), true));
        for (EncoderDiscriminator.Example e : policy) out.add(new Row(d.encode(e.prompt(), e.response()), false));
        return out;
    }

    /** Drops (does not truncate) rows longer than max_length, as the reward command drops pairs, and says how many. */
    static List<Row> withinMaxLength(List<Row> rows, int maxLength, String split) {
        List<Row> kept = rows.stream().filter(r -> r.ids().length <= maxLength).toList();
        if (kept.size() < rows.size())
            LOG.warn(
                    "discriminator: dropped {} of {} {} examples longer than max_length {} tokens",
                    rows.size() - kept.size(),
                    rows.size(),
                    split,
                    maxLength);
        return kept;
    }

    /** One micro-batch through the loss: what a training step (or nothing, without a graph) logs. */
    private static StepSums logged(
            Transformer model, List<Row> mb, long padId, BalancedBce.Weights w, int windowRows, Pass mode) {
        boolean[] y = labels(mb);
        ClassifierBatch.Forward f =
                ClassifierBatch.forward(model, ids(mb), padId, mode, z -> BalancedBce.windowShare(z, y, w, windowRows));
        double correct = 0, sumExpert = 0, sumPolicy = 0, nExpert = 0;
        for (int i = 0; i < y.length; i++) {
            float z = f.scores()[i];
            if ((z > 0) == y[i]) correct++;
            if (y[i]) {
                sumExpert += z;
                nExpert++;
            } else sumPolicy += z;
        }
        return StepSums.empty()
                .withLoss(f.loss())
                .count("rows", y.length)
                .count("expert_rows", nExpert)
                .count("policy_rows", y.length - nExpert)
                .add("accuracy", correct, "rows")
                .add("mean_logit_expert", sumExpert, "expert_rows")
                .add("mean_logit_policy", sumPolicy, "policy_rows");
    }

    /** Logits of a whole set (no graph) with its labels and its mean class-weighted loss. */
    record Scored(double[] logits, boolean[] expert, double loss) {
        DiscriminatorMetrics metrics() {
            return DiscriminatorMetrics.of(logits, expert);
        }
    }

    /** Scores {@code rows} in batches of {@code batch} exactly as a training micro-batch does, without a graph. */
    static Scored score(Transformer model, List<Row> rows, long padId, int batch, BalancedBce.Weights w) {
        double[] z = new double[rows.size()];
        double loss = 0;
        for (int from = 0; from < rows.size(); from += batch) {
            List<Row> mb = rows.subList(from, Math.min(rows.size(), from + batch));
            boolean[] y = labels(mb);
            ClassifierBatch.Forward f = ClassifierBatch.forward(
                    model, ids(mb), padId, Pass.NO_GRAD, t -> BalancedBce.windowShare(t, y, w, rows.size()));
            loss += f.loss();
            for (int i = 0; i < mb.size(); i++) z[from + i] = f.scores()[i];
        }
        return new Scored(z, labels(rows), loss);
    }

    /** The held-out metrics, logged with the eval_ prefix. */
    private static Map<String, Double> evalRow(Scored s) {
        DiscriminatorMetrics m = s.metrics();
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("loss", s.loss());
        row.put("accuracy", m.accuracy());
        row.put("roc_auc", m.rocAuc());
        row.put("mean_logit_expert", m.meanLogitExpert());
        row.put("mean_logit_policy", m.meanLogitPolicy());
        return row;
    }

    private static boolean[] labels(List<Row> rows) {
        boolean[] y = new boolean[rows.size()];
        for (int i = 0; i < y.length; i++) y[i] = rows.get(i).expert();
        return y;
    }

    private static List<long[]> ids(List<Row> rows) {
        return rows.stream().map(Row::ids).toList();
    }

    /** The "training" section of discriminator.json; names shared with the sentence-encoder kind where they mean the same. */
    private static Map<String, Object> trainingJson(Settings s, Report r) {
        TrainingArgs a = s.args();
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("loss", "class-balanced binary cross-entropy with logits (BalancedBce), label 1 = expert");
        t.put(
                "optimizer",
                "AdamW (libtorch), betas (0.9, 0.999), eps 1e-8, weight decay on all but biases and norms, "
                        + a.lrSchedulerType() + " schedule, max_grad_norm " + a.maxGradNorm());
        t.put("epochs", a.numTrainEpochs());
        t.put("learning_rate", a.learningRate());
        t.put("batch_size", a.perDeviceTrainBatchSize());
        t.put("gradient_accumulation_steps", a.gradientAccumulationSteps());
        t.put("weight_decay", a.weightDecay());
        t.put("seed", a.seed());
        t.put("eval_fraction", s.evalFraction());
        t.put("max_length", s.maxLength());
        t.put("optimizer_steps", r.run().globalStep());
        t.put("expert_examples", r.expertExamples());
        t.put("policy_examples", r.policyExamples());
        t.put("dropped_longer_than_max_length", r.dropped());
        t.put("class_weight_expert", r.weights().expert());
        t.put("class_weight_policy", r.weights().policy());
        t.put("final_train_loss", Double.isFinite(r.finalTrainLoss()) ? r.finalTrainLoss() : null);
        t.put("train_seconds", r.trainSeconds());
        return t;
    }
}
