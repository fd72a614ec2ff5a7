// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.testing.Golden;
import org.align4j.trainer.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README.md model card a trained folder gets, as TRL writes one; a README.md that is not ours is never touched. */
class ModelCardTest {
    private static final String TINY =
            Golden.resourceDir("golden/qwen3-tiny").toAbsolutePath().toString();

    private static CliProcess.Result sft(Path tmp, Path out, String... extra) throws Exception {
        Path data = Path.of("examples/sft.jsonl").toAbsolutePath();
        List<String> args = new ArrayList<>(List.of(
                "sft",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "2",
                "--logging_steps",
                "1"));
        args.addAll(List.of(extra));
        return CliProcess.run(tmp, Map.of(), args);
    }

    @Test
    void aTrainedFolderCarriesACardNamingItsBaseDataAndLastMetrics(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        CliProcess.Result r = sft(tmp, out);
        assertEquals(0, r.exitCode(), r.output());
        String card = Files.readString(out.resolve("README.md"));
        assertTrue(card.startsWith("---\nbase_model: " + TINY + "\nlibrary_name: transformers\n"), card);
        assertTrue(card.contains("datasets:\n- " + Path.of("examples/sft.jsonl").toAbsolutePath()), card);
        assertTrue(card.contains("AutoModelForCausalLM.from_pretrained"), card);
        JsonNode last = MetricsLog.read(out).getLast();
        assertTrue(card.contains("Last logged training step (2)"), card);
        assertTrue(card.contains("| `loss` | " + last.get("loss").asDouble() + " |"), card);

        // trained into again with overwrite_output_dir: our card is replaced, as the model is
        r = sft(tmp, out, "--overwrite_output_dir", "true", "--use_peft", "true");
        assertEquals(0, r.exitCode(), r.output());
        card = Files.readString(out.resolve("README.md"));
        assertTrue(card.contains("library_name: peft") && card.contains("AutoPeftModelForCausalLM"), card);
    }

    @Test
    void aReadmeSomeoneElseWroteIsKept(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("README.md"), "my notes\n");
        CliProcess.Result r = sft(tmp, out);
        assertEquals(0, r.exitCode(), r.output());
        assertEquals("my notes\n", Files.readString(out.resolve("README.md")));
        assertTrue(r.output().contains("not an align4j model card"), r.output());
        r = sft(tmp, out, "--overwrite_output_dir", "true");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals(
                "my notes\n", Files.readString(out.resolve("README.md")), "overwrite keeps what align4j did not write");
        assertFalse(r.output().contains("Exception"), r.output());
    }

    @Test
    void aCheckpointIsACompleteModelFolderWithTheTokenizer(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        CliProcess.Result r = sft(tmp, out, "--save_steps", "1");
        assertEquals(0, r.exitCode(), r.output());
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json", "config.json"))
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-1").resolve(f)), "checkpoint-1 has " + f);
    }
}
