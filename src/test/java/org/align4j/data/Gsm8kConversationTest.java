// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.align4j.data.DataFixtures.contextRuns;
import static org.align4j.data.DataFixtures.targetRuns;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.data.JsonRows.Row;
import org.align4j.model.ModelConfig;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.SftTrainer;
import org.align4j.trainer.TrainingArgs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real data through the real Qwen3 tokenizer and chat template: GSM8K (question, answer) rows as
 * conversations (user: question, assistant: answer). The expected token texts are written out by
 * hand from the Qwen3 template (the last assistant turn carries an empty think block).
 */
class Gsm8kConversationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String THINK = "<think>\n\n</think>\n\n";
    private static Tokenizer tok;
    private static List<Row> gsm8k;

    @BeforeAll
    static void load() {
        tok = DataFixtures.qwen3Tokenizer();
        List<Row> all = Datasets.read(Golden.shared("data/gsm8k/train.jsonl"), "train");
        assertEquals(7473, all.size(), "the full GSM8K train split");
        gsm8k = all.subList(0, 64);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    /** A GSM8K row as a conversation; file and line stay those of the GSM8K row. */
    private static Row conversation(Row... qa) {
        ObjectNode json = JSON.createObjectNode();
        ArrayNode messages = json.putArray("messages");
        for (Row r : qa) {
            messages.addObject().put("role", "user").put("content", r.text("question"));
            messages.addObject().put("role", "assistant").put("content", r.text("answer"));
        }
        return new Row(json, qa[0].file(), qa[0].line());
    }

    private static Encoder assistantOnly() {
        return new Encoder(tok, Truncation.none(), new Encoder.SftOptions("text", true, true));
    }

    @Test
    void theLossMaskCoversExactlyTheAssistantAnswerAndItsEndOfTurn() {
        Encoder enc = assistantOnly();
        for (Row r : gsm8k) {
            String q = r.text("question"), a = r.text("answer");
            Sequence s = enc.sft(conversation(r));
            String where = r.where();
            assertEquals(
                    "<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n" + THINK + a + "<|im_end|>\n",
                    tok.decode(s.inputIds(), false),
                    where + ": the Qwen3 rendering");
            assertEquals(List.of(THINK + a + "<|im_end|>"), targetRuns(tok, s), where + ": targets");
            assertEquals(
                    List.of("<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n", "\n"),
                    contextRuns(tok, s),
                    where + ": no user or template token is a target");
            assertEquals(tok.encodeNoSpecial(THINK + a + "<|im_end|>").length, s.targets(), where + ": target count");
        }
    }

    @Test
    void multiTurnConversationsMaskEveryAssistantTurnAsTheTemplateRendersIt() {
        // Qwen3 drops the empty think block of assistant turns before the last user message, so
        // the earlier turn's end comes from its end-of-turn token, not from a prefix rendering
        for (int i = 0; i + 1 < 16; i += 2) {
            Row first = gsm8k.get(i), second = gsm8k.get(i + 1);
            Sequence s = assistantOnly().sft(conversation(first, second));
            assertEquals(
                    List.of(first.text("answer") + "<|im_end|>", THINK + second.text("answer") + "<|im_end|>"),
                    targetRuns(tok, s));
            assertEquals(
                    List.of(
                            "<|im_start|>user\n" + first.text("question") + "<|im_end|>\n<|im_start|>assistant\n",
                            "\n<|im_start|>user\n" + second.text("question") + "<|im_end|>\n<|im_start|>assistant\n",
                            "\n"),
                    contextRuns(tok, s));
        }
    }

    @Test
    void withoutAssistantOnlyLossEveryTokenIsATarget() {
        Sequence s = new Encoder(tok, Truncation.none()).sft(conversation(gsm8k.get(0)));
        assertEquals(s.length() - 1, s.targets());
    }

    /** A random Qwen3-shaped model whose vocabulary is the real Qwen3 one (151936 rows, as Qwen3 checkpoints have). */
    private static Transformer tinyQwen3() throws Exception {
        ObjectNode c = (ObjectNode) JSON.readTree(
                Golden.resourceDir("golden/qwen3-tiny").resolve("config.json").toFile());
        c.put("vocab_size", 151936)
                .put("hidden_size", 32)
                .put("intermediate_size", 64)
                .put("num_attention_heads", 2)
                .put("num_key_value_heads", 1)
                .put("head_dim", 16)
                .put("num_hidden_layers", 2)
                .put("tie_word_embeddings", true)
                .put("max_position_embeddings", 1024);
        c.put("eos_token_id", tok.eosTokenId()).putNull("bos_token_id");
        return ModelPresets.randomInit(ModelConfig.fromJson(c, "tiny qwen3 for GSM8K"), 5);
    }

    @Test
    void aTinyQwen3ModelTrainsOnGsm8kConversationsWithFiniteLoss(@TempDir Path tmp) throws Exception {
        Encoder enc =
                new Encoder(tok, Truncation.maxLength(160, "keep_start"), new Encoder.SftOptions("text", true, true));
        List<Row> conversations = new ArrayList<>();
        for (Row r : gsm8k.subList(0, 32)) conversations.add(conversation(r));
        Encoded<Sequence> encoded = Encoder.encodeAll(conversations, enc::sft, false);
        assertEquals(32, encoded.items().size());
        // the 6 shortest keep the run small: the (B, T, 151936) logits dominate its cost
        List<Sequence> data = encoded.items().stream()
                .sorted(java.util.Comparator.comparingInt(Sequence::length))
                .limit(6)
                .toList();
        for (Sequence s : data) assertTrue(s.length() <= 160 && s.targets() > 0);
        try (Transformer m = tinyQwen3()) {
            TrainingArgs args =
                    TrainingArgs.defaults(tmp).withSteps(3, 2, 1, 3e-3).withLogging(1, 0);
            List<Double> losses = SftTrainer.train(m, data, args, tok.padTokenId(), Map.of()).logged().stream()
                    .map(row -> (Double) row.get("loss"))
                    .toList();
            assertEquals(3, losses.size());
            for (double l : losses) assertTrue(Double.isFinite(l), "loss " + losses);
            // weights ~ N(0, 0.02) give nearly uniform next-token distributions: the first loss is ~ ln |V|
            assertEquals(Math.log(151936), losses.get(0), 0.05, "first loss " + losses);
            assertTrue(losses.get(2) < losses.get(0), "training lowers the loss: " + losses);
        }
    }
}
