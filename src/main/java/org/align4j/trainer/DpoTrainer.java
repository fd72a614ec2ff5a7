// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.PreferencePair;
import org.align4j.engine.Tensors;
import org.align4j.loss.DpoLoss;
import org.align4j.loss.LengthDesensitized;
import org.align4j.loss.PairLogps;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Direct preference optimisation and its family (TRL's DPOTrainer; Rafailov et al., arXiv
 * 2305.18290; the loss variants are in {@link DpoLoss}). Each micro-batch scores its chosen and
 * rejected completions in one concatenated forward (chosen rows first), takes the reference
 * log-probs without a graph, and backpropagates the weighted per-pair losses; the optimizer loop
 * is {@link TrainLoop}'s.
 *
 * <p>The reference is, in order: none ({@code reference_free}: log-probs of 0), the model given
 * (the initial policy loaded a second time, or ref_model_name_or_path), or with LoRA the policy
 * itself with its adapters switched off, which is the initial policy without a second copy.
 *
 * <p>Batch-coupled losses (aot, aot_unpaired) sort within a micro-batch, as TRL sorts within a
 * device batch.
 *
 * <p>A training micro-batch's pairs run as one part per core at once ({@link RowParallel}; each part scores its own
 * pairs against the reference and back-propagates their share of the loss), except with aot / aot_unpaired, WPO with
 * an "sft" term, and TR-DPO, whose micro-batch does not split into independent parts. With LoRA the reference pass
 * switches the adapters off on its own thread only ({@link Transformer#withAdaptersOff}).
 *
 * <p>WPO (use_weighting) multiplies every loss term by the pair weights, the "sft" / rpo_alpha NLL included (by the
 * micro-batch's mean weight, as TRL v1.x's per-sequence sft tensor works out); LD-DPO (ld_alpha) desensitises the
 * policy's and the reference's log-probs alike ({@link LengthDesensitized}).
 */
public final class DpoTrainer {
    private DpoTrainer() {}

    /**
     * A pair and, with precompute_ref_log_probs, its reference log-probs (NaN when scored on the fly), desensitised
     * already when ld_alpha is set (TRL stores them so, trl/trainer/dpo_trainer.py:1204-1216).
     */
    record Item(PreferencePair pair, float refChosen, float refRejected) {}

    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            List<PreferencePair> train,
            List<PreferencePair> eval,
            DpoConfig cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        Reference ref = new Reference(policy, refModel, cfg.referenceFree(), "dpo");
        int batch = cfg.args().perDeviceTrainBatchSize();
        List<Item> trainItems = items(ref, train, cfg, batch, padId), evalItems = items(ref, eval, cfg, batch, padId);
        TrainLoop.MicroBatch<Item> plain =
                (mb, window, training) -> microBatch(policy, ref, mb, cfg, padId, window, training);
        TrainLoop.MicroBatch<Item> step =
                cfg.refSync() == null ? plain : syncingReference(policy, refModel, cfg, plain);
        return TrainLoop.train(
                "dpo",
                policy,
                new TrainLoop.Rows<>(
                        trainItems, it -> it.pair().chosen().length, it -> TrainLoop.pairTokens(it.pair())),
                cfg.args(),
                TrainLoop.evaluation(
                        evalItems, cfg.evalSteps(), batch, it -> it.pair().chosen().length, step),
                resolvedConfig,
                step,
                splitsPairs(cfg));
    }

    /**
     * Whether a micro-batch's pairs may run as parts at once on the cores ({@link RowParallel}: each part's loss,
     * reference pass and metric sums are its own pairs'): not where a pair's loss reads the other pairs (aot sorts the
     * batch; WPO scales the NLL by the batch's mean weight) or the micro-batch function moves the reference (TR-DPO).
     */
    public static boolean splitsPairs(DpoConfig cfg) {
        return !cfg.loss().couplesPairs()
                && !(cfg.useWeighting() && DpoLoss.sftWeight(cfg.loss()) != 0)
                && cfg.refSync() == null;
    }

    /**
     * TR-DPO (TRL's SyncRefModelCallback): after every {@code everySteps} completed optimizer steps the reference's
     * weights become alpha·policy + (1 − alpha)·reference, so the step after sees the moved reference. Done before
     * the first training micro-batch of such a step; evaluation batches never move it.
     */
    private static TrainLoop.MicroBatch<Item> syncingReference(
            Transformer policy, Transformer refModel, DpoConfig cfg, TrainLoop.MicroBatch<Item> inner) {
        DpoConfig.RefSync sync = cfg.refSync();
        if (refModel == null || cfg.referenceFree())
            throw new IllegalArgumentException(
                    "sync_ref_model needs a reference model of its own (not reference_free, not LoRA's adapters-off base)");
        if (cfg.precomputeRefLogProbs())
            throw new IllegalArgumentException(
                    "sync_ref_model moves the reference, so its log-probs cannot be precomputed; drop precompute_ref_log_probs");
        if (cfg.args().resumeFromCheckpoint() != null)
            throw new IllegalArgumentException(
                    "sync_ref_model with resume_from_checkpoint is not supported yet: checkpoints do not hold the moved reference");
        for (var e : policy.parameters().entrySet()) {
            Tensor r = refModel.parameters().get(e.getKey());
            if (r == null || !java.util.Arrays.equals(r.shape(), e.getValue().shape()))
                throw new IllegalArgumentException(
                        "sync_ref_model mixes the policy into the reference, but the reference has no parameter "
                                + e.getKey() + " of the policy's shape; use a reference of the same architecture");
        }
        int[] syncedAt = {0};
        return (mb, window, training) -> {
            if (training
                    && window.step() > 0
                    && window.step() % sync.everySteps() == 0
                    && syncedAt[0] != window.step()) {
                try (PointerScope s = new PointerScope();
                        NoGradGuard g = new NoGradGuard()) {
                    for (var e : refModel.parameters().entrySet())
                        e.getValue()
                                .mul_(Tensors.scalar(1 - sync.alpha()))
                                .add_(policy.parameters().get(e.getKey()).mul(Tensors.scalar(sync.alpha())));
                }
                syncedAt[0] = window.step();
            }
            return inner.run(mb, window, training);
        };
    }

    /** Loss and metrics over held-out pairs, without a graph. */
    public static Map<String, Double> evaluate(
            Transformer policy, Transformer refModel, List<PreferencePair> eval, DpoConfig cfg, long padId) {
        Reference ref = new Reference(policy, refModel, cfg.referenceFree(), "dpo");
        return TrainLoop.evaluate(
                onTheFly(eval),
                cfg.args().perDeviceTrainBatchSize(),
                it -> it.pair().chosen().length,
                (mb, window, training) -> microBatch(policy, ref, mb, cfg, padId, window, training));
    }

    /**
     * One micro-batch of B pairs: the loss is sum_pairs(weighted per-pair loss) / window pairs, plus
     * the "sft" weight times the chosen completions' NLL / window chosen tokens (RPO).
     */
    static StepSums microBatch(
            Transformer policy,
            Reference ref,
            List<Item> mb,
            DpoConfig cfg,
            long padId,
            TrainLoop.Window<?> window,
            boolean train) {
        int b = mb.size();
        DpoLoss.Config lc = cfg.loss();
        double sftWeight = DpoLoss.sftWeight(lc);
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in =
                    CompletionBatch.pairs(mb.stream().map(Item::pair).toList(), padId);
            Tensor refLogps = Float.isNaN(mb.get(0).refChosen())
                    ? ref.pairLogps(in, cfg.ldAlpha())
                    : precomputed(mb); // (2B), desensitised under ld_alpha
            Tensor maskC = in.completionMask().narrow(0, 0, b),
                    maskR = in.completionMask().narrow(0, b, b);
            StepSums[] sums = new StepSums[1];
            double loss = CompletionBatch.forwardBackward(
                    policy, in, Pass.of(train, cfg.args().gradientCheckpointing()), hidden -> {
                        CompletionBatch.Output all = CompletionBatch.fromHidden(policy, hidden, in, cfg.useWeighting());
                        CompletionBatch.Output c = all.rows(0, b), r = all.rows(b, b);
                        // LD-DPO: log-probs past the pair's shared length count with weight ld_alpha, for the policy
                        // here and the reference above (TRL :1349-1361, :1386-1393); the NLL term keeps plain sums
                        Tensor pc = c.logps(), pr = r.logps();
                        if (cfg.ldAlpha() != null) {
                            Tensor ld = LengthDesensitized.pairLogps(
                                    all.tokenLogps(), in.completionMask(), cfg.ldAlpha()); // (2B)
                            pc = ld.narrow(0, 0, b);
                            pr = ld.narrow(0, b, b);
                        }
                        PairLogps lp = new PairLogps(
                                pc, pr, refLogps.narrow(0, 0, b), refLogps.narrow(0, b, b), c.lengths(), r.lengths());
                        Tensor perPair = DpoLoss.perPair(lp, lc); // (B)
                        // WPO: detached w_chosen·w_rejected (B), from the plain token log-probs as TRL (:1565-1576)
                        Tensor wpo = cfg.useWeighting()
                                ? DpoLoss.wpoWeights(
                                        c.tokenLogps(), c.logSumP2(), maskC, r.tokenLogps(), r.logSumP2(), maskR)
                                : null;
                        if (wpo != null) perPair = perPair.mul(wpo);
                        Tensor l = perPair.sum().div(Tensors.scalar((double) window.size()));
                        if (sftWeight != 0) {
                            Tensor nll = c.logps().sum().neg().mul(Tensors.scalar(sftWeight / window.targetTokens()));
                            // TRL weighs "sft" too: its per-pair sft loss is the batch NLL repeated B times, times w_i,
                            // then averaged, i.e. NLL·mean_i(w_i) (:1542-1549, :1565-1576; v0.28 did the same to the
                            // RPO NLL, dpo_trainer.py@v0.28.0:1814-1818)
                            if (wpo != null) nll = nll.mul(wpo.mean());
                            l = l.add(nll);
                        }
                        try (NoGradGuard g = new NoGradGuard()) {
                            sums[0] = StepSums.pairs(
                                    c,
                                    r,
                                    DpoLoss.chosenRewards(lp, lc.beta()),
                                    DpoLoss.rejectedRewards(lp, lc.beta()),
                                    pc,
                                    pr,
                                    in.tokens());
                        }
                        return l;
                    });
            return sums[0].withLoss(loss);
        }
    }

    private static Tensor precomputed(List<Item> mb) {
        int b = mb.size();
        float[] v = new float[2 * b];
        for (int i = 0; i < b; i++) {
            v[i] = mb.get(i).refChosen();
            v[b + i] = mb.get(i).refRejected();
        }
        return Tensors.floats(v, 2 * b);
    }

    /** The pairs as items; with precompute_ref_log_probs each scored once now, before any update. */
    private static List<Item> items(Reference ref, List<PreferencePair> pairs, DpoConfig cfg, int batch, long padId) {
        return cfg.precomputeRefLogProbs() ? precomputed(ref, pairs, batch, padId, cfg.ldAlpha()) : onTheFly(pairs);
    }

    /** Items whose reference log-probs are taken in each micro-batch. */
    static List<Item> onTheFly(List<PreferencePair> pairs) {
        List<Item> out = new ArrayList<>();
        for (PreferencePair p : pairs) out.add(new Item(p, Float.NaN, Float.NaN));
        return out;
    }

    /**
     * Items scored by the reference now, {@code batch} pairs at a time (precompute_ref_log_probs); with {@code ldAlpha}
     * desensitised as the on-the-fly reference is. The split depends only on the pair's two lengths, so precomputing it
     * gives the values scoring on the fly gives.
     */
    static List<Item> precomputed(Reference ref, List<PreferencePair> pairs, int batch, long padId, Double ldAlpha) {
        List<Item> out = new ArrayList<>();
        for (int from = 0; from < pairs.size(); from += batch) {
            List<PreferencePair> mb = pairs.subList(from, Math.min(pairs.size(), from + batch));
            try (PointerScope s = new PointerScope()) {
                float[] v = Tensors.toFloats(ref.pairLogps(CompletionBatch.pairs(mb, padId), ldAlpha));
                for (int i = 0; i < mb.size(); i++) out.add(new Item(mb.get(i), v[i], v[mb.size() + i]));
            }
        }
        return out;
    }
}
