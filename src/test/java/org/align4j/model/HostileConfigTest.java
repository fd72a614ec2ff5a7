// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import org.align4j.io.CheckpointException;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile or broken config.json is an error naming the file and the key, never an
 * ArithmeticException, an OutOfMemoryError or a hang (review-reliability.md 1.1, defect 9).
 */
class HostileConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A copy of a golden model whose config.json is edited by {@code edit}; the weights are linked, not copied. */
    private Path variant(String golden, Consumer<ObjectNode> edit) throws Exception {
        Path src = Golden.resourceDir("golden/" + golden);
        Path dir = Files.createDirectories(tmp.resolve(golden + "-" + System.nanoTime()));
        ObjectNode config =
                (ObjectNode) JSON.readTree(src.resolve("config.json").toFile());
        edit.accept(config);
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        try (var files = Files.list(src)) {
            for (Path f : files.toList())
                if (f.getFileName().toString().startsWith("model"))
                    Files.createSymbolicLink(dir.resolve(f.getFileName()), f.toAbsolutePath());
        }
        return dir;
    }

    private void assertConfigRefused(Consumer<ObjectNode> edit, String... fragments) throws Exception {
        Path dir = variant("llama-tiny", edit);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json") + ": "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), e.getMessage());
    }

    @Test
    void zeroOrNegativeSizesAndHeadsNameTheKey() throws Exception {
        for (String key : new String[] {
            "num_attention_heads",
            "num_key_value_heads",
            "num_hidden_layers",
            "hidden_size",
            "intermediate_size",
            "vocab_size",
            "head_dim"
        }) {
            assertConfigRefused(c -> c.put(key, 0), "'" + key + "' must be at least 1, got 0");
            assertConfigRefused(c -> c.put(key, -64), "'" + key + "' must be at least 1, got -64");
        }
        // without head_dim, 0 heads used to divide by zero
        assertConfigRefused(
                c -> {
                    c.remove("head_dim");
                    c.put("num_attention_heads", 0);
                },
                "'num_attention_heads' must be at least 1");
    }

    @Test
    void headsThatDoNotDivideAreNamed() throws Exception {
        assertConfigRefused(
                c -> c.put("num_key_value_heads", 3),
                "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
        assertConfigRefused(
                c -> {
                    c.remove("head_dim");
                    c.put("num_attention_heads", 3);
                    c.put("num_key_value_heads", 1);
                },
                "hidden_size 64 is not a multiple of num_attention_heads 3; set head_dim");
        assertConfigRefused(c -> c.put("head_dim", 15), "head_dim 15 must be even for RoPE");
        assertConfigRefused(
                c -> {
                    c.remove("head_dim");
                    c.put("hidden_size", 60);
                },
                "head_dim 15 (hidden_size / num_attention_heads) must be even");
    }

    @Test
    void anIntegerPastThe32BitRangeIsOutOfRangeNotANonInteger() throws Exception {
        assertConfigRefused(
                c -> c.put("vocab_size", 1_000_000_000_000L), "'vocab_size' is out of range: 1000000000000");
        assertConfigRefused(c -> c.put("hidden_size", "64"), "'hidden_size' must be an integer, got \"64\"");
    }

    @Test
    void aClassifierNeedsAtLeastOneLabel() throws Exception {
        for (int n : new int[] {0, -3}) {
            Path dir = variant("qwen3-tiny-rm", c -> c.put("num_labels", n));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(dir));
            assertTrue(
                    e.getMessage().startsWith(dir.resolve("config.json") + ": ")
                            && e.getMessage().contains("'num_labels' gives " + n),
                    e.getMessage());
        }
        Path empty = variant("qwen3-tiny-rm", c -> c.putObject("id2label"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(empty));
        assertTrue(e.getMessage().contains("'id2label' gives 0"), e.getMessage());
        assertEquals(
                1, ModelConfig.load(Golden.resourceDir("golden/qwen3-tiny-rm")).numLabels());
    }

    @Test
    void aBillionLayersFailAtOnceWithoutAllocating() throws Exception {
        Path dir = variant("llama-tiny", c -> c.put("num_hidden_layers", 1_000_000_000));
        CheckpointException e = assertTimeoutPreemptively(
                Duration.ofSeconds(10), () -> assertThrows(CheckpointException.class, () -> Checkpoints.load(dir)));
        assertTrue(
                e.getMessage().startsWith(dir.resolve("config.json") + ": num_hidden_layers 1000000000 implies ")
                        && e.getMessage().contains("but the checkpoint holds 21"),
                e.getMessage());
        // one layer too many still names the first missing tensor
        Path three = variant("llama-tiny", c -> c.put("num_hidden_layers", 3));
        e = assertThrows(CheckpointException.class, () -> Checkpoints.load(three));
        assertTrue(e.getMessage().contains("model.layers.2.self_attn.q_proj.weight': missing"), e.getMessage());
    }

    @Test
    void theTensorCountMatchesTheShapeListForEveryVariant() throws Exception {
        for (String golden : new String[] {"llama-tiny", "qwen2-tiny", "qwen3-tiny", "qwen3-tiny-rm"}) {
            for (boolean bias : new boolean[] {false, true}) {
                for (boolean tie : new boolean[] {false, true}) {
                    ModelConfig c = ModelConfig.load(variant(golden, n -> {
                        n.put("attention_bias", bias);
                        n.put("mlp_bias", bias);
                        n.put("tie_word_embeddings", tie);
                    }));
                    assertEquals(
                            Transformer.expectedShapes(c).size(),
                            Transformer.expectedTensorCount(c),
                            golden + " bias " + bias + " tie " + tie);
                }
            }
        }
    }
}
