// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.loss.BradleyTerryLoss;
import org.align4j.loss.Calibration;
import org.align4j.loss.ScpoWeighting;
import org.align4j.model.ClassifierBatch;
import org.align4j.model.Lora;
import org.align4j.model.ModelConfig;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reward modelling (TRL's RewardTrainer, trl/trainer/reward_trainer.py): a sequence classifier
 * with one output ({@code *ForSequenceClassification}, {@code score.weight} (1, H)) learns a
 * scalar reward r(x, y) from preference pairs with the Bradley-Terry loss of
 * {@link BradleyTerryLoss} (optional per-pair margin and reward centering).
 *
 * <p>Each micro-batch scores chosen and rejected sequences in one right-padded batch of 2B rows
 * (chosen first, as TRL's DataCollatorForPreference lays them out); the reward is read at each
 * row's last token that is not {@code pad_token_id}, exactly as transformers'
 * *ForSequenceClassification pools, so the saved model scores the same in transformers. The loss
 * of an optimizer step is the sum of its per-pair losses over the pairs of the whole accumulation
 * window, so 1 micro-batch of 8 and 8 micro-batches of 1 give the same update.
 *
 * <p>Logged under TRL's names: {@code loss}, {@code learning_rate}, {@code grad_norm},
 * {@code epoch}, {@code num_tokens} (chosen + rejected tokens so far), {@code accuracy},
 * {@code margin}, {@code min_reward}, {@code mean_reward}, {@code max_reward} (each the mean over
 * the micro-batches since the last log, as TRL averages them); with an eval set, a row of
 * {@code eval_loss}, {@code eval_accuracy}, {@code eval_margin}, {@code eval_*_reward} (over the
 * whole eval set) and {@code eval_ece} (see {@link Calibration}) every eval_steps and at the end.
 *
 * <p>With SCPO ({@link RewardConfig#scpo}, {@link ScpoConfig}) every pair carries the rewards of a frozen global reward
 * model; training keeps only the pairs that pass SCPO's filter and multiplies each pair's Bradley-Terry term by its
 * weight (the loss of a window is still sum_i w_i l_i / window pairs), evaluation weights {@code eval_loss} the same
 * way (the code's eval set carries the same weights, preferences.py:475-494) and adds {@code eval_filtered_accuracy},
 * the accuracy on the eval pairs the global model ranks wrong (the paper's filtered test set).
 */
public final class RewardTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(RewardTrainer.class);
    /**
     * One preference pair as full token sequences (prompt + chosen, prompt + rejected, each with
     * its EOS), TRL's optional {@code margin} (0 when the data has none) and, for SCPO, the frozen
     * global reward model's rewards of the same pair ({@code global}, null when there is none).
     */
    public record Pair(long[] chosen, long[] rejected, float margin, Global global) {
        public Pair {
            if (chosen.length == 0 || rejected.length == 0)
                throw new IllegalArgumentException("a preference pair needs non-empty chosen and rejected sequences");
            if (!Float.isFinite(margin)) throw new IllegalArgumentException("margin must be finite, got " + margin);
        }

        public Pair(long[] chosen, long[] rejected, float margin) {
            this(chosen, rejected, margin, null);
        }

        public Pair(long[] chosen, long[] rejected) {
            this(chosen, rejected, 0f);
        }

        /** This pair with the global reward model's rewards r+ = {@code chosen}, r- = {@code rejected}. */
        public Pair withGlobal(float chosen, float rejected) {
            return new Pair(this.chosen, this.rejected, margin, new Global(chosen, rejected));
        }
    }

    /** The frozen global reward model's rewards of a pair: r+ of the chosen and r- of the rejected sequence (SCPO). */
    public record Global(float chosen, float rejected) {
        public Global {
            if (!Float.isFinite(chosen) || !Float.isFinite(rejected))
                throw new IllegalArgumentException(
                        "the global reward model's rewards must be finite, got " + chosen + " and " + rejected);
        }
    }

    /** What a run did: the logged rows (train and eval), in order. */

    /** One micro-batch's rewards (chosen[i] and rejected[i] belong to pair i), its loss contribution and real tokens. */
    record Scored(float[] chosen, float[] rejected, double loss, long tokens) {
        /** The parts of one micro-batch as one: their rewards in part order, their losses and tokens added. */
        static Scored join(List<Scored> parts) {
            float[] chosen = new float[0], rejected = new float[0];
            double loss = 0;
            long tokens = 0;
            for (Scored p : parts) {
                chosen = concat(chosen, p.chosen);
                rejected = concat(rejected, p.rejected);
                loss += p.loss;
                tokens += p.tokens;
            }
            return new Scored(chosen, rejected, loss, tokens);
        }

        private static float[] concat(float[] a, float[] b) {
            float[] out = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, out, a.length, b.length);
            return out;
        }
    }

    static final String LORA_UNSUPPORTED =
            "use_peft (LoRA) is not supported for reward models yet: the score head must be trained and saved "
                    + "beside the adapters (PEFT's modules_to_save), which align4j's adapter files do not hold; train all weights (use_peft false)";

    /** transformers' class for each model_type. */
    private static final Map<String, String> CLASSIFIERS = Map.of(
            "llama",
            "LlamaForSequenceClassification",
            "qwen2",
            "Qwen2ForSequenceClassification",
            "qwen3",
            "Qwen3ForSequenceClassification");

    private RewardTrainer() {}

    /**
     * The reward model to train from {@code source}, as TRL builds it with
     * {@code AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)}: a causal LM
     * keeps its backbone, drops its LM head and gains a fresh {@code score.weight} (1, H) ~
     * N(0, initializer_range) drawn from {@code seed}, with {@code architectures} set to the
     * family's *ForSequenceClassification and {@code id2label} to one label; a one-label
     * classifier is kept as it is. Either way {@code pad_token_id} becomes {@code padId}, which
     * is where transformers stops reading when it pools, and {@code torch_dtype} float32 (TRL's
     * default load dtype, so the final model is saved in float32 as TRL saves it). Returns a new
     * model holding copies of the weights; {@code source} is unchanged and still owned by the caller.
     */
    public static Transformer rewardModel(Transformer source, long padId, long seed) {
        ModelConfig c = source.config();
        if (Lora.attached(source))
            throw new IllegalArgumentException(
                    "the model has LoRA adapters; build the reward model from the plain base (merge the adapters first)");
        if (c.isSequenceClassification() && c.numLabels() != 1)
            throw new IllegalArgumentException("the model has num_labels=" + c.numLabels()
                    + ", but a reward model outputs one scalar (num_labels=1); "
                    + "start from a causal LM or a one-label classifier");
        ObjectNode raw = c.raw().deepCopy();
        if (!c.isSequenceClassification()) {
            raw.putArray("architectures").add(CLASSIFIERS.get(c.modelType()));
            raw.putObject("id2label").put("0", "LABEL_0");
            raw.putObject("label2id").put("LABEL_0", 0);
            raw.remove("num_labels");
        }
        if (padId < 0 || padId >= c.vocabSize())
            throw new IllegalArgumentException(
                    "pad id " + padId + " is outside the vocabulary (vocab_size " + c.vocabSize() + ")");
        raw.put("pad_token_id", (int) padId);
        // TRL loads the model in float32 unless told otherwise, trains and saves it so
        raw.put("torch_dtype", "float32");
        if (raw.has("dtype")) raw.put("dtype", "float32");
        ModelConfig rc = ModelConfig.fromJson(raw, "reward model config");
        double std = raw.path("initializer_range").asDouble(0.02);
        LinkedHashMap<String, Tensor> params = new LinkedHashMap<>();
        org.bytedeco.pytorch.Generator gen = torch.createCPUGenerator(seed);
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            for (var e : Transformer.expectedShapes(rc).entrySet()) {
                Tensor from = source.parameters().get(e.getKey());
                Tensor t;
                if (from != null) t = from.detach().clone();
                else if (e.getKey().equals("score.weight"))
                    t = torch.randn(e.getValue(), new GeneratorOptional(gen), new TensorOptions(torch.ScalarType.Float))
                            .mul(Tensors.scalar(std));
                else throw new IllegalStateException("bug: the source model has no " + e.getKey());
                params.put(e.getKey(), Tensors.keep(s, t));
            }
        } catch (RuntimeException ex) {
            for (Tensor t : params.values()) t.close();
            throw ex;
        } finally {
            gen.close();
        }
        return new Transformer(rc, params);
    }

    /**
     * The checkpoint in {@code dir} as a reward model ({@link #rewardModel} with {@code tok}'s pad id); a causal LM's
     * weights are freed once converted. {@code command} prefixes the note printed for a causal LM.
     */
    public static Transformer loadRewardModel(Path dir, org.align4j.tokenizer.Tokenizer tok, long seed, String command)
            throws IOException {
        try (Transformer source = org.align4j.model.Checkpoints.load(dir)) {
            return loadRewardModel(source, dir.toString(), tok, seed, command);
        }
    }

    /** {@link #loadRewardModel(Path, org.align4j.tokenizer.Tokenizer, long, String)} from a loaded model, named {@code dir}. */
    public static Transformer loadRewardModel(
            Transformer source, String dir, org.align4j.tokenizer.Tokenizer tok, long seed, String command) {
        {
            if (tok.vocabSize() > source.config().vocabSize())
                throw new IllegalArgumentException(
                        dir + ": the tokenizer has " + tok.vocabSize() + " tokens but the model's vocab_size is "
                                + source.config().vocabSize() + "; this tokenizer does not belong to this model");
            if (!source.config().isSequenceClassification())
                LOG.info(
                        "{}: {} is a causal LM; training a fresh score head (num_labels 1) on its backbone",
                        command,
                        dir);
            return rewardModel(source, tok.padTokenId(), seed);
        }
    }

    public static TrainResult train(
            Transformer model,
            List<Pair> train,
            List<Pair> eval,
            RewardConfig rc,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainingArgs cfg = rc.args();
        checkRewardModel(model, padId);
        if (Lora.attached(model)) throw new IllegalArgumentException(LORA_UNSUPPORTED);
        List<Pair> data = fitToMaxLength(train, rc, "train");
        List<Pair> evalData = eval == null ? List.of() : fitToMaxLength(eval, rc, "eval");
        if (rc.scpo() != null) data = scpoTrainSet(data, evalData, rc.scpo());
        TrainLoop.MicroBatch<Pair> step = (mb, window, training) ->
                loggedMicroBatch(model, mb, padId, window.size(), rc, RowParallel.parts(model, mb.size()));
        TrainLoop.Evaluation evaluation = evalData.isEmpty()
                ? null
                : new TrainLoop.Evaluation(rc.evalInterval(), done -> evaluate(model, evalData, rc, padId));
        return TrainLoop.train(
                "reward",
                model,
                new TrainLoop.Rows<>(data, RewardTrainer::tokens, RewardTrainer::tokens),
                cfg,
                evaluation,
                resolvedConfig,
                step,
                false); // the step splits itself and logs the joined scores
    }

    private static long tokens(Pair p) {
        return p.chosen().length + p.rejected().length;
    }

    /**
     * SCPO's training pairs: those of {@code train} that pass the filter, in order; every pair of both sets must carry
     * global rewards and a finite weight. Reports what the filter kept, the mean weight, and on the eval set the global
     * model's accuracy and the size of the filtered test set.
     */
    static List<Pair> scpoTrainSet(List<Pair> train, List<Pair> eval, ScpoConfig scpo) {
        requireGlobal(train, "train");
        requireGlobal(eval, "eval");
        List<Pair> kept = train.stream().filter(p -> scpo.keeps(p.global())).toList();
        if (kept.isEmpty())
            throw new IllegalArgumentException("scpo: the global reward model ranks every one of the " + train.size()
                    + " train pairs with sigma(r+ - r-) >= scpo_tau " + scpo.tau()
                    + ", so the filter keeps none; raise scpo_tau (1 keeps every pair)");
        requireFiniteWeights(kept, "train", scpo);
        requireFiniteWeights(eval, "eval", scpo);
        double weights = 0;
        for (Pair p : kept) weights += scpo.weight(p.global());
        LOG.info(String.format(
                java.util.Locale.ROOT,
                "reward: scpo kept %d of %d train pairs (sigma(r+ - r-) < %s under the global reward model), mean %s weight %.4f",
                kept.size(),
                train.size(),
                scpo.tau(),
                scpo.weighting().key,
                weights / kept.size()));
        if (!eval.isEmpty()) {
            long filtered =
                    eval.stream().filter(RewardTrainer::inFilteredTestSet).count();
            long right = eval.stream()
                    .filter(p -> p.global().chosen() > p.global().rejected())
                    .count();
            LOG.info(String.format(
                    java.util.Locale.ROOT,
                    "reward: scpo eval: the global reward model's accuracy is %.4f; %d of %d eval pairs form the filtered test set (r+ < r-)%s",
                    (double) right / eval.size(),
                    filtered,
                    eval.size(),
                    filtered == 0 ? ", so eval_filtered_accuracy is not logged" : ""));
        }
        return kept;
    }

    private static void requireGlobal(List<Pair> pairs, String split) {
        for (int i = 0; i < pairs.size(); i++)
            if (pairs.get(i).global() == null)
                throw new IllegalArgumentException("scpo: " + split + " pair " + i
                        + " has no global reward model rewards; score every pair with the global model first");
    }

    /** The inverse weight exp(r- - r+) passes float32's range once r- - r+ > 88.7: refused rather than an inf loss. */
    private static void requireFiniteWeights(List<Pair> pairs, String split, ScpoConfig scpo) {
        for (Pair p : pairs) {
            double w = scpo.weight(p.global());
            if (!Float.isFinite((float) w))
                throw new IllegalArgumentException("scpo: a " + split + " pair has global rewards r+ = "
                        + p.global().chosen() + ", r- = " + p.global().rejected() + ", whose "
                        + scpo.weighting().key + " weight " + w + " overflows float32");
        }
    }

    private static boolean inFilteredTestSet(Pair p) {
        return ScpoWeighting.inFilteredTestSet(p.global().chosen(), p.global().rejected());
    }

    /**
     * Eval metrics over {@code pairs} without gradients: {@code eval_loss} (mean per-pair loss,
     * margin, centering and SCPO's weights included), {@code eval_accuracy}, {@code eval_margin},
     * {@code eval_min_reward}, {@code eval_mean_reward}, {@code eval_max_reward} and
     * {@code eval_ece}, each over the whole set.
     */
    public static Map<String, Double> evaluate(Transformer model, List<Pair> pairs, RewardConfig rc, long padId) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("the eval set is empty");
        if (rc.scpo() != null) requireGlobal(pairs, "eval");
        int n = pairs.size();
        float[] chosen = new float[n], rejected = new float[n];
        double lossSum = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < n; i += rc.perDeviceEvalBatchSize()) {
                List<Pair> mb = pairs.subList(i, Math.min(n, i + rc.perDeviceEvalBatchSize()));
                Scored s = score(
                        model,
                        mb,
                        padId,
                        1,
                        rc.centerRewardsCoefficient(),
                        rc.scpo(),
                        Pass.NO_GRAD); // window 1: the summed loss
                lossSum += s.loss();
                System.arraycopy(s.chosen(), 0, chosen, i, mb.size());
                System.arraycopy(s.rejected(), 0, rejected, i, mb.size());
            }
        }
        BradleyTerryLoss.Metrics m = BradleyTerryLoss.metrics(chosen, rejected);
        double[] diff = new double[n];
        for (int i = 0; i < n; i++) diff[i] = (double) chosen[i] - rejected[i];
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("eval_loss", lossSum / n);
        row.put("eval_accuracy", m.accuracy());
        row.put("eval_margin", m.margin());
        row.put("eval_min_reward", m.minReward());
        row.put("eval_mean_reward", m.meanReward());
        row.put("eval_max_reward", m.maxReward());
        row.put("eval_ece", Calibration.expectedCalibrationError(diff, rc.eceBins()));
        if (rc.scpo() != null) {
            // the paper's filtered test set: the pairs the global model ranks wrong (absent when there are none)
            int filtered = 0, correct = 0;
            for (int i = 0; i < n; i++)
                if (inFilteredTestSet(pairs.get(i))) {
                    filtered++;
                    if (chosen[i] > rejected[i]) correct++; // strict, as the code counts (preferences.py:576)
                }
            if (filtered > 0) row.put("eval_filtered_accuracy", (double) correct / filtered);
        }
        return row;
    }

    /**
     * Forward and backward of one micro-batch: the loss is sum_i loss_i / windowPairs, so the
     * micro-batches of a window add up to the window's mean. Gradients accumulate into the
     * parameters; returns the rewards and the loss contribution.
     */
    static Scored microBatch(
            Transformer model,
            List<Pair> mb,
            long padId,
            int windowPairs,
            double centerRewardsCoefficient,
            boolean checkpointed) {
        return microBatch(model, mb, padId, windowPairs, centerRewardsCoefficient, null, checkpointed);
    }

    /**
     * One training micro-batch as {@code parts} parts of its pairs at once on the cores ({@link RowParallel}; each
     * part's loss is its pairs' share of the window's), logged from the whole micro-batch's rewards: TRL averages the
     * min / mean / max reward, accuracy and margin of each micro-batch over the logging interval.
     */
    static StepSums loggedMicroBatch(
            Transformer model, List<Pair> mb, long padId, int windowPairs, RewardConfig rc, int parts) {
        Scored s = Scored.join(RowParallel.run(
                model,
                mb,
                parts,
                part -> microBatch(
                        model,
                        part,
                        padId,
                        windowPairs,
                        rc.centerRewardsCoefficient(),
                        rc.scpo(),
                        rc.args().gradientCheckpointing())));
        BradleyTerryLoss.Metrics m = BradleyTerryLoss.metrics(s.chosen(), s.rejected());
        return StepSums.empty()
                .withLoss(s.loss())
                .count("micro_batches", 1)
                .add("min_reward", m.minReward(), "micro_batches")
                .add("mean_reward", m.meanReward(), "micro_batches")
                .add("max_reward", m.maxReward(), "micro_batches")
                .add("accuracy", m.accuracy(), "micro_batches")
                .add("margin", m.margin(), "micro_batches");
    }

    /** {@link #microBatch} with SCPO's pair weights ({@code scpo} null: none). */
    static Scored microBatch(
            Transformer model,
            List<Pair> mb,
            long padId,
            int windowPairs,
            double centerRewardsCoefficient,
            ScpoConfig scpo,
            boolean checkpointed) {
        return score(model, mb, padId, windowPairs, centerRewardsCoefficient, scpo, Pass.of(true, checkpointed));
    }

    private static Scored score(
            Transformer model, List<Pair> mb, long padId, int windowPairs, double center, ScpoConfig scpo, Pass mode) {
        int b = mb.size();
        List<long[]> rows = new ArrayList<>(2 * b);
        for (Pair p : mb) rows.add(p.chosen()); // rows 0..B-1 chosen, B..2B-1 rejected (TRL's collator order)
        for (Pair p : mb) rows.add(p.rejected());
        float[] margins = new float[b];
        boolean anyMargin = false;
        long tokens = 0;
        for (int i = 0; i < b; i++) {
            margins[i] = mb.get(i).margin();
            anyMargin |= margins[i] != 0;
            tokens += tokens(mb.get(i));
        }
        float[] weights = scpoWeights(mb, scpo);
        try (PointerScope s = new PointerScope()) {
            Tensor marginT = anyMargin ? Tensors.floats(margins, b) : null;
            Tensor weightT = weights == null ? null : Tensors.floats(weights, b);
            ClassifierBatch.Forward f = ClassifierBatch.forward(model, rows, padId, mode, r -> {
                Tensor perPair =
                        BradleyTerryLoss.perPair(r.narrow(0, 0, b), r.narrow(0, b, b), marginT, center, weightT); // (B)
                return perPair.sum().div(Tensors.scalar((double) windowPairs));
            });
            return new Scored(
                    Arrays.copyOfRange(f.scores(), 0, b), Arrays.copyOfRange(f.scores(), b, 2 * b), f.loss(), tokens);
        }
    }

    /** The pairs' SCPO weights (B), or null when every weight is 1 (no SCPO, or scpo_weighting none). */
    private static float[] scpoWeights(List<Pair> mb, ScpoConfig scpo) {
        if (scpo == null || scpo.weighting() == ScpoWeighting.Weighting.NONE) return null;
        float[] w = new float[mb.size()];
        for (int i = 0; i < w.length; i++) {
            Global g = mb.get(i).global();
            if (g == null) throw new IllegalArgumentException("scpo: a pair has no global reward model rewards");
            w[i] = (float) scpo.weight(g);
        }
        return w;
    }

    /** A one-label classifier whose config pad_token_id is the id batches are padded with (else transformers would pool elsewhere). */
    static void checkRewardModel(Transformer model, long padId) {
        ModelConfig c = model.config();
        if (!c.isSequenceClassification() || c.numLabels() != 1)
            throw new IllegalArgumentException(
                    "a reward model must be a *ForSequenceClassification with num_labels=1 (got "
                            + (c.isSequenceClassification() ? "num_labels=" + c.numLabels() : "a causal LM")
                            + "); build it with RewardTrainer.rewardModel");
        if (c.padTokenId() == null || c.padTokenId() != padId)
            throw new IllegalArgumentException(
                    "the model's config.json has pad_token_id " + c.padTokenId() + " but batches are padded with "
                            + padId
                            + "; transformers pools at the last token that is not pad_token_id, so they must agree (RewardTrainer.rewardModel sets it)");
    }

    /**
     * The pairs fitted to {@code rc.maxLength()} as {@code rc.truncation()} says: TRL's {@link RewardConfig#DROP}
     * ({@link #withinMaxLength}) or APO's {@link RewardConfig#LEFT} ({@link #leftTruncated}).
     */
    public static List<Pair> fitToMaxLength(List<Pair> pairs, RewardConfig rc, String split) {
        return rc.truncation().equals(RewardConfig.LEFT)
                ? leftTruncated(pairs, rc.maxLength(), split)
                : withinMaxLength(pairs, rc.maxLength(), split);
    }

    /**
     * APO's reward-model truncation (Linear95/APO reward_datasets.py:117-121, {@code truncation_side left} in the README
     * recipe): a sequence longer than max_length keeps its last max_length tokens, so the response and the end of the
     * dialogue before it stay and the start of a long multi-turn dialogue goes; shorter sequences are unchanged and no
     * pair is left out. (A response longer than max_length itself keeps only its own end, as in APO; the count of such
     * pairs, whose kept tokens start after the prompt that chosen and rejected share, is reported.)
     */
    static List<Pair> leftTruncated(List<Pair> pairs, int maxLength, String split) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("the " + split + " set is empty");
        List<Pair> out = new ArrayList<>(pairs.size());
        int cut = 0, promptGone = 0;
        for (Pair p : pairs) {
            long[] c = keepLast(p.chosen(), maxLength), r = keepLast(p.rejected(), maxLength);
            if (c != p.chosen() || r != p.rejected()) {
                cut++;
                int shared = sharedPrefix(p.chosen(), p.rejected());
                if (p.chosen().length - c.length >= shared || p.rejected().length - r.length >= shared) promptGone++;
            }
            out.add(c == p.chosen() && r == p.rejected() ? p : new Pair(c, r, p.margin(), p.global()));
        }
        if (cut > 0)
            System.err.printf(
                    "reward: left-truncated %d of %d %s pairs to their last %d tokens (max_length, as APO does)%s%n",
                    cut,
                    pairs.size(),
                    split,
                    maxLength,
                    promptGone == 0
                            ? ""
                            : "; in " + promptGone + " of them a response alone is longer and its prompt is gone");
        return out;
    }

    /** The last {@code n} tokens of {@code ids}, or {@code ids} itself when it is no longer. */
    private static long[] keepLast(long[] ids, int n) {
        return ids.length <= n ? ids : Arrays.copyOfRange(ids, ids.length - n, ids.length);
    }

    private static int sharedPrefix(long[] a, long[] b) {
        int i = 0;
        while (i < a.length && i < b.length && a[i] == b[i]) i++;
        return i;
    }

    /** TRL drops (does not truncate) pairs whose chosen or rejected sequence exceeds max_length. */
    static List<Pair> withinMaxLength(List<Pair> pairs, int maxLength, String split) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("the " + split + " set is empty");
        List<Pair> kept = pairs.stream()
                .filter(p -> p.chosen().length <= maxLength && p.rejected().length <= maxLength)
                .toList();
        if (kept.isEmpty())
            throw new IllegalArgumentException(
                    "every " + split + " pair is longer than max_length " + maxLength + " tokens; raise max_length");
        if (kept.size() < pairs.size())
            LOG.warn(
                    "reward: dropped {} of {} {} pairs longer than max_length {} (as TRL does)",
                    pairs.size() - kept.size(),
                    pairs.size(),
                    split,
                    maxLength);
        return kept;
    }
}
