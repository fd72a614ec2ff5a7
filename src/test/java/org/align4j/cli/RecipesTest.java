// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.align4j.loss.GrpoLoss;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;

/**
 * Every recipes/*.yaml parses with the keys of the command its usage line names (unknown keys and
 * ill-typed values fail), builds that command's configuration, and reads data that exists here
 * (the ../shared files); the model folders are the user's own checkpoints and only have to be
 * local paths.
 */
class RecipesTest {
    private static final Pattern USAGE = Pattern.compile("\\./align4j (\\w+) --config (recipes/[\\w.-]+\\.yaml)");

    @Test
    void everyRecipeParsesValidatesAndReadsExistingData() throws Exception {
        List<Path> recipes;
        try (Stream<Path> s = Files.list(Path.of("recipes"))) {
            recipes = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(recipes.size() >= 4, "recipes for APO and AAPA: " + recipes);
        boolean apo = false, aapaGrpo = false, discriminator = false, aapaSft = false;
        for (Path r : recipes) {
            Matcher m = USAGE.matcher(Files.readString(r));
            if (!m.find()) fail(r + " has no usage line './align4j <command> --config " + r + "'");
            assertEquals(r.toString(), m.group(2), r + ": the usage line names another file");
            String command = m.group(1);
            Options o =
                    Options.parse(command, Main.COMMANDS.get(command).specs(), new String[] {"--config", r.toString()});
            switch (command) {
                case "apo" -> {
                    checkApo(o);
                    apo = true;
                }
                case "grpo" -> {
                    new GrpoLoss.Config(
                            o.string("loss_type"),
                            o.number("epsilon"),
                            null,
                            null,
                            o.number("beta"),
                            o.string("importance_sampling_level"),
                            o.integer("max_completion_length"));
                    assertTrue(
                            OnlineOptions.BUILT_INS.containsAll(o.strings("reward_funcs")),
                            r + ": " + o.strings("reward_funcs"));
                    aapaGrpo |= o.strings("reward_funcs").contains("aapa_anchor") && o.has("aapa_discriminator_path");
                }
                case "discriminator" -> discriminator = true;
                case "sft" -> aapaSft |= o.has("aapa_discriminator_path");
                default -> fail(r + ": no validation for command " + command);
            }
            boolean hasData = Main.COMMANDS.get(command).specs().stream()
                    .anyMatch(sp -> sp.key().equals("dataset_name"));
            if (hasData
                    && o.has("dataset_name")
                    && o.path("dataset_name").toString().startsWith("../shared"))
                Golden.shared(o.path("dataset_name")
                        .toString()
                        .substring("../shared/".length())); // fails loudly when missing
            if (hasData && o.has("model_name_or_path")) {
                String model = o.path("model_name_or_path").toString();
                assertFalse(
                        model.matches("[\\w.-]+/[\\w.-]+") && !model.startsWith("models/"),
                        r + ": model_name_or_path must be a local folder, not a hub id");
            }
        }
        assertTrue(
                apo && aapaGrpo && discriminator && aapaSft,
                "an APO recipe and AAPA's stages: discriminator, anchored SFT, anchored GRPO");
    }

    /**
     * The apo command's own validation of its keys (loss, rounds, align method, learning rates, rm_truncation), and the
     * recipe's data as the run would split it: held-out pairs to measure each round's reward model, alignment queries
     * apart from the reward model's, no query in two parts.
     */
    private static void checkApo(Options o) {
        org.align4j.trainer.ApoConfig c = ApoCommand.config(
                o, TrainingOptions.parse(o), org.align4j.trainer.RewardConfig.defaults(Path.of("unused")), true, null);
        assertEquals(1.2, c.alignSampling().temperature(), "APO samples the alignment queries at T 1.2");
        ApoData d = ApoData.read(o, ApoCommand::query);
        assertFalse(d.heldOut().isEmpty(), "an APO recipe measures held-out reward-model accuracy and ECE");
        java.util.Set<String> rm = new java.util.HashSet<>(),
                align = new java.util.HashSet<>(),
                heldOut = new java.util.HashSet<>();
        d.rm().forEach(r -> rm.add(ApoCommand.query(r)));
        d.align().forEach(r -> align.add(ApoCommand.query(r)));
        d.heldOut().forEach(r -> heldOut.add(ApoCommand.query(r)));
        System.err.printf(
                "%s: %d reward-model queries (%d pairs), %d alignment queries, %d held-out queries (%d pairs)%n",
                o.path("dataset_name"),
                rm.size(),
                d.rm().size(),
                align.size(),
                heldOut.size(),
                d.heldOut().size());
        for (var set : List.of(align, heldOut)) assertTrue(java.util.Collections.disjoint(rm, set), "disjoint");
        assertTrue(java.util.Collections.disjoint(align, heldOut), "disjoint");
    }
}
