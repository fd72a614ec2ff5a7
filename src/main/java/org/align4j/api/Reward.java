// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.model.Checkpoints;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.RewardConfig;
import org.align4j.trainer.RewardPairs;
import org.align4j.trainer.RewardTrainer;
import org.align4j.trainer.TrainResult;
import org.align4j.trainer.TrainingArgs;

/**
 * A Bradley-Terry reward model, TRL's {@code RewardTrainer}: preference rows ({@code chosen}, {@code rejected},
 * optional {@code prompt} and {@code margin}), encoded as {@code ./align4j reward} encodes them. A causal LM gets a
 * fresh one-output score head; the output folder loads in transformers as {@code *ForSequenceClassification}.
 *
 * <pre>{@code
 * TrainResult r = Reward.builder()
 *         .model("Qwen/Qwen3-0.6B")
 *         .dataset(Path.of("pairs.jsonl"))
 *         .args(Reward.args(Path.of("rm")).maxSteps(100).build())
 *         .build()
 *         .train();
 * }</pre>
 */
public final class Reward {
    private final Setup setup;
    private final RewardConfig cfg;

    private Reward(Setup setup, RewardConfig cfg) {
        this.setup = setup;
        this.cfg = cfg;
    }

    /**
     * A new builder.
     *
     * @return a builder with TRL's RewardConfig defaults (max_length 1024, no reward centering)
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * transformers' training arguments with RewardConfig's learning rate (1e-4), writing to {@code outputDir}.
     *
     * @param outputDir output_dir
     * @return a builder of the arguments
     */
    public static TrainingArgs.Builder args(Path outputDir) {
        return TrainingArgs.builder(outputDir).learningRate(RewardConfig.DEFAULT_LEARNING_RATE);
    }

    /**
     * Loads the model (an adapter folder merged into its base) as a reward model, encodes the pairs, trains, and
     * leaves a complete Hugging Face sequence-classifier folder in output_dir (tokenizer files included).
     *
     * @return the logged rows and the steps run
     * @throws IOException when a file cannot be read or written
     */
    public TrainResult train() throws IOException {
        ModelSource source = ModelSource.resolve(setup.model(), setup.revision());
        try (Tokenizer tok = Tokenizer.load(source.tokenizerDir())) {
            List<RewardTrainer.Pair> train =
                    RewardPairs.encode(tok, setup.train().read());
            List<RewardTrainer.Pair> eval = setup.eval() == null
                    ? null
                    : RewardPairs.encode(tok, setup.eval().read());
            Map<String, Object> own = new LinkedHashMap<>();
            own.put("max_length", cfg.maxLength());
            own.put("center_rewards_coefficient", cfg.centerRewardsCoefficient());
            TrainResult r;
            try (Transformer base = source.loadMerged();
                    Transformer model = RewardTrainer.loadRewardModel(
                            base, source.asGiven(), tok, setup.args().seed(), "reward")) {
                r = setup.run(() -> RewardTrainer.train(model, train, eval, cfg, tok.padTokenId(), setup.config(own)));
            }
            // what transformers' tokenizer.save_pretrained writes beside a sequence classifier (no generation_config)
            Checkpoints.copyTokenizerFilesForClassifier(
                    source.tokenizerDir(), setup.args().outputDir());
            return r;
        }
    }

    /** Builds a {@link Reward} trainer: the shared settings of {@link TrainerBuilder}, then RewardConfig's own. */
    public static final class Builder extends TrainerBuilder<Builder> {
        private int maxLength = 1024;
        private double centerRewardsCoefficient;

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * Pairs whose chosen or rejected sequence is longer are dropped, as TRL does (default 1024).
         *
         * @param tokens max_length
         * @return this builder
         */
        public Builder maxLength(int tokens) {
            this.maxLength = tokens;
            return this;
        }

        /**
         * The weight of mean((r_chosen + r_rejected)^2), which keeps rewards centred (default 0: off).
         *
         * @param coefficient center_rewards_coefficient
         * @return this builder
         */
        public Builder centerRewardsCoefficient(double coefficient) {
            this.centerRewardsCoefficient = coefficient;
            return this;
        }

        /**
         * Checks the settings; nothing is loaded until {@link Reward#train()}.
         *
         * @return the trainer
         * @throws IllegalArgumentException naming what is missing or out of range; LoRA is refused (the score head
         *     would have to be saved beside the adapters, PEFT's modules_to_save)
         */
        public Reward build() {
            Setup setup = setup("reward", RewardConfig.DEFAULT_LEARNING_RATE);
            if (setup.peft() != null)
                throw new IllegalArgumentException("reward: LoRA (peft) is not supported for reward models yet (the"
                        + " score head would have to be saved beside the adapters, PEFT's modules_to_save); train"
                        + " all weights");
            RewardConfig cfg = RewardConfig.of(setup.args())
                    .withMaxLength(maxLength)
                    .withCenterRewards(centerRewardsCoefficient)
                    .withEval(setup.evalSteps(), 8);
            return new Reward(setup, cfg);
        }
    }
}
