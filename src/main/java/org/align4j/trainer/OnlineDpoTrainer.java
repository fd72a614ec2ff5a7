// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.align4j.data.PreferencePair;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.engine.Tensors;
import org.align4j.loss.DpoLoss;
import org.align4j.loss.OnlineDpoLoss;
import org.align4j.loss.PairLogps;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Online DPO (Guo et al., "Direct Language Model Alignment from Online AI Feedback", arXiv 2402.04792) as TRL's
 * experimental {@code OnlineDPOTrainer} runs it (huggingface/trl {@code
 * trl/experimental/online_dpo/online_dpo_trainer.py} at f2cd577, {@code training_step} :1097-1296; settings in
 * {@link OnlineDpoConfig}): DPO on pairs the policy samples as it trains. Each optimizer step:
 * <ol>
 *   <li>for each of the gradient_accumulation_steps micro-batches of prompts, sample num_generations completions per
 *       prompt from the current policy (eval mode, no graph) and score them with the reward functions; with
 *       {@code missingEosPenalty} a completion that max_new_tokens cut loses that much reward (:1200-1201);
 *   <li>pair them. {@code first_vs_second} (TRL, the default): two samples per prompt, the first is chosen when its
 *       reward is &gt;= the second's, else the second (:1203-1209), so a tie still gives a pair (a preference of the
 *       first sample) and is counted in {@code frac_ties}. {@code best_vs_worst} (align4j): the first sample with the
 *       highest reward against the first with the lowest, and a prompt whose rewards all tie gives no pair;
 *   <li>one update on the step's pairs with {@link OnlineDpoLoss} (sigmoid, or ipo on summed log-probs, :1224-1236),
 *       reference = the initial policy (a second model or, with LoRA, the base with adapters off), the per-pair
 *       losses divided by the step's pair count (TRL's mean per micro-batch over gradient_accumulation_steps: the same
 *       number when every micro-batch has as many pairs, which first_vs_second guarantees). A best_vs_worst step whose
 *       prompts all tie updates nothing and logs no loss.
 * </ol>
 * Sampling is seeded by seed + the micro-batch's index in the run, so a run resumed from a checkpoint (float32
 * weights, optimizer, data position) samples and trains exactly as the uninterrupted run. {@code num_tokens} counts
 * the tokens the DPO forward reads (prompt twice, chosen, rejected), as the dpo command does.
 *
 * <p>Data parallel ({@code --nproc_per_node N}): a step is gradient_accumulation_steps x N micro-batches of prompts;
 * worker r samples, scores, pairs and trains micro-batches r, r + N, ... (each with its own seed, so the samples do
 * not depend on N), the pair count that normalises the loss and the sampling metrics are the whole step's, gathered
 * from every worker, and rank 0 logs every worker's completions: N workers give the update of one worker
 * accumulating N times as many micro-batches.
 *
 * <p>Logged, with TRL's definitions (:1240-1277) over the paired completions (in TRL's pairing: every sample):
 * {@code objective/kl} (mean over completions of Σ_t logπ − logπ_ref), {@code objective/entropy} (mean of −Σ_t logπ,
 * the sampled-token estimate), {@code objective/non_score_reward} (−β·objective/kl), {@code objective/rlhf_reward}
 * (mean of score − β·KL), {@code objective/scores} (mean score of all samples), {@code objective/scores_margin}
 * (mean chosen − rejected score), {@code beta}, {@code rewards/chosen|rejected|margins|accuracies} and {@code
 * logps/chosen|rejected} (DPO's implicit rewards and summed log-probs, {@link StepSums#pairs}), {@code
 * val/contain_eos_token}. The sums run over completion tokens only: TRL's objective/kl and objective/entropy also add
 * the padding positions after a short completion's EOS (it sums unmasked, :1251-1266), which we take to be an
 * oversight. Besides: {@code reward}, {@code reward_std}, {@code rewards/<name>/mean|std}, {@code reward/chosen},
 * {@code reward/rejected} (mean score of the paired completions), {@code frac_ties} and {@code
 * completions/mean_length}.
 */
public final class OnlineDpoTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(OnlineDpoTrainer.class);
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();
    static final String COMMAND = "online_dpo";
    /** StepSums' counter of paired completions (2 per pair): what objective/kl and objective/entropy average over. */
    private static final String COMPLETIONS = "paired_completions";

    private OnlineDpoTrainer() {}

    /**
     * One micro-batch's preference pairs with the scores of their two sides, how many prompts tied (kept as pairs
     * under first_vs_second, dropped under best_vs_worst), and which rollouts of the micro-batch each pair's chosen and
     * rejected sides are.
     */
    record Pairing(
            List<PreferencePair> pairs,
            double[] chosenRewards,
            double[] rejectedRewards,
            int ties,
            int[] chosenIndex,
            int[] rejectedIndex) {}

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
        TrainingArgs a = cfg.args();
        if (prompts.isEmpty()) throw new IllegalArgumentException(COMMAND + ": the prompt set is empty");
        Reference ref = new Reference(policy, refModel, false, COMMAND);
        long padId = tok.padTokenId();
        // data parallel: the job's step is gradient_accumulation_steps x workers micro-batches of prompts (TRL: per
        // device x accumulation x processes); worker r samples, scores and pairs micro-batches r, r + W, ... with the
        // micro-batch's own seed, so N workers sample what one worker accumulating N times as many would
        Collective dist = Distributed.current();
        TrainingArgs job = a.jobOf(dist.worldSize());
        int acc = job.gradientAccumulationSteps();
        DataCursor cursor = new DataCursor(prompts.size(), a.perDeviceTrainBatchSize(), a.seed());
        TrainLoop.Step step = s -> {
            List<List<Rollouts.Prompt>> window = cursor.window(prompts, acc);
            policy.requiresGrad(false); // sample in eval mode (no LoRA dropout), without a graph
            Map<Integer, Batch> mine = new TreeMap<>(); // this worker's micro-batches by their index in the window
            for (int m = dist.rank(); m < window.size(); m += dist.worldSize())
                mine.put(m, generate(policy, tok, window.get(m), rewards, cfg, sampleSeed(a.seed(), s, m, acc)));
            policy.requiresGrad(true);
            List<Sampled> sampled = Sampled.gather(
                    dist, window, mine, cfg.numGenerations(), rewards.names().size());
            int pairs = sampled.stream().mapToInt(Sampled::pairs).sum(); // the job's
            Map<String, Double> metrics = new LinkedHashMap<>();
            long tokens = 0;
            if (pairs == 0) {
                LOG.info("{} step {}: every prompt's rewards tie; no pair, no update", COMMAND, s + 1);
            } else {
                StepSums sums = StepSums.empty();
                for (Batch b : mine.values())
                    if (!b.pairing().pairs().isEmpty())
                        sums = sums.plus(pairBatch(policy, ref, b.pairing().pairs(), cfg, padId, pairs));
                sums = sums.allReduce(dist);
                metrics.putAll(sums.metrics());
                tokens = sums.inputTokens();
            }
            metrics.putAll(sampleMetrics(sampled, rewards, cfg.numGenerations()));
            objectives(metrics, cfg.beta());
            return new TrainLoop.StepResult(
                    metrics,
                    tokens,
                    pairs > 0,
                    cfg.logCompletions().enabled() ? completionRows(mine, sampled, dist) : null);
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
        TrainLoop.Run run = TrainLoop.Run.of(COMMAND, policy, a, job.totalSteps(prompts.size()), List.of(cursor))
                .withDataParallel()
                .withEval(evaluation)
                .withResolvedConfig(resolvedConfig)
                .withLogCompletions(cfg.logCompletions())
                .withFingerprint(TrainCheckpoints.Fingerprint.ofText(
                        prompts.stream().map(Rollouts.Prompt::text).toList()));
        return TrainLoop.run(run, step);
    }

    /**
     * log_completions' rows of a step: every sampled completion with its scores ({@code reward}: the total the pairing
     * compared, after missing_eos_penalty), {@code pair} (the pair's index in the step, null when the completion is in
     * none: a tied prompt or a middle sample under best_vs_worst) and {@code chosen} (true for the pair's chosen side,
     * false for its rejected one, null when unpaired). Each worker writes the rows of its micro-batches; they are
     * gathered in the window's order.
     */
    private static List<Map<String, Object>> completionRows(
            Map<Integer, Batch> mine, List<Sampled> sampled, Collective dist) throws IOException {
        Map<Integer, List<Map<String, Object>>> byMicroBatch = new TreeMap<>();
        mine.forEach((m, b) -> {
            int pairBase = 0; // the pairs of the micro-batches before, on whichever worker
            for (int j = 0; j < m; j++) pairBase += sampled.get(j).pairs();
            byMicroBatch.put(m, completionRows(b, pairBase));
        });
        if (dist.worldSize() > 1) {
            var type = new com.fasterxml.jackson.core.type.TypeReference<Map<Integer, List<Map<String, Object>>>>() {};
            for (String text : dist.allGatherText(JSON.writeValueAsString(byMicroBatch)))
                byMicroBatch.putAll(JSON.readValue(text, type));
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        byMicroBatch.values().forEach(rows::addAll);
        return rows;
    }

    /** The rows of one micro-batch whose first pair is the step's pair {@code pairBase}. */
    private static List<Map<String, Object>> completionRows(Batch b, int pairBase) {
        List<Map<String, Object>> rows = Rollouts.completionRows(
                b.rollouts(),
                b.scores().names(),
                Rollouts.perRollout(b.scores()),
                b.scores().total(),
                null);
        for (Map<String, Object> row : rows) {
            row.put("pair", null);
            row.put("chosen", null);
        }
        Pairing p = b.pairing();
        for (int k = 0; k < p.pairs().size(); k++) {
            rows.get(p.chosenIndex()[k]).put("pair", pairBase + k);
            rows.get(p.chosenIndex()[k]).put("chosen", true);
            rows.get(p.rejectedIndex()[k]).put("pair", pairBase + k);
            rows.get(p.rejectedIndex()[k]).put("chosen", false);
        }
        return rows;
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
        Pairing p = cfg.pairing().equals(OnlineDpoConfig.FIRST_VS_SECOND)
                ? firstVsSecond(rs, total)
                : bestVsWorst(rs, total, cfg.numGenerations());
        return new Batch(rs, s, p);
    }

    /**
     * TRL's pairing (online_dpo_trainer.py:1203-1209): per prompt (groups of 2 consecutive rollouts) the first
     * completion is chosen when its reward is &gt;= the second's, else the second; ties are kept (and counted).
     */
    static Pairing firstVsSecond(List<Rollouts.Rollout> rollouts, double[] totals) {
        if (rollouts.size() % 2 != 0)
            throw new IllegalArgumentException(rollouts.size() + " rollouts do not form groups of 2");
        List<PreferencePair> pairs = new ArrayList<>();
        double[] chosen = new double[rollouts.size() / 2], rejected = new double[rollouts.size() / 2];
        int[] chosenIndex = new int[chosen.length], rejectedIndex = new int[chosen.length];
        int ties = 0;
        for (int k = 0; k < chosen.length; k++) {
            int first = 2 * k, second = first + 1;
            boolean firstWins = totals[first] >= totals[second];
            if (totals[first] == totals[second]) ties++;
            int c = firstWins ? first : second, r = firstWins ? second : first;
            pairs.add(new PreferencePair(
                    rollouts.get(first).prompt().ids(),
                    rollouts.get(c).completion(),
                    rollouts.get(r).completion()));
            chosen[k] = totals[c];
            rejected[k] = totals[r];
            chosenIndex[k] = c;
            rejectedIndex[k] = r;
        }
        return new Pairing(pairs, chosen, rejected, ties, chosenIndex, rejectedIndex);
    }

    /**
     * align4j's pairing: per prompt (groups of {@code g} consecutive rollouts) chosen = the first completion with the
     * highest reward, rejected = the first with the lowest; a group whose rewards are all equal is a tie and gives no
     * pair.
     */
    static Pairing bestVsWorst(List<Rollouts.Rollout> rollouts, double[] totals, int g) {
        if (rollouts.size() % g != 0)
            throw new IllegalArgumentException(rollouts.size() + " rollouts do not form groups of " + g);
        List<PreferencePair> pairs = new ArrayList<>();
        List<Double> chosen = new ArrayList<>(), rejected = new ArrayList<>();
        List<Integer> chosenIndex = new ArrayList<>(), rejectedIndex = new ArrayList<>();
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
            chosenIndex.add(hi);
            rejectedIndex.add(lo);
        }
        return new Pairing(
                pairs,
                chosen.stream().mapToDouble(Double::doubleValue).toArray(),
                rejected.stream().mapToDouble(Double::doubleValue).toArray(),
                ties,
                chosenIndex.stream().mapToInt(Integer::intValue).toArray(),
                rejectedIndex.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * One micro-batch of B pairs in one concatenated forward (chosen rows first): the per-pair losses divided by the
     * step's {@code stepPairs}, back-propagated; DPO's pair metrics and the summed KL and log-probs of the 2B paired
     * completions for objective/*.
     */
    private static StepSums pairBatch(
            Transformer policy,
            Reference ref,
            List<PreferencePair> pairs,
            OnlineDpoConfig cfg,
            long padId,
            int stepPairs) {
        int b = pairs.size();
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.pairs(pairs, padId);
            Tensor refLogps = ref.logps(in); // (2B), no graph
            StepSums[] sums = new StepSums[1];
            double loss = CompletionBatch.forwardBackward(
                    policy, in, Pass.of(true, cfg.args().gradientCheckpointing()), hidden -> {
                        CompletionBatch.Output all = CompletionBatch.fromHidden(policy, hidden, in, false);
                        CompletionBatch.Output c = all.rows(0, b), r = all.rows(b, b);
                        PairLogps lp =
                                new PairLogps(c.logps(), r.logps(), refLogps.narrow(0, 0, b), refLogps.narrow(0, b, b));
                        Tensor perPair = OnlineDpoLoss.perPair(lp, cfg.lossType(), cfg.beta()); // (B)
                        try (NoGradGuard g = new NoGradGuard()) {
                            Tensor logps = all.logps().detach(); // (2B)
                            sums[0] = StepSums.pairs(
                                            c,
                                            r,
                                            DpoLoss.chosenRewards(lp, cfg.beta()),
                                            DpoLoss.rejectedRewards(lp, cfg.beta()),
                                            c.logps(),
                                            r.logps(),
                                            in.tokens())
                                    .count(COMPLETIONS, 2.0 * b)
                                    .add(
                                            "objective/kl",
                                            logps.sub(refLogps).sum().item_double(),
                                            COMPLETIONS)
                                    .add("objective/entropy", -logps.sum().item_double(), COMPLETIONS);
                        }
                        return perPair.sum().div(Tensors.scalar((double) stepPairs));
                    });
            return sums[0].withLoss(loss);
        }
    }

    /**
     * TRL's objective/* metrics that follow from the others (online_dpo_trainer.py:1240-1277): non_score_reward =
     * −β·kl; rlhf_reward = mean over the paired completions of score − β·KL; scores = mean score of all samples;
     * scores_margin = mean chosen − rejected score; and beta.
     */
    private static void objectives(Map<String, Double> m, double beta) {
        m.put("objective/scores", m.get("reward"));
        if (m.containsKey("objective/kl")) {
            double nonScore = -beta * m.get("objective/kl");
            m.put("objective/non_score_reward", nonScore);
            m.put("objective/rlhf_reward", (m.get("reward/chosen") + m.get("reward/rejected")) / 2 + nonScore);
            m.put("objective/scores_margin", m.get("reward/chosen") - m.get("reward/rejected"));
        }
        m.put("beta", beta);
    }

    /**
     * What the step's sampling metrics need of one micro-batch: each rollout's reward total (after the EOS penalty),
     * its value of every reward function (function-major, n per function), whether it terminated and its length, and
     * the pairing's reward sums, pair and tie counts. Data parallel: every worker has every micro-batch's.
     */
    record Sampled(
            double[] total,
            double[] perFunction,
            boolean[] terminated,
            int[] lengths,
            double chosenSum,
            double rejectedSum,
            int pairs,
            int ties) {
        static Sampled of(Batch b) {
            int n = b.rollouts().size();
            boolean[] terminated = new boolean[n];
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                terminated[i] = b.rollouts().get(i).terminated();
                lengths[i] = b.rollouts().get(i).completion().length;
            }
            Pairing p = b.pairing();
            return new Sampled(
                    b.scores().total(),
                    java.util.stream.Stream.of(b.scores().perFunction())
                            .flatMapToDouble(java.util.Arrays::stream)
                            .toArray(),
                    terminated,
                    lengths,
                    java.util.Arrays.stream(p.chosenRewards()).sum(),
                    java.util.Arrays.stream(p.rejectedRewards()).sum(),
                    p.pairs().size(),
                    p.ties());
        }

        /** The doubles of a micro-batch of {@code n} rollouts and {@code k} reward functions. */
        static int size(int n, int k) {
            return n * (k + 3) + 4;
        }

        void packInto(double[] v, int at) {
            int n = total.length, k = perFunction.length / n;
            System.arraycopy(total, 0, v, at, n);
            System.arraycopy(perFunction, 0, v, at + n, k * n);
            for (int i = 0; i < n; i++) {
                v[at + (k + 1) * n + i] = terminated[i] ? 1 : 0;
                v[at + (k + 2) * n + i] = lengths[i];
            }
            int end = at + (k + 3) * n;
            v[end] = chosenSum;
            v[end + 1] = rejectedSum;
            v[end + 2] = pairs;
            v[end + 3] = ties;
        }

        static Sampled unpack(double[] v, int at, int n, int k) {
            boolean[] terminated = new boolean[n];
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                terminated[i] = v[at + (k + 1) * n + i] != 0;
                lengths[i] = (int) v[at + (k + 2) * n + i];
            }
            int end = at + (k + 3) * n;
            return new Sampled(
                    java.util.Arrays.copyOfRange(v, at, at + n),
                    java.util.Arrays.copyOfRange(v, at + n, at + (k + 1) * n),
                    terminated,
                    lengths,
                    v[end],
                    v[end + 1],
                    (int) v[end + 2],
                    (int) v[end + 3]);
        }

        /**
         * Every micro-batch of the step's {@code window}, in order, on every worker: each worker packs its own into
         * one vector of zeros elsewhere and the sum over the workers fills the rest (exact: each entry has one
         * non-zero term).
         */
        static List<Sampled> gather(
                Collective dist, List<List<Rollouts.Prompt>> window, Map<Integer, Batch> mine, int g, int k) {
            if (dist.worldSize() == 1)
                return mine.values().stream().map(Sampled::of).toList();
            int[] offset = new int[window.size() + 1];
            for (int m = 0; m < window.size(); m++)
                offset[m + 1] = offset[m] + size(window.get(m).size() * g, k);
            double[] v = new double[offset[window.size()]];
            mine.forEach((m, b) -> of(b).packInto(v, offset[m]));
            dist.allReduceSum(v);
            List<Sampled> all = new ArrayList<>();
            for (int m = 0; m < window.size(); m++)
                all.add(unpack(v, offset[m], window.get(m).size() * g, k));
            return all;
        }
    }

    /** The step's sampling metrics over all its micro-batches (see the class comment). */
    private static Map<String, Double> sampleMetrics(List<Sampled> sampled, WeightedRewards rewards, int g) {
        List<double[]> per = new ArrayList<>(), totals = new ArrayList<>();
        double chosen = 0, rejected = 0, lengths = 0;
        int pairs = 0, ties = 0, n = 0, terminated = 0;
        for (Sampled b : sampled) {
            totals.add(b.total());
            per.add(b.perFunction());
            chosen += b.chosenSum();
            rejected += b.rejectedSum();
            pairs += b.pairs();
            ties += b.ties();
            n += b.total().length;
            for (int i = 0; i < b.total().length; i++) {
                if (b.terminated()[i]) terminated++;
                lengths += b.lengths()[i];
            }
        }
        Map<String, Double> m =
                new LinkedHashMap<>(RjsTrainer.concat(rewards, per, totals, n).metrics(g, "group"));
        m.remove("frac_reward_zero_std"); // frac_ties says it for pairing (exact equality)
        if (pairs > 0) {
            m.put("reward/chosen", chosen / pairs);
            m.put("reward/rejected", rejected / pairs);
        }
        m.put("frac_ties", (double) ties / (n / g));
        m.put("val/contain_eos_token", terminated / (double) n);
        m.put("completions/mean_length", lengths / n);
        return m;
    }
}
