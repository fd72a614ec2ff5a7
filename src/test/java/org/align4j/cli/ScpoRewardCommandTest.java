// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows.Row;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardModelReward;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.RewardTrainer;
import org.align4j.trainer.ScpoConfig;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reward command with SCPO end to end on the tiny golden models: a frozen global reward model (golden/qwen3-tiny-rm)
 * filters and weights the pairs, and scpo_group_column trains one model per group.
 */
class ScpoRewardCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path rm() {
        return Golden.resourceDir("golden/qwen3-tiny-rm");
    }

    private static List<JsonNode> readJsonl(Path p) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(p)) rows.add(JSON.readTree(line));
        return rows;
    }

    /** A sequence's reward straight from the stored model, unpadded (the score at its last position). */
    private static float reward(Transformer m, long[] ids) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.scores(m.forward(Tensors.longs(ids, 1, ids.length), null, null), null))[0];
        }
    }

    private static final String TRAIN = """
            {"prompt": "Is the sky blue?", "chosen": " Yes.", "rejected": " No.", "country": "Chile"}
            {"chosen": "Paris is in France.", "rejected": "Paris is in Spain.", "country": "Chile"}
            {"prompt": "2+2=", "chosen": "4", "rejected": "5", "country": "Chile"}
            {"prompt": "Water is", "chosen": " wet.", "rejected": " dry, always.", "country": "New Zealand"}
            {"prompt": "The cat", "chosen": " sat on the mat.", "rejected": " flew.", "country": "New Zealand"}
            {"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "hello!"}], "rejected": [{"role": "assistant", "content": "go away"}], "country": "Chile"}
            {"prompt": "Snow is", "chosen": " cold.", "rejected": " hot.", "country": "New Zealand"}
            {"prompt": "Fire is", "chosen": " hot.", "rejected": " cold and wet.", "country": "Chile"}
            """;
    private static final String EVAL = """
            {"prompt": "1+1=", "chosen": "2", "rejected": "3", "country": "Chile"}
            {"prompt": "Grass is", "chosen": " green.", "rejected": " purple.", "country": "Chile"}
            {"prompt": "Ice is", "chosen": " frozen water.", "rejected": " hot.", "country": "New Zealand"}
            {"prompt": "Dogs", "chosen": " bark.", "rejected": " meow.", "country": "New Zealand"}
            {"prompt": "Birds", "chosen": " fly.", "rejected": " swim only.", "country": "Chile"}
            {"prompt": "Fish", "chosen": " swim.", "rejected": " fly.", "country": "Japan"}
            """;

    /** The pairs of {@code file} for the model in {@code modelDir}, with the global model's rewards the command attaches. */
    private static List<RewardTrainer.Pair> scored(Path modelDir, Path file) throws IOException {
        List<Row> rows = Datasets.read(file, "train");
        try (Tokenizer tok = Tokenizer.load(modelDir);
                RewardModelReward global =
                        RewardModelReward.load(rm(), 8)) { // the command's batches: the same float32 sums
            return RewardCommand.withGlobalRewards(global, rows, RewardCommand.pairs(tok, rows), 1024);
        }
    }

    @Test
    void theGlobalModelScoresEachRowWithItsOwnTokenizerAndTheRunTrainsOnTheKeptPairs(@TempDir Path tmp)
            throws Exception {
        // the trained model (llama-tiny, a causal LM given a fresh score head) and the global model (qwen3-tiny-rm)
        // are different models with different tokenizers
        Path lm = Golden.resourceDir("golden/llama-tiny"), data = tmp.resolve("pairs.jsonl");
        Path evalData = tmp.resolve("eval.jsonl"), out = tmp.resolve("run");
        Files.writeString(data, TRAIN);
        Files.writeString(evalData, EVAL);
        List<RewardTrainer.Pair> train = scored(lm, data), eval = scored(lm, evalData);
        List<Row> rows = Datasets.read(data, "train");
        try (Tokenizer gtok = Tokenizer.load(rm());
                Transformer global = Checkpoints.load(rm());
                Tokenizer tok = Tokenizer.load(lm)) {
            for (int i = 0; i < rows.size(); i++) {
                RewardTrainer.Pair own = RewardCommand.pair(tok, rows.get(i)),
                        g = RewardCommand.pair(gtok, rows.get(i));
                assertTrue(Arrays.equals(own.chosen(), train.get(i).chosen()), "the trained model's ids stay");
                assertEquals(reward(global, g.chosen()), train.get(i).global().chosen(), 1e-5, "r+ of row " + i);
                assertEquals(reward(global, g.rejected()), train.get(i).global().rejected(), 1e-5, "r- of row " + i);
            }
        }
        // tau 0.5 keeps the pairs the global model ranks wrong, r+ < r-
        List<RewardTrainer.Pair> kept = train.stream()
                .filter(p -> p.global().chosen() < p.global().rejected())
                .toList();
        long filteredEval = eval.stream()
                .filter(p -> p.global().chosen() < p.global().rejected())
                .count();
        assertTrue(kept.size() > 0 && kept.size() < train.size(), "the data must straddle the filter: " + kept.size());
        assertTrue(filteredEval > 0, "some eval pairs must be ranked wrong by the global model");
        RewardCommand.run(new String[] {
            "--model_name_or_path",
            lm.toString(),
            "--dataset_name",
            data.toString(),
            "--eval_dataset_name",
            evalData.toString(),
            "--output_dir",
            out.toString(),
            "--scpo_global_reward_model",
            rm().toString(),
            "--scpo_tau",
            "0.5",
            "--max_steps",
            "2",
            "--per_device_train_batch_size",
            "64",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3"
        });
        List<JsonNode> metrics = readJsonl(out.resolve("metrics.jsonl"));
        List<JsonNode> steps = metrics.stream().filter(r -> r.has("loss")).toList(),
                evals = metrics.stream().filter(r -> r.has("eval_loss")).toList();
        long tokens = kept.stream()
                .mapToLong(p -> p.chosen().length + p.rejected().length)
                .sum();
        assertEquals(tokens, steps.get(0).get("num_tokens").asLong(), "step 1 is one epoch of the kept pairs");
        assertEquals(2, evals.size());
        for (JsonNode e : evals) {
            double full = e.get("eval_accuracy").asDouble(),
                    filtered = e.get("eval_filtered_accuracy").asDouble();
            assertTrue(full >= 0 && full <= 1 && filtered >= 0 && filtered <= 1, e.toString());
            // the filtered accuracy counts in steps of 1 / (pairs in the filtered test set)
            assertEquals(Math.rint(filtered * filteredEval), filtered * filteredEval, 1e-9, e.toString());
        }
        JsonNode args = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals(0.5, args.get("scpo_tau").asDouble());
        assertEquals(1.1, args.get("scpo_beta").asDouble());
        assertEquals("scpo", args.get("scpo_weighting").asText());
        try (Transformer m = Checkpoints.load(out)) {
            assertEquals(1, m.config().numLabels());
        }
    }

    @Test
    void aGroupColumnTrainsOneModelPerGroupPlusTheGlobalOneAndSumsThemUp(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("pairs.jsonl"), evalData = tmp.resolve("eval.jsonl"), out = tmp.resolve("run");
        Files.writeString(data, TRAIN);
        Files.writeString(evalData, EVAL);
        String[] cmd = {
            "--model_name_or_path",
            rm().toString(),
            "--dataset_name",
            data.toString(),
            "--eval_dataset_name",
            evalData.toString(),
            "--output_dir",
            out.toString(),
            "--scpo_global_reward_model",
            rm().toString(),
            "--scpo_group_column",
            "country",
            "--scpo_train_global",
            "true",
            "--max_steps",
            "1",
            "--per_device_train_batch_size",
            "8",
            "--learning_rate",
            "1e-3"
        };
        RewardCommand.run(cmd);
        List<RewardTrainer.Pair> train = scored(rm(), data), eval = scored(rm(), evalData);
        List<Row> rows = Datasets.read(data, "train"), evalRows = Datasets.read(evalData, "test");
        JsonNode report = JSON.readTree(out.resolve("reward_groups.json").toFile());
        assertEquals("country", report.get("group_column").asText());
        JsonNode groups = report.get("groups");
        assertEquals(2, groups.size(), "Japan has eval rows only: no model of its own");
        double meanAccuracy = 0;
        for (JsonNode line : groups) {
            String group = line.get("group").asText(),
                    folder = line.get("output_dir").asText();
            assertEquals("group-" + group.replace(' ', '_'), folder);
            Path dir = out.resolve(folder);
            for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl"})
                assertTrue(Files.exists(dir.resolve(f)), dir + " lacks " + f);
            JsonNode args = JSON.readTree(dir.resolve("training_args.json").toFile());
            assertEquals(group, args.get("scpo_group").asText());
            assertEquals(dir.toString(), args.get("output_dir").asText());
            // counts recomputed from the rows and the global rewards
            int n = 0, kept = 0, nEval = 0, filtered = 0, right = 0;
            for (int i = 0; i < rows.size(); i++)
                if (rows.get(i).json().get("country").asText().equals(group)) {
                    n++;
                    RewardTrainer.Global g = train.get(i).global();
                    if (ScpoConfig.defaults().keeps(g)) kept++;
                }
            for (int i = 0; i < evalRows.size(); i++)
                if (evalRows.get(i).json().get("country").asText().equals(group)) {
                    nEval++;
                    RewardTrainer.Global g = eval.get(i).global();
                    if (g.chosen() < g.rejected()) filtered++;
                    if (g.chosen() > g.rejected()) right++;
                }
            assertEquals(n, line.get("train_pairs").asInt(), group);
            assertEquals(kept, line.get("scpo_train_pairs").asInt(), group);
            assertEquals(nEval, line.get("eval_pairs").asInt(), group);
            assertEquals(filtered, line.get("scpo_filtered_eval_pairs").asInt(), group);
            assertEquals(
                    (double) right / nEval,
                    line.get("global_model_eval_accuracy").asDouble(),
                    1e-12,
                    group);
            // the report carries the group's last eval row
            List<JsonNode> evals = readJsonl(dir.resolve("metrics.jsonl")).stream()
                    .filter(r -> r.has("eval_loss"))
                    .toList();
            JsonNode last = evals.get(evals.size() - 1);
            assertEquals(
                    last.get("eval_accuracy").asDouble(),
                    line.get("eval_accuracy").asDouble(),
                    0.0);
            assertEquals(filtered > 0, line.has("eval_filtered_accuracy"), group);
            assertEquals(filtered > 0, last.has("eval_filtered_accuracy"), group);
            meanAccuracy += line.get("eval_accuracy").asDouble() / groups.size();
        }
        assertEquals(meanAccuracy, report.get("mean_eval_accuracy").asDouble(), 1e-12);
        JsonNode global = report.get("global");
        assertEquals("global", global.get("output_dir").asText());
        assertEquals(rows.size(), global.get("train_pairs").asInt());
        assertEquals(evalRows.size(), global.get("eval_pairs").asInt(), "the pooled eval set includes Japan");
        assertTrue(Files.exists(out.resolve("global/model.safetensors")));
        assertFalse(Files.exists(out.resolve("model.safetensors")), "output_dir itself holds only the group runs");
        // a second run is refused unless it overwrites; overwriting replaces the group folders
        IOException refused = assertThrows(IOException.class, () -> RewardCommand.run(cmd));
        assertTrue(refused.getMessage().contains("already holds a run"), refused.getMessage());
        RewardCommand.run(concat(cmd, "--overwrite_output_dir", "true", "--scpo_train_global", "false"));
        assertFalse(Files.exists(out.resolve("global")), "the earlier run's global model went with the overwrite");
        assertNull(JSON.readTree(out.resolve("reward_groups.json").toFile()).get("global"));
    }

    @Test
    void misusedScpoKeysAndBadGroupsAreRefusedWithTheFix(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("pairs.jsonl");
        Files.writeString(data, TRAIN);
        String[] base = {
            "--model_name_or_path", rm().toString(),
            "--dataset_name", data.toString(),
            "--output_dir", tmp.resolve("o").toString(),
            "--max_steps", "1"
        };
        CliException e = assertThrows(CliException.class, () -> RewardCommand.run(concat(base, "--scpo_beta", "2")));
        assertTrue(e.getMessage().contains("scpo_beta needs scpo_global_reward_model"), e.getMessage());
        e = assertThrows(CliException.class, () -> RewardCommand.run(concat(base, "--scpo_train_global", "true")));
        assertTrue(e.getMessage().contains("scpo_train_global needs scpo_group_column"), e.getMessage());
        String[] scpo = concat(base, "--scpo_global_reward_model", rm().toString());
        e = assertThrows(CliException.class, () -> RewardCommand.run(concat(scpo, "--scpo_weighting", "softmax")));
        assertTrue(e.getMessage().contains("scpo, inverse, none"), e.getMessage());
        e = assertThrows(CliException.class, () -> RewardCommand.run(concat(scpo, "--scpo_tau", "0")));
        assertTrue(e.getMessage().contains("scpo_tau must be in (0, 1]"), e.getMessage());
        e = assertThrows(
                CliException.class,
                () -> RewardCommand.run(concat(
                        base,
                        "--scpo_global_reward_model",
                        tmp.resolve("absent").toString())));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
        // tau so low that the global model keeps no pair of a group: refused before anything is trained
        e = assertThrows(
                CliException.class,
                () -> RewardCommand.run(concat(scpo, "--scpo_group_column", "country", "--scpo_tau", "0.000001")));
        assertTrue(
                e.getMessage().contains("has no train pair left")
                        && e.getMessage().contains("raise scpo_tau"),
                e.getMessage());
        DatasetException d = assertThrows(
                DatasetException.class, () -> RewardCommand.run(concat(base, "--scpo_group_column", "city")));
        assertTrue(
                d.getMessage().contains("pairs.jsonl:1") && d.getMessage().contains("no 'city' field"), d.getMessage());
        e = assertThrows(
                CliException.class,
                () -> RewardCommand.run(
                        concat(base, "--scpo_group_column", "country", "--resume_from_checkpoint", "latest")));
        assertTrue(e.getMessage().contains("do not resume_from_checkpoint"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("o")), "refused runs write nothing");
        // two values on one folder name
        e = assertThrows(CliException.class, () -> RewardGroups.folders(List.of("New Zealand", "New_Zealand")));
        assertTrue(e.getMessage().contains("'New Zealand' and 'New_Zealand'"), e.getMessage());
        assertEquals(Map.of("Côte d'Ivoire", "group-C_te_d_Ivoire"), RewardGroups.folders(List.of("Côte d'Ivoire")));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
