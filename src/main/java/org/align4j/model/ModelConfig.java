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
        if (numAttentionHeads < 1 || numKeyValueHeads < 1)
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads + " and num_key_value_heads "
                    + numKeyValueHeads + " must be at least 1");
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
        // sizes first, so no division or allocation below sees a zero, a negative or an overflowing value
        int vocab = positive(c, "vocab_size", where, null);
        int hidden = positive(c, "hidden_size", where, null);
        int intermediate = positive(c, "intermediate_size", where, null);
        int layers = positive(c, "num_hidden_layers", where, null);
        int heads = positive(c, "num_attention_heads", where, null);
        int kvHeads = positive(c, "num_key_value_heads", where, heads);
        if (heads % kvHeads != 0)
            throw new IllegalArgumentException(where + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads
                    + " (each key/value head serves the same number of query heads)");
        boolean explicitHeadDim = c.hasNonNull("head_dim");
        if (!explicitHeadDim && hidden % heads != 0)
            throw new IllegalArgumentException(where + ": hidden_size " + hidden
                    + " is not a multiple of num_attention_heads " + heads + "; set head_dim to give the head width");
        int headDim = explicitHeadDim ? positive(c, "head_dim", where, null) : hidden / heads;
        if (headDim % 2 != 0)
            throw new IllegalArgumentException(where + ": head_dim " + headDim
                    + (explicitHeadDim ? "" : " (hidden_size / num_attention_heads)")
                    + " must be even for RoPE, which rotates pairs of channels");
        boolean attentionBias = c.path("attention_bias").asBoolean(false);
        boolean qkvBias = type.equals("qwen2") || attentionBias;
        boolean oBias = !type.equals("qwen2") && attentionBias;
        int numLabels = 0;
        List<String> archs = c.has("architectures")
                ? c.get("architectures").valueStream().map(JsonNode::asText).toList()
                : List.of();
        if (archs.stream().anyMatch(a -> a.endsWith("ForSequenceClassification"))) {
            String from = c.hasNonNull("num_labels") ? "num_labels" : c.hasNonNull("id2label") ? "id2label" : null;
            numLabels = from == null
                    ? 2
                    : from.equals("num_labels")
                            ? integer(c, from, where, null)
                            : c.get(from).size();
            if (numLabels < 1)
                throw new IllegalArgumentException(where + ": a *ForSequenceClassification model needs at least one"
                        + " label, but '" + from + "' gives " + numLabels);
        }
        String dtype = c.hasNonNull("torch_dtype")
                ? c.get("torch_dtype").asText()
                : c.hasNonNull("dtype") ? c.get("dtype").asText() : "float32";
        return new ModelConfig(
                type,
                vocab,
                hidden,
                intermediate,
                layers,
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
        JsonNode v = c.get(key);
        if (!v.isIntegralNumber())
            throw new IllegalArgumentException(where + ": '" + key + "' must be an integer, got " + v);
        if (!v.canConvertToInt())
            throw new IllegalArgumentException(where + ": '" + key + "' is out of range: " + v
                    + " (align4j reads sizes up to " + Integer.MAX_VALUE + ")");
        return v.asInt();
    }

    /** An integer of at least 1: a size, a count of heads or of layers. */
    private static int positive(ObjectNode c, String key, String where, Integer dflt) {
        int v = integer(c, key, where, dflt);
        if (v < 1) throw new IllegalArgumentException(where + ": '" + key + "' must be at least 1, got " + v);
        return v;
    }

    private static double number(ObjectNode c, String key, String where, double dflt) {
        if (!c.hasNonNull(key)) return dflt;
        if (!c.get(key).isNumber())
            throw new IllegalArgumentException(where + ": '" + key + "' must be a number, got " + c.get(key));
        return c.get(key).asDouble();
    }
}
