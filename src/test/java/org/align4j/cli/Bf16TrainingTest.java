// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.trainer.MetricsLog;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --bf16 true} (TRL's bf16: matrix products in bfloat16 under CPU autocast, weights, optimizer, log-probs and
 * losses in float32) trains as float32 does to bfloat16's precision: a first-step metric, computed before any update
 * from the same rows (the loss; for dpo the chosen log-probs and for grpo the entropy, their losses being ln 2 and 0
 * whatever the precision), agrees to 2 % (bfloat16 keeps 8 bits of mantissa: ~0.4 % per product, a few products deep)
 * and differs from float32's (the products did run in bfloat16); the saved weights stay float32.
 */
class Bf16TrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TINY =
            Golden.resourceDir("golden/llama-tiny").toAbsolutePath().toString();

    @ParameterizedTest
    @ValueSource(strings = {"sft", "dpo", "reward", "grpo"})
    void bf16TrainsAsFloat32ToBfloat16Precision(String command, @TempDir Path tmp) throws Exception {
        Path data = data(tmp, command);
        JsonNode f32 = firstStep(tmp, command, data, "f32", false), bf16 = firstStep(tmp, command, data, "bf16", true);
        String metric = switch (command) {
            case "dpo" -> "logps/chosen";
            case "grpo" -> "entropy";
            default -> "loss";
        };
        double a = f32.get(metric).asDouble(), b = bf16.get(metric).asDouble();
        assertTrue(Double.isFinite(b) && Double.isFinite(bf16.get("loss").asDouble()), bf16.toString());
        assertEquals(a, b, 0.02 * Math.abs(a) + 1e-4, command + ": " + f32 + " vs " + bf16);
        assertNotEquals(a, b, command + ": the products ran in float32");
        assertEquals(f32.get("num_tokens").asLong(), bf16.get("num_tokens").asLong());
        try (Transformer m = Checkpoints.load(tmp.resolve("bf16"))) {
            m.parameters()
                    .values()
                    .forEach(p -> assertEquals(
                            org.bytedeco.pytorch.global.torch.ScalarType.Float.value,
                            p.scalar_type().value,
                            "float32 master weights"));
        }
    }

    private static Path data(Path tmp, String command) throws Exception {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++)
            rows.add(JSON.writeValueAsString(
                    switch (command) {
                        case "sft" -> Map.of("prompt", i + "+" + i + "=", "completion", "" + 2 * i);
                        case "grpo" -> Map.of("prompt", i + "+" + i + "=");
                        default ->
                            Map.of("prompt", i + "+" + i + "=", "chosen", "" + 2 * i, "rejected", "" + (2 * i + 1));
                    }));
        return Files.write(tmp.resolve("data.jsonl"), rows);
    }

    private static JsonNode firstStep(Path tmp, String command, Path data, String out, boolean bf16) throws Exception {
        List<String> args = new ArrayList<>(List.of(
                command,
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                data.toString(),
                "--output_dir",
                tmp.resolve(out).toString(),
                "--max_steps",
                "1",
                "--learning_rate",
                "1e-3",
                "--per_device_train_batch_size",
                "8",
                "--logging_steps",
                "1",
                "--save_steps",
                "0",
                "--bf16",
                "" + bf16));
        if (command.equals("grpo")) { // samples that score apart, so the policy term is not 0; beta > 0: a KL term too
            args.addAll(DataParallelTest.SCORED_LENGTH);
            args.addAll(List.of("--num_generations", "4", "--max_completion_length", "6", "--beta", "0.04"));
        }
        assertEquals(0, Main.run(args.toArray(String[]::new)), String.join(" ", args));
        return MetricsLog.read(tmp.resolve(out)).getFirst();
    }
}
