// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;

/**
 * What model_name_or_path names (a model folder, a PEFT adapter folder on its base, or a hub id in the local cache:
 * {@link ModelSource}) loaded with its tokenizer, the two checked to fit each other.
 */
record LoadedModel(Transformer model, Tokenizer tokenizer, ModelSource source) implements AutoCloseable {

    /** model_name_or_path (and model_revision, where the command has it) of {@code o}. */
    static LoadedModel load(Options o) throws IOException {
        String revision = o.declares("model_revision") && o.has("model_revision") ? o.string("model_revision") : null;
        LoadedModel m = load(o.path("model_name_or_path"), revision);
        try {
            // a recipe's chat template replaces the tokenizer's (TRL: chat_template_path, the handbook: chat_template)
            if (o.declares("chat_template") && o.has("chat_template"))
                m.tokenizer().overrideChatTemplate(o.string("chat_template"), "the recipe's chat_template");
            if (o.declares("chat_template_path") && o.has("chat_template_path")) {
                Path p = o.path("chat_template_path");
                Path file = java.nio.file.Files.isDirectory(p) ? p.resolve("chat_template.jinja") : p;
                m.tokenizer().overrideChatTemplate(java.nio.file.Files.readString(file), file.toString());
            }
        } catch (IOException e) {
            m.close();
            throw e;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    static LoadedModel load(Path nameOrPath, String revision) throws IOException {
        ModelSource source;
        try {
            source = ModelSource.resolve(nameOrPath.toString(), revision);
        } catch (IOException e) {
            throw new CliException(e.getMessage());
        }
        Tokenizer tok = Tokenizer.load(source.tokenizerDir());
        Transformer model;
        try {
            model = source.load();
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
        int vocab = model.config().vocabSize();
        if (tok.vocabSize() > vocab) {
            model.close();
            tok.close();
            throw new CliException(
                    nameOrPath + ": the tokenizer has " + tok.vocabSize() + " tokens but the model's vocab_size is "
                            + vocab + "; this tokenizer does not belong to this model");
        }
        return new LoadedModel(model, tok, source);
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
