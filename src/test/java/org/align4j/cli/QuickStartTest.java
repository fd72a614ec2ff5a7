// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.testing.Golden;
import org.align4j.trainer.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Train your own model" chain (sft, then dpo on the SFT model with LoRA, then grpo on the DPO adapter),
 * run as written on the shipped examples/ data, with the tiny test model in place of Qwen and 10 steps each, as the
 * README tells a reader to try it. Each stage's output is the next one's input.
 */
class QuickStartTest {
    private static final String TINY =
            Golden.resourceDir("golden/qwen3-tiny").toAbsolutePath().toString();

    /** The ./align4j command lines of the README block that trains on examples/sft.jsonl, continuations joined. */
    static List<List<String>> readmeCommands() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        Matcher block = Pattern.compile("```bash\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        while (block.find()) {
            String text = block.group(1);
            if (!text.contains("examples/sft.jsonl")) continue;
            List<List<String>> commands = new ArrayList<>();
            for (String line : text.replace("\\\n", " ").split("\n")) {
                line = line.strip();
                if (line.startsWith("./align4j "))
                    commands.add(new ArrayList<>(Arrays.asList(
                            line.substring("./align4j ".length()).strip().split("\\s+"))));
            }
            return commands;
        }
        throw new AssertionError("README.md has no ```bash block training on examples/sft.jsonl");
    }

    @Test
    void theReadmeChainRunsOnTheExamplesWithTheTinyModel(@TempDir Path tmp) throws Exception {
        List<List<String>> commands = readmeCommands();
        assertEquals(
                List.of("sft", "dpo", "grpo"),
                commands.stream().map(List::getFirst).toList(),
                "the quick start shows sft, dpo and grpo");
        Path repo = Path.of("").toAbsolutePath();
        for (List<String> c : commands) {
            List<String> args = new ArrayList<>();
            for (int i = 0; i < c.size(); i++) {
                String a = c.get(i);
                if (a.equals("--max_steps")) {
                    i++; // replaced below
                    continue;
                }
                if (a.equals("Qwen/Qwen3-0.6B")) a = TINY;
                else if (a.startsWith("runs/")) a = tmp.resolve(a).toString();
                else if (a.startsWith("examples/")) a = repo.resolve(a).toString();
                args.add(a);
            }
            args.addAll(List.of("--max_steps", "10"));
            CliProcess.Result r = CliProcess.run(tmp, Map.of(), args);
            assertEquals(0, r.exitCode(), String.join(" ", args) + ":\n" + r.output());
            Path out = Path.of(args.get(args.indexOf("--output_dir") + 1));
            assertTrue(
                    Files.isRegularFile(out.resolve("model.safetensors"))
                            || Files.isRegularFile(out.resolve("adapter_model.safetensors")),
                    c.getFirst() + " saved a model or an adapter in " + out);
            assertEquals(10, MetricsLog.read(out).getLast().get("step").asInt(), c.getFirst() + " trained 10 steps");
        }
    }
}
