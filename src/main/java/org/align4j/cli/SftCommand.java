// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.DatasetException;
import org.align4j.data.JsonRows;
import org.align4j.data.JsonRows.Row;
import org.align4j.trainer.TrainingArgs;
import org.align4j.trainer.SftTrainer;

/**
 * {@code sft}: supervised fine-tuning with TRL's SFTConfig keys. Rows are prompt-completion
 * ({@code prompt}, {@code completion}: strings or message lists; loss on the completion and its
 * EOS only, TRL's completion_only_loss) or language modeling ({@code text}: loss on every token
 * and the EOS). Conversational {@code messages} rows (assistant-only loss) come with the data layer.
 */
final class SftCommand {
    static final List<Spec> SPECS = TrainingOptions.specs(2e-5, "local .jsonl/.json with prompt+completion or text rows",
            of("max_length", Type.INT, 1024, "truncate sequences to this many tokens (keep the start)"));

    private SftCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("sft", SPECS, args);
        TrainingArgs cfg = TrainingOptions.parse(o);
        List<Row> rows = JsonRows.read(o.path("dataset_name"));
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(modelDir)) {
            List<SftTrainer.Example> examples = new ArrayList<>();
            int truncated = 0;
            for (Row r : rows) {
                SftTrainer.Example e = example(m, r);
                if (e.inputIds().length > o.integer("max_length")) {
                    int n = o.integer("max_length");
                    e = new SftTrainer.Example(Arrays.copyOf(e.inputIds(), n), Arrays.copyOf(e.targetMask(), n));
                    truncated++;
                }
                examples.add(e);
            }
            System.err.printf("sft: %d rows from %s (%d truncated to max_length %d)%n", rows.size(), o.path("dataset_name"), truncated, o.integer("max_length"));
            TrainingOptions.maybeAttachLora("sft", o, m.model());
            SftTrainer.train(m.model(), examples, cfg, m.tokenizer().padTokenId(), o.resolved());
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "chat_template.jinja"})
                if (Files.exists(modelDir.resolve(f))) Files.copy(modelDir.resolve(f), cfg.outputDir().resolve(f), StandardCopyOption.REPLACE_EXISTING);
            System.err.println("sft: final model in " + cfg.outputDir());
        }
    }

    /** Targets: the completion and its EOS (prompt-completion), or every token after the first (text). */
    static SftTrainer.Example example(LoadedModel m, Row r) {
        if (r.json().has("prompt") && r.json().has("completion")) {
            return SftTrainer.Example.promptCompletion(PromptEncoding.promptIds(m.tokenizer(), r), PromptEncoding.completionIds(m.tokenizer(), r));
        }
        if (r.json().has("text")) {
            JsonNode text = r.require("text");
            if (!text.isTextual()) throw new DatasetException(r.where() + ": field 'text' must be a string");
            long[] t = m.tokenizer().encode(text.asText());
            long[] ids = Arrays.copyOf(t, t.length + 1);
            ids[t.length] = m.tokenizer().eosTokenId();
            float[] mask = new float[ids.length];
            Arrays.fill(mask, 1f);
            return new SftTrainer.Example(ids, mask);
        }
        throw new DatasetException(r.where() + ": an SFT row needs 'prompt' and 'completion', or 'text' (conversational 'messages' rows are not supported yet)");
    }
}
