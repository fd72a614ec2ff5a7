// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.io.IOException;
import org.align4j.model.Checkpoints;
import org.align4j.model.Lora;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model being trained and its tokenizer, loaded from what model_name_or_path names ({@link ModelSource}: a model
 * folder, a PEFT adapter folder on its base, or a hub id in the local cache), the two checked to fit each other; the
 * same rules as the command line's.
 */
record Policy(ModelSource source, Tokenizer tokenizer, Transformer model) implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Policy.class);

    static Policy load(String nameOrPath, String revision) throws IOException {
        ModelSource source = ModelSource.resolve(nameOrPath, revision);
        Tokenizer tok = Tokenizer.load(source.tokenizerDir());
        Transformer model;
        try {
            model = source.load();
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
        Policy p = new Policy(source, tok, model);
        try {
            checkVocab(nameOrPath, tok, model);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return p;
    }

    private static void checkVocab(String name, Tokenizer tok, Transformer model) {
        if (tok.vocabSize() > model.config().vocabSize())
            throw new IllegalArgumentException(name + ": the tokenizer has " + tok.vocabSize()
                    + " tokens but the model's vocab_size is " + model.config().vocabSize()
                    + "; this tokenizer does not belong to this model");
    }

    /**
     * What is trained, as the command line's adapter_mode auto decides: an adapter folder is trained further with a
     * {@code peft} config (its own r, alpha and targets; PEFT's is_trainable), else merged into its base and every
     * weight trained; a full model gets fresh LoRA adapters from {@code peft} (seeded by {@code seed}), or trains
     * every weight when {@code peft} is null.
     */
    void prepare(String command, Lora.Config peft, long seed) {
        if (source.isAdapter()) {
            if (peft != null) {
                LOG.info(
                        "{}: continuing the LoRA adapter of {} on {}", command, source.adapterDir(), source.baseName());
                return;
            }
            Lora.merge(model);
            LOG.info(
                    "{}: merged the LoRA adapter of {} into its base; training all weights",
                    command,
                    source.adapterDir());
            return;
        }
        if (peft != null) {
            int n = Lora.attach(model, peft, seed);
            LOG.info("{}: LoRA on {} modules {}", command, n, peft.targetModules());
        }
    }

    /**
     * The frozen reference: {@code refModel} when given, else a second load of the initial policy (an adapter merged
     * into its base); null for fresh LoRA adapters without {@code refModel}, whose base with the adapters off is the
     * initial policy.
     */
    Transformer reference(String refModel, Lora.Config peft) throws IOException {
        boolean continuedAdapter = source.isAdapter() && Lora.attached(model);
        if (refModel == null && peft != null && !continuedAdapter) return null;
        Transformer ref = refModel != null ? ModelSource.resolve(refModel, null).loadMerged() : source.loadMerged();
        if (ref.config().vocabSize() != model.config().vocabSize()) {
            ref.close();
            throw new IllegalArgumentException(
                    "the reference model's vocab_size " + ref.config().vocabSize()
                            + " differs from the policy's " + model.config().vocabSize()
                            + "; the reference must share the policy's tokenizer");
        }
        return ref;
    }

    /** The tokenizer files and generation_config.json beside the trained model: a complete Hugging Face folder. */
    void saveTokenizer(java.nio.file.Path outputDir) throws IOException {
        Checkpoints.copyTokenizerFiles(source.tokenizerDir(), outputDir);
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            tokenizer.close();
        }
    }
}
