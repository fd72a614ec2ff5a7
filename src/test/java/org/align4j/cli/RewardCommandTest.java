// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.data.DatasetException;
import org.align4j.data.JsonRows;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.RewardTrainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reward command end to end on the tiny golden models (byte-level tokenizer, eos <|im_end|> 258, pad <|endoftext|> 256). */
class RewardCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path rm() {
        return Golden.resourceDir("golden/qwen3-tiny-rm");
    }

    private static List<JsonNode> readJsonl(Path p) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(p)) rows.add(JSON.readTree(line));
        return rows;
    }

    private static JsonRows.Row row(String json) throws Exception {
        return new JsonRows.Row((ObjectNode) JSON.readTree(json), Path.of("rows.jsonl"), 1);
    }

    @Test
    void rewardTrainsFromJsonlEvaluatesAndWritesASequenceClassifierWithItsTokenizer(@TempDir Path tmp)
            throws Exception {
        Path data = tmp.resolve("pairs.jsonl"), evalData = tmp.resolve("eval.jsonl"), out = tmp.resolve("run");
        Files.writeString(data, """
                {"prompt": "Is the sky blue?", "chosen": " Yes.", "rejected": " No.", "margin": 1.0}
                {"chosen": "Paris is in France.", "rejected": "Paris is in Spain.", "margin": 0}
                {"prompt": [{"role": "user", "content": "2+2?"}], "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}], "margin": 0.5}
                {"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello!"}], "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "go away"}], "margin": 2}
                """);
        Files.writeString(evalData, """
                {"prompt": "1+1=", "chosen": "2", "rejected": "3"}
                {"prompt": "Water is", "chosen": " wet.", "rejected": " dry."}
                {"prompt": "The cat", "chosen": " sat.", "rejected": " flew."}
                """);
        RewardCommand.run(new String[] {
            "--model_name_or_path",
            rm().toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--max_steps",
            "3",
            "--per_device_train_batch_size",
            "2",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3",
            "--center_rewards_coefficient",
            "0.01",
            "--eval_dataset_name",
            evalData.toString(),
            "--eval_steps",
            "2"
        });
        List<JsonNode> metrics = readJsonl(out.resolve("metrics.jsonl"));
        List<JsonNode> train = metrics.stream().filter(r -> r.has("loss")).toList(),
                eval = metrics.stream().filter(r -> r.has("eval_loss")).toList();
        assertEquals(3, train.size());
        assertTrue(Double.isFinite(train.get(2).get("loss").asDouble())
                && train.get(2).has("accuracy")
                && train.get(2).has("margin"));
        assertEquals(
                List.of(2, 3), eval.stream().map(r -> r.get("step").asInt()).toList());
        assertTrue(eval.get(1).has("eval_ece") && eval.get(1).has("eval_accuracy"));
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals(
                "Qwen3ForSequenceClassification",
                config.get("architectures").get(0).asText());
        assertEquals(256, config.get("pad_token_id").asInt());
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "training_args.json"})
            assertTrue(Files.exists(out.resolve(f)), f);
        assertFalse(
                Files.exists(out.resolve("generation_config.json")), "a sequence classifier has no generation config");
        assertEquals(
                0.01,
                JSON.readTree(out.resolve("training_args.json").toFile())
                        .get("center_rewards_coefficient")
                        .asDouble());
        try (Transformer m = Checkpoints.load(out)) {
            assertEquals(1, m.config().numLabels());
        }
    }

    @Test
    void aCausalLmIsTrainedAsAScoreHeadOnItsBackbone(@TempDir Path tmp) throws Exception {
        Path lm = Golden.resourceDir("golden/llama-tiny"), data = tmp.resolve("pairs.jsonl"), out = tmp.resolve("run");
        byte[] configBefore = Files.readAllBytes(lm.resolve("config.json"));
        Files.writeString(data, """
                {"prompt": "a", "chosen": "good", "rejected": "bad"}
                {"prompt": "b", "chosen": "fine", "rejected": "awful"}
                """);
        RewardCommand.run(new String[] {
            "--model_name_or_path",
            lm.toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--max_steps",
            "1"
        });
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals(
                "LlamaForSequenceClassification",
                config.get("architectures").get(0).asText());
        assertEquals("float32", config.get("torch_dtype").asText());
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.parameters().containsKey("score.weight")
                    && !m.parameters().containsKey("lm_head.weight"));
        }
        assertArrayEquals(
                configBefore, Files.readAllBytes(lm.resolve("config.json")), "the input model is not modified");
        assertEquals(0, Main.run(new String[] {"reward", "--help"}), "reward is a registered command");
    }

    @Test
    void rowsAreTokenizedAsTrlDoes() throws Exception {
        try (Tokenizer tok = Tokenizer.load(rm())) {
            // plain strings: prompt + response, EOS appended unless already there
            RewardTrainer.Pair p = RewardCommand.pair(
                    tok,
                    row("{\"prompt\": \"Q: \", \"chosen\": \"yes\", \"rejected\": \"no<|im_end|>\", \"margin\": 1.5}"));
            long[] q = tok.encode("Q: yes");
            long[] expected = Arrays.copyOf(q, q.length + 1);
            expected[q.length] = 258;
            assertArrayEquals(expected, p.chosen());
            long[] r = tok.encode("Q: no");
            long[] expectedRejected = Arrays.copyOf(r, r.length + 1);
            expectedRejected[r.length] = 258;
            assertArrayEquals(expectedRejected, p.rejected(), "no second EOS when the text ends with it");
            assertEquals(1.5f, p.margin());
            // conversations: prompt + response messages through the chat template, no generation prompt
            RewardTrainer.Pair c = RewardCommand.pair(tok, row("""
                    {"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "yo"}], "rejected": [{"role": "assistant", "content": "no"}]}"""));
            assertArrayEquals(
                    tok.encodeNoSpecial("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n"),
                    c.chosen());
            assertArrayEquals(
                    tok.encodeNoSpecial("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nno<|im_end|>\n"),
                    c.rejected());
            assertEquals(0f, c.margin());
        }
    }

    @Test
    void badRowsAndUnsupportedKeysAreNamed(@TempDir Path tmp) throws Exception {
        try (Tokenizer tok = Tokenizer.load(rm())) {
            DatasetException e = assertThrows(
                    DatasetException.class,
                    () -> RewardCommand.pair(
                            tok, row("{\"chosen\": \"a\", \"rejected\": [{\"role\": \"user\", \"content\": \"b\"}]}")));
            assertTrue(
                    e.getMessage().contains("rows.jsonl:1") && e.getMessage().contains("all be strings"),
                    e.getMessage());
            e = assertThrows(DatasetException.class, () -> RewardCommand.pair(tok, row("{\"chosen\": \"a\"}")));
            assertTrue(e.getMessage().contains("'rejected'"), e.getMessage());
            e = assertThrows(
                    DatasetException.class,
                    () -> RewardCommand.pair(
                            tok, row("{\"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"big\"}")));
            assertTrue(e.getMessage().contains("'margin' must be a number"), e.getMessage());
        }
        Path data = tmp.resolve("pairs.jsonl");
        Files.writeString(
                data,
                "{\"chosen\": \"a\", \"rejected\": \"b\", \"margin\": 1}\n{\"chosen\": \"c\", \"rejected\": \"d\"}\n");
        String[] base = {
            "--model_name_or_path",
            rm().toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            tmp.resolve("o").toString(),
            "--max_steps",
            "1"
        };
        DatasetException e = assertThrows(DatasetException.class, () -> RewardCommand.run(base));
        assertTrue(e.getMessage().contains("pairs.jsonl:2") && e.getMessage().contains("margin"), e.getMessage());
        CliException peft =
                assertThrows(CliException.class, () -> RewardCommand.run(concat(base, "--use_peft", "true")));
        assertTrue(peft.getMessage().contains("use_peft"), peft.getMessage());
        CliException dropout =
                assertThrows(CliException.class, () -> RewardCommand.run(concat(base, "--disable_dropout", "false")));
        assertTrue(dropout.getMessage().contains("disable_dropout"), dropout.getMessage());
        assertFalse(Files.exists(tmp.resolve("o")), "refused runs write nothing");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
