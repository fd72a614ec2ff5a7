// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.Encoder;
import org.align4j.data.PreferencePair;
import org.align4j.data.Truncation;
import org.align4j.loss.DpoLoss;
import org.align4j.model.Transformer;
import org.align4j.trainer.DpoConfig;
import org.align4j.trainer.DpoTrainer;
import org.align4j.trainer.TrainResult;
import org.align4j.trainer.TrainingArgs;

/**
 * Direct preference optimisation, TRL's {@code DPOTrainer}: preference rows ({@code prompt}, {@code chosen}, {@code
 * rejected}; strings or conversations, explicit or implicit prompt), encoded as {@code ./align4j dpo} encodes them,
 * against a frozen reference (by default a second copy of the initial model; with fresh LoRA adapters, the base with
 * the adapters off).
 *
 * <pre>{@code
 * TrainResult r = Dpo.builder()
 *         .model("Qwen/Qwen3-0.6B")
 *         .dataset(Path.of("pairs.jsonl"))
 *         .args(Dpo.args(Path.of("out")).maxSteps(100).build())
 *         .beta(0.1)
 *         .build()
 *         .train();
 * }</pre>
 */
public final class Dpo {
    /** TRL's DPOConfig learning rate. */
    public static final double DEFAULT_LEARNING_RATE = 1e-6;

    private final Setup setup;
    private final Truncation truncation;
    private final DpoLoss.Config loss;
    private final String refModel;

    private Dpo(Setup setup, Truncation truncation, DpoLoss.Config loss, String refModel) {
        this.setup = setup;
        this.truncation = truncation;
        this.loss = loss;
        this.refModel = refModel;
    }

    /**
     * A new builder.
     *
     * @return a builder with TRL's DPOConfig defaults (sigmoid loss, beta 0.1, max_length 1024)
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * transformers' training arguments with DPOConfig's learning rate (1e-6), writing to {@code outputDir}.
     *
     * @param outputDir output_dir
     * @return a builder of the arguments
     */
    public static TrainingArgs.Builder args(Path outputDir) {
        return TrainingArgs.builder(outputDir).learningRate(DEFAULT_LEARNING_RATE);
    }

    /**
     * Loads the policy, its tokenizer and the reference, encodes the pairs, trains, and leaves a complete Hugging Face
     * model folder in output_dir (tokenizer files included).
     *
     * @return the logged rows and the steps run
     * @throws IOException when a file cannot be read or written
     */
    public TrainResult train() throws IOException {
        try (Policy p = Policy.load(setup.model(), setup.revision())) {
            Encoder enc = new Encoder(p.tokenizer(), truncation);
            List<PreferencePair> train = setup.encodeTrain(enc::preference), eval = setup.encodeEval(enc::preference);
            p.prepare(setup.command(), setup.peft(), setup.args().seed());
            DpoConfig cfg =
                    DpoConfig.defaults(setup.args()).withLoss(loss).withOptions(false, false, false, setup.evalSteps());
            Map<String, Object> own = new LinkedHashMap<>();
            if (refModel != null) own.put("ref_model_name_or_path", refModel);
            own.put("beta", loss.beta());
            own.put("loss_type", loss.lossTypes());
            own.put("loss_weights", loss.lossWeights());
            own.put("max_length", truncation.maxLength());
            if (truncation.maxPromptLength() != null) own.put("max_prompt_length", truncation.maxPromptLength());
            if (truncation.maxCompletionLength() != null)
                own.put("max_completion_length", truncation.maxCompletionLength());
            own.put("truncation_mode", truncation.truncationMode());
            TrainResult r;
            try (Transformer ref = p.reference(refModel, setup.peft())) {
                r = setup.run(() -> DpoTrainer.train(
                        p.model(), ref, train, eval, cfg, p.tokenizer().padTokenId(), setup.config(own)));
            }
            p.saveTokenizer(setup.args().outputDir());
            return r;
        }
    }

    /** Builds a {@link Dpo} trainer: the shared settings of {@link TrainerBuilder}, then DPOConfig's own. */
    public static final class Builder extends TrainerBuilder<Builder> {
        private int maxLength = 1024;
        private Integer maxPromptLength, maxCompletionLength;
        private String truncationMode = "keep_start", refModel;
        private DpoLoss.Config loss = DpoLoss.Config.defaults();

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * The KL coefficient (default 0.1).
         *
         * @param beta beta
         * @return this builder
         */
        public Builder beta(double beta) {
            this.loss = loss.withBeta(beta);
            return this;
        }

        /**
         * The whole loss (loss_type list with loss_weights, beta, label_smoothing, f-divergence...), TRL's DPOConfig
         * keys; default {@link DpoLoss.Config#defaults()}.
         *
         * @param loss the loss settings
         * @return this builder
         */
        public Builder loss(DpoLoss.Config loss) {
            this.loss = loss;
            return this;
        }

        /**
         * The frozen reference: a model folder or hub id (default: the initial policy).
         *
         * @param nameOrPath ref_model_name_or_path
         * @return this builder
         */
        public Builder refModel(String nameOrPath) {
            this.refModel = nameOrPath;
            return this;
        }

        /**
         * Prompt plus completion cut to this many tokens (default 1024).
         *
         * @param tokens max_length
         * @return this builder
         */
        public Builder maxLength(int tokens) {
            this.maxLength = tokens;
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
         * Each completion cut to its first {@code tokens} tokens (default: no limit).
         *
         * @param tokens max_completion_length
         * @return this builder
         */
        public Builder maxCompletionLength(Integer tokens) {
            this.maxCompletionLength = tokens;
            return this;
        }

        /**
         * {@code keep_start} (default) or {@code keep_end} when a row exceeds max_length.
         *
         * @param mode truncation_mode
         * @return this builder
         */
        public Builder truncationMode(String mode) {
            this.truncationMode = mode;
            return this;
        }

        /**
         * Checks the settings; nothing is loaded until {@link Dpo#train()}.
         *
         * @return the trainer
         * @throws IllegalArgumentException naming what is missing or out of range
         */
        public Dpo build() {
            Truncation t = new Truncation(maxLength, maxPromptLength, maxCompletionLength, truncationMode);
            return new Dpo(setup("dpo", DEFAULT_LEARNING_RATE), t, loss, refModel);
        }
    }
}
