// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.align4j.data.Sequence;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.model.Transformer;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rejection sampling fine-tuning (best-of-n SFT, RAFT): the LLM step of APO's RJS baseline
 * (Cheng et al., arXiv 2311.08045; {@code tools/rejection_sampling.py} in github.com/Linear95/APO,
 * docs/algorithms.md §2.5). Each round:
 * <ol>
 *   <li>sample {@code numGenerations} completions per prompt from the current policy (APO: 4 at
 *       temperature 1.2, top_p 1.0);
 *   <li>score them with the reward functions (a reward model, GSM8K correctness, ...);
 *   <li>keep the highest-scoring non-empty completion of each prompt (ties: the first sampled;
 *       empty: it decodes to nothing but whitespace once special tokens such as EOS are dropped), and
 *       with {@code rewardThreshold} set only when its reward is strictly greater than the threshold
 *       (RAFT-style filtering, e.g. 0 with a 0/1 correctness reward keeps only correct answers; APO
 *       keeps every prompt's best);
 *   <li>SFT on the kept (prompt, completion) pairs with the loss on the completion only, through
 *       {@link SftTrainer} with the run's TrainingArgs: a fresh optimizer and learning-rate schedule
 *       per round, as APO runs one SFT job per epoch. The target is the sampled token ids as they
 *       are: with the stop token when the completion ended on one, without it when
 *       max_completion_length cut it.
 * </ol>
 *
 * <p>Files in {@code output_dir}: {@code rjs_rounds.jsonl} (one row per round: mean reward of all
 * samples, mean best reward, kept count, the SFT's first and last logged loss, ...);
 * {@code round-K/samples.jsonl} (every sample of round K: prompt, completion, reward, selected) and
 * {@code round-K/selected.jsonl} (the kept ones: prompt, completion, reward), the data for APO's
 * reward-model step; for rounds before the last, {@code round-K/} also holds that round's SFT
 * ({@code metrics.jsonl}, {@code checkpoint-N/}, the model after round K); the last round's SFT
 * writes {@code metrics.jsonl}, its checkpoints and the final model in {@code output_dir} itself.
 *
 * <p>Sampling is seeded by the run's seed plus the index of the generation batch in the run, so a
 * rerun samples the same completions. A run does not resume mid-way (resume_from_checkpoint is
 * refused): restart it, or start a new run from an intermediate round's model.
 *
 * <p>Data parallel ({@code --nproc_per_node N}): worker r samples and scores generation batches r, r + N, ...; the
 * batches are gathered on every worker, which select the same samples, and each round's SFT runs data-parallel (N
 * workers x per_device_train_batch_size B train as one worker x N·B); rank 0 alone writes.
 */
public final class RjsTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(RjsTrainer.class);
    static final String COMMAND = "rjs", ROUNDS_FILE = "rjs_rounds.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RjsTrainer() {}

    /** A kept sample: the prompt, the sampled completion ids and text, its total reward and its index among the prompt's samples. */
    public record Selected(
            Rollouts.Prompt prompt, long[] completion, String completionText, double reward, int sample) {}

    /** One round: the kept samples, its metrics (as written to rjs_rounds.jsonl) and its SFT run. */
    public record Round(int round, List<Selected> selected, Map<String, Object> metrics, TrainResult sft) {}

    /** Runs every round on {@code policy} in place and returns them; the final model is in output_dir. */
    public static List<Round> train(
            Transformer policy,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            RjsConfig cfg,
            Map<String, Object> resolvedConfig)
            throws IOException {
        return train(policy, tok, prompts, rewards, cfg, null, resolvedConfig);
    }

    /**
     * The same with held-out prompts ({@link OnlineEval}) sampled and scored after every round's SFT, their metrics
     * added to the round's row as {@code eval_*}; null for none.
     */
    public static List<Round> train(
            Transformer policy,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            RjsConfig cfg,
            OnlineEval eval,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainingArgs a = cfg.args();
        if (prompts.isEmpty()) throw new IllegalArgumentException(COMMAND + ": the prompt set is empty");
        if (a.resumeFromCheckpoint() != null
                && !a.resumeFromCheckpoint().isBlank()
                && !a.resumeFromCheckpoint().equals("false"))
            throw new IllegalArgumentException(
                    COMMAND
                            + " cannot resume_from_checkpoint: rerun the run, or start a new one from an intermediate round's model (output_dir/round-K)");
        // data parallel: rank 0 alone claims output_dir and writes there; the others wait for the claim
        Collective dist = Distributed.current();
        try (OutputDir claimed = dist.isMain()
                ? OutputDir.claim(
                        COMMAND, a.outputDir(), a.overwriteOutputDir(), false, List.of(), RjsTrainer::ownArtifact)
                : null) {
            dist.barrier();
            return rounds(policy, tok, prompts, rewards, cfg, eval, resolvedConfig);
        }
    }

    /** rjs' own files beside the last round's SFT: the rounds log and the round-K folders. */
    private static boolean ownArtifact(Path p) {
        String n = p.getFileName().toString();
        return n.equals(ROUNDS_FILE) || (n.matches("round-\\d+") && Files.isDirectory(p));
    }

    private static List<Round> rounds(
            Transformer policy,
            Tokenizer tok,
            List<Rollouts.Prompt> prompts,
            WeightedRewards rewards,
            RjsConfig cfg,
            OnlineEval eval,
            Map<String, Object> resolvedConfig)
            throws IOException {
        TrainingArgs a = cfg.args();
        Collective dist = Distributed.current();
        int batchesPerRound = (prompts.size() + cfg.generationBatchSize() - 1) / cfg.generationBatchSize();
        List<Round> rounds = new ArrayList<>();
        for (int r = 1; r <= cfg.rounds(); r++) {
            Path roundDir = a.outputDir().resolve("round-" + r);
            if (dist.isMain()) Files.createDirectories(roundDir);
            // data parallel: worker w samples and scores generation batches w, w + N, ... (each with its own seed, so
            // the samples do not depend on N) and every worker gets all of them, to select and train on the same rows
            Map<Integer, Scored> byBatch = new java.util.TreeMap<>();
            for (int b = dist.rank(); b < batchesPerRound; b += dist.worldSize()) {
                List<Rollouts.Prompt> batch = prompts.subList(
                        b * cfg.generationBatchSize(), Math.min(prompts.size(), (b + 1) * cfg.generationBatchSize()));
                long seed = a.seed() + (long) (r - 1) * batchesPerRound + b;
                List<Rollouts.Rollout> rs = Rollouts.sample(
                        policy, tok, batch, cfg.numGenerations(), cfg.sampling().withSeed(seed));
                WeightedRewards.Result scored = Rollouts.score(rewards, rs);
                byBatch.put(b, new Scored(rs, scored.total(), flatten(scored.perFunction())));
            }
            if (dist.worldSize() > 1) byBatch = Scored.gather(dist, byBatch);
            List<Rollouts.Rollout> samples = new ArrayList<>();
            List<double[]> perFunction = new ArrayList<>(), totals = new ArrayList<>();
            for (Scored sc : byBatch.values()) {
                samples.addAll(sc.rollouts());
                totals.add(sc.total());
                perFunction.add(sc.perFunction());
            }
            WeightedRewards.Result all = concat(rewards, perFunction, totals, samples.size());
            List<Selected> kept = new ArrayList<>();
            boolean[] isKept = new boolean[samples.size()];
            double bestSum = 0;
            int withBest = 0, empty = 0;
            for (Rollouts.Rollout s : samples) if (isEmpty(s)) empty++;
            for (int g = 0; g < prompts.size(); g++) {
                int from = g * cfg.numGenerations();
                int best = best(samples.subList(from, from + cfg.numGenerations()), all.total(), from);
                if (best < 0) continue; // every sample of this prompt is empty
                double reward = all.total()[from + best];
                bestSum += reward;
                withBest++;
                if (cfg.rewardThreshold() != null && !(reward > cfg.rewardThreshold())) continue;
                Rollouts.Rollout s = samples.get(from + best);
                kept.add(new Selected(s.prompt(), s.completion(), s.completionText(), reward, best));
                isKept[from + best] = true;
            }
            if (dist.isMain()) writeSamples(roundDir, samples, all.total(), isKept, cfg.numGenerations(), kept);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("round", r);
            all.metrics(cfg.numGenerations(), "group").forEach(m::put);
            m.put("best_reward", withBest == 0 ? Double.NaN : bestSum / withBest);
            m.put("prompts", prompts.size());
            m.put("samples", samples.size());
            m.put("empty_samples", empty);
            m.put("prompts_without_non_empty_sample", prompts.size() - withBest);
            m.put("kept", kept.size());
            m.put(
                    "kept_mean_reward",
                    kept.isEmpty()
                            ? Double.NaN
                            : kept.stream()
                                    .mapToDouble(Selected::reward)
                                    .average()
                                    .orElseThrow());
            LOG.info(String.format(
                    java.util.Locale.ROOT,
                    "%s round %d/%d: mean reward %.4f over %d samples, mean best %.4f, kept %d of %d prompts (%d empty samples)",
                    COMMAND,
                    r,
                    cfg.rounds(),
                    (double) m.get("reward"),
                    samples.size(),
                    (double) m.get("best_reward"),
                    kept.size(),
                    prompts.size(),
                    empty));
            if (kept.isEmpty())
                throw new IllegalStateException(COMMAND + " round " + r + ": no sample was kept ("
                        + (withBest == 0
                                ? "every sample is empty"
                                : "no best reward is above rjs_reward_threshold " + cfg.rewardThreshold())
                        + "); lower or drop rjs_reward_threshold, raise num_generations or max_completion_length, or check the reward functions. "
                        + "The samples are in " + roundDir.resolve("samples.jsonl"));
            List<Sequence> data = kept.stream()
                    .map(k -> Sequence.promptCompletion(k.prompt().ids(), k.completion()))
                    .toList();
            Path sftDir = r < cfg.rounds() ? roundDir : a.outputDir();
            TrainResult sft = SftTrainer.train(policy, data, sftArgs(a, sftDir), tok.padTokenId(), resolvedConfig);
            m.put("sft_steps", sft.globalStep());
            m.put(
                    "sft_first_loss",
                    sft.logged().isEmpty() ? Double.NaN : sft.logged().get(0).get("loss"));
            m.put(
                    "sft_last_loss",
                    sft.logged().isEmpty()
                            ? Double.NaN
                            : sft.logged().get(sft.logged().size() - 1).get("loss"));
            if (eval != null)
                eval.run(
                                policy,
                                tok,
                                rewards,
                                cfg.numGenerations(),
                                cfg.sampling(),
                                "group",
                                cfg.generationBatchSize(),
                                a.seed(),
                                r)
                        .forEach((k, v) -> m.put("eval_" + k, v));
            if (dist.isMain()) appendRow(a.outputDir().resolve(ROUNDS_FILE), m);
            rounds.add(new Round(r, List.copyOf(kept), m, sft));
        }
        return rounds;
    }

    /**
     * The index (within {@code group}) of the best non-empty sample, {@code totals} being indexed from
     * {@code offset}; the first one on ties; -1 when every sample is empty.
     */
    static int best(List<Rollouts.Rollout> group, double[] totals, int offset) {
        int best = -1;
        for (int i = 0; i < group.size(); i++)
            if (!isEmpty(group.get(i)) && (best < 0 || totals[offset + i] > totals[offset + best])) best = i;
        return best;
    }

    /** A completion with no text once special tokens (EOS) are dropped and whitespace is ignored. */
    public static boolean isEmpty(Rollouts.Rollout r) {
        return r.completionText().isBlank();
    }

    /** One generation batch: its rollouts, their reward totals and their per-function values (function-major). */
    private record Scored(List<Rollouts.Rollout> rollouts, double[] total, double[] perFunction) {
        /** Every worker's batches on every worker, by batch index (as JSON text, one broadcast from each rank). */
        static Map<Integer, Scored> gather(Collective dist, Map<Integer, Scored> mine) throws IOException {
            var out = JSON.createObjectNode();
            mine.forEach((b, sc) -> {
                var o = out.putObject(Integer.toString(b));
                o.set("rollouts", Rollouts.toJson(sc.rollouts()));
                o.set("total", JSON.valueToTree(sc.total()));
                o.set("per_function", JSON.valueToTree(sc.perFunction()));
            });
            Map<Integer, Scored> all = new java.util.TreeMap<>();
            for (String text : dist.allGatherText(JSON.writeValueAsString(out))) {
                var it = JSON.readTree(text).properties().iterator();
                while (it.hasNext()) {
                    var e = it.next();
                    all.put(
                            Integer.parseInt(e.getKey()),
                            new Scored(
                                    Rollouts.fromJson(e.getValue().get("rollouts")),
                                    JSON.treeToValue(e.getValue().get("total"), double[].class),
                                    JSON.treeToValue(e.getValue().get("per_function"), double[].class)));
                }
            }
            return all;
        }
    }

    /** The results of several generation batches as one (function-major per-function values, batch-major samples). */
    static WeightedRewards.Result concat(
            WeightedRewards rewards, List<double[]> perFunctionFlat, List<double[]> totals, int n) {
        int k = rewards.names().size();
        double[][] per = new double[k][n];
        double[] total = new double[n];
        int at = 0;
        for (int b = 0; b < totals.size(); b++) {
            int len = totals.get(b).length;
            for (int f = 0; f < k; f++) System.arraycopy(perFunctionFlat.get(b), f * len, per[f], at, len);
            System.arraycopy(totals.get(b), 0, total, at, len);
            at += len;
        }
        return new WeightedRewards.Result(rewards.names(), rewards.weights(), per, total);
    }

    private static double[] flatten(double[][] perFunction) {
        return Stream.of(perFunction).flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    /** A round's SFT settings: the run's, writing to {@code dir}, always a fresh run there. */
    private static TrainingArgs sftArgs(TrainingArgs a, Path dir) {
        return a.toBuilder()
                .outputDir(dir)
                .overwriteOutputDir(false)
                .resumeFromCheckpoint(null)
                .build();
    }

    private static void writeSamples(
            Path roundDir,
            List<Rollouts.Rollout> samples,
            double[] totals,
            boolean[] kept,
            int n,
            List<Selected> selected)
            throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(roundDir.resolve("samples.jsonl"), StandardCharsets.UTF_8)) {
            for (int i = 0; i < samples.size(); i++) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("prompt", samples.get(i).prompt().text());
                row.put("completion", samples.get(i).completionText());
                row.put("reward", totals[i]);
                row.put("sample", i % n);
                row.put("terminated", samples.get(i).terminated());
                row.put("selected", kept[i]);
                w.write(JSON.writeValueAsString(row));
                w.write('\n');
            }
        }
        try (BufferedWriter w = Files.newBufferedWriter(roundDir.resolve("selected.jsonl"), StandardCharsets.UTF_8)) {
            for (Selected s : selected) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("prompt", s.prompt().text());
                row.put("completion", s.completionText());
                row.put("reward", s.reward());
                w.write(JSON.writeValueAsString(row));
                w.write('\n');
            }
        }
    }

    private static void appendRow(Path file, Map<String, Object> row) throws IOException {
        Files.writeString(
                file,
                JSON.writeValueAsString(row) + "\n",
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }
}
