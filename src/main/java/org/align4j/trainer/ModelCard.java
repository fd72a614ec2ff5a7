// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.align4j.io.AtomicFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code README.md} model card a trained folder carries, as TRL's trainers write one ({@code
 * trl/trainer/utils.py generate_model_card}): YAML front matter the Hugging Face Hub reads ({@code base_model}, {@code
 * library_name}, {@code tags}, {@code datasets}), how to load the folder, the method and its paper, the run's main
 * keys, the last logged metrics and the framework versions.
 *
 * <p>A card is ours when it holds {@link #MARKER}: only such a card is replaced (by the next save or by
 * overwrite_output_dir); a README.md someone else put in output_dir is kept and no card is written.
 */
public final class ModelCard {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCard.class);
    public static final String FILE = "README.md";
    static final String MARKER = "<!-- written by align4j: replaced when this folder is trained into again -->";

    /** The method each command trains and where it comes from. */
    private static final Map<String, String> METHODS = Map.ofEntries(
            Map.entry("sft", "supervised fine-tuning"),
            Map.entry("reward", "a Bradley-Terry reward model (Ouyang et al., arXiv 2203.02155)"),
            Map.entry("dpo", "DPO (Rafailov et al., arXiv 2305.18290)"),
            Map.entry("kto", "KTO (Ethayarajh et al., arXiv 2402.01306)"),
            Map.entry("orpo", "ORPO (Hong et al., arXiv 2403.07691)"),
            Map.entry("cpo", "CPO (Xu et al., arXiv 2401.08417)"),
            Map.entry("grpo", "GRPO (Shao et al., arXiv 2402.03300)"),
            Map.entry("rloo", "RLOO (Ahmadian et al., arXiv 2402.14740)"),
            Map.entry("online_dpo", "online DPO (Guo et al., arXiv 2402.04792)"),
            Map.entry("rjs", "rejection sampling fine-tuning (RAFT, Dong et al., arXiv 2304.06767)"),
            Map.entry("apo", "APO (Cheng et al., arXiv 2311.08045)"));

    /** The keys the card lists when the run set them (the rest are in training_args.json). */
    private static final List<String> KEYS = List.of(
            "dataset_name",
            "learning_rate",
            "lr_scheduler_type",
            "num_train_epochs",
            "max_steps",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "max_length",
            "loss_type",
            "beta",
            "num_generations",
            "reward_funcs",
            "use_peft",
            "lora_r",
            "lora_alpha",
            "seed");

    private ModelCard() {}

    /** Whether {@code file} is a card align4j wrote (and may replace or remove). */
    static boolean isOurs(Path file) throws IOException {
        if (!Files.isRegularFile(file) || Files.size(file) > 1 << 20) return false;
        return Files.readString(file, StandardCharsets.ISO_8859_1).contains(MARKER);
    }

    /**
     * Writes {@code dir/README.md} for a model {@code command} trained, unless a README.md that align4j did not write is
     * there (then it says so and keeps it).
     */
    static void write(
            Path dir, String command, Map<String, Object> config, boolean adapter, List<Map<String, Object>> logged)
            throws IOException {
        Path file = dir.resolve(FILE);
        if (Files.exists(file) && !isOurs(file)) {
            LOG.warn("{}: {} is not an align4j model card; kept as it is, no card written", command, file);
            return;
        }
        String text = text(dir, command, config, adapter, logged);
        AtomicFiles.writeAtomically(file, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8), true);
    }

    static String text(
            Path dir, String command, Map<String, Object> config, boolean adapter, List<Map<String, Object>> logged) {
        String base = String.valueOf(config.getOrDefault("model_name_or_path", "")),
                data = String.valueOf(config.getOrDefault("dataset_name", ""));
        StringBuilder s = new StringBuilder("---\n");
        if (!base.isEmpty()) s.append("base_model: ").append(yaml(base)).append('\n');
        s.append("library_name: ").append(adapter ? "peft" : "transformers").append('\n');
        s.append("tags:\n- align4j\n- ").append(command).append('\n');
        if (!data.isEmpty()) s.append("datasets:\n- ").append(yaml(data)).append('\n');
        s.append("---\n").append(MARKER).append("\n\n");
        s.append("# ").append(dir.toAbsolutePath().normalize().getFileName()).append("\n\n");
        s.append("Trained with align4j `")
                .append(command)
                .append("`: ")
                .append(METHODS.getOrDefault(command, command))
                .append(base.isEmpty() ? "" : ", from `" + base + "`")
                .append(data.isEmpty() ? "" : ", on `" + data + "`")
                .append(".\n\n## Use\n\n```python\n");
        if (adapter)
            s.append("from peft import AutoPeftModelForCausalLM\n")
                    .append(
                            "model = AutoPeftModelForCausalLM.from_pretrained(\"PATH\")  # loads the base, then this adapter\n");
        else if (command.equals("reward"))
            s.append("from transformers import AutoModelForSequenceClassification\n")
                    .append("model = AutoModelForSequenceClassification.from_pretrained(\"PATH\", num_labels=1)\n");
        else
            s.append("from transformers import AutoModelForCausalLM\n")
                    .append("model = AutoModelForCausalLM.from_pretrained(\"PATH\")\n");
        s.append("```\n\n(PATH is this folder.) Every key of the run is in `training_args.json`, every logged row in"
                + " `metrics.jsonl`.\n\n## Training\n\n| key | value |\n|---|---|\n");
        for (String k : KEYS)
            if (config.containsKey(k) && config.get(k) != null)
                s.append("| `")
                        .append(k)
                        .append("` | ")
                        .append(cell(config.get(k)))
                        .append(" |\n");
        Map<String, Object> last = null;
        for (Map<String, Object> row : logged) if (row.containsKey("loss")) last = row;
        if (last != null) {
            s.append("\nLast logged training step (").append(last.get("step")).append("):\n\n");
            s.append("| metric | value |\n|---|---|\n");
            last.forEach((k, v) -> {
                if (!k.equals("step"))
                    s.append("| `").append(k).append("` | ").append(cell(v)).append(" |\n");
            });
        }
        s.append("\n## Framework versions\n\n- align4j ")
                .append(version())
                .append("\n- libtorch 2.10.0 (org.bytedeco:pytorch 2.10.0-1.5.13), float32 on CPU\n- Java ")
                .append(Runtime.version().feature())
                .append('\n');
        return s.toString();
    }

    private static String version() {
        String v = ModelCard.class.getPackage().getImplementationVersion();
        return v == null ? "(built from source)" : v;
    }

    /** A YAML scalar: quoted when it could be read as something else. */
    private static String yaml(String v) {
        return v.matches("[A-Za-z0-9_./-]+") && !v.startsWith("-")
                ? v
                : "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String cell(Object v) {
        return String.valueOf(v).replace("|", "\\|").replace("\n", " ");
    }
}
