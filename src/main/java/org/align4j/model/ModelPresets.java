// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Named shapes for benchmarks and the demo, written as the {@code config.json} transformers would
 * write for them (so a randomly initialised preset saves as a loadable HF checkpoint).
 */
public final class ModelPresets {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** name -> {vocab, hidden, intermediate, layers, heads, kvHeads}; all llama-shaped, untied. */
    private static final Map<String, int[]> SHAPES = new LinkedHashMap<>();

    static {
        // ~25.2M parameters: the benchmark shape of issue 2 (embed 6.3M + 8 x 1.57M + lm_head 6.3M)
        SHAPES.put("llama-25m", new int[] {16384, 384, 1024, 8, 6, 2});
        SHAPES.put("llama-tiny", new int[] {320, 64, 160, 2, 4, 2});
        // ~0.5B, Qwen2.5-0.5B's shape written as llama (for memory estimates)
        SHAPES.put("llama-0.5b", new int[] {151936, 896, 4864, 24, 14, 2});
    }

    private ModelPresets() {}

    public static ModelConfig named(String name) {
        int[] s = SHAPES.get(name);
        if (s == null)
            throw new IllegalArgumentException(
                    "unknown model size '" + name + "'; known: " + new TreeSet<>(SHAPES.keySet()));
        return llama(s[0], s[1], s[2], s[3], s[4], s[5], 2048);
    }

    public static ModelConfig llama(
            int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int maxPositions) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("vocab_size", vocab);
        c.put("hidden_size", hidden);
        c.put("intermediate_size", intermediate);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("head_dim", hidden / heads);
        c.put("hidden_act", "silu");
        c.put("max_position_embeddings", maxPositions);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.putNull("rope_scaling");
        c.put("attention_bias", false);
        c.put("attention_dropout", 0.0);
        c.put("mlp_bias", false);
        c.put("initializer_range", 0.02);
        c.put("tie_word_embeddings", false);
        c.put("use_cache", true);
        c.put("torch_dtype", "float32");
        return ModelConfig.fromJson(c, "preset");
    }

    /**
     * transformers' {@code _init_weights}: Linear and Embedding weights ~ N(0, initializer_range),
     * biases 0, RMSNorm weights 1. Reproducible from the seed.
     */
    public static Transformer randomInit(ModelConfig c, long seed) {
        double std = c.raw().path("initializer_range").asDouble(0.02);
        LinkedHashMap<String, Tensor> params = new LinkedHashMap<>();
        org.bytedeco.pytorch.Generator gen = torch.createCPUGenerator(seed);
        try (PointerScope scope = new PointerScope()) {
            TensorOptions f32 = new TensorOptions(torch.ScalarType.Float);
            for (var e : Transformer.expectedShapes(c).entrySet()) {
                String name = e.getKey();
                Tensor t;
                if (name.endsWith("norm.weight")) t = torch.ones(e.getValue(), f32);
                else if (name.endsWith(".bias")) t = torch.zeros(e.getValue(), f32);
                else
                    t = torch.randn(e.getValue(), new GeneratorOptional(gen), f32)
                            .mul(Tensors.scalar(std));
                params.put(name, Tensors.keep(scope, t));
            }
        } finally {
            gen.close();
        }
        return new Transformer(c, params);
    }
}
