// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** grpo end to end on the tiny golden llama with GSM8K-shaped rows (question, answer "#### n"). */
class GrpoCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> metrics(Path out) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) rows.add(JSON.readTree(line));
        return rows;
    }

    @Test
    void grpoWithGsm8kRewardsAndChordWritesTrlMetricsAndAModel(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("gsm.jsonl"), """
                {"question": "2+2?", "answer": "2+2=4\\n#### 4"}
                {"question": "3+4?", "answer": "#### 7"}
                {"question": "1+1?", "answer": "#### 2"}
                {"question": "5+3?", "answer": "#### 8"}
                """);
        Path expert = Files.writeString(tmp.resolve("expert.jsonl"), """
                {"prompt": "2+2?", "completion": "#### 4"}
                {"prompt": "3+4?", "completion": "#### 7"}
                """);
        Path out = tmp.resolve("run");
        GrpoCommand.run(new String[] {"--model_name_or_path", Golden.resourceDir("golden/llama-tiny").toString(), "--dataset_name", data.toString(),
                "--output_dir", out.toString(), "--prompt_field", "question", "--reward_funcs", "gsm8k_answer,format,length", "--reward_weights", "1,0.5,1",
                "--num_generations", "4", "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "2", "--max_completion_length", "8",
                "--max_steps", "2", "--logging_steps", "1", "--learning_rate", "1e-3", "--beta", "0.04", "--chord_dataset_name", expert.toString(),
                "--chord_mu_peak", "0.5", "--chord_mu_valley", "0.5"});
        List<JsonNode> rows = metrics(out);
        assertEquals(2, rows.size());
        for (String k : new String[] {"rewards/gsm8k_answer/mean", "rewards/format/mean", "rewards/length/mean", "reward", "kl", "chord/mu"})
            assertTrue(rows.get(0).has(k), "no " + k + " in " + rows.get(0));
        assertEquals(0.5, rows.get(1).get("chord/mu").asDouble(), 0.0);
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.numParameters() > 0);
        }
    }

    @Test
    void aBatchThatDoesNotSplitIntoGroupsAndUnknownRewardsAreNamed(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("p.jsonl"), "{\"prompt\": \"hi\", \"answer\": \"#### 1\"}\n");
        String model = Golden.resourceDir("golden/llama-tiny").toString();
        CliException e = assertThrows(CliException.class, () -> GrpoCommand.run(new String[] {"--model_name_or_path", model, "--dataset_name", data.toString(),
                "--output_dir", tmp.resolve("a").toString(), "--num_generations", "3", "--per_device_train_batch_size", "4", "--reward_funcs", "gsm8k_answer"}));
        assertTrue(e.getMessage().contains("divisible by num_generations 3"), e.getMessage());
        e = assertThrows(CliException.class, () -> GrpoCommand.run(new String[] {"--model_name_or_path", model, "--dataset_name", data.toString(),
                "--output_dir", tmp.resolve("b").toString(), "--reward_funcs", "accuracy"}));
        assertTrue(e.getMessage().contains("'accuracy'") && e.getMessage().contains("gsm8k_answer"), e.getMessage());
    }
}
