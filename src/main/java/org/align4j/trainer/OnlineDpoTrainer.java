// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.PreferencePair;
import org.align4j.model.Transformer;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;

/**
 * Online DPO (Guo et al., "Direct Language Model Alignment from Online AI Feedback", arXiv
 * 2402.04792; TRL's {@code trl/experimental/online_dpo/online_dpo_trainer.py}): DPO on pairs the
 * policy samples as it trains. Each optimizer step:
 * <ol>
 *   <li>for each of the gradient_accumulation_steps micro-batches of prompts, sample
 *       {@code numGenerations} >= 2 completions per prompt from the current policy (eval mode, no
 *       graph) and score them with the reward functions; with {@code missingEosPenalty} a completion
 *       that max_completion_length cut loses that much reward (TRL's missing_eos_penalty);
 *   <li>pair each prompt's best completion (chosen) with its worst (rejected), the first sampled on
 *       ties; a prompt whose rewards are all equal gives no pair and is counted in {@code frac_ties}
 *       (TRL samples 2 and keeps ties, taking the first as chosen; a tied pair carries no preference);
 *   <li>one DPO update on those pairs through {@link DpoTrainer}'s micro-batch (any loss_type,
 *       reference = the initial policy: a second model or, with LoRA, the base with adapters off),
 *       normalised over the pairs of the whole step; then clip, AdamW, learning-rate schedule. A
 *       step whose prompts all tie updates nothing and logs no loss.
 * </ol>
 * Sampling is seeded by seed + the micro-batch's index in the run, so a run resumed from a
 * checkpoint (float32 weights, optimizer, data position) samples and trains exactly as the
 * uninterrupted run. {@code num_tokens} counts the tokens the DPO forward reads (prompt twice,
 * chosen, rejected), as the dpo command does.
 *
 * <p>Logged besides DPO's metrics ({@link StepSums#pairs}): {@code reward} (mean reward of all
 * samples), {@code reward_std}, {@code rewards/<name>/mean|std}, {@code reward/chosen},
 * {@code reward/rejected} (mean reward of the paired completions), {@code frac_ties},
 * {@code val/contain_eos_token} (TRL's name: share of samples that ended on a stop token) and
 * {@code completions/mean_length}.
 */
public final class OnlineDpoTrainer {
    static final String COMMAND = "online_dpo";

    private OnlineDpoTrainer() {}

    /** One micro-batch's preference pairs with the rewards of their two sides, and the prompts that tied. */
    record Pairing(List<PreferencePair> pairs, double[] chosenRewards, double[] rejectedRewards, int ties) {}

    /** One micro-batch of prompts: its rollouts, their scores (totals after the EOS penalty) and pairs. */
    private record Batch(List<Rollouts.Rollout> rollouts, WeightedRewards.Result scores, Pairing pairing) {}

    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            OnlineDpoConfig cfg,
            Map<String, Object> resolvedConfig)
            throws IOException {
        return train(policy, refModel, tok, prompts, rewards, cfg, null, resolvedConfig);
    }

    /** The same with held-out prompts sampled and scored every eval_steps ({@link OnlineEval}); null for none. */
    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            OnlineDpoConfig cfg,
            OnlineEval eval,
            Map<String, Object> resolvedConfig)
            throws IOException {
        DpoConfig dc = cfg.dpo();
        TrainingArgs a = dc.args();
        if (prompts.isEmpty()) throw new IllegalArgumentException(COMMAND + ": the prompt set is empty");
        Reference ref = new Reference(policy, refModel, dc.referenceFree(), COMMAND);
        long padId = tok.padTokenId();
        int acc = a.gradientAccumulationSteps();
        DataCursor cursor = new DataCursor(prompts.size(), a.perDeviceTrainBatchSize(), a.seed());
        TrainLoop.Step step = s -> {
            List<List<Rollouts.Prompt>> window = cursor.window(prompts, acc);
            policy.requiresGrad(false); // sample in eval mode (no LoRA dropout), without a graph
            List<Batch> batches = new ArrayList<>();
            for (int m = 0; m < window.size(); m++)
                batches.add(generate(policy, tok, window.get(m), rewards, cfg, sampleSeed(a.seed(), s, m, acc)));
            policy.requiresGrad(true);
            List<DpoTrainer.Item> all = new ArrayList<>();
            for (Batch b : batches)
                for (PreferencePair p : b.pairing().pairs()) all.add(new DpoTrainer.Item(p, Float.NaN, Float.NaN));
            Map<String, Double> metrics = new LinkedHashMap<>();
            if (all.isEmpty()) {
                System.err.printf("%s step %d: every prompt's rewards tie; no pair, no update%n", COMMAND, s + 1);
            } else {
                // one DPO window over the pairs of every micro-batch of the step
                TrainLoop.Window<DpoTrainer.Item> w =
                        TrainLoop.Window.of(all, it -> it.pair().chosen().length, s);
                StepSums sums = StepSums.empty();
                for (Batch b : batches) {
                    if (b.pairing().pairs().isEmpty()) continue;
                    List<DpoTrainer.Item> items =
                            DpoTrainer.onTheFly(b.pairing().pairs());
                    sums = sums.plus(DpoTrainer.microBatch(policy, ref, items, dc, padId, w, true));
                }
                metrics.putAll(sums.metrics());
            }
            metrics.putAll(sampleMetrics(batches, rewards, cfg.numGenerations()));
            long tokens = all.stream()
                    .mapToLong(it -> TrainLoop.pairTokens(it.pair()))
                    .sum();
            return new TrainLoop.StepResult(metrics, tokens, !all.isEmpty());
        };
        TrainLoop.Evaluation evaluation = eval == null
                ? null
                : new TrainLoop.Evaluation(
                        eval.everySteps(),
                        done -> eval.run(
                                policy,
                                tok,
                                rewards,
                                cfg.numGenerations(),
                                cfg.sampling(),
                                "group",
                                a.perDeviceTrainBatchSize(),
                                a.seed(),
                                done));
        TrainLoop.Run run = TrainLoop.Run.of(COMMAND, policy, a, a.totalSteps(prompts.size()), List.of(cursor))
                .withEval(evaluation)
                .withResolvedConfig(resolvedConfig)
                .withFingerprint(TrainCheckpoints.Fingerprint.ofText(
                        prompts.stream().map(Rollouts.Prompt::text).toList()));
        return TrainLoop.run(run, step);
    }

    /** The sampling seed of micro-batch {@code micro} of optimizer step {@code step} (0-based): seed + its index in the run. */
    static long sampleSeed(long seed, int step, int micro, int accumulation) {
        return seed + (long) step * accumulation + micro;
    }

    /** Samples, scores and pairs one micro-batch of prompts. */
    private static Batch generate(
            Transformer policy,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            OnlineDpoConfig cfg,
            long seed) {
        List<Rollouts.Rollout> rs = Rollouts.sample(
                policy, tok, prompts, cfg.numGenerations(), cfg.sampling().withSeed(seed));
        WeightedRewards.Result scored = Rollouts.score(rewards, rs);
        double[] total = scored.total().clone();
        if (cfg.missingEosPenalty() != null)
            for (int i = 0; i < total.length; i++) if (!rs.get(i).terminated()) total[i] -= cfg.missingEosPenalty();
        WeightedRewards.Result s =
                new WeightedRewards.Result(scored.names(), scored.weights(), scored.perFunction(), total);
        return new Batch(rs, s, pair(rs, total, cfg.numGenerations()));
    }

    /**
     * Per prompt (groups of {@code g} consecutive rollouts): chosen = the first completion with the
     * highest reward, rejected = the first with the lowest; a group whose rewards are all equal is a tie.
     */
    static Pairing pair(List<Rollouts.Rollout> rollouts, double[] totals, int g) {
        if (rollouts.size() % g != 0)
            throw new IllegalArgumentException(rollouts.size() + " rollouts do not form groups of " + g);
        List<PreferencePair> pairs = new ArrayList<>();
        List<Double> chosen = new ArrayList<>(), rejected = new ArrayList<>();
        int ties = 0;
        for (int from = 0; from < rollouts.size(); from += g) {
            int hi = from, lo = from;
            for (int i = from + 1; i < from + g; i++) {
                if (totals[i] > totals[hi]) hi = i;
                if (totals[i] < totals[lo]) lo = i;
            }
            if (totals[hi] == totals[lo]) {
                ties++;
                continue;
            }
            pairs.add(new PreferencePair(
                    rollouts.get(from).prompt().ids(),
                    rollouts.get(hi).completion(),
                    rollouts.get(lo).completion()));
            chosen.add(totals[hi]);
            rejected.add(totals[lo]);
        }
        return new Pairing(
                pairs,
                chosen.stream().mapToDouble(Double::doubleValue).toArray(),
                rejected.stream().mapToDouble(Double::doubleValue).toArray(),
                ties);
    }

    /** The step's sampling metrics over all its micro-batches (see the class comment). */
    private static Map<String, Double> sampleMetrics(List<Batch> batches, WeightedRewards rewards, int g) {
        List<Rollouts.Rollout> all = new ArrayList<>();
        List<double[]> per = new ArrayList<>(), totals = new ArrayList<>();
        double chosen = 0, rejected = 0;
        int pairs = 0, ties = 0;
        for (Batch b : batches) {
            all.addAll(b.rollouts());
            totals.add(b.scores().total());
            per.add(java.util.stream.Stream.of(b.scores().perFunction())
                    .flatMapToDouble(java.util.Arrays::stream)
                    .toArray());
            for (double v : b.pairing().chosenRewards()) chosen += v;
            for (double v : b.pairing().rejectedRewards()) rejected += v;
            pairs += b.pairing().pairs().size();
            ties += b.pairing().ties();
        }
        Map<String, Double> m = new LinkedHashMap<>(
                RjsTrainer.concat(rewards, per, totals, all.size()).metrics(g, "group"));
        m.remove("frac_reward_zero_std"); // frac_ties says it for pairing (exact equality)
        if (pairs > 0) {
            m.put("reward/chosen", chosen / pairs);
            m.put("reward/rejected", rejected / pairs);
        }
        m.put("frac_ties", (double) ties / (all.size() / g));
        m.put(
                "val/contain_eos_token",
                all.stream().filter(Rollouts.Rollout::terminated).count() / (double) all.size());
        m.put(
                "completions/mean_length",
                all.stream().mapToInt(r -> r.completion().length).average().orElse(0));
        return m;
    }
}
