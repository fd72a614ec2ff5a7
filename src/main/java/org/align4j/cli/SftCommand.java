// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.align4j.cli.Options.Spec.required;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.DatasetException;
import org.align4j.data.JsonRows;
import org.align4j.data.JsonRows.Row;
import org.align4j.model.Lora;
import org.align4j.trainer.SftConfig;
import org.align4j.trainer.SftTrainer;

/**
 * {@code sft}: supervised fine-tuning with TRL's SFTConfig keys. Rows are prompt-completion
 * ({@code prompt}, {@code completion}: strings or message lists; loss on the completion and its
 * EOS only, TRL's completion_only_loss) or language modeling ({@code text}: loss on every token
 * and the EOS). Conversational {@code messages} rows (assistant-only loss) come with the data layer.
 */
final class SftCommand {
    static final List<Spec> SPECS = List.of(
            required("model_name_or_path", Type.PATH, "Hugging Face model directory"),
            required("dataset_name", Type.PATH, "local .jsonl/.json with prompt+completion or text rows"),
            required("output_dir", Type.PATH, "where metrics.jsonl, checkpoint-N/ and the final model go"),
            of("learning_rate", Type.DOUBLE, 2e-5, "AdamW peak learning rate"),
            of("per_device_train_batch_size", Type.INT, 8, "rows per micro-batch"),
            of("gradient_accumulation_steps", Type.INT, 1, "micro-batches per optimizer step"),
            of("max_steps", Type.INT, -1, "optimizer steps (overrides num_train_epochs when > 0)"),
            of("num_train_epochs", Type.DOUBLE, 3.0, "passes over the data"),
            of("logging_steps", Type.INT, 10, "log every N steps (and the first)"),
            of("save_steps", Type.INT, 500, "checkpoint every N steps (0 = never)"),
            of("seed", Type.LONG, 42L, "data order and LoRA init"),
            of("lr_scheduler_type", Type.STRING, "linear", "linear, cosine, constant, constant_with_warmup"),
            of("warmup_ratio", Type.DOUBLE, 0.0, "fraction of steps to warm up"),
            of("warmup_steps", Type.INT, 0, "warm-up steps (wins over warmup_ratio)"),
            of("weight_decay", Type.DOUBLE, 0.0, "AdamW decoupled weight decay (not on biases and norms)"),
            of("max_grad_norm", Type.DOUBLE, 1.0, "global gradient-norm clip"),
            of("max_length", Type.INT, 1024, "truncate sequences to this many tokens (keep the start)"),
            of("gradient_checkpointing", Type.BOOLEAN, false, "recompute activations in backward to save memory"),
            of("use_peft", Type.BOOLEAN, false, "train LoRA adapters instead of all weights"),
            of("lora_r", Type.INT, 16, "LoRA rank"),
            of("lora_alpha", Type.DOUBLE, 32.0, "LoRA alpha (scale = alpha / r)"),
            of("lora_dropout", Type.DOUBLE, 0.05, "dropout on the LoRA input"),
            of("lora_target_modules", Type.STRING, "q_proj,v_proj", "comma-separated linear names"),
            of("report_to", Type.STRING, "none", "none or tensorboard"),
            of("resume_from_checkpoint", Type.STRING, null, "a checkpoint-N folder, or latest"),
            of("overwrite_output_dir", Type.BOOLEAN, false, "replace an existing run in output_dir"));

    private SftCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("sft", SPECS, args);
        SftConfig cfg = new SftConfig(o.path("output_dir"), o.number("learning_rate"), o.integer("per_device_train_batch_size"),
                o.integer("gradient_accumulation_steps"), o.integer("max_steps"), o.number("num_train_epochs"), o.integer("logging_steps"),
                o.integer("save_steps"), o.longValue("seed"), o.string("lr_scheduler_type"), o.number("warmup_ratio"), o.integer("warmup_steps"),
                o.number("weight_decay"), o.number("max_grad_norm"), o.flag("overwrite_output_dir"), o.string("resume_from_checkpoint"),
                o.string("report_to"), o.flag("gradient_checkpointing"));
        List<Row> rows = JsonRows.read(o.path("dataset_name"));
        Path modelDir = o.path("model_name_or_path");
        try (LoadedModel m = LoadedModel.load(modelDir)) {
            List<SftTrainer.Example> examples = new ArrayList<>();
            int truncated = 0;
            for (Row r : rows) {
                SftTrainer.Example e = example(m, r);
                if (e.inputIds().length > o.integer("max_length")) {
                    int n = o.integer("max_length");
                    e = new SftTrainer.Example(Arrays.copyOf(e.inputIds(), n), Arrays.copyOf(e.targetMask(), n));
                    truncated++;
                }
                examples.add(e);
            }
            System.err.printf("sft: %d rows from %s (%d truncated to max_length %d)%n", rows.size(), o.path("dataset_name"), truncated, o.integer("max_length"));
            if (o.flag("use_peft")) {
                List<String> targets = Arrays.stream(o.string("lora_target_modules").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
                int n = Lora.attach(m.model(), new Lora.Config(o.integer("lora_r"), o.number("lora_alpha"), o.number("lora_dropout"), targets), o.longValue("seed"));
                System.err.println("sft: LoRA on " + n + " modules " + targets);
            }
            SftTrainer.train(m.model(), examples, cfg, m.tokenizer().padTokenId(), o.resolved());
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "chat_template.jinja"})
                if (Files.exists(modelDir.resolve(f))) Files.copy(modelDir.resolve(f), cfg.outputDir().resolve(f), StandardCopyOption.REPLACE_EXISTING);
            System.err.println("sft: final model in " + cfg.outputDir());
        }
    }

    /** Targets: the completion and its EOS (prompt-completion), or every token after the first (text). */
    static SftTrainer.Example example(LoadedModel m, Row r) {
        if (r.json().has("prompt") && r.json().has("completion")) {
            return SftTrainer.Example.promptCompletion(PromptEncoding.promptIds(m.tokenizer(), r), PromptEncoding.completionIds(m.tokenizer(), r));
        }
        if (r.json().has("text")) {
            JsonNode text = r.require("text");
            if (!text.isTextual()) throw new DatasetException(r.where() + ": field 'text' must be a string");
            long[] t = m.tokenizer().encode(text.asText());
            long[] ids = Arrays.copyOf(t, t.length + 1);
            ids[t.length] = m.tokenizer().eosTokenId();
            float[] mask = new float[ids.length];
            Arrays.fill(mask, 1f);
            return new SftTrainer.Example(ids, mask);
        }
        throw new DatasetException(r.where() + ": an SFT row needs 'prompt' and 'completion', or 'text' (conversational 'messages' rows are not supported yet)");
    }
}
