// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.align4j.data.PreferencePair;
import org.align4j.engine.Tensors;
import org.align4j.loss.CpoLoss;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Contrastive preference optimisation and its reference-free relatives (TRL's CPOTrainer,
 * docs/algorithms.md §9): CPO (Xu et al., arXiv 2401.08417: sigmoid on summed log-probs plus
 * cpo_alpha times the chosen NLL), SimPO (Meng et al., arXiv 2405.14734: length-averaged
 * log-probs and a margin gamma) and AlphaPO (alpha-transformed rewards). No reference model.
 *
 * <p>Logged under TRL's names: rewards/* are beta times the log-probs the loss uses (sums, or
 * averages for ipo/simpo/alphapo), logps/* those log-probs, nll_loss the chosen token-mean NLL.
 */
public final class CpoTrainer {
    private CpoTrainer() {}

    public static TrainResult train(
            Transformer policy,
            List<PreferencePair> train,
            List<PreferencePair> eval,
            CpoConfig cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainLoop.MicroBatch<PreferencePair> step =
                (mb, window, training) -> microBatch(policy, mb, cfg, padId, window, training);
        return TrainLoop.train(
                "cpo",
                policy,
                new TrainLoop.Rows<>(train, p -> p.chosen().length, TrainLoop::pairTokens),
                cfg.args(),
                TrainLoop.evaluation(
                        eval, cfg.evalSteps(), cfg.args().perDeviceTrainBatchSize(), p -> p.chosen().length, step),
                resolvedConfig,
                step,
                true); // a pair's loss and metrics are its own: a micro-batch's pairs may run as parts at once
    }

    /** loss = sum_pairs(preference loss) / window pairs + cpo_alpha * chosen NLL / window chosen tokens. */
    static StepSums microBatch(
            Transformer policy,
            List<PreferencePair> mb,
            CpoConfig cfg,
            long padId,
            TrainLoop.Window<?> window,
            boolean train) {
        int b = mb.size();
        CpoLoss.Config lc = cfg.loss();
        boolean average = CpoLoss.averagesTokens(lc);
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.pairs(mb, padId);
            StepSums[] sums = new StepSums[1];
            double loss = CompletionBatch.forwardBackward(
                    policy, in, Pass.of(train, cfg.args().gradientCheckpointing()), hidden -> {
                        CompletionBatch.Output all = CompletionBatch.fromHidden(policy, hidden, in, false);
                        CompletionBatch.Output c = all.rows(0, b), r = all.rows(b, b);
                        Tensor lpC = average ? c.logps().div(c.lengths()) : c.logps(),
                                lpR = average ? r.logps().div(r.lengths()) : r.logps(); // (B)
                        Tensor nllSum = c.logps().sum().neg();
                        Tensor l = CpoLoss.perPair(lpC, lpR, lc).sum().div(Tensors.scalar((double) window.size()));
                        if (lc.cpoAlpha() != 0)
                            l = l.add(nllSum.mul(Tensors.scalar(lc.cpoAlpha() / window.targetTokens())));
                        try (NoGradGuard g = new NoGradGuard()) {
                            sums[0] = StepSums.pairs(c, r, rewards(lpC, lc), rewards(lpR, lc), lpC, lpR, in.tokens())
                                    .add(
                                            "nll_loss",
                                            lc.cpoAlpha() == 0 ? 0.0 : nllSum.item_double(),
                                            StepSums.CHOSEN_TOKENS); // TRL logs 0 when the term is off
                        }
                        return l;
                    });
            return sums[0].withLoss(loss);
        }
    }

    /** TRL's logged rewards: beta * lp, or beta * u with AlphaPO's u = (1 - exp(-alpha lp)) / alpha when alpha != 0. Detached (B). */
    static Tensor rewards(Tensor lp, CpoLoss.Config lc) {
        Tensor x = lp.detach();
        if (lc.alpha() != 0)
            x = torch.exp(x.mul(Tensors.scalar(-lc.alpha())))
                    .neg()
                    .add(Tensors.scalar(1.0))
                    .div(Tensors.scalar(lc.alpha()));
        return x.mul(Tensors.scalar(lc.beta()));
    }
}
