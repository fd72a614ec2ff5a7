// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The architecture fields of a Hugging Face {@code config.json} for the decoder-only families we
 * run: {@code llama}, {@code qwen2} and {@code qwen3} (modeling_llama.py, modeling_qwen2.py,
 * modeling_qwen3.py in transformers). One transformer serves all three; these fields are the switch.
 *
 * <p>{@code raw} keeps the whole file so that saving writes back every key the user had, changed
 * only where we must (e.g. {@code torch_dtype}).
 *
 * @param qkvBias q/k/v projections carry a bias (always for qwen2; {@code attention_bias} otherwise)
 * @param oBias the output projection carries a bias ({@code attention_bias} for llama and qwen3)
 * @param qkNorm per-head RMSNorm on q and k before RoPE (qwen3)
 * @param numLabels 0 for a causal LM, else the width of the {@code score} head (sequence classification)
 */
public record ModelConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean oBias,
        boolean mlpBias,
        boolean qkNorm,
        int numLabels,
        Integer padTokenId,
        String torchDtype,
        ObjectNode raw) {

    public static final Set<String> MODEL_TYPES = Set.of("llama", "qwen2", "qwen3");
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Llama-3 style rope scaling ({@code rope_type} "llama3"), or "linear"; null means none.
     * transformers: modeling_rope_utils.py {@code _compute_llama3_parameters}, {@code _compute_linear_scaling_rope_parameters}.
     */
    public record RopeScaling(
            String type,
            double factor,
            double lowFreqFactor,
            double highFreqFactor,
            int originalMaxPositionEmbeddings) {}

    public ModelConfig {
        if (!MODEL_TYPES.contains(modelType))
            throw new IllegalArgumentException(
                    "model_type '" + modelType + "' is not supported; supported: " + MODEL_TYPES);
        if (numAttentionHeads % numKeyValueHeads != 0)
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim " + headDim + " must be even for RoPE");
    }

    public boolean isSequenceClassification() {
        return numLabels > 0;
    }

    public int kvGroups() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** Reads {@code dir/config.json}; every error names the file and the key. */
    public static ModelConfig load(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file))
            throw new IllegalArgumentException(
                    "no config.json in " + dir + ": point model_name_or_path at a Hugging Face model directory");
        JsonNode node;
        try {
            node = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!(node instanceof ObjectNode obj)) throw new IllegalArgumentException(file + " must hold a JSON object");
        return fromJson(obj, file.toString());
    }

    public static ModelConfig fromJson(ObjectNode c, String where) {
        String type = text(c, "model_type", where, null);
        if (!MODEL_TYPES.contains(type))
            throw new IllegalArgumentException(
                    where + ": model_type '" + type + "' is not supported; supported: " + MODEL_TYPES);
        String act = text(c, "hidden_act", where, "silu");
        if (!act.equals("silu"))
            throw new IllegalArgumentException(where + ": hidden_act '" + act + "' is not supported (only silu)");
        if (c.path("use_sliding_window").asBoolean(false))
            throw new IllegalArgumentException(where + ": use_sliding_window=true is not supported; set it to false");
        int hidden = integer(c, "hidden_size", where, null);
        int heads = integer(c, "num_attention_heads", where, null);
        int kvHeads = integer(c, "num_key_value_heads", where, heads);
        int headDim = c.hasNonNull("head_dim") ? integer(c, "head_dim", where, null) : hidden / heads;
        boolean attentionBias = c.path("attention_bias").asBoolean(false);
        boolean qkvBias = type.equals("qwen2") || attentionBias;
        boolean oBias = !type.equals("qwen2") && attentionBias;
        int numLabels = 0;
        List<String> archs = c.has("architectures")
                ? c.get("architectures").valueStream().map(JsonNode::asText).toList()
                : List.of();
        if (archs.stream().anyMatch(a -> a.endsWith("ForSequenceClassification")))
            numLabels = c.has("num_labels")
                    ? c.get("num_labels").asInt()
                    : c.has("id2label") ? c.get("id2label").size() : 2;
        String dtype = c.hasNonNull("torch_dtype")
                ? c.get("torch_dtype").asText()
                : c.hasNonNull("dtype") ? c.get("dtype").asText() : "float32";
        return new ModelConfig(
                type,
                integer(c, "vocab_size", where, null),
                hidden,
                integer(c, "intermediate_size", where, null),
                integer(c, "num_hidden_layers", where, null),
                heads,
                kvHeads,
                headDim,
                number(c, "rms_norm_eps", where, 1e-6),
                number(c, "rope_theta", where, 10000.0),
                ropeScaling(c, where),
                integer(c, "max_position_embeddings", where, 2048),
                c.path("tie_word_embeddings").asBoolean(false),
                qkvBias,
                oBias,
                c.path("mlp_bias").asBoolean(false),
                type.equals("qwen3"),
                numLabels,
                c.hasNonNull("pad_token_id") && c.get("pad_token_id").isInt()
                        ? c.get("pad_token_id").asInt()
                        : null,
                dtype,
                c.deepCopy());
    }

    private static RopeScaling ropeScaling(ObjectNode c, String where) {
        JsonNode r = c.get("rope_scaling");
        if (r == null || r.isNull()) return null;
        String type = r.hasNonNull("rope_type")
                ? r.get("rope_type").asText()
                : r.path("type").asText("default");
        return switch (type) {
            case "default" -> null;
            case "linear" -> new RopeScaling(type, r.path("factor").asDouble(1.0), 0, 0, 0);
            case "llama3" ->
                new RopeScaling(
                        type,
                        req(r, "factor", where),
                        req(r, "low_freq_factor", where),
                        req(r, "high_freq_factor", where),
                        (int) req(r, "original_max_position_embeddings", where));
            default ->
                throw new IllegalArgumentException(where + ": rope_scaling.rope_type '" + type
                        + "' is not supported; supported: default, linear, llama3");
        };
    }

    private static double req(JsonNode r, String key, String where) {
        if (!r.hasNonNull(key) || !r.get(key).isNumber())
            throw new IllegalArgumentException(where + ": rope_scaling." + key + " is missing or not a number");
        return r.get(key).asDouble();
    }

    private static String text(ObjectNode c, String key, String where, String dflt) {
        if (!c.hasNonNull(key)) {
            if (dflt != null) return dflt;
            throw new IllegalArgumentException(where + ": required key '" + key + "' is missing");
        }
        return c.get(key).asText();
    }

    private static int integer(ObjectNode c, String key, String where, Integer dflt) {
        if (!c.hasNonNull(key)) {
            if (dflt != null) return dflt;
            throw new IllegalArgumentException(where + ": required key '" + key + "' is missing");
        }
        if (!c.get(key).canConvertToInt() || !c.get(key).isIntegralNumber())
            throw new IllegalArgumentException(where + ": '" + key + "' must be an integer, got " + c.get(key));
        return c.get(key).asInt();
    }

    private static double number(ObjectNode c, String key, String where, double dflt) {
        if (!c.hasNonNull(key)) return dflt;
        if (!c.get(key).isNumber())
            throw new IllegalArgumentException(where + ": '" + key + "' must be a number, got " + c.get(key));
        return c.get(key).asDouble();
    }
}
