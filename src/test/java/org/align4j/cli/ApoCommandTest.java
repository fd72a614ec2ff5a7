// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** apo end to end on the tiny golden llama: APO and the baseline, with implicit-prompt pairs. */
class ApoCommandTest {
    @Test
    void apoAndItsBaselineRunTheirRoundsAndLogTheRewardModel(@TempDir Path tmp) throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 12; i++) rows.append(String.format("{\"chosen\": \"Q: %d+1= A: %d\", \"rejected\": \"Q: %d+1= A: %d\"}%n", i, i + 1, i, i + 3));
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), rows.toString()), out = tmp.resolve("run");
        ApoCommand.run(new String[] {"--model_name_or_path", Golden.resourceDir("golden/llama-tiny").toString(), "--dataset_name", data.toString(),
                "--eval_dataset_name", data.toString(), "--output_dir", out.toString(), "--apo_rounds", "1", "--align_method", "rjs",
                "--max_completion_length", "6", "--rm_max_steps", "2", "--rm_learning_rate", "1e-3", "--align_learning_rates", "1e-3",
                "--max_gold_queries", "4", "--max_queries", "4", "--per_device_train_batch_size", "4"});
        for (String side : new String[] {"apo", "baseline"}) {
            List<JsonNode> rounds = new ArrayList<>();
            for (String line : Files.readAllLines(out.resolve(side).resolve("rounds.jsonl"))) rounds.add(new ObjectMapper().readTree(line));
            assertEquals(2, rounds.size(), side + ": round 0 and round 1");
            for (JsonNode r : rounds) assertTrue(r.has("rm/heldout_accuracy") && r.has("rm/gold_sample_gap"), r.toString());
            assertTrue(Files.exists(out.resolve(side).resolve("round-1/policy/model.safetensors")));
        }
        assertTrue(Files.exists(out.resolve("apo/round-1/rm/model.safetensors")), "APO trains a reward model each round");
        assertTrue(Files.notExists(out.resolve("baseline/round-1/rm")), "the baseline aligns against the base reward model");
    }
}
