// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench --mode train}, {@code --mode dpo} and {@code --mode dpo_memory} on the tiny llama shape (vocab 320, hidden 64, 2 layers). */
class BenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode bench(Path tmp, String... args) throws Exception {
        Path out = tmp.resolve("bench.jsonl");
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--output_file";
        all[args.length + 1] = out.toString();
        BenchCommand.run(all);
        List<String> lines = Files.readAllLines(out);
        assertEquals(1, lines.size(), "one JSON line per mode");
        return JSON.readTree(lines.get(0));
    }

    /** A timed mode on the tiny llama: batch (pairs for dpo) x seq tokens, warm-up then timed steps. */
    private static JsonNode timed(Path tmp, String mode, int batch, int seq, int iters, int warmup) throws Exception {
        return bench(
                tmp,
                "--mode",
                mode,
                "--size",
                "llama-tiny",
                "--batch",
                "" + batch,
                "--seq",
                "" + seq,
                "--iters",
                "" + iters,
                "--warmup",
                "" + warmup);
    }

    @Test
    void dpoTimesEveryTrainerStepAndReportsTheMedianOfTheTimedOnes(@TempDir Path tmp) throws Exception {
        JsonNode r = timed(tmp, "dpo", 2, 13, 2, 1);
        assertEquals("dpo", r.get("mode").asText());
        assertEquals(6, r.get("prompt_len").asInt(), "prompt = seq / 2");
        assertEquals(7, r.get("completion_len").asInt(), "completion = the rest");
        JsonNode all = r.get("ms_per_step_all");
        assertEquals(3, all.size(), "warmup + iters steps, each timed");
        for (JsonNode ms : all) assertTrue(ms.asDouble() > 0, "every step takes time: " + all);
        assertEquals(1, r.get("workers").asInt());
        assertEquals(0.0, r.get("collective_share").asDouble(), "one worker has no collectives");
        double median = (all.get(1).asDouble() + all.get(2).asDouble()) / 2; // the 2 timed steps after 1 warm-up step
        double stepsPerS = r.get("steps_per_s").asDouble();
        assertEquals(1000 / median, stepsPerS, 1e-3 * stepsPerS);
        // 2 pairs = 4 rows of 13 tokens per step
        assertEquals(
                4 * 13 * stepsPerS,
                r.get("tokens_per_s").asDouble(),
                1e-3 * r.get("tokens_per_s").asDouble());
        // the reference is an identical copy, so every pair's margin is 0 before the first update: -log sigmoid(0)
        assertEquals(Math.log(2), r.get("first_loss").asDouble(), 1e-6);
        assertTrue(Double.isFinite(r.get("last_loss").asDouble()));
    }

    /** The train mode steps align4j's AdamW (as the trainers do) on one batch: the loss starts at ln V and falls. */
    @Test
    void trainStepsTheTrainersOptimizerOnOneBatch(@TempDir Path tmp) throws Exception {
        JsonNode r = timed(tmp, "train", 2, 16, 6, 1);
        assertEquals("train", r.get("mode").asText());
        assertEquals(6, r.get("iters").asInt());
        double first = r.get("first_loss").asDouble(), last = r.get("last_loss").asDouble();
        // weights drawn at std 0.02 give near-uniform next-token probabilities over the 320-token vocabulary
        assertEquals(Math.log(320), first, 0.05);
        assertTrue(
                last < first - 1e-4,
                "7 AdamW steps at lr 1e-4 on the same batch lower the loss: " + first + " -> " + last);
    }

    @Test
    void dpoMemoryRunsOneLoraStepWithAdaptersOffAsReference(@TempDir Path tmp) throws Exception {
        JsonNode r = bench(
                tmp,
                "--mode",
                "dpo_memory",
                "--size",
                "llama-tiny",
                "--batch",
                "1",
                "--seq",
                "12",
                "--gradient_checkpointing",
                "false");
        assertEquals("dpo_memory", r.get("mode").asText());
        assertFalse(r.get("gradient_checkpointing").asBoolean());
        // r 16 on q_proj (64 -> 64) and v_proj (64 -> 2 kv heads x 16 = 32) in 2 layers: A (16, in) + B (out, 16)
        long perLayer = (16 * 64 + 64 * 16) + (16 * 64 + 32 * 16);
        assertEquals(2 * perLayer, r.get("trainable_params").asLong());
        double before = r.get("rss_before_step_gib").asDouble(),
                peak = r.get("peak_rss_gib").asDouble();
        assertTrue(before > 0, "resident set before the step " + before);
        if (r.get("peak_is_step_only").asBoolean())
            assertTrue(peak >= before, "peak " + peak + " < resident set before " + before);
        // B starts at zero, so the adapted policy equals the adapters-off reference: margin 0, loss ln 2
        assertEquals(Math.log(2), r.get("loss").asDouble(), 1e-6);
    }

    @Test
    void dpoNeedsATimedStepAndAPromptAndCompletionToken(@TempDir Path tmp) {
        CliException noIters = assertThrows(
                CliException.class,
                () -> BenchCommand.run(new String[] {"--mode", "dpo", "--size", "llama-tiny", "--iters", "0"}));
        assertTrue(noIters.getMessage().contains("--iters"), noIters.getMessage());
        CliException shortSeq = assertThrows(
                CliException.class,
                () -> BenchCommand.run(new String[] {"--mode", "dpo", "--size", "llama-tiny", "--seq", "1"}));
        assertTrue(shortSeq.getMessage().contains("--seq"), shortSeq.getMessage());
    }
}
