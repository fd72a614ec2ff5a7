// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.align4j.cli.Options.Spec.required;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.align4j.aapa.AnchorReward;
import org.align4j.aapa.AnchorSchedule;
import org.align4j.aapa.Discriminator;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.DatasetException;
import org.align4j.data.Datasets;
import org.align4j.data.Encoded;
import org.align4j.data.Encoder;
import org.align4j.generate.SamplingParams;
import org.align4j.reward.AccuracyReward;
import org.align4j.reward.FormatReward;
import org.align4j.reward.Gsm8kAnswerReward;
import org.align4j.reward.LengthReward;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.RewardModelReward;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.LogCompletions;
import org.align4j.trainer.OnlineEval;
import org.align4j.trainer.PromptEncoder;
import org.align4j.trainer.Rollouts;

/**
 * What the online commands (grpo, rjs, online_dpo) share: the sampling keys, the reward-function
 * keys (reward_funcs, reward_weights, a reward model from the reward command), and reading prompt
 * rows, so the keys mean the same in each.
 */
final class OnlineOptions {
    /** The reward functions reward_funcs can name. */
    static final List<String> BUILT_INS = List.of(
            "gsm8k_answer",
            "format",
            "length",
            RewardModelReward.NAME,
            AnchorReward.NAME,
            AccuracyReward.NAME,
            "think_format_reward");

    /** TRL's think_format_reward (trl/rewards/format_rewards.py): the reasoning in one leading think block. */
    static final String THINK_FORMAT = "(?s)\\A<think>(?!.*<think>).*?</think>.*";

    private OnlineOptions() {}

    /** Sampling and reward keys with the command's defaults, then its own keys (no max_completion_length default: online_dpo's alias of max_new_tokens). */
    static List<Spec> specs(
            int numGenerations, Integer maxCompletionLength, double temperature, int topK, List<Spec> own) {
        List<Spec> s = new ArrayList<>(List.of(
                of("num_generations", Type.INT, numGenerations, "completions sampled per prompt"),
                of("prompt_field", Type.STRING, "prompt", "the column holding the prompt (GSM8K: question)"),
                of("max_prompt_length", Type.INT, null, "keep the last N prompt tokens (default: no limit)"),
                of(
                        "max_completion_length",
                        Type.INT,
                        maxCompletionLength,
                        maxCompletionLength != null
                                ? "tokens generated at most per completion"
                                : "the other online commands' name for max_new_tokens"),
                of("temperature", Type.DOUBLE, temperature, "sampling temperature (0 = greedy)"),
                of("top_p", Type.DOUBLE, 1.0, "nucleus sampling mass (1.0 = off)"),
                of("top_k", Type.INT, topK, "keep the k most likely tokens (0 = off)"),
                required(
                        "reward_funcs",
                        Type.STRING,
                        "comma-separated reward functions: " + String.join(", ", BUILT_INS)),
                of("reward_weights", Type.STRING, null, "one weight per reward function (default 1 each)"),
                of(
                        "reward_model_name_or_path",
                        Type.PATH,
                        null,
                        "reward_model: a *ForSequenceClassification folder from the reward command, with its tokenizer"),
                of("reward_model_batch_size", Type.INT, 8, "reward_model: sequences scored together"),
                of(
                        "format_regex",
                        Type.STRING,
                        FormatReward.GSM8K_ANSWER_AT_END,
                        "format: 1 when the completion contains a match (default: ends with '#### <number>')"),
                of("length_target_chars", Type.INT, 400, "length: characters allowed before the penalty starts"),
                of(
                        "length_penalty_per_char",
                        Type.DOUBLE,
                        0.001,
                        "length: reward lost per character beyond the target"),
                of(
                        "aapa_discriminator_path",
                        Type.PATH,
                        null,
                        "aapa_anchor: a folder from ./align4j discriminator (AAPA's fixed discriminator)"),
                of("aapa_coef", Type.DOUBLE, 0.1, "aapa_anchor: the anchor's coefficient (peak of its schedule)"),
                of(
                        "aapa_schedule",
                        Type.STRING,
                        "constant",
                        "aapa_anchor: constant, linear (warm-up) or cosine (warm-up then decay)"),
                of("aapa_warmup_steps", Type.INT, 0, "aapa_anchor: warm-up steps of the schedule"),
                of("aapa_decay_steps", Type.INT, 0, "aapa_anchor: decay steps of the cosine schedule")));
        s.addAll(COTRAIN_SPECS);
        s.addAll(own);
        return List.copyOf(s);
    }

    /** The temperature, top_k, top_p and max_completion_length keys (the trainers seed each batch themselves). */
    static SamplingParams sampling(Options o) {
        return sampling(o, o.integer("max_completion_length"));
    }

    /** The same with {@code maxNewTokens} from another key (online_dpo's max_new_tokens). */
    static SamplingParams sampling(Options o, int maxNewTokens) {
        try {
            return new SamplingParams(o.number("temperature"), o.integer("top_k"), o.number("top_p"), maxNewTokens, 0);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
    }

    /** The reward functions and weights of reward_funcs / reward_weights; closing it frees a reward model. */
    record Rewards(WeightedRewards weighted, RewardModelReward model, Discriminator discriminator)
            implements AutoCloseable {
        /** A co-trained discriminator changed during training: saves it to output_dir/aapa_discriminator. */
        /**
         * After training: the tokenizer files of {@code m}'s source and a co-trained AAPA discriminator beside the final
         * model, written by rank 0 alone when the run is data-parallel (the others hold the same discriminator).
         */
        void finish(String command, LoadedModel m, Path outputDir) throws java.io.IOException {
            if (org.align4j.dist.Distributed.current().isMain())
                org.align4j.model.Checkpoints.copyTokenizerFiles(m.source().tokenizerDir(), outputDir);
            OnlineOptions.saveCoTrainedDiscriminator(command, discriminator, outputDir);
        }

        @Override
        public void close() {
            if (model != null) model.close();
            if (discriminator != null) discriminator.close();
        }
    }

    static Rewards rewards(String command, Options o) throws java.io.IOException {
        List<String> names = o.strings("reward_funcs");
        if (names.isEmpty())
            throw new CliException(command + ": reward_funcs is empty; name one or more of " + BUILT_INS);
        Set<String> seen = new HashSet<>();
        List<RewardFunction> fns = new ArrayList<>();
        RewardModelReward rm = null;
        Discriminator disc = null;
        try {
            for (String name : names) {
                if (!seen.add(name)) throw new CliException(command + ": reward_funcs names '" + name + "' twice");
                fns.add(
                        switch (name) {
                            case "gsm8k_answer" -> new Gsm8kAnswerReward();
                            case AccuracyReward.NAME -> new AccuracyReward();
                            case "think_format_reward" -> new FormatReward("think_format_reward", THINK_FORMAT);
                            case "format" -> new FormatReward("format", o.string("format_regex"));
                            case "length" ->
                                new LengthReward(
                                        "length",
                                        o.integer("length_target_chars"),
                                        o.number("length_penalty_per_char"));
                            case RewardModelReward.NAME -> {
                                if (!o.has("reward_model_name_or_path"))
                                    throw new CliException(
                                            command
                                                    + ": reward_funcs has reward_model but reward_model_name_or_path is not set");
                                rm = RewardModelReward.load(
                                        o.path("reward_model_name_or_path"), o.integer("reward_model_batch_size"));
                                yield rm;
                            }
                            case AnchorReward.NAME -> {
                                if (!o.has("aapa_discriminator_path"))
                                    throw new CliException(
                                            command
                                                    + ": reward_funcs has aapa_anchor but aapa_discriminator_path is not set (train one with ./align4j discriminator)");
                                disc = Discriminator.open(o.path("aapa_discriminator_path"));
                                yield anchor(
                                        command,
                                        o,
                                        disc,
                                        new AnchorSchedule(
                                                o.string("aapa_schedule"),
                                                o.number("aapa_coef"),
                                                o.integer("aapa_warmup_steps"),
                                                o.integer("aapa_decay_steps")));
                            }
                            default ->
                                throw new CliException(command + ": unknown reward function '" + name
                                        + "' in reward_funcs; built-ins: " + BUILT_INS);
                        });
            }
            if (rm == null && o.has("reward_model_name_or_path"))
                throw new CliException(
                        command + ": reward_model_name_or_path is set but reward_funcs does not name reward_model");
            return new Rewards(
                    new WeightedRewards(fns, o.has("reward_weights") ? o.doubles("reward_weights") : null), rm, disc);
        } catch (RuntimeException | java.io.IOException e) {
            if (rm != null) rm.close();
            if (disc != null) disc.close();
            if (e instanceof IllegalArgumentException) throw new CliException(command + ": " + e.getMessage());
            throw e;
        }
    }

    /** A discriminator that co-training changed is saved to outputDir/aapa_discriminator (the original folder stays as it was). */
    static void saveCoTrainedDiscriminator(String command, Discriminator disc, Path outputDir)
            throws java.io.IOException {
        if (!org.align4j.dist.Distributed.current().isMain()) return; // data parallel: rank 0 alone writes
        if (disc instanceof EncoderDiscriminator d && d.coTrained()) {
            Path dir = outputDir.resolve("aapa_discriminator");
            d.saveReplacing(dir);
            System.err.println(command + ": co-trained AAPA discriminator in " + dir);
        }
    }

    /** TRL's log_completions keys (GRPOConfig, RLOOConfig), for grpo, rloo and online_dpo. */
    static final List<Spec> LOG_COMPLETIONS_SPECS = List.of(
            of(
                    "log_completions",
                    Type.BOOLEAN,
                    false,
                    "at every logging step, append the last generation batch's prompts, completions, rewards and"
                            + " advantages to output_dir/completions.jsonl and print them as a table"),
            of(
                    "num_completions_to_print",
                    Type.INT,
                    null,
                    "log_completions: completions printed per logging step, a random sample (default: all)"));

    /** log_completions and num_completions_to_print. */
    static LogCompletions logCompletions(String command, Options o) {
        try {
            return new LogCompletions(
                    o.flag("log_completions"),
                    o.has("num_completions_to_print") ? o.integer("num_completions_to_print") : null);
        } catch (IllegalArgumentException e) {
            throw new CliException(command + ": " + e.getMessage());
        }
    }

    /** AAPA co-training keys, shared by every command that takes an anchor (off by default: the paper's fixed discriminator). */
    static final List<Spec> COTRAIN_SPECS = List.of(
            of(
                    "aapa_cotrain",
                    Type.BOOLEAN,
                    false,
                    "AAPA: co-train the discriminator on each scored batch of rollouts (off: the paper's fixed discriminator)"),
            of(
                    "aapa_cotrain_learning_rate",
                    Type.DOUBLE,
                    1e-3,
                    "aapa_cotrain: AdamW step size of the discriminator head"),
            of("aapa_cotrain_steps", Type.INT, 1, "aapa_cotrain: AdamW steps per scored batch"),
            of("aapa_cotrain_every", Type.INT, 1, "aapa_cotrain: update the discriminator every N optimizer steps"));

    /** {@code own} followed by the co-training keys, for commands that take an anchor outside the online specs (sft, apo). */
    static Spec[] withCotrain(Spec... own) {
        List<Spec> all = new ArrayList<>(List.of(own));
        all.addAll(COTRAIN_SPECS);
        return all.toArray(Spec[]::new);
    }

    /** The AAPA anchor on {@code disc}, co-trained when aapa_cotrain is set (only the sentence_encoder kind can be). */
    static AnchorReward anchor(String command, Options o, Discriminator disc, AnchorSchedule schedule) {
        AnchorReward a = new AnchorReward(disc, schedule);
        if (!o.flag("aapa_cotrain")) return a;
        if (!disc.kind().equals(Discriminator.SENTENCE_ENCODER))
            throw new CliException(
                    command + ": aapa_cotrain is set but the discriminator in " + o.path("aapa_discriminator_path")
                            + " is a " + disc.kind()
                            + " discriminator; co-training is implemented for sentence_encoder discriminators only (drop aapa_cotrain)");
        // grpo and rloo score the whole generation batch on every worker, so each co-trains the same head; online_dpo
        // and rjs (and apo, which aligns with them) score only a worker's share, and the heads would drift apart
        if (org.align4j.dist.Distributed.current().worldSize() > 1
                && Set.of("online_dpo", "rjs", "apo").contains(command))
            throw new CliException(command + ": aapa_cotrain is not supported data-parallel (each worker scores only"
                    + " its share of the samples, so the co-trained heads would differ); drop aapa_cotrain or run one"
                    + " process (without --nproc_per_node)");
        try {
            return a.withCoTraining(new Discriminator.CoTraining(
                    o.number("aapa_cotrain_learning_rate"),
                    o.integer("aapa_cotrain_steps"),
                    o.integer("aapa_cotrain_every"),
                    o.longValue("seed")));
        } catch (IllegalArgumentException e) {
            throw new CliException(command + ": " + e.getMessage());
        }
    }

    /**
     * The training split's prompt rows as ids (cut to max_prompt_length, keeping the end) with the text
     * reward functions see: a plain prompt as written (decoded ids when it was cut), a conversational
     * one as the rendered template text with its special tokens.
     */
    static List<Rollouts.Prompt> prompts(String command, Options o, Tokenizer tok) {
        return prompts(command, o, tok, o.path("dataset_name"), o.string("dataset_train_split"));
    }

    /** The same for another file and split (eval_dataset_name, dataset_test_split). */
    static List<Rollouts.Prompt> prompts(String command, Options o, Tokenizer tok, Path file, String split) {
        PromptEncoder enc = new PromptEncoder(
                tok, o.string("prompt_field"), o.has("max_prompt_length") ? o.integer("max_prompt_length") : null);
        Encoded<Rollouts.Prompt> e = Encoder.encodeAll(
                Datasets.read(file, split, o.flag("skip_invalid_rows")), enc, o.flag("skip_invalid_rows"));
        if (e.items().isEmpty()) throw new DatasetException(file + ": no prompt rows");
        if (e.skipped() > 0)
            System.err.printf(
                    "%s: skipped %d invalid rows of %s (skip_invalid_rows), e.g. %s%n",
                    command, e.skipped(), file, e.errors().get(0));
        System.err.printf(
                "%s: %d prompts from %s%s (%d cut to max_prompt_length)%n",
                command,
                e.items().size(),
                file,
                java.nio.file.Files.isDirectory(file) ? ", split " + split : "",
                enc.truncatedRows());
        return e.items();
    }

    /** eval_dataset_name's prompt rows (split dataset_test_split), scored every eval_steps (rjs: every round); null without an eval set. */
    static OnlineEval eval(String command, Options o, Tokenizer tok) {
        TrainingOptions.EvalSource source = TrainingOptions.evalSource(o);
        if (source == null) return null;
        return new OnlineEval(
                prompts(command, o, tok, source.fileOrDir(), source.split()), TrainingOptions.evalSteps(o));
    }
}
