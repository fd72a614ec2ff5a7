// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.RewardModelReward;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;

/**
 * The APO game (Cheng et al., arXiv 2311.08045; docs/algorithms.md §2.6) and its baseline, round by round:
 * <pre>
 *   for round in 1..R:
 *     APO:      sample apo_sample_num responses per gold query from the current policy (T 1.2);
 *               train a reward model (from the base, or continuing) on
 *               one mean over all pairs of rm_kl_coeff * BT (human pairs) and
 *               apo_loss_coeff / apo_sample_num * APO_term (gold vs sample), as {@link ApoRewardTrainer}
 *     baseline: keep the base reward model (human pairs only)
 *     align the policy against that reward model on its own queries (APO keeps them apart from the
 *     reward model's; the caller chooses them): rjs (best-of-n SFT), dpo (online DPO on the reward
 *     model's best vs worst of n) or grpo, sampling as alignSampling says (APO: 4 at T 1.2, top_p 1.0);
 *     the learning rate may change per round
 *     measure (the caller's callback: policy and reward model of the round)
 * </pre>
 * Every round's reward model and policy are saved as Hugging Face folders under the output
 * directory (round-K/rm, round-K/policy), so a run can be inspected and resumed by hand.
 */
public final class ApoLoop {
    private ApoLoop() {}

    /**
     * A gold (expert) answer for a query: text the reward model is trained to prefer to the policy's samples.
     * {@code promptIds} are the ids the policy samples from (a conversational prompt rendered by the chat
     * template); null means {@code tok.encode(prompt)}.
     */
    public record Gold(String prompt, String response, long[] promptIds) {
        public Gold(String prompt, String response) {
            this(prompt, response, null);
        }

        public long[] ids(Tokenizer tok) {
            return promptIds != null ? promptIds : tok.encode(prompt);
        }
    }

    /** Called after each round (and once before the first, round 0, with the starting policy and the base reward model). */
    public interface Measure {
        void round(int round, Transformer policy, RewardModelReward rm) throws IOException;
    }

    /**
     * Runs the rounds. {@code sftDir}: the starting policy; {@code rmBaseLm}: the LM every fresh reward
     * model starts from; {@code rmBase}: the base reward model's folder (trained beforehand on the
     * human pairs); both need a tokenizer. Returns the final policy's folder.
     */
    public static Path run(
            Path outDir,
            Path sftDir,
            Path rmBaseLm,
            Path rmBase,
            Tokenizer tok,
            List<RewardTrainer.Pair> human,
            List<RewardTrainer.Pair> heldOut,
            List<Gold> gold,
            List<List<Rollouts.Prompt>> alignPromptsPerRound,
            ApoConfig c,
            Measure measure)
            throws IOException {
        // data parallel: every stage runs data-parallel (sampling sharded, rank 0 alone writes); a worker loads what
        // rank 0 saved (round-K/rm, round-K/policy) after a barrier, so output_dir must be one folder every worker
        // sees (one machine, or a shared filesystem)
        Collective dist = Distributed.current();
        if (dist.isMain()) Files.createDirectories(outDir);
        try (Transformer policy = Checkpoints.load(sftDir);
                RewardModelReward rm = RewardModelReward.load(rmBase, 64)) {
            measure.round(0, policy, rm);
        }
        Path current = sftDir, previousRm = rmBase;
        for (int round = 1; round <= c.rounds(); round++) {
            Path dir = outDir.resolve("round-" + round), rmDir = rmBase;
            if (c.apo()) {
                rmDir = dir.resolve("rm");
                List<RewardTrainer.Pair> apoPairs;
                try (Transformer policy = Checkpoints.load(current);
                        RewardModelReward enc = RewardModelReward.load(rmBase, 64)) {
                    apoPairs = apoPairs(policy, tok, enc, gold, c, round);
                }
                trainRewardModel(
                        c.rmFromBase() ? null : previousRm,
                        rmBaseLm,
                        rmDir,
                        human,
                        apoPairs,
                        heldOut,
                        c,
                        tok.padTokenId(),
                        round);
                previousRm = rmDir;
            }
            Path next = dir.resolve("policy");
            try (Transformer policy = Checkpoints.load(current);
                    RewardModelReward rm = RewardModelReward.load(rmDir, 64)) {
                align(
                        policy,
                        rm,
                        tok,
                        alignPromptsPerRound.get((round - 1) % alignPromptsPerRound.size()),
                        next,
                        sftDir,
                        c,
                        round);
                measure.round(round, policy, rm);
            }
            if (dist.isMain()) Checkpoints.copyTokenizerFiles(sftDir, next);
            dist.barrier(); // the round's policy is complete before any worker loads it
            current = next;
        }
        return current;
    }

    /** D_APO: apo_sample_num samples per gold query at the APO temperature; the gold answer is preferred to each (tools/apo_data_converter.py). */
    static List<RewardTrainer.Pair> apoPairs(
            Transformer policy, Tokenizer tok, RewardModelReward enc, List<Gold> gold, ApoConfig c, int round)
            throws IOException {
        int k = c.apoLoss().apoSampleNum();
        List<Rollouts.Prompt> prompts = new ArrayList<>();
        for (Gold g : gold) prompts.add(new Rollouts.Prompt(g.ids(tok), g.prompt(), null));
        SamplingParams p = c.apoSampling();
        // each query's samples from its own seed; data parallel: each worker samples its share, all get every sample
        List<Rollouts.Rollout> rolls = Rollouts.sampleSharded(policy, tok, prompts, k, p.withSeed(p.seed() + round));
        List<long[]> golds = new ArrayList<>();
        List<List<long[]>> samples = new ArrayList<>();
        for (int q = 0; q < gold.size(); q++) {
            golds.add(enc.encode(gold.get(q).prompt(), gold.get(q).response()));
            List<long[]> mine = new ArrayList<>();
            for (int j = 0; j < k; j++)
                mine.add(enc.encode(gold.get(q).prompt(), rolls.get(q * k + j).completionText()));
            samples.add(mine);
        }
        return ApoRewardTrainer.apoPairs(golds, samples);
    }

    /** A reward model from {@code continueFrom} (a reward model) or else from the base LM with a fresh head, trained on human + APO pairs, saved in {@code dir}. */
    static void trainRewardModel(
            Path continueFrom,
            Path baseLm,
            Path dir,
            List<RewardTrainer.Pair> human,
            List<RewardTrainer.Pair> apo,
            List<RewardTrainer.Pair> heldOut,
            ApoConfig c,
            long pad,
            int round)
            throws IOException {
        RewardConfig cfg =
                c.rm().withArgs(withDirAndSeed(c.rm().args(), dir, c.rm().args().seed() + round));
        try (Transformer source = Checkpoints.load(continueFrom != null ? continueFrom : baseLm);
                Transformer rm = continueFrom != null
                        ? source
                        : RewardTrainer.rewardModel(source, pad, cfg.args().seed())) {
            ApoRewardTrainer.train(
                    rm,
                    human,
                    apo,
                    heldOut,
                    c.apoLoss(),
                    cfg,
                    pad,
                    Map.of("stage", "apo reward model", "round", round));
        }
        Collective dist = Distributed.current();
        if (dist.isMain()) Checkpoints.copyTokenizerFilesForClassifier(baseLm, dir);
        dist.barrier(); // the reward model is complete before any worker loads it
    }

    /** One alignment round against {@code rm} (plus the extra reward); the policy is trained in place and saved in {@code outDir}. */
    static void align(
            Transformer policy,
            RewardModelReward rm,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            Path outDir,
            Path refDir,
            ApoConfig c,
            int round)
            throws IOException {
        double lr = c.alignLearningRates()
                .get(Math.min(round, c.alignLearningRates().size()) - 1);
        TrainingArgs a = withDirAndSeed(c.align(), outDir, c.align().seed() + round)
                .withSteps(
                        c.align().maxSteps(),
                        c.align().perDeviceTrainBatchSize(),
                        c.align().gradientAccumulationSteps(),
                        lr);
        SamplingParams s = c.alignSampling();
        RewardFunction main = c.alignReward() != null ? c.alignReward() : rm;
        WeightedRewards rewards =
                new WeightedRewards(c.extraReward() == null ? List.of(main) : List.of(main, c.extraReward()), null);
        Map<String, Object> resolved = Map.of("stage", "align", "method", c.alignMethod(), "round", round);
        switch (c.alignMethod()) {
            case "rjs" ->
                RjsTrainer.train(
                        policy,
                        tok,
                        prompts,
                        rewards,
                        new RjsConfig(a, c.alignGenerations(), s, 1, null, 64),
                        resolved);
            case "dpo" -> {
                try (Transformer ref = Checkpoints.load(refDir)) {
                    OnlineDpoTrainer.train(policy, ref, tok, prompts, rewards, onlineDpo(a, c, s), resolved);
                }
            }
            case "grpo" ->
                GrpoTrainer.train(
                        policy,
                        null,
                        tok,
                        prompts,
                        rewards,
                        GrpoConfig.builder(a, c.grpoLoss())
                                .numGenerations(c.alignGenerations())
                                .temperature(s.temperature())
                                .topP(s.topP())
                                .topK(s.topK())
                                .maxSamplingRounds(1)
                                .build(),
                        resolved);
            default -> throw new IllegalStateException("bug: align_method " + c.alignMethod());
        }
    }

    /**
     * align_method dpo: online DPO with the best of align_num_generations samples against the worst (tied prompts
     * dropped), the pairing the APO loop was built on, not TRL's first-vs-second of two samples; the loss is
     * apo's single sigmoid or ipo type with its beta.
     */
    static OnlineDpoConfig onlineDpo(TrainingArgs a, ApoConfig c, SamplingParams s) {
        List<String> types = c.dpoLoss().lossTypes();
        if (types.size() != 1)
            throw new IllegalArgumentException("align_method dpo takes one loss type (sigmoid or ipo), got " + types);
        return OnlineDpoConfig.builder(a)
                .beta(c.dpoLoss().beta())
                .lossType(types.getFirst())
                .pairing(OnlineDpoConfig.BEST_VS_WORST)
                .numGenerations(c.alignGenerations())
                .sampling(s)
                .build();
    }

    /** The same settings writing to {@code dir} with {@code seed}, overwriting (each round has its own fresh folder). */
    static TrainingArgs withDirAndSeed(TrainingArgs a, Path dir, long seed) {
        return a.toBuilder()
                .outputDir(dir)
                .seed(seed)
                .overwriteOutputDir(true)
                .resumeFromCheckpoint(null)
                .build();
    }
}
