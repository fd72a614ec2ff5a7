// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.io.CheckpointException;
import org.align4j.io.DType;
import org.align4j.io.HfJson;
import org.align4j.io.SafetensorsFile;
import org.align4j.io.SafetensorsWriter;
import org.align4j.io.TensorBlob;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * LoRA adapters (Hu et al., arXiv 2106.09685, eq. 3): a frozen linear W gains a trainable
 * low-rank update, y = x W^T + (alpha / r) * dropout(x) A^T B^T, with A (r, in) and B (out, r).
 * As in PEFT, A starts Kaiming-uniform (a = sqrt 5, so U(-1/sqrt(in), 1/sqrt(in))) and B at zero,
 * so an attached adapter changes nothing until trained.
 *
 * <p>Saved in PEFT's format: {@code adapter_config.json} and {@code adapter_model.safetensors}
 * with keys {@code base_model.model.<module>.lora_A.weight} / {@code lora_B.weight}; merging
 * folds W + (alpha / r) B A into the base weight for export as a plain HF checkpoint.
 */
public final class Lora {
    /** TRL/PEFT names: r, lora_alpha, lora_dropout, target_modules (module names such as q_proj). */
    public record Config(int r, double alpha, double dropout, List<String> targetModules) {
        public Config {
            if (r < 1) throw new IllegalArgumentException("lora_r must be >= 1, got " + r);
            if (!(alpha > 0 && Double.isFinite(alpha)))
                throw new IllegalArgumentException("lora_alpha must be a finite number > 0, got " + alpha);
            if (!(dropout >= 0 && dropout < 1))
                throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
            if (targetModules.isEmpty())
                throw new IllegalArgumentException("lora_target_modules is empty; e.g. q_proj,k_proj,v_proj,o_proj");
        }

        public double scale() {
            return alpha / r;
        }
    }

    /** One adapted module's pair: A (r, in), B (out, r). */
    record Pair(Tensor a, Tensor b) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> LINEARS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    private Lora() {}

    /**
     * PEFT's "all-linear": every linear of the transformer blocks that this model has (the output head is left out, as
     * PEFT leaves it out).
     */
    public static List<String> allLinear(Transformer model) {
        List<String> present = new ArrayList<>();
        for (String l : LINEARS)
            if (model.parameters().keySet().stream().anyMatch(n -> n.endsWith("." + l + ".weight"))) present.add(l);
        return present;
    }

    /** Adds fresh adapters to every linear named in target_modules; returns the number of adapted modules. */
    public static int attach(Transformer model, Config cfg, long seed) {
        for (String t : cfg.targetModules())
            if (!LINEARS.contains(t))
                throw new IllegalArgumentException(
                        "lora_target_modules: '" + t + "' is not a linear of this model; use any of " + LINEARS);
        Map<String, Pair> adapters = new LinkedHashMap<>();
        org.bytedeco.pytorch.Generator gen = torch.createCPUGenerator(seed);
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            for (var e : model.parameters().entrySet()) {
                String name = e.getKey();
                if (!name.endsWith(".weight")) continue;
                String module = name.substring(0, name.length() - ".weight".length());
                if (!cfg.targetModules().contains(module.substring(module.lastIndexOf('.') + 1))) continue;
                long out = e.getValue().size(0), in = e.getValue().size(1);
                double bound = 1 / Math.sqrt(in); // kaiming_uniform_(a=sqrt 5): gain sqrt(1/3) * sqrt(3 / fan_in)
                Tensor a = torch.rand(
                                new long[] {cfg.r(), in},
                                new GeneratorOptional(gen),
                                new TensorOptions(torch.ScalarType.Float))
                        .mul(Tensors.scalar(2 * bound))
                        .sub(Tensors.scalar(bound));
                Tensor b = torch.zeros(new long[] {out, cfg.r()}, new TensorOptions(torch.ScalarType.Float));
                adapters.put(module, new Pair(Tensors.keep(s, a), Tensors.keep(s, b)));
            }
        } finally {
            gen.close();
        }
        if (adapters.isEmpty())
            throw new IllegalArgumentException("lora_target_modules " + cfg.targetModules() + " matched no module");
        model.setAdapters(cfg, adapters);
        return adapters.size();
    }

    /** PEFT layout: adapter_config.json + adapter_model.safetensors (float32). */
    public static void saveAdapter(Transformer model, Path dir, String baseModelPath, boolean overwrite)
            throws IOException {
        Config cfg = model.loraConfig();
        if (cfg == null) throw new IllegalStateException("the model has no LoRA adapters to save");
        Files.createDirectories(dir);
        try (PointerScope s = new PointerScope()) {
            List<TensorBlob> blobs = new ArrayList<>();
            for (var e : model.adapters().entrySet()) {
                blobs.add(blob(
                        "base_model.model." + e.getKey() + ".lora_A.weight",
                        e.getValue().a()));
                blobs.add(blob(
                        "base_model.model." + e.getKey() + ".lora_B.weight",
                        e.getValue().b()));
            }
            SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), blobs, Map.of("format", "pt"), overwrite);
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", model.config().isSequenceClassification() ? "SEQ_CLS" : "CAUSAL_LM");
        c.put("base_model_name_or_path", baseModelPath);
        c.put("r", cfg.r());
        c.put("lora_alpha", cfg.alpha());
        c.put("lora_dropout", cfg.dropout());
        var targets = c.putArray("target_modules");
        cfg.targetModules().forEach(targets::add);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("use_rslora", false);
        c.put("use_dora", false);
        HfJson.writeJson(dir.resolve("adapter_config.json"), c, overwrite);
    }

    /** Reads a PEFT LoRA adapter folder onto a model of the matching base. */
    public static void loadAdapter(Transformer model, Path dir) throws IOException {
        Path cfgFile = dir.resolve("adapter_config.json");
        JsonNode c = HfJson.readJson(cfgFile);
        if (!"LORA".equals(c.path("peft_type").asText()))
            throw new CheckpointException(
                    cfgFile, "peft_type is '" + c.path("peft_type").asText() + "', only LORA is supported");
        if (c.path("use_dora").asBoolean(false) || c.path("use_rslora").asBoolean(false))
            throw new CheckpointException(cfgFile, "use_dora / use_rslora adapters are not supported");
        List<String> targets = new ArrayList<>();
        c.path("target_modules").forEach(t -> targets.add(t.asText()));
        Config cfg = new Config(
                c.path("r").asInt(),
                c.path("lora_alpha").asDouble(),
                c.path("lora_dropout").asDouble(0),
                targets);
        Map<String, Pair> adapters = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"));
                PointerScope s = new PointerScope()) {
            for (String name : f.tensors().keySet()) {
                if (!name.endsWith(".lora_A.weight")) continue;
                String module = name.substring("base_model.model.".length(), name.length() - ".lora_A.weight".length());
                String bName = "base_model.model." + module + ".lora_B.weight";
                if (!f.tensors().containsKey(bName))
                    throw new CheckpointException(f.path(), bName, "missing (its lora_A is there)");
                if (!model.parameters().containsKey(module + ".weight"))
                    throw new CheckpointException(
                            f.path(), name, "adapts " + module + ", which this base model does not have");
                Tensor a = Tensors.fromSegment(
                        f.data(name),
                        Checkpoints.scalarType(f.info(name).dtype(), f.path(), name),
                        f.info(name).shape(),
                        true);
                Tensor b = Tensors.fromSegment(
                        f.data(bName),
                        Checkpoints.scalarType(f.info(bName).dtype(), f.path(), bName),
                        f.info(bName).shape(),
                        true);
                adapters.put(module, new Pair(Tensors.keep(s, a), Tensors.keep(s, b)));
            }
        }
        if (adapters.isEmpty())
            throw new CheckpointException(dir.resolve("adapter_model.safetensors"), "holds no lora_A/lora_B tensors");
        model.setAdapters(cfg, adapters);
    }

    /** The dropout on the adapters' input while training (0 without adapters). */
    public static double dropout(Transformer model) {
        return model.loraConfig() == null ? 0 : model.loraConfig().dropout();
    }

    /** True when adapters are attached. */
    public static boolean attached(Transformer model) {
        return model.loraConfig() != null;
    }

    /** Copies the adapter values saved in {@code dir} into the model's existing adapters (resume). */
    public static void restoreAdapterValues(Transformer model, Path dir) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"));
                PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            for (var e : model.adapters().entrySet()) {
                for (String part : new String[] {"lora_A", "lora_B"}) {
                    String name = "base_model.model." + e.getKey() + "." + part + ".weight";
                    if (!f.tensors().containsKey(name))
                        throw new CheckpointException(
                                f.path(),
                                name,
                                "missing: the checkpoint's adapters do not match the run's lora settings");
                    Tensor target = part.equals("lora_A")
                            ? e.getValue().a()
                            : e.getValue().b();
                    target.copy_(Tensors.fromSegment(
                            f.data(name), torch.ScalarType.Float, f.info(name).shape(), true));
                }
            }
        }
    }

    /** Folds every adapter into its base weight (W += scale * B A) and removes the adapters. */
    public static void merge(Transformer model) {
        Config cfg = model.loraConfig();
        if (cfg == null) return;
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            for (var e : model.adapters().entrySet()) {
                Tensor w = model.parameters().get(e.getKey() + ".weight");
                w.add_(torch.matmul(e.getValue().b(), e.getValue().a()).mul(Tensors.scalar(cfg.scale())));
            }
        }
        model.setAdapters(null, Map.of());
    }

    private static TensorBlob blob(String name, Tensor t) {
        Tensor c = t.detach().contiguous();
        return new TensorBlob(name, DType.F32, Tensors.shape(c), Tensors.segment(c));
    }
}
