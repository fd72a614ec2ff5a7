// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.Encoder;
import org.align4j.data.Sequence;
import org.align4j.data.Truncation;
import org.align4j.trainer.SftTrainer;
import org.align4j.trainer.TrainResult;
import org.align4j.trainer.TrainingArgs;

/**
 * Supervised fine-tuning, TRL's {@code SFTTrainer}: language-modeling rows ({@code text}, or conversational {@code
 * messages}) or prompt-completion rows (strings or message lists), encoded as {@code ./align4j sft} encodes them.
 *
 * <pre>{@code
 * TrainResult r = Sft.builder()
 *         .model("Qwen/Qwen3-0.6B")
 *         .dataset(Path.of("train.jsonl"))
 *         .args(Sft.args(Path.of("out")).maxSteps(100).build())
 *         .build()
 *         .train();
 * }</pre>
 */
public final class Sft {
    /** TRL's SFTConfig learning rate. */
    public static final double DEFAULT_LEARNING_RATE = 2e-5;

    private final Setup setup;
    private final int maxLength;
    private final String truncationMode;
    private final Encoder.SftOptions loss;

    private Sft(Setup setup, Builder b) {
        this.setup = setup;
        this.maxLength = b.maxLength;
        this.truncationMode = b.truncationMode;
        this.loss = new Encoder.SftOptions(b.datasetTextField, b.completionOnlyLoss, b.assistantOnlyLoss);
    }

    /**
     * A new builder.
     *
     * @return a builder with TRL's SFTConfig defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * transformers' training arguments with SFTConfig's learning rate (2e-5), writing to {@code outputDir}.
     *
     * @param outputDir output_dir
     * @return a builder of the arguments
     */
    public static TrainingArgs.Builder args(Path outputDir) {
        return TrainingArgs.builder(outputDir).learningRate(DEFAULT_LEARNING_RATE);
    }

    /**
     * Loads the model and tokenizer, encodes the rows, trains, and leaves a complete Hugging Face model folder in
     * output_dir: the model (or the PEFT adapter with LoRA), its tokenizer files, generation_config.json,
     * metrics.jsonl and training_args.json.
     *
     * @return the logged rows and the steps run
     * @throws IOException when a file cannot be read or written
     */
    public TrainResult train() throws IOException {
        try (Policy p = Policy.load(setup.model(), setup.revision())) {
            Encoder enc = new Encoder(p.tokenizer(), Truncation.maxLength(maxLength, truncationMode), loss);
            List<Sequence> train = setup.encodeTrain(enc::sft), eval = setup.encodeEval(enc::sft);
            p.prepare(setup.command(), setup.peft(), setup.args().seed());
            Map<String, Object> own = new LinkedHashMap<>();
            own.put("max_length", maxLength);
            own.put("truncation_mode", truncationMode);
            own.put("dataset_text_field", loss.datasetTextField());
            own.put("completion_only_loss", loss.completionOnlyLoss());
            own.put("assistant_only_loss", loss.assistantOnlyLoss());
            TrainResult r = setup.run(() -> SftTrainer.train(
                    p.model(),
                    train,
                    eval,
                    setup.evalSteps(),
                    setup.args(),
                    p.tokenizer().padTokenId(),
                    setup.config(own)));
            p.saveTokenizer(setup.args().outputDir());
            return r;
        }
    }

    /** Builds an {@link Sft} trainer: the shared settings of {@link TrainerBuilder}, then SFTConfig's own. */
    public static final class Builder extends TrainerBuilder<Builder> {
        private int maxLength = 1024;
        private String truncationMode = "keep_start", datasetTextField = "text";
        private boolean completionOnlyLoss = true, assistantOnlyLoss;

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * The longest sequence in tokens (default 1024); longer ones are cut by truncation_mode.
         *
         * @param tokens max_length
         * @return this builder
         */
        public Builder maxLength(int tokens) {
            this.maxLength = tokens;
            return this;
        }

        /**
         * {@code keep_start} (default: drop the end of long sequences) or {@code keep_end}.
         *
         * @param mode truncation_mode
         * @return this builder
         */
        public Builder truncationMode(String mode) {
            this.truncationMode = mode;
            return this;
        }

        /**
         * The field of language-modeling rows (default {@code text}).
         *
         * @param field dataset_text_field
         * @return this builder
         */
        public Builder datasetTextField(String field) {
            this.datasetTextField = field;
            return this;
        }

        /**
         * Prompt-completion rows: the loss on the completion only (default true).
         *
         * @param on completion_only_loss
         * @return this builder
         */
        public Builder completionOnlyLoss(boolean on) {
            this.completionOnlyLoss = on;
            return this;
        }

        /**
         * Conversational rows: the loss on the assistant turns only (default false: every token).
         *
         * @param on assistant_only_loss
         * @return this builder
         */
        public Builder assistantOnlyLoss(boolean on) {
            this.assistantOnlyLoss = on;
            return this;
        }

        /**
         * Checks the settings; nothing is loaded until {@link Sft#train()}.
         *
         * @return the trainer
         * @throws IllegalArgumentException naming what is missing or out of range
         */
        public Sft build() {
            Truncation.maxLength(maxLength, truncationMode); // checks both now, not after the model has loaded
            return new Sft(setup("sft", DEFAULT_LEARNING_RATE), this);
        }
    }
}
