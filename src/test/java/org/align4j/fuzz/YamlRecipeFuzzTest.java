// SPDX-License-Identifier: Apache-2.0
package org.align4j.fuzz;

import static org.align4j.cli.Options.Spec.of;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.List;
import org.align4j.cli.CliException;
import org.align4j.cli.Options;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;

/**
 * Fuzzes recipe reading: {@code Options.parse(..., "--config", file)} on arbitrary YAML bytes
 * (cli/YamlRecipe, then Options' typed values), then the list readers.
 *
 * <p>Documented errors: {@link CliException}, whose message names the recipe when parsing fails;
 * nothing else may escape (SnakeYAML's YAMLException, a NUL in a path, a number out of range must
 * all arrive as CliException), so any other exception or error, including StackOverflowError and
 * OutOfMemoryError from alias bombs, is a finding.
 */
class YamlRecipeFuzzTest {
    /** A key of every type, named as TRL names them so the seed recipes (recipes/*.yaml) parse. */
    private static final List<Spec> SPECS = List.of(
            of("model_name_or_path", Type.PATH, null, "model"),
            of("dataset_name", Type.PATH, null, "data"),
            of("output_dir", Type.PATH, null, "out"),
            of("learning_rate", Type.DOUBLE, 1e-5, "lr"),
            of("num_train_epochs", Type.DOUBLE, 1.0, "epochs"),
            of("per_device_train_batch_size", Type.INT, 8, "batch"),
            of("max_steps", Type.INT, -1, "steps"),
            of("seed", Type.LONG, 42L, "seed"),
            of("use_peft", Type.BOOLEAN, false, "flag"),
            of("gradient_checkpointing", Type.BOOLEAN, false, "flag"),
            of("lr_scheduler_type", Type.STRING, "linear", "schedule"),
            of("lora_target_modules", Type.STRING, null, "a list"),
            of("reward_weights", Type.STRING, null, "a list of numbers"));

    @FuzzTest(maxDuration = "2h", maxExecutions = 1_000_000)
    void readRecipe(byte[] input) {
        Path file = FuzzFiles.write("recipe.yaml", input);
        Options o;
        try {
            o = Options.parse("fuzz", SPECS, new String[] {"--config", file.toString()});
        } catch (CliException e) {
            if (!e.getMessage().contains(file.toString()))
                throw new AssertionError("the error does not name the recipe: " + e.getMessage());
            return;
        }
        o.resolved();
        o.strings("lora_target_modules");
        try {
            o.doubles("reward_weights");
        } catch (CliException notNumbers) {
            // documented: an entry that is not a number names the key
        }
    }
}
