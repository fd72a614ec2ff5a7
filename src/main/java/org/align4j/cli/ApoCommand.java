// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.align4j.aapa.AnchorReward;
import org.align4j.aapa.AnchorSchedule;
import org.align4j.aapa.Discriminator;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.Datasets;
import org.align4j.data.Encoder;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.Messages;
import org.align4j.data.Truncation;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.generate.SamplingParams;
import org.align4j.loss.ApoLoss;
import org.align4j.loss.Calibration;
import org.align4j.loss.DpoLoss;
import org.align4j.loss.GrpoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardModelReward;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.ApoConfig;
import org.align4j.trainer.ApoLoop;
import org.align4j.trainer.RewardConfig;
import org.align4j.trainer.RewardTrainer;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainingArgs;

/**
 * {@code apo}: Adversarial Preference Optimization (arXiv 2311.08045) and its baseline in one run
 * ({@link ApoLoop}). Human pairs (dataset_name, preference rows with an explicit or implicit
 * prompt, plain text or conversational as the reward command reads them) train the base reward model; golden answers
 * (gold_dataset_name: prompt + completion rows; by default the chosen responses of the human pairs stand in for the
 * paper's GPT-4 answers) play "real data" against the policy's samples. Each round: the APO reward model (from the
 * base LM, or continuing) on one mean of rm_kl_coeff * BT(human) and apo_loss_coeff / apo_sample_num * APO(gold vs
 * sample) over all pairs, then the policy aligned against it by align_method (rjs, dpo, grpo), sampling 4 responses
 * per query at temperature 1.2, top_p 1.0 as APO does. With baseline true (default) the same loop runs against the
 * base reward model into output_dir/baseline.
 *
 * <p>The query sets are kept apart as in APO ({@link ApoData}): the alignment prompts are align_dataset_name's or
 * align_query_fraction of dataset_name's queries, split off by the seed, and never a reward-model query; the reward
 * models are measured on eval_dataset_name's pairs or on rm_eval_fraction of dataset_name's queries, held out.
 * Reward-model sequences longer than max_length keep their last max_length tokens (rm_truncation left, APO's) unless
 * rm_truncation is drop (TRL's). Per round, rounds.jsonl gets the reward model's held-out accuracy and ECE, its
 * gold-minus-sample score gap, and the policy's mean score under test_reward_model_name_or_path when given.
 */
final class ApoCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final List<Spec> SPECS;

    static {
        // the paper's settings, written once in ApoConfig's builder and ApoLoss.Config.defaults()
        ApoConfig d = ApoConfig.builder(
                        RewardConfig.defaults(Path.of("output")), TrainingArgs.defaults(Path.of("output")))
                .build();
        SPECS = TrainingOptions.specs(
                5e-6,
                "human preference pairs D_P (prompt?, chosen, rejected; plain text or conversational): .jsonl/.json/.parquet or a folder",
                OnlineOptions.withCotrain(
                        of(
                                "rm_model_name_or_path",
                                Type.PATH,
                                null,
                                "the LM each reward model starts from (default: model_name_or_path)"),
                        of(
                                "base_reward_model_name_or_path",
                                Type.PATH,
                                null,
                                "an already trained base reward model (default: train one on dataset_name first)"),
                        of(
                                "gold_dataset_name",
                                Type.PATH,
                                null,
                                "golden answers D_gold as prompt + completion rows (default: the chosen responses of the reward model's human pairs; APO used GPT-4 answers)"),
                        of("max_gold_queries", Type.INT, 512, "gold queries used per round"),
                        of(
                                "align_dataset_name",
                                Type.PATH,
                                null,
                                "prompt rows the policy is aligned on (APO's HH-LLM set; default: align_query_fraction of dataset_name's queries); rows whose prompt is also a reward-model query are left out"),
                        of(
                                "align_query_fraction",
                                Type.DOUBLE,
                                0.5,
                                "without align_dataset_name: the share of dataset_name's distinct queries set aside, by seed, for alignment (the rest train the reward model), so no alignment query is a reward-model query (APO's HH-RM / HH-LLM split)"),
                        of("max_queries", Type.INT, 512, "alignment prompts per round"),
                        of(
                                "rm_eval_fraction",
                                Type.DOUBLE,
                                0.0,
                                "without eval_dataset_name: the share of dataset_name's distinct queries held out, by seed, to measure each round's reward model (accuracy and ECE in rounds.jsonl); 0 = none"),
                        of(
                                "test_reward_model_name_or_path",
                                Type.PATH,
                                null,
                                "a separate reward model that scores the policy after each round"),
                        of("apo_rounds", Type.INT, d.rounds(), "rounds of the game (the paper's epochs)"),
                        of(
                                "rm_init",
                                Type.STRING,
                                d.rmFromBase() ? "base" : "continue",
                                "base (each round's reward model starts from the base LM, the paper's default) or continue"),
                        of(
                                "apo_loss_type",
                                Type.STRING,
                                d.apoLoss().apoLossType(),
                                "ranking (BT on gold vs sample) or diff (the WGAN form)"),
                        of(
                                "apo_loss_coeff",
                                Type.DOUBLE,
                                d.apoLoss().apoLossCoeff(),
                                "weight of the APO term (divided by apo_sample_num)"),
                        of(
                                "rm_kl_coeff",
                                Type.DOUBLE,
                                d.apoLoss().rmKlCoeff(),
                                "weight of the BT term on the human pairs"),
                        of("apo_sample_num", Type.INT, d.apoLoss().apoSampleNum(), "policy samples per gold query"),
                        of(
                                "apo_temperature",
                                Type.DOUBLE,
                                d.apoSampling().temperature(),
                                "sampling temperature of the APO samples"),
                        of(
                                "max_completion_length",
                                Type.INT,
                                d.apoSampling().maxNewTokens(),
                                "tokens generated at most per sample"),
                        of("rm_learning_rate", Type.DOUBLE, 1e-6, "reward-model learning rate"),
                        of("rm_max_steps", Type.INT, -1, "reward-model steps per round (default: rm_num_train_epochs)"),
                        of("rm_num_train_epochs", Type.DOUBLE, 1.0, "reward-model epochs per round"),
                        of("rm_per_device_train_batch_size", Type.INT, 8, "reward-model pairs per micro-batch"),
                        of(
                                "max_length",
                                Type.INT,
                                512,
                                "the longest reward-model sequence in tokens (see rm_truncation)"),
                        of(
                                "rm_truncation",
                                Type.STRING,
                                RewardConfig.LEFT,
                                "reward-model sequences longer than max_length: left (keep their last max_length tokens, as APO) or drop (leave the pair out, as TRL)"),
                        of(
                                "align_method",
                                Type.STRING,
                                d.alignMethod(),
                                "rjs, dpo (online DPO on the reward model's best vs worst) or grpo"),
                        of(
                                "align_learning_rates",
                                Type.STRING,
                                String.join(
                                        ",",
                                        d.alignLearningRates().stream()
                                                .map(String::valueOf)
                                                .toList()),
                                "the policy's learning rate per round (the last repeats)"),
                        of(
                                "align_num_generations",
                                Type.INT,
                                d.alignGenerations(),
                                "samples per prompt in the alignment step"),
                        of(
                                "temperature",
                                Type.DOUBLE,
                                d.alignSampling().temperature(),
                                "sampling temperature of the alignment step (APO: 1.2, as for its reward-model samples)"),
                        of(
                                "top_p",
                                Type.DOUBLE,
                                d.alignSampling().topP(),
                                "nucleus sampling mass of the alignment step (APO: 1.0 = off)"),
                        of("beta", Type.DOUBLE, d.dpoLoss().beta(), "align_method dpo: DPO beta"),
                        of(
                                "baseline",
                                Type.BOOLEAN,
                                true,
                                "also run the loop with the base reward model (output_dir/baseline)"),
                        of(
                                "aapa_discriminator_path",
                                Type.PATH,
                                null,
                                "add an AAPA anchor (a folder from ./align4j discriminator) to the alignment reward"),
                        of("aapa_coef", Type.DOUBLE, 0.1, "the anchor's coefficient")));
    }

    private ApoCommand() {}

    /**
     * The folder of a full model that {@code key} names: a folder, or a hub id in the local cache. An adapter folder is
     * refused with the fix (the APO loop reloads its models from folders round after round).
     */
    private static Path fullModel(Options o, String key) throws java.io.IOException {
        org.align4j.model.ModelSource s = org.align4j.model.ModelSource.resolve(
                o.path(key).toString(), o.has("model_revision") ? o.string("model_revision") : null);
        if (s.isAdapter())
            throw new CliException("apo: " + key + " " + o.path(key) + " is a PEFT adapter folder; merge it first:"
                    + " ./align4j merge --model_name_or_path " + o.path(key) + " --output_dir <folder>");
        return s.modelDir();
    }

    static void run(String[] args) throws Exception {
        Options o = Options.parse("apo", SPECS, args);
        TrainingArgs align = TrainingOptions.parse(o);
        if (o.flag("use_peft"))
            throw new CliException("apo: use_peft is not supported yet: each round's alignment trains all weights of"
                    + " the policy; drop use_peft and the lora_* keys");
        Path out = align.outputDir(), policyDir = fullModel(o, "model_name_or_path");
        Path rmLm = o.has("rm_model_name_or_path") ? fullModel(o, "rm_model_name_or_path") : policyDir;
        if (Files.exists(out.resolve("apo")) && !align.overwriteOutputDir())
            throw new CliException("apo: output_dir " + out
                    + " already holds an apo run; pass --overwrite_output_dir true or choose another output_dir");
        // data parallel: every worker has checked output_dir before rank 0 writes there; rank 0 alone writes
        Collective dist = Distributed.current();
        dist.barrier();
        try (Tokenizer tok = Tokenizer.load(policyDir)) {
            ApoData data = ApoData.read(o, ApoCommand::query);
            if (dist.isMain()) data.writeSplit(out);
            RewardConfig rm;
            try {
                rm = RewardConfig.of(rmArgs(o, out.resolve("rm-base")))
                        .withMaxLength(o.integer("max_length"))
                        .withTruncation(rmTruncation(o));
            } catch (IllegalArgumentException e) {
                throw new CliException("apo: " + e.getMessage());
            }
            List<RewardTrainer.Pair> human = RewardCommand.pairs(tok, data.rm());
            // measured as the reward models are trained: fitted to max_length the same way
            List<RewardTrainer.Pair> heldOut = data.heldOut().isEmpty()
                    ? List.of()
                    : RewardTrainer.fitToMaxLength(RewardCommand.pairs(tok, data.heldOut()), rm, "held-out");
            List<ApoLoop.Gold> gold = gold(o, tok, data.rm());
            Set<String> rmQueries = new HashSet<>();
            Encoder enc = new Encoder(tok, Truncation.none());
            for (Row r : data.rm()) rmQueries.add(Arrays.toString(enc.promptIds(promptAndChosen(r))));
            for (ApoLoop.Gold g : gold) rmQueries.add(Arrays.toString(g.ids(tok)));
            List<Rollouts.Prompt> queries = queries(o, tok, data.align(), rmQueries);
            System.err.printf(
                    "apo: %d human pairs, %d held-out pairs, %d gold queries, %d alignment prompts%n",
                    human.size(), heldOut.size(), gold.size(), queries.size());
            Path rmBase = o.has("base_reward_model_name_or_path")
                    ? o.path("base_reward_model_name_or_path")
                    : out.resolve("rm-base");
            if (!o.has("base_reward_model_name_or_path")) {
                try (Transformer lm = Checkpoints.load(rmLm);
                        Transformer model = RewardTrainer.rewardModel(lm, tok.padTokenId(), align.seed())) {
                    RewardTrainer.train(
                            model, human, heldOut.isEmpty() ? null : heldOut, rm, tok.padTokenId(), o.resolved());
                }
                if (dist.isMain()) Checkpoints.copyTokenizerFilesForClassifier(rmLm, rmBase);
                dist.barrier(); // the base reward model is complete before any worker loads it
            }
            try (RewardModelReward test = o.has("test_reward_model_name_or_path")
                    ? RewardModelReward.load(o.path("test_reward_model_name_or_path"), 16)
                    : null) {
                for (boolean apo : o.flag("baseline") ? new boolean[] {true, false} : new boolean[] {true}) {
                    Path dir = out.resolve(apo ? "apo" : "baseline");
                    // each side opens the discriminator afresh, so a co-trained one does not carry over from the other
                    // side
                    try (Discriminator disc = o.has("aapa_discriminator_path")
                            ? Discriminator.open(o.path("aapa_discriminator_path"))
                            : null) {
                        AnchorReward anchor = disc == null
                                ? null
                                : OnlineOptions.anchor("apo", o, disc, AnchorSchedule.constant(o.number("aapa_coef")));
                        ApoConfig c = config(o, align, rm, apo, anchor);
                        List<Map<String, Object>> rounds = new ArrayList<>();
                        ApoLoop.run(
                                dir,
                                policyDir,
                                rmLm,
                                rmBase,
                                tok,
                                human,
                                heldOut,
                                gold,
                                List.of(queries),
                                c,
                                (round, policy, model) ->
                                        rounds.add(measure(round, policy, model, tok, heldOut, gold, test, o)));
                        if (dist.isMain())
                            Files.writeString(
                                    dir.resolve("rounds.jsonl"),
                                    String.join(
                                                    "\n",
                                                    rounds.stream()
                                                            .map(ApoCommand::json)
                                                            .toList()) + "\n");
                        OnlineOptions.saveCoTrainedDiscriminator("apo", disc, dir);
                        System.err.println("apo: " + (apo ? "APO" : "baseline") + " final policy in "
                                + dir.resolve("round-" + c.rounds()).resolve("policy"));
                    }
                }
            }
        }
    }

    /** rm_truncation, checked: left (APO) or drop (TRL). */
    static String rmTruncation(Options o) {
        String t = o.string("rm_truncation");
        if (!List.of(RewardConfig.LEFT, RewardConfig.DROP).contains(t))
            throw new CliException("apo: rm_truncation '" + t + "' is unknown; use " + RewardConfig.LEFT
                    + " (keep the last max_length tokens, as APO) or " + RewardConfig.DROP
                    + " (leave the pair out, as TRL)");
        return t;
    }

    static ApoConfig config(Options o, TrainingArgs align, RewardConfig rm, boolean apo, AnchorReward anchor) {
        rmTruncation(o);
        try {
            ApoLoss.Config loss = new ApoLoss.Config(
                    o.number("rm_kl_coeff"),
                    o.number("apo_loss_coeff"),
                    o.integer("apo_sample_num"),
                    o.string("apo_loss_type"));
            if (!List.of("base", "continue").contains(o.string("rm_init")))
                throw new IllegalArgumentException(
                        "rm_init '" + o.string("rm_init") + "' is unknown; use base or continue");
            int n = o.integer("max_completion_length");
            return ApoConfig.builder(rm, align)
                    .rounds(o.integer("apo_rounds"))
                    .apo(apo)
                    .rmFromBase(o.string("rm_init").equals("base"))
                    .apoLoss(loss)
                    .apoSampling(new SamplingParams(o.number("apo_temperature"), 0, 1.0, n, align.seed() * 13))
                    .alignMethod(o.string("align_method"))
                    .alignLearningRates(o.doubles("align_learning_rates"))
                    .alignGenerations(o.integer("align_num_generations"))
                    .alignSampling(
                            new SamplingParams(o.number("temperature"), 0, o.number("top_p"), n, align.seed() * 17))
                    .dpoLoss(DpoLoss.Config.defaults().withBeta(o.number("beta")))
                    .grpoLoss(GrpoLoss.Config.defaults().withMaxCompletionLength(n))
                    .extraReward(anchor)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CliException("apo: " + e.getMessage());
        }
    }

    private static TrainingArgs rmArgs(Options o, Path dir) {
        TrainingArgs a = TrainingOptions.parse(o);
        return a.toBuilder()
                .outputDir(dir)
                .learningRate(o.number("rm_learning_rate"))
                .perDeviceTrainBatchSize(o.integer("rm_per_device_train_batch_size"))
                .maxSteps(o.integer("rm_max_steps"))
                .numTrainEpochs(o.number("rm_num_train_epochs"))
                .saveSteps(0)
                .saveTotalLimit(null)
                .lrSchedulerType("linear")
                .weightDecay(0.0)
                .overwriteOutputDir(true)
                .resumeFromCheckpoint(null)
                .build();
    }

    /**
     * Golden answers: gold_dataset_name's (prompt, completion) rows, or the chosen side of the human pairs (implicit
     * prompts split as TRL does). Plain or conversational: a message list is rendered by the chat template (the
     * prompt with the generation prompt, as the policy samples from it; the response as the template writes it
     * after the prompt, up to its end-of-turn token, which the reward model's scoring appends again).
     */
    static List<ApoLoop.Gold> gold(Options o, Tokenizer tok, List<Row> humanRows) {
        List<ApoLoop.Gold> out = new ArrayList<>();
        boolean own = o.has("gold_dataset_name");
        List<Row> rows = own ? Datasets.read(o.path("gold_dataset_name"), o.string("dataset_train_split")) : humanRows;
        Encoder enc = new Encoder(tok, Truncation.none());
        Set<String> seen = new HashSet<>();
        for (Row r : rows) {
            if (out.size() >= o.integer("max_gold_queries")) break;
            Row pc = own ? r : promptAndChosen(r);
            long[] promptIds = enc.promptIds(pc);
            String prompt = promptText(tok, pc, promptIds);
            JsonNode c = pc.require("completion");
            String response = c.isTextual() ? c.asText() : responseText(tok, enc.completionIds(pc));
            // one gold answer per query and answer (apo_data_converter.py merges by query_id): two human pairs with
            // the same prompt and chosen response give it once
            if (seen.add(Arrays.toString(promptIds) + "\u0000" + response))
                out.add(new ApoLoop.Gold(prompt, response, promptIds));
        }
        return out;
    }

    /**
     * The alignment prompts: the prompt of each row (a prompt row, or a preference row's explicit or implicit prompt),
     * up to max_queries, leaving out any whose prompt ids are in {@code rmQueries} (the reward model's queries: APO
     * aligns on queries the reward model did not learn from).
     */
    static List<Rollouts.Prompt> queries(Options o, Tokenizer tok, List<Row> rows, Set<String> rmQueries) {
        List<Rollouts.Prompt> out = new ArrayList<>();
        Encoder enc = new Encoder(tok, Truncation.none());
        int shared = 0;
        for (Row r : rows) {
            if (out.size() >= o.integer("max_queries")) break;
            Row p = r.has("chosen") ? promptAndChosen(r) : r;
            long[] ids = enc.promptIds(p);
            if (rmQueries.contains(Arrays.toString(ids))) {
                shared++;
                continue;
            }
            out.add(new Rollouts.Prompt(ids, promptText(tok, p, ids), r.json()));
        }
        if (shared > 0)
            System.err.println("apo: left out " + shared
                    + " alignment prompts that are also reward-model queries (APO keeps the two sets apart)");
        if (out.isEmpty())
            throw new CliException(
                    "apo: no alignment prompt is left (every one is also a reward-model query, or the "
                            + "alignment set is empty); give align_dataset_name with other prompts, or raise align_query_fraction");
        return out;
    }

    /** A preference row's query, the key dataset_name is split by: its explicit prompt, or the prompt TRL's extract_prompt finds. */
    static String query(Row r) {
        return promptAndChosen(r).require("prompt").toString();
    }

    /** A plain prompt as written; a conversational one as its rendered template text, special tokens kept (what reward functions see). */
    private static String promptText(Tokenizer tok, Row r, long[] ids) {
        JsonNode p = r.require("prompt");
        return p.isTextual() ? p.asText() : tok.decode(ids, false);
    }

    /** A rendered completion's text up to (not including) its last end-of-turn token: the reward model appends EOS itself. */
    static String responseText(Tokenizer tok, long[] completionIds) {
        int end = completionIds.length;
        for (int i = completionIds.length - 1; i >= 0; i--)
            if (completionIds[i] == tok.eosTokenId()) {
                end = i;
                break;
            }
        return tok.decode(java.util.Arrays.copyOf(completionIds, end), false);
    }

    /** A human pair's prompt and chosen response as a prompt/completion row (explicit prompt, or implicit split as TRL's extract_prompt). */
    private static Row promptAndChosen(Row r) {
        ObjectNode row = JSON.createObjectNode();
        if (r.json().has("prompt")) {
            row.set("prompt", r.require("prompt"));
            row.set("completion", r.require("chosen"));
        } else {
            Messages.Split s = Messages.extractPrompt(r);
            row.set("prompt", s.prompt());
            row.set("completion", s.chosen());
        }
        return new Row(row, r.file(), r.line());
    }

    /** The round's reward model on held-out human pairs and its gold-minus-sample gap; the policy under the test reward model. */
    private static Map<String, Object> measure(
            int round,
            Transformer policy,
            RewardModelReward rm,
            Tokenizer tok,
            List<RewardTrainer.Pair> heldOut,
            List<ApoLoop.Gold> gold,
            RewardModelReward test,
            Options o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("round", round);
        if (!heldOut.isEmpty()) {
            float[]
                    c =
                            rm.scoreIds(heldOut.stream()
                                    .map(RewardTrainer.Pair::chosen)
                                    .toList()),
                    r =
                            rm.scoreIds(heldOut.stream()
                                    .map(RewardTrainer.Pair::rejected)
                                    .toList());
            double[] diff = new double[c.length];
            int right = 0;
            for (int i = 0; i < c.length; i++) {
                diff[i] = c[i] - r[i];
                if (diff[i] > 0) right++;
            }
            m.put("rm/heldout_accuracy", (double) right / c.length);
            m.put("rm/heldout_ece", Calibration.expectedCalibrationError(diff, Calibration.DEFAULT_BINS));
        }
        List<ApoLoop.Gold> some = gold.subList(0, Math.min(64, gold.size()));
        List<Rollouts.Prompt> prompts = some.stream()
                .map(g -> new Rollouts.Prompt(g.ids(tok), g.prompt(), null))
                .toList();
        List<Rollouts.Rollout> samples = Rollouts.sample(
                policy,
                tok,
                prompts,
                1,
                new SamplingParams(
                        o.number("temperature"), 0, o.number("top_p"), o.integer("max_completion_length"), 7 + round));
        double[] goldScores = rm.score(
                some.stream().map(ApoLoop.Gold::prompt).toList(),
                some.stream().map(ApoLoop.Gold::response).toList(),
                null);
        double[] sampleScores = rm.score(
                some.stream().map(ApoLoop.Gold::prompt).toList(),
                samples.stream().map(Rollouts.Rollout::completionText).toList(),
                null);
        double gap = 0;
        for (int i = 0; i < goldScores.length; i++) gap += (goldScores[i] - sampleScores[i]) / goldScores.length;
        m.put("rm/gold_sample_gap", gap);
        if (test != null) {
            double[] t = test.score(
                    some.stream().map(ApoLoop.Gold::prompt).toList(),
                    samples.stream().map(Rollouts.Rollout::completionText).toList(),
                    null);
            m.put("policy/test_reward", java.util.Arrays.stream(t).average().orElse(Double.NaN));
        }
        System.err.println("apo: round " + round + " " + m);
        return m;
    }

    private static String json(Map<String, Object> m) {
        try {
            return JSON.writeValueAsString(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
