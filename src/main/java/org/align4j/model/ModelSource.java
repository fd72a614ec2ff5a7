// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.io.CheckpointException;
import org.align4j.io.HfCache;
import org.align4j.io.HfJson;

/**
 * What {@code model_name_or_path} names, resolved as transformers and PEFT resolve it, offline:
 *
 * <ul>
 *   <li>a Hugging Face model folder ({@code config.json} and weights);
 *   <li>a PEFT LoRA adapter folder ({@code adapter_config.json}): its base is {@code base_model_name_or_path} as
 *       recorded (a folder as given when it was trained, tried relative to the working folder and then to the adapter
 *       folder, or a hub id), and the model is that base with the adapter on top, as PEFT's AutoPeftModel loads it;
 *   <li>a hub id {@code org/name} found in the local Hugging Face cache ({@link HfCache}), at {@code revision}.
 * </ul>
 *
 * @param asGiven the name as the user wrote it
 * @param modelDir the folder of the full (base) model
 * @param adapterDir the adapter folder, or null for a full model
 */
public record ModelSource(String asGiven, Path modelDir, Path adapterDir) {

    /** Resolves {@code nameOrPath} (a folder or a hub id) at {@code revision} (null: main). */
    public static ModelSource resolve(String nameOrPath, String revision) throws IOException {
        Path p = Path.of(nameOrPath);
        if (Files.isDirectory(p)) {
            if (Files.isRegularFile(p.resolve("adapter_config.json")) && !Files.exists(p.resolve("config.json"))) {
                ModelSource base = resolve(baseOf(p), revision, p);
                if (base.adapterDir() != null)
                    throw new CheckpointException(
                            p,
                            "its base " + base.asGiven() + " is itself an adapter folder;"
                                    + " merge that one first (./align4j merge)");
                return new ModelSource(nameOrPath, base.modelDir(), p);
            }
            if (!Files.isRegularFile(p.resolve("config.json")))
                throw new IOException(nameOrPath + " holds neither config.json (a Hugging Face model folder) nor"
                        + " adapter_config.json (a PEFT adapter folder)");
            return new ModelSource(nameOrPath, p, null);
        }
        if (HfCache.isRepoId(nameOrPath))
            return resolve(HfCache.model(nameOrPath, revision).toString(), null);
        throw new IOException("model_name_or_path " + nameOrPath
                + " is not a folder, nor a hub id (org/name) to look up in the local Hugging Face cache");
    }

    /** A base named by an adapter: as given, else relative to the adapter folder, else a hub id. */
    private static ModelSource resolve(String base, String revision, Path adapter) throws IOException {
        Path asIs = Path.of(base);
        if (Files.isDirectory(asIs) || asIs.isAbsolute()) return withName(base, resolve(base, revision));
        Path beside = adapter.resolve(base).normalize();
        if (Files.isDirectory(beside)) return withName(base, resolve(beside.toString(), revision));
        return withName(base, resolve(base, revision));
    }

    private static ModelSource withName(String name, ModelSource s) {
        return new ModelSource(name, s.modelDir(), s.adapterDir());
    }

    private static String baseOf(Path adapter) throws IOException {
        Path cfg = adapter.resolve("adapter_config.json");
        JsonNode c = HfJson.readJson(cfg);
        String base = c.path("base_model_name_or_path").asText("");
        if (base.isBlank())
            throw new CheckpointException(
                    cfg,
                    "base_model_name_or_path is empty, so the adapter's base model is"
                            + " unknown; set it to the base model's folder or hub id (older align4j versions left it empty)");
        return base;
    }

    public boolean isAdapter() {
        return adapterDir != null;
    }

    /** Where the tokenizer files are: the adapter folder when it carries them, else the model folder. */
    public Path tokenizerDir() {
        return adapterDir != null && Files.isRegularFile(adapterDir.resolve("tokenizer.json")) ? adapterDir : modelDir;
    }

    /** The name a new adapter trained on this base records as base_model_name_or_path. */
    public String baseName() {
        return isAdapter() ? baseNameOfAdapter() : asGiven;
    }

    private String baseNameOfAdapter() {
        try {
            return baseOf(adapterDir);
        } catch (IOException e) {
            return modelDir.toString();
        }
    }

    /** The model: the base weights, with the adapter attached when there is one. */
    public Transformer load() throws IOException {
        Transformer m = Checkpoints.load(modelDir);
        try {
            m.setSource(baseName());
            if (Files.isRegularFile(tokenizerDir().resolve("tokenizer.json"))) m.setTokenizerDir(tokenizerDir());
            if (adapterDir != null) Lora.loadAdapter(m, adapterDir);
            return m;
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The model with the adapter folded into its weights (PEFT's merge_and_unload): a plain full model. */
    public Transformer loadMerged() throws IOException {
        Transformer m = load();
        Lora.merge(m);
        m.setSource(asGiven);
        return m;
    }
}
