// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.align4j.data.PreferencePair;
import org.align4j.engine.Tensors;
import org.align4j.loss.OrpoLoss;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Odds-ratio preference optimisation (Hong et al., arXiv 2403.07691; TRL's ORPOTrainer,
 * docs/algorithms.md §8): the chosen NLL plus beta (the paper's lambda) times the negative
 * log-sigmoid of the log odds ratio of the length-averaged log-probs. No reference model.
 *
 * <p>As in TRL's ORPOTrainer (which notes it deliberately), the NLL term covers the prompt and the
 * chosen completion: every predicted token of the chosen row; the odds ratio uses completion
 * tokens only.
 *
 * <p>Logged under TRL's names: rewards/* = beta * average log-prob, log_odds_ratio = mean
 * logsigmoid(log odds), log_odds_chosen = mean log odds, nll_loss.
 */
public final class OrpoTrainer {
    private OrpoTrainer() {}

    public static TrainResult train(
            Transformer policy,
            List<PreferencePair> train,
            List<PreferencePair> eval,
            OrpoConfig cfg,
            long padId,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainLoop.MicroBatch<PreferencePair> step =
                (mb, window, training) -> microBatch(policy, mb, cfg, padId, window, training);
        return TrainLoop.train(
                "orpo",
                policy,
                new TrainLoop.Rows<>(train, OrpoTrainer::nllTokens, TrainLoop::pairTokens),
                cfg.args(),
                TrainLoop.evaluation(
                        eval, cfg.evalSteps(), cfg.args().perDeviceTrainBatchSize(), OrpoTrainer::nllTokens, step),
                resolvedConfig,
                step,
                true); // a pair's loss and metrics are its own: a micro-batch's pairs may run as parts at once
    }

    /** Predicted tokens of a chosen row (prompt and completion, the first token excepted): the NLL's denominator. */
    static long nllTokens(PreferencePair p) {
        return p.prompt().length + p.chosen().length - 1;
    }

    /** loss = chosen-row NLL / window NLL tokens + sum_pairs(-beta logsigmoid(log odds)) / window pairs. */
    static StepSums microBatch(
            Transformer policy,
            List<PreferencePair> mb,
            OrpoConfig cfg,
            long padId,
            TrainLoop.Window<?> window,
            boolean train) {
        int b = mb.size();
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.pairs(mb, padId);
            StepSums[] sums = new StepSums[1];
            double loss = CompletionBatch.forwardBackward(
                    policy, in, Pass.of(train, cfg.args().gradientCheckpointing()), hidden -> {
                        // the NLL term reads every real token of the chosen rows, prompt included
                        Tensor real = in.attention().narrow(1, 1, in.length() - 1); // (2B, T-1)
                        CompletionBatch.Output all = CompletionBatch.fromHidden(policy, hidden, in, false, 1.0, real);
                        CompletionBatch.Output c = all.rows(0, b), r = all.rows(b, b);
                        Tensor avgC = c.logps().div(c.lengths()),
                                avgR = r.logps().div(r.lengths()); // (B)
                        OrpoLoss.Output or = OrpoLoss.compute(avgC, avgR, cfg.beta());
                        Tensor realC = real.narrow(0, 0, b).to(torch.ScalarType.Float); // (B, T-1)
                        Tensor nllSum = c.tokenLogps().mul(realC).sum().neg();
                        Tensor l = nllSum.div(Tensors.scalar((double) window.targetTokens()))
                                .add(or.perPair().sum().div(Tensors.scalar((double) window.size())));
                        try (NoGradGuard g = new NoGradGuard()) {
                            Tensor beta = Tensors.floats(new float[] {(float) cfg.beta()}, 1);
                            sums[0] = StepSums.pairs(
                                            c,
                                            r,
                                            avgC.detach().mul(beta),
                                            avgR.detach().mul(beta),
                                            avgC,
                                            avgR,
                                            in.tokens())
                                    .add("nll_loss", nllSum.item_double(), "nll_tokens")
                                    .count("nll_tokens", realC.sum().item_double())
                                    .add(
                                            "log_odds_ratio",
                                            torch.log_sigmoid(or.logOdds())
                                                    .sum()
                                                    .item_double(),
                                            StepSums.PAIRS)
                                    .add("log_odds_chosen", or.logOdds().sum().item_double(), StepSums.PAIRS);
                        }
                        return l;
                    });
            return sums[0].withLoss(loss);
        }
    }
}
