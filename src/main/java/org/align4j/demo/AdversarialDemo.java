// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.align4j.data.Sequence;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.loss.Calibration;
import org.align4j.loss.GrpoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.ModelConfig;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.RewardModelReward;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.ApoConfig;
import org.align4j.trainer.ApoLoop;
import org.align4j.trainer.RewardConfig;
import org.align4j.trainer.RewardTrainer;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.SftTrainer;
import org.align4j.trainer.TrainingArgs;

/**
 * The main job: APO and AAPA against their baselines on a task with a hidden gold reward
 * ({@link ArithmeticTask}), from scratch, on a CPU, in minutes.
 *
 * <ol>
 *   <li>A tiny llama trained from scratch by SFT to a weak policy (few steps).
 *   <li>A base reward model (the SFT backbone with a fresh score head) trained on a limited, noisy
 *       set of human pairs (labels flipped with some probability).
 *   <li>Side by side, from the same SFT policy, for a few rounds: RJS vs APO-RJS, DPO vs APO-DPO
 *       (online DPO on best-vs-worst of the reward model's ranking), GRPO vs GRPO+AAPA. The
 *       baselines align against the base reward model; the APO variants retrain their reward model
 *       each round from the base on human pairs plus gold-vs-sample pairs of the current policy
 *       (arXiv 2311.08045); GRPO+AAPA adds a fixed discriminator's anchor to the reward.
 *   <li>Per method and round: the policy's gold reward and accuracy on held-out problems, and the
 *       reward model's accuracy on held-out clean pairs and on the policy's own (shifted) samples.
 * </ol>
 */
public final class AdversarialDemo {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param rounds alignment rounds per method (APO's epochs)
     * @param sftSteps SFT steps of the weak initial policy
     * @param rmSteps steps of each reward-model training
     * @param alignSteps optimizer steps of each alignment round (online DPO, GRPO); RJS trains one epoch on its kept samples
     * @param verboseShare share of SFT demonstrations that carry chatter after the sum (the gold reward penalises it)
     * @param anchor the AAPA anchor as a reward function (trained by the caller from this run's expert and rollout texts), or null to skip GRPO+AAPA
     */
    public record Settings(
            Path outputDir,
            long seed,
            int rounds,
            int sftSteps,
            int rmSteps,
            int alignSteps,
            int humanPairs,
            double labelNoise,
            int queriesPerRound,
            double verboseShare,
            Function<Context, RewardFunction> anchor) {

        /** The default demo: 700 SFT, 200 reward-model and 16 alignment steps, 128 queries per round. */
        public static Builder full(Path outputDir, long seed) {
            return new Builder(outputDir, seed).rmSteps(200).alignSteps(16).queriesPerRound(128);
        }

        /** --quick: fewer reward-model and alignment steps and queries (120, 8, 64). */
        public static Builder quick(Path outputDir, long seed) {
            return new Builder(outputDir, seed).rmSteps(120).alignSteps(8).queriesPerRound(64);
        }

        /** Builds {@link Settings} by name; 400 human pairs with 20 % flipped labels, half the demonstrations chatty. */
        public static final class Builder {
            private final Path outputDir;
            private final long seed;
            private int rounds = 2,
                    sftSteps = 700,
                    rmSteps = 200,
                    alignSteps = 16,
                    humanPairs = 400,
                    queriesPerRound = 128;
            private double labelNoise = 0.2, verboseShare = 0.5;
            private Function<Context, RewardFunction> anchor;

            private Builder(Path outputDir, long seed) {
                this.outputDir = outputDir;
                this.seed = seed;
            }

            public Builder rounds(int v) {
                rounds = v;
                return this;
            }

            public Builder sftSteps(int v) {
                sftSteps = v;
                return this;
            }

            public Builder rmSteps(int v) {
                rmSteps = v;
                return this;
            }

            public Builder alignSteps(int v) {
                alignSteps = v;
                return this;
            }

            public Builder humanPairs(int v) {
                humanPairs = v;
                return this;
            }

            public Builder labelNoise(double v) {
                labelNoise = v;
                return this;
            }

            public Builder queriesPerRound(int v) {
                queriesPerRound = v;
                return this;
            }

            public Builder verboseShare(double v) {
                verboseShare = v;
                return this;
            }

            /** The AAPA anchor factory, or null to skip GRPO+AAPA. */
            public Builder anchor(Function<Context, RewardFunction> v) {
                anchor = v;
                return this;
            }

            public Settings build() {
                return new Settings(
                        outputDir,
                        seed,
                        rounds,
                        sftSteps,
                        rmSteps,
                        alignSteps,
                        humanPairs,
                        labelNoise,
                        queriesPerRound,
                        verboseShare,
                        anchor);
            }
        }
    }

    /** Tokens generated at most per answer: the longest sum (3 digits), a space, the longest chatter (7) and EOS fit. */
    static final int MAX_NEW_TOKENS = 12;

    /** What the anchor factory gets: the SFT policy's rollouts and the expert answers, as texts. */
    public record Context(
            List<String> expertPrompts,
            List<String> expertResponses,
            List<String> rolloutPrompts,
            List<String> rolloutResponses,
            Path dir) {}

    /** One method's policy measured after a round (round 0: the SFT policy). */
    public record Row(
            String method,
            int round,
            double goldGreedy,
            double accuracyGreedy,
            double goldSampled,
            double rmHeldOutAccuracy,
            double rmShiftedAccuracy,
            double rmEce) {}

    private AdversarialDemo() {}

    public static List<Row> run(Settings s) throws IOException {
        Path out = s.outputDir();
        Files.createDirectories(out);
        ArithmeticTask task = new ArithmeticTask(50, 100, s.seed());
        Path base = out.resolve("sft");
        Files.createDirectories(base);
        ByteLevelTokenizerFiles.write(base, true);
        List<Row> rows = new ArrayList<>();
        try (Tokenizer tok = Tokenizer.load(base)) {
            long pad = tok.padTokenId();
            long phase = System.nanoTime();
            // 1. a weak SFT policy from scratch
            ModelConfig config = ModelPresets.llama(320, 128, 384, 4, 4, 2, 64);
            try (Transformer policy = ModelPresets.randomInit(config, s.seed())) {
                List<Sequence> sft = new ArrayList<>();
                Random demo = new Random(s.seed() * 5 + 1);
                for (ArithmeticTask.Problem p : task.train())
                    sft.add(Sequence.promptCompletion(
                            tok.encode(p.prompt()),
                            withEos(
                                    tok.encodeNoSpecial(ArithmeticTask.demonstration(p, s.verboseShare(), demo)),
                                    tok.eosTokenId())));
                SftTrainer.train(
                        policy,
                        sft,
                        args(base, s.sftSteps(), 64, 3e-3, s.seed()).toBuilder()
                                .lrSchedulerType("cosine")
                                .warmupRatio(0.05)
                                .build(),
                        pad,
                        Map.of("stage", "sft"));
            }
            phase = phaseDone("sft", phase);
            // 2. the base reward model on limited, noisy human pairs
            List<RewardTrainer.Pair> human = pairs(tok, task.humanPairs(s.humanPairs(), s.labelNoise(), s.seed() + 1));
            List<RewardTrainer.Pair> heldOut = pairs(tok, task.heldOutPairs(200, s.seed() + 2));
            Path rmBase = out.resolve("rm-base");
            trainBaseRewardModel(base, rmBase, human, heldOut, s, pad);
            phase = phaseDone("reward model", phase);
            List<Rollouts.Prompt> prompts = prompts(tok, task.train());
            // 3. the AAPA anchor, trained once on the SFT policy's rollouts vs expert answers
            RewardFunction anchor = null;
            if (s.anchor() != null) {
                try (Transformer policy = Checkpoints.load(base)) {
                    List<Rollouts.Prompt> some = prompts.subList(0, Math.min(256, prompts.size()));
                    List<Rollouts.Rollout> rolls = Rollouts.sample(
                            policy, tok, some, 1, new SamplingParams(1.0, 0, 1.0, MAX_NEW_TOKENS, s.seed() + 3));
                    List<String> ep = new ArrayList<>(),
                            er = new ArrayList<>(),
                            rp = new ArrayList<>(),
                            rr = new ArrayList<>();
                    for (Rollouts.Rollout r : rolls) {
                        rp.add(r.prompt().text());
                        rr.add(r.completionText());
                    }
                    for (ArithmeticTask.Problem p : task.train().subList(256, 512)) {
                        ep.add(p.prompt());
                        er.add(p.answer());
                    }
                    anchor = s.anchor().apply(new Context(ep, er, rp, rr, out.resolve("discriminator")));
                }
                phase = phaseDone("aapa discriminator", phase);
            }
            // 4. the methods, side by side from the same SFT policy; APO variants retrain their reward model each round
            Random rng = new Random(s.seed() * 7);
            List<ApoLoop.Gold> gold = new ArrayList<>();
            for (int i = 0; i < s.queriesPerRound(); i++) {
                ArithmeticTask.Problem p =
                        task.train().get(rng.nextInt(task.train().size()));
                gold.add(new ApoLoop.Gold(p.prompt(), p.answer()));
            }
            List<List<Rollouts.Prompt>> alignPrompts = new ArrayList<>();
            for (int round = 1; round <= s.rounds(); round++) alignPrompts.add(roundPrompts(prompts, s, round));
            for (String method : methods(anchor != null)) {
                ApoConfig c = loopConfig(method, s, anchor);
                ApoLoop.run(
                        out.resolve(method),
                        base,
                        base,
                        rmBase,
                        tok,
                        human,
                        heldOut,
                        gold,
                        alignPrompts,
                        c,
                        (round, policy, rm) ->
                                rows.add(measure(method, round, policy, rm, tok, task, heldOut, s.seed() + round)));
                phase = phaseDone(method, phase);
            }
        }
        return rows;
    }

    /** Prints how long the phase that started at {@code since} (System.nanoTime) took; returns now. */
    private static long phaseDone(String phase, long since) {
        long now = System.nanoTime();
        System.out.printf(java.util.Locale.ROOT, "demo: phase %-18s %6.1f s%n", phase, (now - since) / 1e9);
        return now;
    }

    /**
     * The APO loop's settings for one of the demo's methods: method names are [apo-]rjs, [apo-]dpo, grpo[+aapa], and
     * rjs-gold / grpo-gold, which align against the hidden gold reward itself (the upper bound a perfect reward model
     * would give; the base reward model is still measured beside them).
     */
    private static ApoConfig loopConfig(String method, Settings s, RewardFunction anchor) {
        String align = method.replace("apo-", "").replace("+aapa", "").replace("-gold", "");
        boolean rjs = align.equals("rjs");
        // RJS: one epoch over the kept best samples; online DPO and GRPO: alignSteps optimizer steps
        TrainingArgs a = args(Path.of("unused"), rjs ? -1 : s.alignSteps(), 16, 0, s.seed() * 31);
        // chosen on the -gold rows only (aligning against the hidden gold reward itself): at 1e-3 (RJS), 1e-4 (DPO)
        // and 2e-4 (GRPO) even a perfect reward lowered the gold reward (fresh Adam moments on a converged tiny model);
        // at these rates it raises it. The baselines and APO variants use the same rates.
        double lr = switch (align) {
            case "rjs" -> 1e-4;
            case "dpo" -> 3e-5;
            default -> 5e-5;
        };
        RewardConfig rm = RewardConfig.of(args(Path.of("unused"), s.rmSteps(), 32, 1e-3, s.seed() + 100).toBuilder()
                        .lrSchedulerType("cosine")
                        .warmupRatio(0.05)
                        .build())
                .withEval(s.rmSteps(), 64);
        return ApoConfig.builder(rm, a)
                .rounds(s.rounds())
                .apo(method.startsWith("apo-"))
                .apoSampling(new SamplingParams(1.2, 0, 1.0, MAX_NEW_TOKENS, s.seed() * 13))
                .alignMethod(align)
                .alignLearningRates(List.of(lr))
                .alignGenerations(4)
                .alignSampling(new SamplingParams(1.0, 0, 1.0, MAX_NEW_TOKENS, s.seed() * 17))
                .grpoLoss(GrpoLoss.Config.defaults().withMaxCompletionLength(MAX_NEW_TOKENS))
                .extraReward(method.endsWith("+aapa") ? anchor : null)
                .alignReward(method.endsWith("-gold") ? ArithmeticTask.goldRewardFunction() : null)
                .build();
    }

    static List<String> methods(boolean withAnchor) {
        List<String> m = new ArrayList<>(List.of("rjs", "apo-rjs", "dpo", "apo-dpo", "grpo"));
        if (withAnchor) m.add("grpo+aapa");
        m.addAll(List.of("rjs-gold", "grpo-gold"));
        return m;
    }

    /** The base reward model: the SFT backbone with a fresh score head, on the human pairs only, saved in {@code dir}. */
    private static void trainBaseRewardModel(
            Path sftDir,
            Path dir,
            List<RewardTrainer.Pair> human,
            List<RewardTrainer.Pair> heldOut,
            Settings s,
            long pad)
            throws IOException {
        RewardConfig cfg = RewardConfig.of(args(dir, s.rmSteps(), 32, 1e-3, s.seed() + 100).toBuilder()
                        .lrSchedulerType("cosine")
                        .warmupRatio(0.05)
                        .build())
                .withEval(s.rmSteps(), 64);
        try (Transformer lm = Checkpoints.load(sftDir);
                Transformer rm = RewardTrainer.rewardModel(lm, pad, s.seed() + 200)) {
            RewardTrainer.train(rm, human, heldOut, cfg, pad, Map.of("stage", "rm-base"));
        }
        Checkpoints.copyTokenizerFilesForClassifier(sftDir, dir);
    }

    /**
     * The policy's gold reward (greedy and sampled) on the held-out problems, and the reward
     * model's accuracy on clean held-out pairs and on pairs of the policy's own samples that the
     * gold reward ranks (the distribution APO is meant to keep up with).
     */
    private static Row measure(
            String method,
            int round,
            Transformer policy,
            RewardModelReward rm,
            Tokenizer tok,
            ArithmeticTask task,
            List<RewardTrainer.Pair> heldOut,
            long seed) {
        List<ArithmeticTask.Problem> test = task.test();
        List<long[]> ids = new ArrayList<>();
        for (ArithmeticTask.Problem p : test) ids.add(tok.encode(p.prompt()));
        Generator.Result greedy = Generator.generate(
                policy, ids, SamplingParams.greedy(MAX_NEW_TOKENS), tok.stopTokenIds(), tok.padTokenId());
        double gold = 0, acc = 0;
        for (int i = 0; i < test.size(); i++) {
            String c = tok.decode(greedy.tokens()[i], true);
            gold += ArithmeticTask.goldReward(test.get(i), c) / test.size();
            acc += (ArithmeticTask.correct(test.get(i), c) ? 1.0 : 0.0) / test.size();
        }
        List<Rollouts.Rollout> samples = Rollouts.sample(
                policy, tok, prompts(tok, test), 4, new SamplingParams(1.0, 0, 1.0, MAX_NEW_TOKENS, seed * 17 + 5));
        double goldSampled = 0;
        List<long[]> seqs = new ArrayList<>();
        double[] g = new double[samples.size()];
        for (int i = 0; i < samples.size(); i++) {
            ArithmeticTask.Problem p = test.get(i / 4);
            g[i] = ArithmeticTask.goldReward(p, samples.get(i).completionText());
            goldSampled += g[i] / samples.size();
            seqs.add(rm.encode(p.prompt(), samples.get(i).completionText()));
        }
        float[] r = rm.scoreIds(seqs);
        int agree = 0, ranked = 0;
        for (int q = 0; q < test.size(); q++)
            for (int i = q * 4; i < q * 4 + 4; i++)
                for (int j = i + 1; j < q * 4 + 4; j++) {
                    if (Math.abs(g[i] - g[j]) < 1e-9) continue;
                    ranked++;
                    if ((g[i] > g[j]) == (r[i] > r[j])) agree++;
                }
        List<long[]> chosen = new ArrayList<>(), rejected = new ArrayList<>();
        for (RewardTrainer.Pair p : heldOut) {
            chosen.add(p.chosen());
            rejected.add(p.rejected());
        }
        float[] rc = rm.scoreIds(chosen), rr = rm.scoreIds(rejected);
        double[] diff = new double[rc.length];
        int right = 0;
        for (int i = 0; i < rc.length; i++) {
            diff[i] = rc[i] - rr[i];
            if (diff[i] > 0) right++;
        }
        Row row = new Row(
                method,
                round,
                gold,
                acc,
                goldSampled,
                (double) right / rc.length,
                ranked == 0 ? Double.NaN : (double) agree / ranked,
                Calibration.expectedCalibrationError(diff, Calibration.DEFAULT_BINS));
        System.out.printf(
                "demo: %-10s round %d  gold(greedy) %.3f  accuracy %.3f  gold(T=1) %.3f  RM held-out acc %.3f  RM acc on policy samples %.3f%n",
                method,
                round,
                row.goldGreedy(),
                row.accuracyGreedy(),
                row.goldSampled(),
                row.rmHeldOutAccuracy(),
                row.rmShiftedAccuracy());
        return row;
    }

    /** Each round's alignment prompts: a seeded sample of the training problems (the same for every method). */
    private static List<Rollouts.Prompt> roundPrompts(List<Rollouts.Prompt> all, Settings s, int round) {
        List<Rollouts.Prompt> copy = new ArrayList<>(all);
        java.util.Collections.shuffle(copy, new Random(s.seed() * 101 + round));
        return copy.subList(0, Math.min(s.queriesPerRound(), copy.size()));
    }

    static List<Rollouts.Prompt> prompts(Tokenizer tok, List<ArithmeticTask.Problem> problems) {
        List<Rollouts.Prompt> out = new ArrayList<>();
        for (ArithmeticTask.Problem p : problems)
            out.add(new Rollouts.Prompt(
                    tok.encode(p.prompt()), p.prompt(), JSON.createObjectNode().put("answer", p.answer())));
        return out;
    }

    private static List<RewardTrainer.Pair> pairs(Tokenizer tok, List<ArithmeticTask.Pair> pairs) {
        String eos = tok.decode(new long[] {tok.eosTokenId()}, false);
        List<RewardTrainer.Pair> out = new ArrayList<>();
        for (ArithmeticTask.Pair p : pairs)
            out.add(new RewardTrainer.Pair(
                    tok.encode(p.problem().prompt() + p.chosen() + eos),
                    tok.encode(p.problem().prompt() + p.rejected() + eos)));
        return out;
    }

    private static TrainingArgs args(Path dir, int steps, int batch, double lr, long seed) {
        return TrainingArgs.builder(dir)
                .maxSteps(steps)
                .perDeviceTrainBatchSize(batch)
                .learningRate(lr)
                .numTrainEpochs(1.0)
                .loggingSteps(Math.max(1, steps / 5))
                .saveSteps(0)
                .seed(seed)
                .overwriteOutputDir(true)
                .build();
    }

    private static long[] withEos(long[] ids, long eos) {
        long[] r = java.util.Arrays.copyOf(ids, ids.length + 1);
        r[ids.length] = eos;
        return r;
    }

    public static Map<String, Object> toJson(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", r.method());
        m.put("round", r.round());
        m.put("gold_reward_greedy", r.goldGreedy());
        m.put("accuracy_greedy", r.accuracyGreedy());
        m.put("gold_reward_sampled", r.goldSampled());
        m.put("rm_heldout_accuracy", r.rmHeldOutAccuracy());
        m.put("rm_accuracy_on_policy_samples", r.rmShiftedAccuracy());
        m.put("rm_ece", r.rmEce());
        return m;
    }
}
