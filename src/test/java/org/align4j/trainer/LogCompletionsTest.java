// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.align4j.generate.SamplingParams;
import org.align4j.io.HfJson;
import org.align4j.loss.GrpoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * log_completions (TRL's GRPOConfig/RLOOConfig key, and online DPO's here) on the tiny golden llama: completions.jsonl
 * holds one block per logging step, the batch the step trained on (checked against the generation batch a checkpoint
 * carries, token ids decoded), with rewards that reproduce the logged reward; a sample goes to the listeners; it is cut
 * on resume and replaced by overwrite_output_dir like metrics.jsonl.
 */
class LogCompletionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final RewardFunction SPREAD = RewardFunction.perCompletion("spread", (p, c, row) -> spread(c));
    private static final RewardFunction SEVENS = RewardFunction.perCompletion(
            "sevens", (p, c, row) -> c.chars().filter(ch -> ch == '7').count());

    private static double spread(String c) {
        return Math.floorMod(c.hashCode(), 997) / 997.0;
    }

    private static Path dir() {
        return Golden.resourceDir("golden/llama-tiny");
    }

    private static List<Rollouts.Prompt> prompts(Tokenizer tok, int n) {
        List<Rollouts.Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String text = i + "+" + (i * 3 % 10) + "=";
            out.add(new Rollouts.Prompt(tok.encode(text), text, JSON.createObjectNode()));
        }
        return out;
    }

    private static WeightedRewards twoRewards() {
        return new WeightedRewards(List.of(SPREAD, SEVENS), List.of(1.0, 0.5));
    }

    /** 4 steps of 8 completions (2 prompts x 4), a generation batch per 2 steps, logged at steps 1, 2, 4, saved each step. */
    private static GrpoConfig grpo(Path out, LogCompletions log) {
        TrainingArgs a = TrainingArgs.defaults(out).withSteps(4, 4, 2, 1e-3).withLogging(2, 1);
        return GrpoConfig.builder(a, new GrpoLoss.Config("dapo", 0.2, null, null, 0.0, "token", 6))
                .numGenerations(4)
                .numIterations(2)
                .logCompletions(log)
                .build();
    }

    /** completions.jsonl's rows by step, in file order. */
    private static Map<Integer, List<JsonNode>> blocks(Path out) throws IOException {
        Map<Integer, List<JsonNode>> by = new TreeMap<>();
        for (JsonNode r : MetricsLog.read(out, MetricsLog.COMPLETIONS))
            by.computeIfAbsent(r.get("step").asInt(), k -> new ArrayList<>()).add(r);
        return by;
    }

    private static Map<Integer, JsonNode> trainRows(Path out) throws IOException {
        Map<Integer, JsonNode> by = new TreeMap<>();
        for (JsonNode r : MetricsLog.read(out))
            if (r.has("loss")) by.put(r.get("step").asInt(), r);
        return by;
    }

    /**
     * The block equals the generation batch that checkpoint's state file carries (the batch trained on): prompts,
     * completion token ids decoded as the trainer decodes them, advantages.
     */
    private static void assertBlockIsTheBatchTrainedOn(Tokenizer tok, List<JsonNode> block, Path stateFile)
            throws IOException {
        JsonNode gen = HfJson.readJson(stateFile).get("generation");
        JsonNode rollouts = gen.get("rollouts"), advantages = gen.get("advantages");
        assertEquals(rollouts.size(), block.size(), stateFile.toString());
        for (int i = 0; i < block.size(); i++) {
            long[] ids = JSON.treeToValue(rollouts.get(i).get("completion_ids"), long[].class);
            assertTrue(ids.length > 0);
            assertEquals(tok.decode(ids, true), block.get(i).get("completion").asText(), "row " + i);
            assertEquals(
                    rollouts.get(i).get("prompt").asText(),
                    block.get(i).get("prompt").asText());
            assertEquals(
                    advantages.get(i).asDouble(), block.get(i).get("advantage").asDouble(), 1e-12, "advantage " + i);
        }
    }

    /** Each row's rewards are the functions' values on its completion, and their mean the logged reward. */
    private static void assertRewardsReproduceTheMetrics(List<JsonNode> block, JsonNode metrics) {
        double sum = 0, spreadSum = 0;
        for (JsonNode r : block) {
            String c = r.get("completion").asText();
            assertEquals(spread(c), r.get("spread").asDouble(), 1e-12, c);
            assertEquals(
                    c.chars().filter(ch -> ch == '7').count(), r.get("sevens").asDouble(), 0.0, c);
            assertEquals(
                    r.get("spread").asDouble() + 0.5 * r.get("sevens").asDouble(),
                    r.get("reward").asDouble(),
                    1e-12);
            sum += r.get("reward").asDouble();
            spreadSum += r.get("spread").asDouble();
        }
        assertEquals(metrics.get("reward").asDouble(), sum / block.size(), 1e-9, metrics.toString());
        assertEquals(metrics.get("rewards/spread/mean").asDouble(), spreadSum / block.size(), 1e-9);
    }

    /** Records what the listeners are shown. */
    private static final class Shown implements TrainingListener {
        final List<Integer> steps = new ArrayList<>(), totals = new ArrayList<>();
        final List<List<Map<String, Object>>> rows = new ArrayList<>();
        final List<String> tables = new ArrayList<>();

        @Override
        public void onCompletions(int step, int total, List<Map<String, Object>> shown) {
            steps.add(step);
            totals.add(total);
            rows.add(shown);
            tables.add(CompletionsTable.render("grpo", step, total, shown));
        }
    }

    @Test
    void grpoWritesTheTrainedBatchAtEveryLoggingStepAndResumeCutsTheRowsPastTheCheckpoint(@TempDir Path tmp)
            throws Exception {
        Path full = tmp.resolve("full");
        Shown shown = new Shown();
        try (Tokenizer tok = Tokenizer.load(dir())) {
            try (Transformer policy = Checkpoints.load(dir())) {
                TrainingListeners.call(
                        List.of(shown),
                        () -> GrpoTrainer.train(
                                policy,
                                null,
                                tok,
                                prompts(tok, 8),
                                twoRewards(),
                                grpo(full, LogCompletions.on(3)),
                                Map.of()));
            }
            Map<Integer, List<JsonNode>> blocks = blocks(full);
            Map<Integer, JsonNode> metrics = trainRows(full);
            assertEquals(List.of(1, 2, 4), List.copyOf(blocks.keySet()), "one block per logging step");
            assertEquals(blocks.keySet(), metrics.keySet());
            for (var e : blocks.entrySet()) {
                List<JsonNode> block = e.getValue();
                assertEquals(8, block.size(), "the whole generation batch of step " + e.getKey());
                List<String> columns = new ArrayList<>();
                block.getFirst().fieldNames().forEachRemaining(columns::add);
                assertEquals(
                        List.of("step", "prompt", "completion", "spread", "sevens", "reward", "advantage"), columns);
                assertRewardsReproduceTheMetrics(block, metrics.get(e.getKey()));
            }
            // steps 1-2 train on the first generation batch (checkpoint-1 carries it), steps 3-4 on the second
            assertBlockIsTheBatchTrainedOn(tok, blocks.get(1), full.resolve("checkpoint-1/grpo_state.json"));
            assertBlockIsTheBatchTrainedOn(tok, blocks.get(2), full.resolve("checkpoint-1/grpo_state.json"));
            assertBlockIsTheBatchTrainedOn(tok, blocks.get(4), full.resolve("checkpoint-3/grpo_state.json"));

            // num_completions_to_print 3: three of the eight, in batch order, to the listeners and the table
            assertEquals(List.of(1, 2, 4), shown.steps);
            assertEquals(List.of(8, 8, 8), shown.totals);
            for (int k = 0; k < 3; k++) {
                List<Map<String, Object>> s = shown.rows.get(k);
                assertEquals(3, s.size());
                List<String> batch = blocks.get(shown.steps.get(k)).stream()
                        .map(r -> r.get("completion").asText())
                        .toList();
                int last = -1;
                for (Map<String, Object> r : s) {
                    assertEquals(shown.steps.get(k), r.get("step"));
                    int at = batch.indexOf((String) r.get("completion"));
                    assertTrue(at >= 0, "a row of the step's batch: " + r);
                    assertTrue(at >= last, "batch order");
                    last = at;
                }
                assertTrue(shown.tables
                        .get(k)
                        .startsWith("grpo: completions at step " + shown.steps.get(k)
                                + " (3 of 8; all in completions.jsonl)"));
            }

            // resume from checkpoint-2 into a copy of the run's logs: the rows of step 4 are cut, then written again
            for (boolean logAgain : new boolean[] {true, false}) {
                Path resumed = tmp.resolve("resumed-" + logAgain);
                copyDir(full.resolve("checkpoint-2"), resumed.resolve("checkpoint-2"));
                Files.copy(full.resolve(MetricsLog.FILE), resumed.resolve(MetricsLog.FILE));
                Files.copy(full.resolve(MetricsLog.COMPLETIONS), resumed.resolve(MetricsLog.COMPLETIONS));
                GrpoConfig cfg = grpo(resumed, logAgain ? LogCompletions.on(3) : LogCompletions.OFF);
                cfg = cfg.toBuilder()
                        .args(cfg.args().withResume("latest", resumed))
                        .build();
                try (Transformer policy = Checkpoints.load(dir())) {
                    GrpoTrainer.train(policy, null, tok, prompts(tok, 8), twoRewards(), cfg, Map.of());
                }
                Map<Integer, List<JsonNode>> again = blocks(resumed);
                assertEquals(logAgain ? List.of(1, 2, 4) : List.of(1, 2), List.copyOf(again.keySet()), "resumed");
                for (int step : again.keySet()) {
                    assertEquals(8, again.get(step).size(), "step " + step + " once, not twice");
                    for (int i = 0; i < 8; i++) {
                        JsonNode a = again.get(step).get(i),
                                b = blocks.get(step).get(i);
                        assertEquals(
                                b.get("completion").asText(),
                                a.get("completion").asText());
                        assertEquals(b.get("reward").asDouble(), a.get("reward").asDouble(), 1e-9);
                    }
                }
            }
        }
    }

    @Test
    void grpoWithoutLogCompletionsWritesNoCompletionsFileAndTellsNoListener(@TempDir Path tmp) throws Exception {
        Shown shown = new Shown();
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer policy = Checkpoints.load(dir())) {
            GrpoConfig cfg = grpo(tmp, LogCompletions.OFF);
            cfg = cfg.toBuilder()
                    .args(cfg.args().toBuilder().maxSteps(1).saveSteps(0).build())
                    .build();
            GrpoConfig c = cfg;
            TrainingListeners.call(
                    List.of(shown),
                    () -> GrpoTrainer.train(policy, null, tok, prompts(tok, 8), twoRewards(), c, Map.of()));
        }
        assertEquals(1, MetricsLog.read(tmp).size());
        assertFalse(Files.exists(tmp.resolve(MetricsLog.COMPLETIONS)), "TRL's default: log_completions false");
        assertTrue(shown.steps.isEmpty());
        assertEquals(
                LogCompletions.OFF,
                GrpoConfig.builder(TrainingArgs.defaults(tmp), GrpoLoss.Config.defaults())
                        .build()
                        .logCompletions());
    }

    @Test
    void rlooWritesTheTrainedBatchWithRawRewardsAndAdvantages(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer policy = Checkpoints.load(dir())) {
            TrainingArgs a = TrainingArgs.defaults(tmp).withSteps(2, 2, 2, 1e-3).withLogging(1, 1);
            RlooConfig cfg = RlooConfig.builder(a)
                    .beta(0.0)
                    .maxCompletionLength(6)
                    .numIterations(2)
                    .logCompletions(LogCompletions.on(null))
                    .build();
            RlooTrainer.train(policy, null, tok, prompts(tok, 6), twoRewards(), cfg, null, Map.of());
            Map<Integer, List<JsonNode>> blocks = blocks(tmp);
            Map<Integer, JsonNode> metrics = trainRows(tmp);
            assertEquals(List.of(1, 2), List.copyOf(blocks.keySet()));
            for (int step : blocks.keySet()) {
                assertEquals(4, blocks.get(step).size());
                assertRewardsReproduceTheMetrics(blocks.get(step), metrics.get(step));
                // both steps train on the one generation batch checkpoint-1 carries
                assertBlockIsTheBatchTrainedOn(tok, blocks.get(step), tmp.resolve("checkpoint-1/rloo_state.json"));
            }
        }
    }

    @Test
    void onlineDpoWritesEachSampleWithItsPairAndWhichSideWasChosen(@TempDir Path tmp) throws Exception {
        SamplingParams sampling = new SamplingParams(0.9, 0, 1.0, 6, 0);
        long seed = 42;
        int n = 4;
        try (Tokenizer tok = Tokenizer.load(dir());
                Transformer fresh = Checkpoints.load(dir());
                Transformer policy = Checkpoints.load(dir());
                Transformer ref = Checkpoints.load(dir())) {
            List<Rollouts.Prompt> prompts = prompts(tok, n);
            // step 1 samples the first batch of the seeded order with seed + 0, from the initial policy
            int[] order = DataCursor.permutation(n, seed, 0);
            List<Rollouts.Prompt> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) batch.add(prompts.get(order[i]));
            List<Rollouts.Rollout> step1 = Rollouts.sample(fresh, tok, batch, 2, sampling.withSeed(seed));

            OnlineDpoConfig cfg = OnlineDpoConfig.builder(
                            TrainingArgs.defaults(tmp).withSteps(2, n, 1, 1e-3).withLogging(1, 0))
                    .sampling(sampling)
                    .logCompletions(LogCompletions.on(null))
                    .build();
            OnlineDpoTrainer.train(policy, ref, tok, prompts, twoRewards(), cfg, Map.of());
            Map<Integer, List<JsonNode>> blocks = blocks(tmp);
            Map<Integer, JsonNode> metrics = trainRows(tmp);
            assertEquals(List.of(1, 2), List.copyOf(blocks.keySet()));
            List<JsonNode> first = blocks.get(1);
            for (int i = 0; i < step1.size(); i++)
                assertEquals(
                        tok.decode(step1.get(i).completion(), true),
                        first.get(i).get("completion").asText());
            for (int step : blocks.keySet()) {
                List<JsonNode> block = blocks.get(step);
                assertEquals(2 * n, block.size());
                List<String> columns = new ArrayList<>();
                block.getFirst().fieldNames().forEachRemaining(columns::add);
                assertEquals(
                        List.of("step", "prompt", "completion", "spread", "sevens", "reward", "pair", "chosen"),
                        columns);
                assertRewardsReproduceTheMetrics(block, metrics.get(step));
                // first_vs_second: the two samples of prompt k are pair k, the first chosen unless the second scores
                // more
                double chosen = 0, rejected = 0;
                for (int k = 0; k < n; k++) {
                    JsonNode a = block.get(2 * k), b = block.get(2 * k + 1);
                    assertEquals(a.get("prompt").asText(), b.get("prompt").asText());
                    assertEquals(k, a.get("pair").asInt());
                    assertEquals(k, b.get("pair").asInt());
                    boolean firstWins =
                            a.get("reward").asDouble() >= b.get("reward").asDouble();
                    assertEquals(firstWins, a.get("chosen").asBoolean());
                    assertEquals(!firstWins, b.get("chosen").asBoolean());
                    chosen += (firstWins ? a : b).get("reward").asDouble() / n;
                    rejected += (firstWins ? b : a).get("reward").asDouble() / n;
                }
                assertEquals(metrics.get(step).get("reward/chosen").asDouble(), chosen, 1e-9);
                assertEquals(metrics.get(step).get("reward/rejected").asDouble(), rejected, 1e-9);
            }
        }
    }

    @Test
    void bestVsWorstLeavesTiedPromptsAndMiddleSamplesUnpaired() {
        List<Rollouts.Rollout> rs = new ArrayList<>();
        Rollouts.Prompt p = new Rollouts.Prompt(new long[] {1}, "p", JSON.createObjectNode());
        for (int i = 0; i < 6; i++) rs.add(new Rollouts.Rollout(p, new long[] {i}, new float[1], true, "c" + i));
        OnlineDpoTrainer.Pairing pairing =
                OnlineDpoTrainer.bestVsWorst(rs, new double[] {0.5, 0.9, 0.1, 0.3, 0.3, 0.3}, 3);
        assertEquals(1, pairing.pairs().size());
        assertEquals(1, pairing.chosenIndex()[0]);
        assertEquals(2, pairing.rejectedIndex()[0]);
    }

    @Test
    void completionsJsonlIsAnOutputArtifactOverwriteRemovesAndAFreshRunRefuses(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        Files.createDirectories(out);
        Files.writeString(out.resolve(MetricsLog.COMPLETIONS), "");
        OutputDir.claim("grpo", out, false, false, List.of()).close(); // an empty log blocks nothing
        Files.writeString(out.resolve(MetricsLog.COMPLETIONS), "{\"step\": 1, \"prompt\": \"p\"}\n");
        Files.writeString(out.resolve("notes.txt"), "mine");
        IOException e = assertThrows(IOException.class, () -> OutputDir.claim("grpo", out, false, false, List.of()));
        assertTrue(e.getMessage().contains(MetricsLog.COMPLETIONS), e.getMessage());
        OutputDir.claim("grpo", out, true, false, List.of()).close();
        assertFalse(Files.exists(out.resolve(MetricsLog.COMPLETIONS)), "overwrite_output_dir replaces it");
        assertTrue(Files.exists(out.resolve("notes.txt")), "nothing else is touched");
    }

    @Test
    void resumingCutsCompletionRowsPastTheStepWithTheMetricsFunction(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve(MetricsLog.COMPLETIONS);
        Files.write(
                file,
                List.of(
                        "{\"step\":1,\"completion\":\"a\"}",
                        "{\"step\":2,\"completion\":\"b\"}",
                        "{\"step\":2,\"completion\":\"c\"}",
                        "{\"step\":3,\"completion\":\"d\"}",
                        "{\"step\":3,\"comp")); // torn by a kill
        MetricsLog.open(tmp, MetricsLog.COMPLETIONS, 2).close();
        assertEquals(
                List.of("a", "b", "c"),
                MetricsLog.read(tmp, MetricsLog.COMPLETIONS).stream()
                        .map(r -> r.get("completion").asText())
                        .toList());
    }

    @Test
    void theTableWrapsTextsAlignsNumbersAndShowsNoRewardAsADash() {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", 5);
        row.put("prompt", "2+2=");
        row.put("completion", "four\tis the answer\n#### 4");
        row.put("spread", 0.12345);
        row.put("judge", null);
        row.put("reward", 1.5);
        row.put("advantage", -0.25);
        String t = CompletionsTable.render("grpo", 5, 8, List.of(row));
        assertEquals(
                String.join(
                        "\n",
                        "grpo: completions at step 5 (1 of 8; all in completions.jsonl)",
                        "+--------+--------------------+--------+-------+--------+-----------+",
                        "| prompt | completion         | spread | judge | reward | advantage |",
                        "+--------+--------------------+--------+-------+--------+-----------+",
                        "| 2+2=   | four is the answer |   0.12 |     - |   1.50 |     -0.25 |",
                        "|        | #### 4             |        |       |        |           |",
                        "+--------+--------------------+--------+-------+--------+-----------+"),
                t);
        row.put("completion", "x".repeat(CompletionsTable.COMPLETION_WIDTH + 3));
        String wrapped = CompletionsTable.render("grpo", 5, 1, List.of(row));
        assertTrue(wrapped.contains("(all 1;"), wrapped);
        assertTrue(wrapped.contains("| " + "x".repeat(CompletionsTable.COMPLETION_WIDTH) + " |"), wrapped);
        assertTrue(wrapped.contains("| xxx" + " ".repeat(CompletionsTable.COMPLETION_WIDTH - 3) + " |"), wrapped);
    }

    @Test
    void theConsoleProgressPrintsTheSampleAsATableAboveItsLines() {
        List<String> lines = new ArrayList<>();
        ConsoleProgress p = new ConsoleProgress(lines::add, null, () -> 0L);
        p.onTrainBegin(new TrainingListener.RunInfo("rloo", 0, 10, 0, Path.of("out"), null));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", 3);
        row.put("prompt", "1+1=");
        row.put("completion", "2");
        row.put("reward", 1.0);
        p.onCompletions(3, 4, List.of(row));
        assertEquals(1, lines.size());
        assertEquals(CompletionsTable.render("rloo", 3, 4, List.of(row)), lines.getFirst());
        assertTrue(lines.getFirst().contains("| 1+1=   | 2          |   1.00 |"), lines.getFirst());
    }

    @Test
    void theSampleIsSeededByTheStepAndKeepsBatchOrder() {
        List<Integer> rows = List.of(0, 1, 2, 3, 4, 5, 6, 7);
        assertEquals(rows, LogWindow.sample(rows, null, 3));
        assertEquals(rows, LogWindow.sample(rows, 8, 3));
        assertEquals(List.of(), LogWindow.sample(rows, 0, 3));
        List<Integer> s = LogWindow.sample(rows, 3, 3);
        assertEquals(3, s.size());
        assertEquals(s, LogWindow.sample(rows, 3, 3), "the same step draws the same sample");
        assertEquals(s.stream().sorted().toList(), s);
        assertThrows(IllegalArgumentException.class, () -> LogCompletions.on(-1));
        assertNull(LogCompletions.OFF.numCompletionsToPrint());
    }

    private static void copyDir(Path from, Path to) throws IOException {
        org.align4j.io.AtomicFiles.writeDirAtomically(
                to,
                d -> {
                    try (var files = Files.list(from)) {
                        for (Path f : files.toList()) Files.copy(f, d.resolve(f.getFileName()));
                    }
                },
                false);
    }
}
