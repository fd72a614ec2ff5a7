// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.io.CheckpointException;
import org.align4j.io.SafetensorsFile;
import org.align4j.io.SafetensorsWriter;
import org.align4j.io.TensorBlob;
import org.align4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint that does not fit its config is a clear error naming the file, the tensor and the fix. */
class CheckpointsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A copy of llama-tiny whose weights are rewritten by {@code edit} (name -> blob list) and config by {@code cfg}. */
    private static Path variant(
            Path tmp, java.util.function.Consumer<List<TensorBlob>> edit, java.util.function.Consumer<ObjectNode> cfg)
            throws Exception {
        Path src = Golden.resourceDir("golden/llama-tiny"), dir = tmp.resolve("m");
        Files.createDirectories(dir);
        ObjectNode config =
                (ObjectNode) JSON.readTree(src.resolve("config.json").toFile());
        cfg.accept(config);
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            List<TensorBlob> blobs = new ArrayList<>();
            for (String name : f.tensors().keySet()) blobs.add(TensorBlob.from(f, name));
            edit.accept(blobs);
            SafetensorsWriter.write(dir.resolve("model.safetensors"), blobs, Map.of("format", "pt"));
        }
        return dir;
    }

    @Test
    void aMissingLmHeadNamesTheTensorAndSuggestsTying(@TempDir Path tmp) throws Exception {
        Path dir = variant(tmp, b -> b.removeIf(t -> t.name().equals("lm_head.weight")), c -> {});
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.load(dir));
        assertTrue(
                e.getMessage().contains("lm_head.weight") && e.getMessage().contains("tie_word_embeddings"),
                e.getMessage());
    }

    @Test
    void aTensorOfTheWrongShapeForTheConfigNamesBothShapes(@TempDir Path tmp) throws Exception {
        Path dir = variant(tmp, b -> {}, c -> c.put("intermediate_size", 128));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.load(dir));
        assertTrue(
                e.getMessage().contains("model.layers.0.mlp.gate_proj.weight")
                        && e.getMessage().contains("[160, 64]")
                        && e.getMessage().contains("[128, 64]")
                        && e.getMessage().contains("model.safetensors"),
                e.getMessage());
    }

    @Test
    void aTensorTheConfigDoesNotExplainIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = variant(tmp, b -> {}, c -> c.put("num_hidden_layers", 1));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.load(dir));
        assertTrue(
                e.getMessage().contains("model.layers.1.") && e.getMessage().contains("config does not account for"),
                e.getMessage());
    }

    @Test
    void configErrorsNameTheKey(@TempDir Path tmp) throws Exception {
        Path noHidden = variant(tmp.resolve("a"), b -> {}, c -> c.remove("hidden_size"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(noHidden));
        assertTrue(e.getMessage().contains("'hidden_size'") && e.getMessage().contains("config.json"), e.getMessage());
        Path gpt2 = variant(tmp.resolve("b"), b -> {}, c -> c.put("model_type", "gpt2"));
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(gpt2));
        assertTrue(e.getMessage().contains("gpt2") && e.getMessage().contains("llama"), e.getMessage());
        Path yarn = variant(
                tmp.resolve("c"),
                b -> {},
                c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0));
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(yarn));
        assertTrue(e.getMessage().contains("rope_scaling.rope_type 'yarn'"), e.getMessage());
    }

    @Test
    void savingOverAnExistingModelNeedsOverwrite(@TempDir Path tmp) throws Exception {
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            Checkpoints.save(m, tmp, "float32", false);
            byte[] before = Files.readAllBytes(tmp.resolve("model.safetensors"));
            CheckpointException e =
                    assertThrows(CheckpointException.class, () -> Checkpoints.save(m, tmp, "float32", false));
            assertTrue(e.getMessage().contains("already holds a model"), e.getMessage());
            assertEquals(before.length, Files.readAllBytes(tmp.resolve("model.safetensors")).length);
            Checkpoints.save(m, tmp, "bfloat16", true);
            assertEquals(
                    "bfloat16",
                    JSON.readTree(tmp.resolve("config.json").toFile())
                            .get("torch_dtype")
                            .asText());
        }
    }

    @Test
    void bf16SavedWeightsAreTheRoundedFloat32Ones(@TempDir Path tmp) throws Exception {
        try (Transformer m = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"))) {
            Checkpoints.save(m, tmp, "bfloat16", false);
            try (Transformer back = Checkpoints.load(tmp)) {
                float[] a = org.align4j.engine.Tensors.toFloats(m.parameters().get("model.norm.weight"));
                float[] b =
                        org.align4j.engine.Tensors.toFloats(back.parameters().get("model.norm.weight"));
                for (int i = 0; i < a.length; i++) {
                    int bits = Float.floatToRawIntBits(a[i]);
                    // round to nearest even on the upper 16 bits, as torch's float -> bfloat16 does
                    int rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000;
                    assertEquals(Float.intBitsToFloat(rounded), b[i], 0.0f, "element " + i);
                }
            }
        }
    }
}
