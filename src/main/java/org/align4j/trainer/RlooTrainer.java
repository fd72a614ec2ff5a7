// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.engine.Tensors;
import org.align4j.loss.GrpoLoss;
import org.align4j.loss.RlooLoss;
import org.align4j.model.Pass;
import org.align4j.model.Transformer;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * REINFORCE leave-one-out as TRL's {@code RLOOTrainer} runs it (huggingface/trl {@code trl/trainer/rloo_trainer.py} at
 * f2cd577; formulas in {@link RlooLoss}, settings in {@link RlooConfig}). Not GRPO with another baseline: the KL is a
 * k1 penalty inside each completion's reward, and the importance ratio is one per sequence on summed log-probs.
 *
 * <p>A step: on a fresh generation batch, sample G completions for each of the step's prompts (seeded by the step, so
 * a resumed run samples what the uninterrupted one did), score them, take pi_old's and pi_ref's per-token log-probs at
 * the sampling temperature without a graph (:1452-1497), fold beta times each completion's summed log-ratio into its
 * reward and take leave-one-out advantages (:1519-1561). Then per micro-batch of per_device_train_batch_size
 * completions: recompute the summed log-probs with a graph, take the clipped sequence-level loss (a mean over the
 * micro-batch's sequences, divided by the number of micro-batches as the HF Trainer divides by gradient accumulation)
 * and backpropagate; the loop clips, updates and logs.
 *
 * <p>Logged under TRL's names (:1305-1322, :1573-1590, :1705-1721): {@code reward} and {@code reward_std} (mean and
 * Bessel std of the reward totals over the generation batch, before clipping and the KL penalty), {@code
 * rewards/<name>/mean|std}, {@code frac_reward_zero_std} (share of prompts whose penalised rewards all agree), {@code
 * kl} (k1 token mean of pi_old vs pi_ref, when beta > 0), {@code entropy}, {@code clip_ratio/low_mean|low_min|
 * high_mean|high_max|region_mean} (each the mean over micro-batches of its per-micro-batch value, as TRL's logging
 * averages them) and {@code completions/*}.
 */
public final class RlooTrainer {
    static final String COMMAND = "rloo";

    private RlooTrainer() {}

    /**
     * One generation batch: its rollouts, advantages, pi_old's summed log-probs (null when num_iterations is 1: the
     * ratio is then 1 by construction and the policy's own detached sums stand in), what was logged about it, and
     * with log_completions its completions.jsonl rows (null without).
     */
    record Generation(
            List<Rollouts.Rollout> rollouts,
            double[] advantages,
            double[] oldLogps,
            Map<String, Double> metrics,
            List<Map<String, Object>> completions) {}

    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            RlooConfig cfg,
            OnlineEval eval,
            Map<String, Object> resolvedConfig)
            throws IOException {
        if (prompts.isEmpty()) throw new IllegalArgumentException(COMMAND + ": the prompt set is empty");
        TrainingArgs a = cfg.args();
        // data parallel, as grpo: the job's generation batch is per_device x accumulation x workers completions; each
        // worker samples its share of the prompts (group seeds: the samples do not depend on the number of workers),
        // every worker scores all of them (leave-one-out baselines exact), prices its share of the micro-batches
        // (pi_old, pi_ref), the sums are gathered, and it trains on that share
        int workers = Distributed.current().worldSize();
        RlooConfig job =
                workers == 1 ? cfg : cfg.toBuilder().args(a.jobOf(workers)).build();
        Reference ref = job.beta() > 0 ? new Reference(policy, refModel, false, COMMAND + " (beta > 0)") : null;
        int totalSteps = GrpoTrainer.totalSteps(a, prompts.size(), job.promptsPerStep(), job.numIterations());
        DataCursor cursor = new DataCursor(prompts.size(), job.promptsPerStep(), a.seed());
        InFlight inFlight = new InFlight(job.numIterations() > 1);
        long padId = tok.padTokenId();
        TrainLoop.Step step = s -> {
            boolean fresh = inFlight.gen == null || s % job.numIterations() == 0;
            if (fresh) inFlight.gen = generate(policy, ref, tok, prompts, cursor, rewards, job, s);
            Generation gen = inFlight.gen;
            Map<String, Double> m = new LinkedHashMap<>(gen.metrics());
            m.put("loss", policyTerm(policy, gen, job, padId, m));
            long tokens = gen.rollouts().stream()
                    .mapToLong(r -> r.prompt().ids().length + r.completion().length)
                    .sum();
            return new TrainLoop.StepResult(m, fresh ? tokens : 0, true, gen.completions());
        };
        TrainLoop.Evaluation evaluation = eval == null
                ? null
                : new TrainLoop.Evaluation(
                        eval.everySteps(),
                        done -> eval.run(
                                policy,
                                tok,
                                rewards,
                                job.numGenerations(),
                                job.sampling(0),
                                "batch", // reward_std over the whole batch, as RLOO logs it
                                job.promptsPerStep(),
                                a.seed(),
                                done));
        TrainLoop.Run run = TrainLoop.Run.of(COMMAND, policy, a, totalSteps, List.of(cursor))
                .withDataParallel()
                .withEval(evaluation)
                .withResolvedConfig(resolvedConfig)
                .withResumable(inFlight)
                .withLogCompletions(cfg.logCompletions())
                .withFingerprint(TrainCheckpoints.Fingerprint.ofText(
                        prompts.stream().map(Rollouts.Prompt::text).toList()));
        return TrainLoop.run(run, step);
    }

    /** Samples, scores and prices one generation batch (see the class comment). */
    private static Generation generate(
            Transformer policy,
            Reference ref,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            DataCursor cursor,
            WeightedRewards rewards,
            RlooConfig cfg,
            int step)
            throws IOException {
        int g = cfg.numGenerations(), batch = cfg.args().perDeviceTrainBatchSize();
        boolean needOld = cfg.beta() > 0 || cfg.numIterations() > 1;
        List<Rollouts.Rollout> rolls;
        WeightedRewards.Result scores;
        double[] oldSums = null, klSums = null;
        double klTokens = 0, maskTokens = 0;
        Collective dist = Distributed.current();
        policy.requiresGrad(false); // sampling and pi_old need no graph; LoRA dropout off
        try {
            rolls = Rollouts.sampleSharded(
                    policy,
                    tok,
                    cursor.next(prompts),
                    g,
                    cfg.sampling(GrpoTrainer.sampleSeed(cfg.args().seed(), step, 0)));
            rewards.setStep(step);
            scores = Rollouts.score(rewards, rolls);
            if (needOld) {
                oldSums = new double[rolls.size()];
                klSums = new double[rolls.size()];
                // this worker's micro-batches k = rank, rank + W, ... (the others' entries stay 0 until the sum below)
                for (int from = dist.rank() * batch; from < rolls.size(); from += dist.worldSize() * batch) {
                    List<Rollouts.Rollout> mb = rolls.subList(from, Math.min(rolls.size(), from + batch));
                    try (PointerScope scope = new PointerScope()) {
                        CompletionBatch.Inputs in = CompletionBatch.rollouts(mb, tok.padTokenId());
                        Tensor mask = keptMask(in, mb, cfg); // (B, T-1)
                        Tensor old = CompletionBatch.tokenLogpsNoGrad(policy, in, cfg.temperature()); // (B, T-1)
                        float[] o = Tensors.toFloats(Tensors.sum(old.mul(mask), 1));
                        for (int i = 0; i < o.length; i++) oldSums[from + i] = o[i];
                        if (ref != null) { // k1: log pi_old - log pi_ref per token, summed per sequence
                            Tensor kl = RlooLoss.sequenceKl(old, ref.tokenLogps(in, cfg.temperature()), mask);
                            float[] k = Tensors.toFloats(kl);
                            for (int i = 0; i < k.length; i++) klSums[from + i] = k[i];
                            klTokens += kl.sum().item_double();
                        }
                        maskTokens += mask.sum().item_double();
                    }
                }
                if (dist.worldSize() > 1) {
                    int n = rolls.size();
                    double[] all = new double[2 * n + 2];
                    System.arraycopy(oldSums, 0, all, 0, n);
                    System.arraycopy(klSums, 0, all, n, n);
                    all[2 * n] = klTokens;
                    all[2 * n + 1] = maskTokens;
                    dist.allReduceSum(all);
                    oldSums = java.util.Arrays.copyOfRange(all, 0, n);
                    klSums = java.util.Arrays.copyOfRange(all, n, 2 * n);
                    klTokens = all[2 * n];
                    maskTokens = all[2 * n + 1];
                }
            }
        } finally {
            policy.requiresGrad(true);
        }
        double[] penalised = RlooLoss.penalisedRewards(scores.total(), klSums, cfg.beta(), cfg.rewardClipRange());
        double[] advantages = RlooLoss.advantages(penalised, g, cfg.normalizeAdvantages());
        Map<String, Double> m = new LinkedHashMap<>();
        if (cfg.beta() > 0) m.put("kl", klTokens / Math.max(maskTokens, 1.0)); // :1574-1578
        // reward, reward_std (nanstd over the batch, :1588-1589) and rewards/<name>/* on the raw totals
        m.putAll(scores.metrics(g, "batch"));
        // TRL's is_std_zero is taken on the grouped rewards after clipping and the KL penalty (:1537-1563)
        m.put("frac_reward_zero_std", GrpoLoss.fracRewardZeroStd(penalised, g));
        m.putAll(rewards.functionMetrics());
        m.putAll(Rollouts.lengthMetrics(rolls));
        // log_completions: TRL's table (rloo_trainer.py:1755-1790) shows each function's raw reward and the advantage;
        // reward is the raw total, as the reward metric averages it (before clipping and the KL penalty)
        List<Map<String, Object>> completions = cfg.logCompletions().enabled()
                ? Rollouts.completionRows(
                        rolls, scores.names(), Rollouts.perRollout(scores), scores.total(), advantages)
                : null;
        return new Generation(rolls, advantages, cfg.numIterations() > 1 ? oldSums : null, m, completions);
    }

    /** The completion mask (B, T-1), with the rows of truncated completions zeroed when mask_truncated_completions (:1387-1391). */
    private static Tensor keptMask(CompletionBatch.Inputs in, List<Rollouts.Rollout> mb, RlooConfig cfg) {
        if (!cfg.maskTruncatedCompletions()) return in.completionMask();
        return in.completionMask().mul(Tensors.floats(keep(mb, cfg), mb.size(), 1));
    }

    /** 1 per row whose tokens count, 0 for a truncated completion under mask_truncated_completions (B). */
    private static float[] keep(List<Rollouts.Rollout> mb, RlooConfig cfg) {
        float[] k = new float[mb.size()];
        for (int i = 0; i < k.length; i++)
            k[i] = !cfg.maskTruncatedCompletions() || mb.get(i).terminated() ? 1f : 0f;
        return k;
    }

    /**
     * The RLOO loss over the generation batch, micro-batch by micro-batch, back-propagated; adds entropy and
     * clip_ratio/* to {@code m} and returns the step's loss.
     */
    private static double policyTerm(
            Transformer policy, Generation gen, RlooConfig cfg, long padId, Map<String, Double> m) {
        int batch = cfg.args().perDeviceTrainBatchSize(), n = gen.rollouts().size(), micro = (n + batch - 1) / batch;
        double loss = 0, entropy = 0, low = 0, lowMin = 0, high = 0, highMax = 0, region = 0;
        Collective dist = Distributed.current();
        for (int from = dist.rank() * batch; from < n; from += dist.worldSize() * batch) { // this worker's share
            int to = Math.min(n, from + batch);
            List<Rollouts.Rollout> mb = gen.rollouts().subList(from, to);
            try (PointerScope scope = new PointerScope()) {
                CompletionBatch.Inputs in = CompletionBatch.rollouts(mb, padId);
                Tensor mask = keptMask(in, mb, cfg), keep = Tensors.floats(keep(mb, cfg), mb.size());
                Tensor adv = Tensors.floats(floats(gen.advantages(), from, to), mb.size());
                Tensor old =
                        gen.oldLogps() == null ? null : Tensors.floats(floats(gen.oldLogps(), from, to), mb.size());
                RlooLoss.Output[] out = new RlooLoss.Output[1];
                // this micro-batch's token-mean entropy (:1705-1708), read inside the loss function: with gradient
                // checkpointing its tensors are freed when the forward-backward returns
                double[] entropyAndTokens = new double[2];
                loss += CompletionBatch.forwardBackward(
                        policy, in, Pass.of(true, cfg.args().gradientCheckpointing()), hidden -> {
                            CompletionBatch.Output o =
                                    CompletionBatch.fromHidden(policy, hidden, in, false, cfg.temperature());
                            Tensor logps = Tensors.sum(o.tokenLogps().mul(mask), 1); // (B)
                            out[0] = RlooLoss.compute(
                                    logps,
                                    old == null ? logps.detach() : old,
                                    adv,
                                    cfg.epsilon(),
                                    cfg.epsilonHighOrDefault());
                            try (NoGradGuard ng = new NoGradGuard()) {
                                entropyAndTokens[0] =
                                        o.entropySum().mul(keep).sum().item_double();
                                entropyAndTokens[1] =
                                        o.lengths().mul(keep).sum().item_double();
                            }
                            return out[0].loss().div(Tensors.scalar((double) micro));
                        });
                entropy += entropyAndTokens[0] / Math.max(entropyAndTokens[1], 1.0);
                low += out[0].lowClipMean();
                lowMin += out[0].lowMin();
                high += out[0].highClipMean();
                highMax += out[0].highMax();
                region += out[0].regionClipMean();
            }
        }
        if (dist.worldSize() > 1) { // every term is a sum over micro-batches: add the workers' shares
            double[] v = dist.allReduceSum(new double[] {loss, entropy, low, lowMin, high, highMax, region});
            loss = v[0];
            entropy = v[1];
            low = v[2];
            lowMin = v[3];
            high = v[4];
            highMax = v[5];
            region = v[6];
        }
        m.put("entropy", entropy / micro);
        m.put("clip_ratio/low_mean", low / micro);
        m.put("clip_ratio/low_min", lowMin / micro);
        m.put("clip_ratio/high_mean", high / micro);
        m.put("clip_ratio/high_max", highMax / micro);
        m.put("clip_ratio/region_mean", region / micro);
        return loss;
    }

    private static float[] floats(double[] x, int from, int to) {
        float[] f = new float[to - from];
        for (int i = from; i < to; i++) f[i - from] = (float) x[i];
        return f;
    }

    /**
     * What a run carries from one step to the next when num_iterations > 1, saved in checkpoints so a resumed run
     * continues exactly: the generation batch being reused with its advantages, pi_old sums and metrics.
     */
    private static final class InFlight implements TrainCheckpoints.Resumable {
        private static final String FILE = "rloo_state.json";
        private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
                new com.fasterxml.jackson.databind.ObjectMapper();
        private final boolean reuse;
        Generation gen;

        InFlight(boolean reuse) {
            this.reuse = reuse;
        }

        @Override
        public void save(java.nio.file.Path dir) throws IOException {
            var root = JSON.createObjectNode();
            if (reuse && gen != null) {
                var g = root.putObject("generation");
                g.set("rollouts", Rollouts.toJson(gen.rollouts()));
                g.set("advantages", JSON.valueToTree(gen.advantages()));
                g.set("old_logps", JSON.valueToTree(gen.oldLogps()));
                g.set("metrics", JSON.valueToTree(gen.metrics()));
                if (gen.completions() != null) g.set("completions", JSON.valueToTree(gen.completions()));
            }
            org.align4j.io.HfJson.writeJson(dir.resolve(FILE), root, false);
        }

        @Override
        public void restore(java.nio.file.Path dir) throws IOException {
            java.nio.file.Path file = dir.resolve(FILE);
            if (!java.nio.file.Files.isRegularFile(file))
                throw new IOException(dir + " has no " + FILE + ": it was not saved by an rloo run");
            var g = org.align4j.io.HfJson.readJson(file).path("generation");
            if (!g.isObject()) return;
            Map<String, Double> metrics = new LinkedHashMap<>();
            g.path("metrics")
                    .properties()
                    .forEach(e -> metrics.put(e.getKey(), e.getValue().asDouble()));
            gen = new Generation(
                    Rollouts.fromJson(g.path("rollouts")),
                    JSON.treeToValue(g.get("advantages"), double[].class),
                    JSON.treeToValue(g.get("old_logps"), double[].class),
                    metrics,
                    g.path("completions").isArray()
                            ? JSON.convertValue(
                                    g.get("completions"),
                                    new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() {})
                            : null);
        }
    }
}
