// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;

/** A model directory's weights and tokenizer, checked to fit each other. */
record LoadedModel(Transformer model, Tokenizer tokenizer) implements AutoCloseable {
    static LoadedModel load(Path dir) throws IOException {
        if (!Files.isDirectory(dir))
            throw new CliException("model_name_or_path " + dir
                    + " is not a directory (a Hugging Face model folder; no hub downloads)");
        Tokenizer tok = Tokenizer.load(dir);
        Transformer model;
        try {
            model = Checkpoints.load(dir);
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
        int vocab = model.config().vocabSize();
        if (tok.vocabSize() > vocab) {
            model.close();
            tok.close();
            throw new CliException(
                    dir + ": the tokenizer has " + tok.vocabSize() + " tokens but the model's vocab_size is " + vocab
                            + "; this tokenizer does not belong to this model");
        }
        return new LoadedModel(model, tok);
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
