// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows.Row;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;

/**
 * {@code generate}: reads prompts from {@code dataset_name} and writes {@code output_file} as JSONL,
 * one {@code {"prompt", "completion"}} per input row, in order. temperature 0 = greedy.
 */
final class GenerateCommand {
    static final List<Spec> SPECS = Spec.modelToJsonl(
            "local .jsonl/.json with a 'prompt' field (string or messages)",
            of("max_new_tokens", Type.INT, 256, "tokens to generate at most per prompt")
                    .atLeast(1),
            of("temperature", Type.DOUBLE, 0.0, "0 = greedy; else sampling temperature"),
            of("top_k", Type.INT, 0, "keep the k most likely tokens (0 = off)"),
            of("top_p", Type.DOUBLE, 1.0, "nucleus sampling mass (1.0 = off)"),
            of("seed", Type.LONG, 42L, "sampling seed"));

    private GenerateCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("generate", SPECS, args);
        JsonlOutput.checkWritable(o.path("output_file"), o.flag("overwrite_output"));
        List<Row> rows = Datasets.read(o.path("dataset_name"), "train");
        SamplingParams params = new SamplingParams(
                o.number("temperature"),
                o.integer("top_k"),
                o.number("top_p"),
                o.integer("max_new_tokens"),
                o.longValue("seed"));
        try (LoadedModel m = LoadedModel.load(o)) {
            List<long[]> prompts = new ArrayList<>();
            for (Row r : rows) prompts.add(PromptEncoding.promptIds(m.tokenizer(), r));
            List<Object> out = new ArrayList<>();
            int bs = o.integer("per_device_eval_batch_size");
            long start = System.nanoTime(), generated = 0;
            for (int i = 0; i < rows.size(); i += bs) {
                List<long[]> batch = prompts.subList(i, Math.min(rows.size(), i + bs));
                // each batch gets its own seed offset so results do not depend on what came before
                SamplingParams p = params.withSeed(params.seed() + i);
                Generator.Result res = Generator.generate(
                        m.model(),
                        batch,
                        p,
                        m.tokenizer().stopTokenIds(),
                        m.tokenizer().padTokenId());
                for (int r = 0; r < batch.size(); r++) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("prompt", rows.get(i + r).json().get("prompt"));
                    row.put("completion", m.tokenizer().decode(res.tokens()[r], true));
                    out.add(row);
                    generated += res.tokens()[r].length;
                }
                System.err.printf(
                        "generate: %d/%d prompts, %.1f tokens/s%n",
                        Math.min(rows.size(), i + bs), rows.size(), generated / ((System.nanoTime() - start) / 1e9));
            }
            JsonlOutput.write(o.path("output_file"), out, o.flag("overwrite_output"));
            System.err.println("generate: wrote " + out.size() + " rows to " + o.path("output_file"));
        }
    }
}
