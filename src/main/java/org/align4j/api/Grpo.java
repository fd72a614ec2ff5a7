// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.align4j.loss.GrpoLoss;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;
import org.align4j.trainer.GrpoConfig;
import org.align4j.trainer.GrpoTrainer;
import org.align4j.trainer.OnlineEval;
import org.align4j.trainer.PromptEncoder;
import org.align4j.trainer.Rollouts;
import org.align4j.trainer.TrainResult;
import org.align4j.trainer.TrainingArgs;

/**
 * Group relative policy optimisation, TRL's {@code GRPOTrainer}: prompt rows, G sampled completions per prompt scored
 * by the reward functions, group-relative advantages. Reward functions are Java objects ({@link RewardFunction}, e.g.
 * {@code RewardFunction.perCompletion("len", (prompt, completion, row) -> completion.length())}); each sees the prompt,
 * the completion and the prompt's dataset row (GSM8K's {@code answer}...).
 *
 * <pre>{@code
 * TrainResult r = Grpo.builder()
 *         .model("Qwen/Qwen3-0.6B")
 *         .dataset(Path.of("prompts.jsonl"))
 *         .rewardFunctions(new Gsm8kAnswerReward())
 *         .args(Grpo.args(Path.of("out")).maxSteps(100).build())
 *         .build()
 *         .train();
 * }</pre>
 */
public final class Grpo {
    /** TRL's GRPOConfig learning rate. */
    public static final double DEFAULT_LEARNING_RATE = 1e-6;

    private final Setup setup;
    private final Builder b;
    private final GrpoConfig cfg;

    private Grpo(Setup setup, Builder b, GrpoConfig cfg) {
        this.setup = setup;
        this.b = b;
        this.cfg = cfg;
    }

    /**
     * A new builder.
     *
     * @return a builder with TRL's GRPOConfig defaults (8 generations, 512 completion tokens, temperature 1, beta 0,
     *     loss_type dapo)
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * transformers' training arguments with GRPOConfig's learning rate (1e-6), writing to {@code outputDir}.
     *
     * @param outputDir output_dir
     * @return a builder of the arguments
     */
    public static TrainingArgs.Builder args(Path outputDir) {
        return TrainingArgs.builder(outputDir).learningRate(DEFAULT_LEARNING_RATE);
    }

    /**
     * Loads the policy and its tokenizer (and a reference when beta &gt; 0), encodes the prompts, trains, and leaves a
     * complete Hugging Face model folder in output_dir (tokenizer files included).
     *
     * @return the logged rows and the steps run
     * @throws IOException when a file cannot be read or written
     */
    public TrainResult train() throws IOException {
        try (Policy p = Policy.load(setup.model(), setup.revision())) {
            PromptEncoder enc = new PromptEncoder(p.tokenizer(), b.promptField, b.maxPromptLength);
            List<Rollouts.Prompt> train = setup.encodeTrain(enc), eval = setup.encodeEval(enc);
            p.prepare(setup.command(), setup.peft(), setup.args().seed());
            WeightedRewards rewards = new WeightedRewards(b.rewards, b.rewardWeights);
            Map<String, Object> own = new LinkedHashMap<>();
            if (b.refModel != null) own.put("ref_model_name_or_path", b.refModel);
            own.put("reward_funcs", rewards.names());
            if (b.rewardWeights != null) own.put("reward_weights", b.rewardWeights);
            own.put("num_generations", cfg.numGenerations());
            own.put("max_completion_length", cfg.maxCompletionLength());
            if (b.maxPromptLength != null) own.put("max_prompt_length", b.maxPromptLength);
            own.put("prompt_field", b.promptField);
            own.put("temperature", cfg.temperature());
            own.put("top_p", cfg.topP());
            own.put("top_k", cfg.topK());
            own.put("beta", cfg.loss().beta());
            own.put("loss_type", cfg.loss().lossType());
            own.put("epsilon", cfg.loss().epsilon());
            own.put("scale_rewards", cfg.scaleRewards());
            own.put("num_iterations", cfg.numIterations());
            OnlineEval onlineEval = eval.isEmpty() ? null : new OnlineEval(eval, setup.evalSteps());
            TrainResult r;
            try (Transformer ref = cfg.loss().beta() > 0 ? p.reference(b.refModel, setup.peft()) : null) {
                r = setup.run(() -> GrpoTrainer.train(
                        p.model(), ref, p.tokenizer(), train, rewards, cfg, onlineEval, setup.config(own)));
            }
            p.saveTokenizer(setup.args().outputDir());
            return r;
        }
    }

    /** Builds a {@link Grpo} trainer: the shared settings of {@link TrainerBuilder}, then GRPOConfig's own. */
    public static final class Builder extends TrainerBuilder<Builder> {
        private final List<RewardFunction> rewards = new ArrayList<>();
        private List<Double> rewardWeights;
        private GrpoLoss.Config loss = GrpoLoss.Config.defaults();
        private int numGenerations = 8;
        private double temperature = 1.0;
        private String promptField = "prompt", refModel;
        private Integer maxPromptLength;
        private Consumer<GrpoConfig.Builder> more = g -> {};

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * The reward functions (reward_funcs), summed with their weights; at least one.
         *
         * @param functions the functions, with unique names
         * @return this builder
         */
        public Builder rewardFunctions(RewardFunction... functions) {
            rewards.addAll(List.of(functions));
            return this;
        }

        /**
         * One weight per reward function (default 1.0 each).
         *
         * @param weights reward_weights
         * @return this builder
         */
        public Builder rewardWeights(Double... weights) {
            this.rewardWeights = List.of(weights);
            return this;
        }

        /**
         * Completions sampled per prompt (default 8); per_device_train_batch_size x gradient_accumulation_steps
         * counts completions and must be a multiple of it.
         *
         * @param g num_generations, at least 2
         * @return this builder
         */
        public Builder numGenerations(int g) {
            this.numGenerations = g;
            return this;
        }

        /**
         * The longest completion in tokens (default 512).
         *
         * @param tokens max_completion_length
         * @return this builder
         */
        public Builder maxCompletionLength(int tokens) {
            this.loss = loss.withMaxCompletionLength(tokens);
            return this;
        }

        /**
         * The prompt cut to its last {@code tokens} tokens (default: no limit).
         *
         * @param tokens max_prompt_length
         * @return this builder
         */
        public Builder maxPromptLength(Integer tokens) {
            this.maxPromptLength = tokens;
            return this;
        }

        /**
         * The sampling temperature (default 1.0).
         *
         * @param t temperature, &gt; 0
         * @return this builder
         */
        public Builder temperature(double t) {
            this.temperature = t;
            return this;
        }

        /**
         * The KL coefficient against the reference (default 0: no reference model is loaded).
         *
         * @param beta beta
         * @return this builder
         */
        public Builder beta(double beta) {
            this.loss = new GrpoLoss.Config(
                    loss.lossType(),
                    loss.epsilon(),
                    loss.epsilonHigh(),
                    loss.delta(),
                    beta,
                    loss.importanceSamplingLevel(),
                    loss.maxCompletionLength());
            return this;
        }

        /**
         * The whole loss (loss_type, epsilon, epsilon_high, delta, beta, importance_sampling_level,
         * max_completion_length); default {@link GrpoLoss.Config#defaults()}.
         *
         * @param loss the loss settings
         * @return this builder
         */
        public Builder loss(GrpoLoss.Config loss) {
            this.loss = loss;
            return this;
        }

        /**
         * The column holding the prompt (default {@code prompt}; GSM8K: {@code question}).
         *
         * @param field prompt_field
         * @return this builder
         */
        public Builder promptField(String field) {
            this.promptField = field;
            return this;
        }

        /**
         * The reference for the KL term when beta &gt; 0: a model folder or hub id (default: the initial policy).
         *
         * @param nameOrPath ref_model_name_or_path
         * @return this builder
         */
        public Builder refModel(String nameOrPath) {
            this.refModel = nameOrPath;
            return this;
        }

        /**
         * The rest of GRPOConfig (top_p, top_k, scale_rewards, num_iterations, dynamic sampling, ...), set on its
         * builder after the keys above.
         *
         * @param settings what to set
         * @return this builder
         */
        public Builder configure(Consumer<GrpoConfig.Builder> settings) {
            this.more = settings;
            return this;
        }

        /**
         * Checks the settings; nothing is loaded until {@link Grpo#train()}.
         *
         * @return the trainer
         * @throws IllegalArgumentException naming what is missing or out of range
         */
        public Grpo build() {
            if (rewards.isEmpty())
                throw new IllegalArgumentException("grpo: no reward function; call .rewardFunctions(...)");
            new WeightedRewards(rewards, rewardWeights); // unique names, one weight each: checked now
            Setup setup = setup("grpo", DEFAULT_LEARNING_RATE);
            GrpoConfig.Builder g = GrpoConfig.builder(setup.args(), loss)
                    .numGenerations(numGenerations)
                    .temperature(temperature);
            more.accept(g);
            return new Grpo(setup, this, g.build());
        }
    }
}
