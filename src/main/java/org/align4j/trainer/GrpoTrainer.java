// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.Sequence;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.engine.Tensors;
import org.align4j.generate.SamplingParams;
import org.align4j.loss.ChordLoss;
import org.align4j.loss.GrpoLoss;
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
 * Group relative policy optimisation (Shao et al., arXiv 2402.03300) as TRL's GRPOTrainer runs it
 * (docs/algorithms.md §5; losses in {@link GrpoLoss}), with DAPO's dynamic sampling and CHORD's expert
 * term as options (see {@link GrpoConfig}).
 *
 * <p>A step: sample G completions for each of the step's prompts (seeded by the step, so a resumed
 * run samples what the uninterrupted one did); score them; take group advantages; compute pi_old
 * (when num_iterations > 1) and reference log-probs (when beta > 0) without a graph; then per
 * micro-batch recompute the log-probs at the sampling temperature, take the clipped surrogate
 * loss, backpropagate; clip, update, log. The recomputed log-probs of the first pass are compared
 * with those recorded at sampling (sampling/sampling_logp_difference/*).
 */
public final class GrpoTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(GrpoTrainer.class);

    private GrpoTrainer() {}

    /**
     * One generation batch: the kept rollouts, their advantages, what was logged about them, and with log_completions
     * their completions.jsonl rows (null without).
     */
    private record Generation(
            List<Rollouts.Rollout> rollouts,
            double[] advantages,
            Map<String, Double> metrics,
            List<Map<String, Object>> completions) {}

    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            GrpoConfig cfg,
            Map<String, Object> resolvedConfig)
            throws IOException {
        return train(policy, refModel, tok, prompts, rewards, cfg, null, resolvedConfig);
    }

    public static TrainResult train(
            Transformer policy,
            Transformer refModel,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            GrpoConfig cfg,
            OnlineEval eval,
            Map<String, Object> resolvedConfig)
            throws IOException {
        if (prompts.isEmpty()) throw new IllegalArgumentException("grpo: the prompt set is empty");
        TrainingArgs a = cfg.args();
        // data parallel: the step's generation batch is per_device x gradient_accumulation_steps x workers completions
        // (TRL's generation_batch_size); each worker samples its share of the prompts (each group from its own seed,
        // so the samples do not depend on the number of workers), the rollouts are gathered, every worker scores all
        // of them (group advantages exact, reward functions and a co-trained discriminator the same on every worker)
        // and trains on its share of the micro-batches
        int workers = Distributed.current().worldSize();
        GrpoConfig job =
                workers == 1 ? cfg : cfg.toBuilder().args(a.jobOf(workers)).build();
        Reference ref = job.loss().beta() > 0 ? new Reference(policy, refModel, false, "grpo (beta > 0)") : null;
        int totalSteps = totalSteps(a, prompts.size(), job.promptsPerStep(), job.numIterations());
        // the prompt cursor moves once per generation batch (more with dynamic sampling)
        DataCursor promptCursor = new DataCursor(prompts.size(), job.promptsPerStep(), a.seed());
        List<DataCursor> cursors = new ArrayList<>(List.of(promptCursor));
        DataCursor expertCursor = null;
        if (job.chord() != null) {
            expertCursor =
                    new DataCursor(job.chord().expert().size(), job.chord().expertPerStep(), a.seed() + 1);
            cursors.add(expertCursor);
        }
        InFlight inFlight = new InFlight(job.numIterations() > 1);
        DataCursor experts = expertCursor;
        long padId = tok.padTokenId();
        TrainLoop.Step step = s -> {
            // num_iterations > 1 reuses one generation batch (and its pi_old) for that many optimizer steps
            int iteration = s % job.numIterations();
            boolean fresh = inFlight.gen == null || iteration == 0;
            if (fresh) {
                inFlight.gen = generate(policy, tok, prompts, promptCursor, rewards, job, s);
                inFlight.oldLogps = job.numIterations() > 1
                        ? tokenLogpsNoGrad(policy, inFlight.gen, padId, job.temperature(), a.perDeviceTrainBatchSize())
                        : null;
            }
            Generation gen = inFlight.gen;
            Map<String, Double> m = new LinkedHashMap<>(gen.metrics());
            GrpoConfig.Chord chord = job.chord();
            double mu = chord == null
                    ? 0
                    : ChordLoss.mu(s, chord.muWarmupSteps(), chord.muDecaySteps(), chord.muPeak(), chord.muValley());
            double loss = policyTerm(policy, ref, gen, inFlight.oldLogps, job, padId, 1 - mu, fresh, m);
            if (chord != null) {
                // the expert rows are one worker's share (rank 0's), counted once in the summed gradients
                List<Sequence> expertRows = experts.next(chord.expert());
                Collective dist = Distributed.current();
                double sft = dist.isMain() ? expertTerm(policy, expertRows, job, padId, mu) : 0;
                if (dist.worldSize() > 1) sft = dist.allReduceSum(new double[] {sft})[0];
                loss += sft;
                m.put("chord/mu", mu);
                m.put("chord/sft_loss", mu == 0 ? 0 : sft / mu);
            }
            m.put("loss", loss);
            var verdict = inFlight.monitor.observe(s + 1, m.get("entropy"));
            m.put("entropy_collapse", verdict.flagged() ? 1.0 : 0.0);
            if (verdict.flagged() && verdict.step() == s + 1) LOG.warn("grpo: {}", verdict.message());
            long tokens = gen.rollouts().stream()
                    .mapToLong(r -> r.prompt().ids().length + r.completion().length)
                    .sum();
            // the batch trained on, fresh or reused (TRL logs the last generation batch at every logging step)
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
                                samplingParams(job, 0),
                                job.scaleRewards(),
                                job.promptsPerStep(),
                                a.seed(),
                                done));
        TrainLoop.Run run = TrainLoop.Run.of("grpo", policy, a, totalSteps, cursors)
                .withDataParallel()
                .withEval(evaluation)
                .withResolvedConfig(resolvedConfig)
                .withResumable(inFlight)
                .withLogCompletions(cfg.logCompletions())
                .withFingerprint(TrainCheckpoints.Fingerprint.ofText(
                        prompts.stream().map(Rollouts.Prompt::text).toList()));
        return TrainLoop.run(run, step);
    }

    /**
     * What a GRPO run carries from one step to the next, saved in checkpoints so a resumed run continues exactly:
     * the generation batch being reused (num_iterations > 1) with its pi_old, and the entropy monitor.
     */
    private static final class InFlight implements TrainCheckpoints.Resumable {
        private static final String FILE = "grpo_state.json";
        private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
                new com.fasterxml.jackson.databind.ObjectMapper();
        private final boolean reuse;
        Generation gen;
        float[][] oldLogps;
        EntropyMonitor monitor = new EntropyMonitor();

        InFlight(boolean reuse) {
            this.reuse = reuse;
        }

        @Override
        public void save(java.nio.file.Path dir) throws IOException {
            var root = JSON.createObjectNode();
            root.set("entropy_monitor", monitor.state());
            if (reuse && gen != null) {
                var g = root.putObject("generation");
                g.set("rollouts", Rollouts.toJson(gen.rollouts()));
                g.set("advantages", JSON.valueToTree(gen.advantages()));
                g.set("metrics", JSON.valueToTree(gen.metrics()));
                g.set("old_logps", JSON.valueToTree(oldLogps));
                if (gen.completions() != null) g.set("completions", JSON.valueToTree(gen.completions()));
            }
            org.align4j.io.HfJson.writeJson(dir.resolve(FILE), root, false);
        }

        @Override
        public void restore(java.nio.file.Path dir) throws IOException {
            java.nio.file.Path file = dir.resolve(FILE);
            if (!java.nio.file.Files.isRegularFile(file))
                throw new IOException(dir + " has no " + FILE + ": it was not saved by a grpo run");
            var root = org.align4j.io.HfJson.readJson(file);
            monitor = EntropyMonitor.fromState(root.path("entropy_monitor"));
            var g = root.path("generation");
            if (!g.isObject()) return;
            List<Rollouts.Rollout> rollouts = Rollouts.fromJson(g.path("rollouts"));
            Map<String, Double> metrics = new LinkedHashMap<>();
            g.path("metrics")
                    .properties()
                    .forEach(e -> metrics.put(e.getKey(), e.getValue().asDouble()));
            List<Map<String, Object>> completions = g.path("completions").isArray()
                    ? JSON.convertValue(
                            g.get("completions"),
                            new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() {})
                    : null;
            gen = new Generation(rollouts, JSON.treeToValue(g.get("advantages"), double[].class), metrics, completions);
            oldLogps = JSON.treeToValue(g.get("old_logps"), float[][].class);
        }
    }

    /**
     * Samples, scores and keeps one generation batch. With dynamic sampling, groups whose rewards
     * all agree (no signal) are dropped and more prompts are sampled until promptsPerStep groups are
     * kept or max_sampling_rounds is reached; a batch that stays short trains on what it kept (or,
     * if nothing, on the first round, whose zero advantages then contribute only the KL term).
     */
    private static Generation generate(
            Transformer policy,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            DataCursor cursor,
            WeightedRewards rewards,
            GrpoConfig cfg,
            int step)
            throws IOException {
        int g = cfg.numGenerations();
        List<Rollouts.Rollout> kept = new ArrayList<>(), firstRound = null;
        List<Double> keptRewards = new ArrayList<>();
        List<double[]> keptScores = new ArrayList<>(); // each kept rollout's value of every reward function
        double[] firstRewards = null;
        double[][] firstScores = null;
        Map<String, Double> metrics = null;
        int rounds = 0;
        policy.requiresGrad(false); // sampling needs no graph; LoRA dropout off
        try {
            do {
                long seed = sampleSeed(cfg.args().seed(), step, rounds);
                List<Rollouts.Rollout> rolls =
                        Rollouts.sampleSharded(policy, tok, cursor.next(prompts), g, samplingParams(cfg, seed));
                rewards.setStep(step);
                WeightedRewards.Result res = Rollouts.score(rewards, rolls);
                if (rounds == 0) {
                    metrics = new LinkedHashMap<>(res.metrics(g, cfg.scaleRewards()));
                    metrics.putAll(rewards.functionMetrics());
                    metrics.putAll(Rollouts.lengthMetrics(rolls));
                    firstRound = rolls;
                    firstRewards = res.total();
                    firstScores = Rollouts.perRollout(res);
                }
                double[][] scores = Rollouts.perRollout(res);
                boolean[] flat =
                        cfg.dynamicSampling() ? GrpoLoss.zeroStdGroups(res.total(), g) : new boolean[rolls.size() / g];
                for (int grp = 0; grp < flat.length && kept.size() < cfg.promptsPerStep() * g; grp++) {
                    if (flat[grp]) continue;
                    for (int i = grp * g; i < (grp + 1) * g; i++) {
                        kept.add(rolls.get(i));
                        keptRewards.add(res.total()[i]);
                        keptScores.add(scores[i]);
                    }
                }
                rounds++;
            } while (cfg.dynamicSampling()
                    && kept.size() < cfg.promptsPerStep() * g
                    && rounds < cfg.maxSamplingRounds());
        } finally {
            policy.requiresGrad(true);
        }
        double[] r;
        double[][] perFunction;
        if (kept.isEmpty()) {
            kept = firstRound;
            r = firstRewards;
            perFunction = firstScores;
        } else {
            r = keptRewards.stream().mapToDouble(Double::doubleValue).toArray();
            perFunction = keptScores.toArray(double[][]::new);
        }
        if (cfg.dynamicSampling()) {
            metrics.put("dynamic_sampling/rounds", (double) rounds);
            metrics.put("dynamic_sampling/kept_groups", (double) kept.size() / g);
        }
        double[] advantages = GrpoLoss.advantages(r, g, cfg.scaleRewards(), cfg.leaveOneOutBaseline());
        // log_completions: the rollouts trained on (the kept groups under dynamic sampling), as TRL's table shows them
        List<Map<String, Object>> completions = cfg.logCompletions().enabled()
                ? Rollouts.completionRows(kept, rewards.names(), perFunction, r, advantages)
                : null;
        return new Generation(kept, advantages, metrics, completions);
    }

    /** The sampling seed of generation round {@code round} of optimizer step {@code step} (0-based; grpo and rloo). */
    static long sampleSeed(long seed, int step, int round) {
        return seed * 1_000_003L + step * 7_919L + round;
    }

    /**
     * Optimizer steps of an online run (grpo and rloo): max_steps, or num_train_epochs passes over the prompts at
     * {@code promptsPerStep} prompts per generation batch, each batch serving {@code numIterations} steps.
     */
    static int totalSteps(TrainingArgs a, int prompts, int promptsPerStep, int numIterations) {
        return a.maxSteps() > 0
                ? a.maxSteps()
                : (int) Math.ceil(a.numTrainEpochs() * Math.max(1, prompts / promptsPerStep)) * numIterations;
    }

    /** The training sampling settings with {@code seed}. */
    static SamplingParams samplingParams(GrpoConfig cfg, long seed) {
        return new SamplingParams(cfg.temperature(), cfg.topK(), cfg.topP(), cfg.maxCompletionLength(), seed);
    }

    /** pi_old: each micro-batch's per-position log-probs before the first update, kept as float arrays (N_mb x (T-1)). */
    private static float[][] tokenLogpsNoGrad(
            Transformer policy, Generation gen, long padId, double temperature, int batch) {
        List<float[]> out = new ArrayList<>();
        for (int from = 0; from < gen.rollouts().size(); from += batch) {
            try (PointerScope s = new PointerScope()) {
                out.add(Tensors.toFloats(CompletionBatch.tokenLogpsNoGrad(
                        policy,
                        CompletionBatch.rollouts(
                                gen.rollouts()
                                        .subList(from, Math.min(gen.rollouts().size(), from + batch)),
                                padId),
                        temperature)));
            }
        }
        return out.toArray(float[][]::new);
    }

    /**
     * The GRPO term over the generation batch, scaled by {@code weight} (1 - mu under CHORD),
     * back-propagated micro-batch by micro-batch; adds kl, entropy, clip_ratio/* (per micro-batch, combined as TRL
     * does: {@link GrpoStepMetrics}) and (on a fresh generation) the sampling mismatch to {@code m}. Returns the loss
     * value.
     */
    private static double policyTerm(
            Transformer policy,
            Reference ref,
            Generation gen,
            float[][] oldLogps,
            GrpoConfig cfg,
            long padId,
            double weight,
            boolean fresh,
            Map<String, Double> m) {
        int batch = cfg.args().perDeviceTrainBatchSize(), n = gen.rollouts().size(), micro = (n + batch - 1) / batch;
        long active = 0; // dapo's denominator: active completion tokens of the whole generation batch
        for (Rollouts.Rollout r : gen.rollouts())
            if (!cfg.maskTruncatedCompletions() || r.terminated()) active += r.completion().length;
        final long windowTokens = Math.max(1, active);
        double loss = 0;
        GrpoStepMetrics metrics = new GrpoStepMetrics();
        double diffSum = 0, diffMax = 0, diffCount = 0;
        Collective dist = Distributed.current();
        for (int k = dist.rank(); k < micro; k += dist.worldSize()) { // this worker's micro-batches
            int from = k * batch, to = Math.min(n, from + batch);
            List<Rollouts.Rollout> mb = gen.rollouts().subList(from, to);
            try (PointerScope scope = new PointerScope()) {
                CompletionBatch.Inputs in = CompletionBatch.rollouts(mb, padId);
                int t = in.length();
                // completion mask, with truncated completions masked out when mask_truncated_completions
                float[] keep = new float[mb.size()],
                        adv = new float[mb.size()],
                        sampled = new float[mb.size() * (t - 1)];
                for (int i = 0; i < mb.size(); i++) {
                    Rollouts.Rollout r = mb.get(i);
                    keep[i] = !cfg.maskTruncatedCompletions() || r.terminated() ? 1f : 0f;
                    adv[i] = (float) gen.advantages()[from + i];
                    System.arraycopy(
                            r.samplingLogps(),
                            0,
                            sampled,
                            i * (t - 1) + r.prompt().ids().length - 1,
                            r.completion().length);
                }
                Tensor mask = in.completionMask().mul(Tensors.floats(keep, mb.size(), 1));
                Tensor advT = Tensors.floats(adv, mb.size());
                Tensor old = oldLogps == null ? null : Tensors.floats(oldLogps[k], mb.size(), t - 1);
                Tensor refLogps = ref == null ? null : ref.tokenLogps(in, cfg.temperature());
                GrpoLoss.Output[] out = new GrpoLoss.Output[1];
                // what the metrics need, read out inside the loss function: with gradient checkpointing its tensors
                // are freed when the forward-backward returns
                float[][] entropy = new float[1][];
                double[] diff = new double[3]; // sum, max, count of |recomputed - sampled| over completion tokens
                loss += CompletionBatch.forwardBackward(
                        policy, in, Pass.of(true, cfg.args().gradientCheckpointing()), hidden -> {
                            CompletionBatch.Output o =
                                    CompletionBatch.fromHidden(policy, hidden, in, false, cfg.temperature());
                            Tensor logps = o.tokenLogps();
                            out[0] = GrpoLoss.compute(
                                    logps,
                                    old == null ? logps.detach() : old,
                                    refLogps,
                                    advT,
                                    mask,
                                    cfg.loss(),
                                    windowTokens,
                                    micro);
                            try (NoGradGuard g = new NoGradGuard()) {
                                entropy[0] = Tensors.toFloats(o.entropySum());
                                if (fresh) { // recorded at sampling vs recomputed now, on the completion tokens
                                    Tensor d = logps.detach()
                                            .sub(Tensors.floats(sampled, mb.size(), t - 1))
                                            .abs()
                                            .mul(in.completionMask());
                                    diff[0] = d.sum().item_double();
                                    diff[1] = d.max().item_double();
                                    diff[2] = in.completionMask().sum().item_double();
                                }
                            }
                            return weight == 1 ? out[0].loss() : out[0].loss().mul(Tensors.scalar(weight));
                        });
                // entropy over the loss mask: truncated completions out under mask_truncated_completions
                metrics.add(GrpoStepMetrics.MicroBatch.of(out[0], entropy[0], keep));
                diffSum += diff[0];
                diffMax = Math.max(diffMax, diff[1]);
                diffCount += diff[2];
            }
        }
        if (dist.worldSize() > 1) {
            metrics = metrics.gathered(dist, micro);
            double[] sums = dist.allReduceSum(new double[] {loss, diffSum, diffCount});
            loss = sums[0];
            diffSum = sums[1];
            diffCount = sums[2];
            for (double[] rank : dist.allGather(new double[] {diffMax})) diffMax = Math.max(diffMax, rank[0]);
        }
        m.putAll(metrics.metrics(cfg.loss().beta() > 0, cfg.loss().lossType().equals("cispo")));
        if (fresh) {
            m.put("sampling/sampling_logp_difference/mean", diffSum / diffCount);
            m.put("sampling/sampling_logp_difference/max", diffMax);
        }
        return loss;
    }

    /** CHORD's expert term: mu * SFT (phi-weighted when asked) over the step's expert rows, back-propagated; returns its value. */
    private static double expertTerm(Transformer policy, List<Sequence> expert, GrpoConfig cfg, long padId, double mu) {
        if (mu == 0) return 0;
        GrpoConfig.Chord c = cfg.chord();
        List<long[]> p = new ArrayList<>(), comp = new ArrayList<>();
        long window = 0;
        for (Sequence s : expert) {
            int first = firstTarget(s);
            p.add(java.util.Arrays.copyOfRange(s.inputIds(), 0, first));
            comp.add(java.util.Arrays.copyOfRange(s.inputIds(), first, s.length()));
            window += s.length() - first;
        }
        final long windowTokens = window;
        try (PointerScope scope = new PointerScope()) {
            CompletionBatch.Inputs in = CompletionBatch.inputs(p, comp, padId);
            return CompletionBatch.forwardBackward(
                    policy, in, Pass.of(true, cfg.args().gradientCheckpointing()), hidden -> {
                        CompletionBatch.Output o = CompletionBatch.fromHidden(policy, hidden, in, false);
                        return ChordLoss.sft(
                                        o.tokenLogps(), in.completionMask(), c.usePhi(), c.cutoffProb(), windowTokens)
                                .mul(Tensors.scalar(mu));
                    });
        }
    }

    /** Expert rows are prompt-completion sequences: the completion starts at the first target token. */
    private static int firstTarget(Sequence s) {
        for (int i = 1; i < s.length(); i++) if (s.targetMask()[i] != 0) return i;
        throw new IllegalArgumentException("a CHORD expert row has no completion tokens");
    }
}
