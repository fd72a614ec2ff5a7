// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.DatasetShape;
import org.align4j.data.Datasets;
import org.align4j.data.Encoded;
import org.align4j.data.Encoder;
import org.align4j.data.JsonRows.Row;
import org.align4j.data.PreferencePair;
import org.align4j.data.Truncation;
import org.align4j.data.UnpairedExample;
import org.align4j.tokenizer.Tokenizer;

/** Reading and tokenizing the preference rows of the dpo, cpo and orpo commands (TRL's keys). */
final class PreferenceData {
    private PreferenceData() {}

    static List<Spec> specs() {
        return List.of(
                of("max_length", Type.INT, 1024, "truncate prompt+completion to this many tokens"),
                of("max_prompt_length", Type.INT, null, "truncate the prompt to its last N tokens (legacy TRL)"),
                of("max_completion_length", Type.INT, null, "truncate each completion to its first N tokens"),
                of(
                        "truncation_mode",
                        Type.STRING,
                        "keep_start",
                        "keep_start or keep_end when a row exceeds max_length"));
    }

    static Encoder encoder(Options o, Tokenizer tok) {
        return new Encoder(
                tok,
                new Truncation(
                        o.integer("max_length"),
                        o.has("max_prompt_length") ? o.integer("max_prompt_length") : null,
                        o.has("max_completion_length") ? o.integer("max_completion_length") : null,
                        o.string("truncation_mode")));
    }

    /**
     * KTO's rows: unpaired (prompt, completion, label) rows as they are, or preference rows split into
     * a desirable chosen row and an undesirable rejected row (TRL's maybe_unpair_preference_dataset).
     */
    static List<UnpairedExample> unpaired(String command, Options o, Tokenizer tok, boolean eval) {
        TrainingOptions.EvalSource source = eval ? TrainingOptions.evalSource(o) : null;
        if (eval && source == null) return List.of();
        Path file = eval ? source.fileOrDir() : o.path("dataset_name");
        String split = eval ? source.split() : o.string("dataset_train_split");
        Encoder enc = encoder(o, tok);
        var rows = Datasets.read(file, split, o.flag("skip_invalid_rows"));
        List<UnpairedExample> out = new ArrayList<>();
        Encoded<?> encoded;
        // the first readable row decides the shape (skip_invalid_rows keeps unreadable lines as rows)
        Row first = rows.stream().filter(Row::readable).findFirst().orElse(null);
        if (first != null && DatasetShape.detect(first) == DatasetShape.PREFERENCE) {
            var pairs = Encoder.encodeAll(rows, enc::preference, o.flag("skip_invalid_rows"));
            for (PreferencePair p : pairs.items()) {
                out.add(new UnpairedExample(p.prompt(), p.chosen(), true));
                out.add(new UnpairedExample(p.prompt(), p.rejected(), false));
            }
            encoded = pairs;
        } else {
            var unpaired = Encoder.encodeAll(rows, enc::unpaired, o.flag("skip_invalid_rows"));
            out.addAll(unpaired.items());
            encoded = unpaired;
        }
        if (encoded.skipped() > 0)
            System.err.printf(
                    "%s: skipped %d invalid rows of %s (skip_invalid_rows), e.g. %s%n",
                    command, encoded.skipped(), file, encoded.errors().get(0));
        System.err.printf("%s: %d %s rows from %s%n", command, out.size(), eval ? "eval" : "train", file);
        return out;
    }

    /** Pairs of the training split, or of eval_dataset_name when {@code eval}; reports skipped rows. */
    static List<PreferencePair> pairs(String command, Options o, Tokenizer tok, boolean eval) {
        TrainingOptions.EvalSource source = eval ? TrainingOptions.evalSource(o) : null;
        if (eval && source == null) return List.of();
        Path file = eval ? source.fileOrDir() : o.path("dataset_name");
        String split = eval ? source.split() : o.string("dataset_train_split");
        Encoder enc = encoder(o, tok);
        var encoded = Encoder.encodeAll(
                Datasets.read(file, split, o.flag("skip_invalid_rows")), enc::preference, o.flag("skip_invalid_rows"));
        if (encoded.skipped() > 0)
            System.err.printf(
                    "%s: skipped %d invalid rows of %s (skip_invalid_rows), e.g. %s%n",
                    command, encoded.skipped(), file, encoded.errors().get(0));
        System.err.printf(
                "%s: %d %s pairs from %s (split %s)%n",
                command, encoded.items().size(), eval ? "eval" : "train", file, split);
        return encoded.items();
    }
}
