// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.NativeEnv;
import org.align4j.engine.Tensors;
import org.align4j.io.CheckpointException;
import org.align4j.io.DType;
import org.align4j.io.HfJson;
import org.align4j.io.ShardedSafetensors;
import org.align4j.io.TensorBlob;
import org.align4j.io.TensorInfo;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Loads and saves {@link Transformer}s as Hugging Face model directories: {@code config.json} plus
 * {@code model.safetensors} (or shards with {@code model.safetensors.index.json}), with HF tensor
 * names, so transformers' {@code from_pretrained} reads what we write unchanged.
 */
public final class Checkpoints {
    static {
        // before this class touches libtorch: libgomp reads OMP_WAIT_POLICY once, when it loads (NativeEnv)
        NativeEnv.onFirstUse();
    }

    /** transformers' default {@code max_shard_size} ("5GB"). */
    public static final long MAX_SHARD_BYTES = 5_000_000_000L;

    private Checkpoints() {}

    /**
     * Reads config and weights, checking that every tensor the config implies is there with the
     * right shape and that nothing unexpected is. Weights stored as bf16/f16 are widened to float32.
     */
    public static Transformer load(Path dir) throws IOException {
        ModelConfig config = ModelConfig.load(dir);
        LinkedHashMap<String, Tensor> params = new LinkedHashMap<>();
        try (ShardedSafetensors st = ShardedSafetensors.open(dir);
                PointerScope scope = new PointerScope()) {
            Map<String, TensorInfo> found = st.tensors();
            LinkedHashMap<String, long[]> expected = expectedShapes(dir, config, found.size());
            List<String> unexpected = new ArrayList<>();
            for (String name : found.keySet())
                if (!expected.containsKey(name) && !name.endsWith("rotary_emb.inv_freq")) unexpected.add(name);
            if (!unexpected.isEmpty())
                throw new CheckpointException(
                        dir,
                        unexpected.get(0),
                        unexpected.size() + " tensor(s) the config does not account for " + "(first ones: "
                                + unexpected.subList(0, Math.min(5, unexpected.size()))
                                + "); check model_type/architectures and tie_word_embeddings in config.json");
            for (var e : expected.entrySet()) {
                TensorInfo info = found.get(e.getKey());
                if (info == null) {
                    String hint = e.getKey().equals("lm_head.weight")
                            ? " (if the LM head is tied to the embeddings, set tie_word_embeddings=true in config.json)"
                            : "";
                    throw new CheckpointException(dir, e.getKey(), "missing from the checkpoint" + hint);
                }
                if (!Arrays.equals(info.shape(), e.getValue()))
                    throw new CheckpointException(
                            st.fileOf(e.getKey()).path(),
                            e.getKey(),
                            "has shape " + Arrays.toString(info.shape()) + " but config.json implies "
                                    + Arrays.toString(e.getValue()));
                Tensor t = Tensors.fromSegment(
                        st.data(e.getKey()),
                        scalarType(info.dtype(), st.fileOf(e.getKey()).path(), e.getKey()),
                        info.shape(),
                        true);
                params.put(e.getKey(), Tensors.keep(scope, t));
            }
        } catch (IOException | RuntimeException ex) {
            for (Tensor t : params.values()) t.close();
            throw ex;
        }
        Transformer model = new Transformer(config, params);
        model.setSource(dir.toString());
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) model.setTokenizerDir(dir);
        return model;
    }

    /**
     * The tensors the config implies. Their number is checked against the checkpoint's first: the
     * list is built only when it is not far longer than the checkpoint's own (then the first
     * missing tensor is named), so a config claiming 10^9 layers fails at once instead of
     * filling the heap.
     */
    private static LinkedHashMap<String, long[]> expectedShapes(Path dir, ModelConfig config, int found)
            throws CheckpointException {
        long implied = Transformer.expectedTensorCount(config);
        if (implied > 2L * found + 64)
            throw new CheckpointException(
                    dir.resolve("config.json"),
                    "num_hidden_layers " + config.numHiddenLayers() + " implies " + implied
                            + " tensors, but the checkpoint holds " + found
                            + "; num_hidden_layers (or the model type) in config.json does not match the weights");
        return Transformer.expectedShapes(config);
    }

    /**
     * Writes {@code config.json} and the weights in {@code dtype} ("float32", "bfloat16" or
     * "float16"; recorded as torch_dtype). Refuses to write into a directory that already holds a
     * model unless {@code overwrite}. Each file is written atomically (temp file, then rename).
     */
    public static void save(Transformer model, Path dir, String dtype, boolean overwrite) throws IOException {
        ScalarType storage = switch (dtype) {
            case "float32" -> ScalarType.Float;
            case "bfloat16" -> ScalarType.BFloat16;
            case "float16" -> ScalarType.Half;
            default ->
                throw new IllegalArgumentException(
                        "dtype '" + dtype + "' not supported for saving; use float32, bfloat16 or float16");
        };
        if (!overwrite
                && (Files.exists(dir.resolve("config.json"))
                        || Files.exists(dir.resolve("model.safetensors"))
                        || Files.exists(dir.resolve("model.safetensors.index.json"))))
            throw new CheckpointException(
                    dir,
                    "already holds a model; choose another output directory or pass overwrite (--overwrite_output_dir true)");
        Files.createDirectories(dir);
        ObjectNode cfg = model.config().raw().deepCopy();
        cfg.put("torch_dtype", dtype);
        try (PointerScope scope = new PointerScope()) {
            List<TensorBlob> blobs = new ArrayList<>();
            for (var e : model.parameters().entrySet()) {
                Tensor stored = e.getValue().detach().to(storage).contiguous();
                blobs.add(new TensorBlob(e.getKey(), dtypeOf(storage), Tensors.shape(stored), Tensors.segment(stored)));
            }
            ShardedSafetensors.writeSharded(dir, blobs, MAX_SHARD_BYTES, Map.of("format", "pt"), overwrite);
        }
        HfJson.writeJson(dir.resolve("config.json"), cfg, overwrite);
    }

    static ScalarType scalarType(DType d, Path file, String tensor) throws CheckpointException {
        return switch (d) {
            case F32 -> ScalarType.Float;
            case BF16 -> ScalarType.BFloat16;
            case F16 -> ScalarType.Half;
            case F64 -> ScalarType.Double;
            default ->
                throw new CheckpointException(
                        file, tensor, "dtype " + d + " cannot hold model weights; expected F32, BF16, F16 or F64");
        };
    }

    static DType dtypeOf(ScalarType s) {
        return switch (s) {
            case Float -> DType.F32;
            case BFloat16 -> DType.BF16;
            case Half -> DType.F16;
            default -> throw new IllegalArgumentException("no safetensors dtype for " + s);
        };
    }

    private static final List<String> TOKENIZER_FILES =
            List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja");

    /**
     * The tokenizer files and generation_config.json of {@code modelDir} beside a causal LM saved in {@code
     * outputDir}, so that it loads as a complete Hugging Face model folder (what save_pretrained of the model and its
     * tokenizer writes).
     */
    public static void copyTokenizerFiles(Path modelDir, Path outputDir) throws IOException {
        copy(modelDir, outputDir, TOKENIZER_FILES);
        copy(modelDir, outputDir, List.of("generation_config.json"));
    }

    /** The tokenizer files alone, for a sequence classifier (transformers saves no generation_config.json for one). */
    public static void copyTokenizerFilesForClassifier(Path modelDir, Path outputDir) throws IOException {
        copy(modelDir, outputDir, TOKENIZER_FILES);
    }

    private static void copy(Path from, Path to, List<String> names) throws IOException {
        Files.createDirectories(to);
        for (String f : names)
            if (Files.exists(from.resolve(f)))
                Files.copy(from.resolve(f), to.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
