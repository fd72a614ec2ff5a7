// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.cli.Options.Spec;
import org.align4j.data.Datasets;
import org.align4j.data.JsonRows.Row;
import org.align4j.model.LogProbs;

/**
 * {@code logprobs}: for each {@code {"prompt", "completion"}} row writes {@code {"logp", "num_tokens"}}:
 * the sum of log p over the completion's tokens and the EOS after them, and how many that is.
 */
final class LogprobsCommand {
    static final List<Spec> SPECS =
            Spec.modelToJsonl("local .jsonl/.json with 'prompt' and 'completion' (strings or messages)");

    private LogprobsCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("logprobs", SPECS, args);
        JsonlOutput.checkWritable(o.path("output_file"), o.flag("overwrite_output"));
        List<Row> rows = Datasets.read(o.path("dataset_name"), "train");
        try (LoadedModel m = LoadedModel.load(o)) {
            List<long[]> prompts = new ArrayList<>(), completions = new ArrayList<>();
            for (Row r : rows) {
                prompts.add(PromptEncoding.promptIds(m.tokenizer(), r));
                completions.add(PromptEncoding.completionIds(m.tokenizer(), r));
            }
            List<Object> out = new ArrayList<>();
            int bs = o.integer("per_device_eval_batch_size");
            for (int i = 0; i < rows.size(); i += bs) {
                int end = Math.min(rows.size(), i + bs);
                float[][] lp = LogProbs.completionTokenLogps(
                        m.model(),
                        prompts.subList(i, end),
                        completions.subList(i, end),
                        m.tokenizer().padTokenId());
                for (float[] row : lp) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("logp", LogProbs.sum(row));
                    r.put("num_tokens", row.length);
                    out.add(r);
                }
            }
            JsonlOutput.write(o.path("output_file"), out, o.flag("overwrite_output"));
            System.err.println("logprobs: wrote " + out.size() + " rows to " + o.path("output_file"));
        }
    }
}
