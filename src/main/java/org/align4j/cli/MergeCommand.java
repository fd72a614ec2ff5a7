// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.align4j.cli.Options.Spec.required;

import java.nio.file.Path;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.model.Checkpoints;
import org.align4j.model.ModelSource;
import org.align4j.model.Transformer;
import org.align4j.trainer.OutputDir;

/**
 * {@code merge}: a PEFT LoRA adapter folder folded into its base (PEFT's {@code merge_and_unload}), written as a full
 * Hugging Face model folder (weights in the base's dtype, config, tokenizer and generation files).
 */
final class MergeCommand {
    static final List<Spec> SPECS = List.of(
            required("model_name_or_path", Type.PATH, "the adapter folder (adapter_config.json names its base)"),
            required("output_dir", Type.PATH, "where the merged model folder goes"),
            of("model_revision", Type.STRING, null, "revision of the base when it is a hub id in the local cache"),
            of("overwrite_output_dir", Type.BOOLEAN, false, "replace a model already in output_dir"));

    private MergeCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("merge", SPECS, args);
        Path out = o.path("output_dir");
        OutputDir.checkLocation("merge", out, o.inputPaths());
        ModelSource source = ModelSource.resolve(
                o.path("model_name_or_path").toString(), o.has("model_revision") ? o.string("model_revision") : null);
        if (!source.isAdapter())
            throw new CliException("merge: " + o.path("model_name_or_path")
                    + " is a full model folder, not a PEFT adapter folder (no adapter_config.json); nothing to merge");
        try (Transformer merged = source.loadMerged()) {
            Checkpoints.save(merged, out, String.valueOf(merged.config().torchDtype()), o.flag("overwrite_output_dir"));
            Checkpoints.copyTokenizerFiles(source.tokenizerDir(), out);
        }
        System.err.println(
                "merge: " + source.adapterDir() + " folded into " + source.baseName() + "; full model in " + out);
    }
}
