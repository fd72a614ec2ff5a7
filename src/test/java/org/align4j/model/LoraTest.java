// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.io.HfJson;
import org.align4j.io.SafetensorsFile;
import org.align4j.testing.Golden;
import org.align4j.trainer.SftTrainer;
import org.align4j.trainer.TrainingArgs;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraTest {
    private static final long[] IDS = {72, 101, 108, 108, 111, 44, 32, 49, 43, 49, 61, 50};
    private static final Lora.Config CFG = new Lora.Config(4, 8.0, 0.0, List.of("q_proj", "v_proj", "down_proj"));

    private static Transformer tiny() throws Exception {
        return Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    private static float[] logits(Transformer m) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.logits(m.forward(Tensors.longs(IDS, 1, IDS.length), null, null)));
        }
    }

    /** Gives every B a random value so the adapters do something. */
    private static void randomizeB(Transformer m, long seed) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            org.bytedeco.pytorch.Generator gen = org.bytedeco.pytorch.global.torch.createCPUGenerator(seed);
            for (Lora.Pair p : m.adapters().values())
                p.b().copy_(org.bytedeco
                        .pytorch
                        .global
                        .torch
                        .randn(
                                Tensors.shape(p.b()),
                                new org.bytedeco.pytorch.GeneratorOptional(gen),
                                new org.bytedeco.pytorch.TensorOptions(
                                        org.bytedeco.pytorch.global.torch.ScalarType.Float))
                        .mul(Tensors.scalar(0.1)));
            gen.close();
        }
    }

    @Test
    void freshAdaptersChangeNothingAndAdaptersOffIsTheBase() throws Exception {
        try (Transformer m = tiny()) {
            float[] base = logits(m);
            assertEquals(2 * 3, Lora.attach(m, CFG, 1)); // 2 layers x 3 target modules
            assertArrayEquals(base, logits(m), "B = 0 at init");
            randomizeB(m, 2);
            assertFalse(java.util.Arrays.equals(base, logits(m)));
            assertArrayEquals(
                    base, m.withAdaptersOff(() -> logits(m)), "adapters off = the frozen base (DPO's reference)");
            assertFalse(java.util.Arrays.equals(base, logits(m)), "on again after withAdaptersOff");
        }
    }

    /** Adapters off on one thread (a part's reference pass) leaves them on for the others (the parts' policy passes). */
    @Test
    void adaptersOffHoldOnlyForTheThreadThatAskedAndNest() throws Exception {
        try (Transformer m = tiny()) {
            float[] base = logits(m);
            Lora.attach(m, CFG, 1);
            randomizeB(m, 2);
            float[] adapted = logits(m);
            assertFalse(java.util.Arrays.equals(base, adapted));
            java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1),
                    release = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.ExecutorService other = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                java.util.concurrent.Future<float[]> off = other.submit(() -> m.withAdaptersOff(() -> {
                    inside.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    m.withAdaptersOff(() -> null); // nested: leaving the inner one keeps the outer one's off
                    return logits(m);
                }));
                inside.await();
                assertArrayEquals(adapted, logits(m), "this thread keeps the adapters while the other has them off");
                release.countDown();
                assertArrayEquals(base, off.get(), "the other thread read the base");
            } finally {
                other.shutdownNow();
            }
            assertArrayEquals(adapted, logits(m), "on again everywhere");
        }
    }

    @Test
    void mergingFoldsTheAdaptersIntoTheBaseWeights() throws Exception {
        try (Transformer m = tiny()) {
            Lora.attach(m, CFG, 1);
            randomizeB(m, 3);
            float[] adapted = logits(m);
            Lora.merge(m);
            assertTrue(m.trainableParameters().containsKey("lm_head.weight"), "after merge the model is a plain model");
            assertClose("merged vs adapted logits", adapted, logits(m), 2e-5, 1e-5);
        }
    }

    @Test
    void adapterSavesInPeftFormatAndLoadsBack(@TempDir Path tmp) throws Exception {
        float[] adapted;
        try (Transformer m = tiny()) {
            Lora.attach(m, CFG, 1);
            randomizeB(m, 4);
            adapted = logits(m);
            Lora.saveAdapter(m, tmp, "golden/llama-tiny", false);
        }
        JsonNode cfg = HfJson.readJson(tmp.resolve("adapter_config.json"));
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("lora_alpha").asDouble());
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("adapter_model.safetensors"))) {
            assertTrue(f.tensors().containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
            assertArrayEquals(
                    new long[] {64, 4},
                    f.tensors()
                            .get("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight")
                            .shape());
            assertArrayEquals(
                    new long[] {4, 160},
                    f.tensors()
                            .get("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight")
                            .shape());
        }
        try (Transformer m = tiny()) {
            Lora.loadAdapter(m, tmp);
            assertArrayEquals(adapted, logits(m));
        }
    }

    @Test
    void sftWithLoraTrainsOnlyTheAdapters(@TempDir Path tmp) throws Exception {
        try (Transformer m = tiny()) {
            Map<String, float[]> base = new java.util.LinkedHashMap<>();
            for (var e : m.parameters().entrySet()) base.put(e.getKey(), Tensors.toFloats(e.getValue()));
            Lora.attach(m, CFG, 1);
            List<Sequence> data = org.align4j.trainer.SftTrainerTestAccess.arithmetic(8, 1);
            SftTrainer.train(
                    m, data, TrainingArgs.defaults(tmp).withSteps(3, 4, 1, 1e-2).withLogging(1, 0), 256, Map.of());
            for (var e : m.parameters().entrySet())
                assertArrayEquals(base.get(e.getKey()), Tensors.toFloats(e.getValue()), e.getKey() + " is frozen");
            Tensor b0 = m.adapters().values().iterator().next().b();
            assertTrue(Tensors.toFloats(b0.abs().sum())[0] > 0, "lora_B moved away from zero");
            assertTrue(
                    java.nio.file.Files.exists(tmp.resolve("adapter_model.safetensors")),
                    "the run's output is the PEFT adapter");
        }
    }

    @Test
    void badTargetModulesAreNamed() throws Exception {
        try (Transformer m = tiny()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> Lora.attach(m, new Lora.Config(4, 8, 0, List.of("qkv")), 1));
            assertTrue(e.getMessage().contains("'qkv'") && e.getMessage().contains("q_proj"), e.getMessage());
        }
    }
}
