// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.align4j.data.DatasetException;
import org.align4j.data.JsonRows.Row;
import org.align4j.io.HfJson;
import org.align4j.model.ModelSource;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.OutputDir;
import org.align4j.trainer.RewardConfig;
import org.align4j.trainer.RewardTrainer.Pair;
import org.align4j.trainer.TrainResult;

/**
 * The reward command with {@code scpo_group_column}: one reward model per value of that row field, as SCPO trains one
 * model per country (github.com/minsik-ai/Steerable-Cultural-Preference preferences.py:453-584: for each country a
 * fresh copy of the starting model, trained on that country's train pairs and evaluated on its test pairs).
 *
 * <p>Each group's model starts from model_name_or_path, trains on the group's train rows and evaluates on the group's
 * eval rows (with SCPO, after the global model scored them all), into {@code output_dir/group-<value>/} (the value with
 * every character outside {@code [A-Za-z0-9._-]} replaced by {@code _}); {@code scpo_train_global} adds one model on
 * the pairs of all groups in {@code output_dir/global/}. {@code output_dir/reward_groups.json} sums up every model:
 * its pair counts, SCPO's filtered counts and the global model's eval accuracy (the paper's "start" column), its last
 * eval row, and the mean over groups of {@code eval_accuracy} and {@code eval_filtered_accuracy} (the code's "avg",
 * preferences.py:588-594). Group runs do not resume: a rerun starts them all again.
 */
final class RewardGroups {
    static final String REPORT = "reward_groups.json", GLOBAL = "global", PREFIX = "group-";

    private RewardGroups() {}

    /** The rows of both splits and their pairs, index by index ({@code eval} null when there is no eval set). */
    record Split(List<Row> rows, List<Pair> train, List<Row> evalRows, List<Pair> eval) {}

    static void train(ModelSource modelDir, Tokenizer tok, Split data, String column, RewardConfig cfg, Options o)
            throws IOException {
        var a = cfg.args();
        if (a.resumeFromCheckpoint() != null
                && !a.resumeFromCheckpoint().isBlank()
                && !a.resumeFromCheckpoint().equals("false"))
            throw new CliException("reward: scpo_group_column runs do not resume_from_checkpoint; rerun without it"
                    + " (each group's model is trained again from model_name_or_path)");
        Map<String, List<Pair>> train = byGroup(data.rows(), data.train(), column);
        Map<String, List<Pair>> eval = data.eval() == null ? Map.of() : byGroup(data.evalRows(), data.eval(), column);
        Map<String, String> folders = folders(train.keySet());
        for (String g : eval.keySet())
            if (!train.containsKey(g))
                System.err.printf(
                        "reward: eval group '%s' has no train rows; its %d eval pairs are %s%n",
                        g,
                        eval.get(g).size(),
                        o.flag("scpo_train_global")
                                ? "evaluated only by the model in " + GLOBAL + "/"
                                : "not evaluated");
        for (var e : train.entrySet())
            if (trainable(e.getValue(), cfg) == 0)
                throw new CliException("reward: group '" + e.getKey() + "' (" + column + ") has no train pair left"
                        + " after dropping pairs longer than max_length " + cfg.maxLength()
                        + (cfg.scpo() == null
                                ? ""
                                : " and SCPO's filter sigma(r+ - r-) < scpo_tau "
                                        + cfg.scpo().tau())
                        + "; remove its rows or " + (cfg.scpo() == null ? "raise max_length" : "raise scpo_tau"));
        System.err.printf("reward: %d groups by '%s': %s%n", train.size(), column, String.join(", ", train.keySet()));
        try (OutputDir claimed = OutputDir.claim(
                "reward", a.outputDir(), a.overwriteOutputDir(), false, o.inputPaths(), RewardGroups::own)) {
            List<Map<String, Object>> models = new ArrayList<>();
            for (var e : train.entrySet()) {
                String g = e.getKey();
                models.add(model(g, folders.get(g), modelDir, tok, e.getValue(), eval.get(g), cfg, o));
            }
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("group_column", column);
            report.put("groups", models);
            report.put("mean_eval_accuracy", mean(models, "eval_accuracy"));
            report.put("mean_eval_filtered_accuracy", mean(models, "eval_filtered_accuracy"));
            if (o.flag("scpo_train_global")) { // every row, in the data's order
                report.put("global", model(null, GLOBAL, modelDir, tok, data.train(), data.eval(), cfg, o));
            }
            HfJson.writeJson(a.outputDir().resolve(REPORT), report, true);
            System.err.println("reward: " + models.size() + " group models"
                    + (o.flag("scpo_train_global") ? " and the global one" : "") + " in " + a.outputDir() + " (see "
                    + REPORT + ")");
        }
    }

    /** Trains one model into output_dir/{@code folder}; returns its line of the report. */
    private static Map<String, Object> model(
            String group,
            String folder,
            ModelSource modelDir,
            Tokenizer tok,
            List<Pair> train,
            List<Pair> eval,
            RewardConfig cfg,
            Options o)
            throws IOException {
        Path dir = cfg.args().outputDir().resolve(folder);
        RewardConfig own = cfg.withArgs(cfg.args().toBuilder()
                .outputDir(dir)
                .overwriteOutputDir(false) // an earlier run's group folders went with the claim of output_dir
                .resumeFromCheckpoint(null)
                .build());
        System.err.printf(
                "reward: %s: %d train pairs, %d eval pairs -> %s%n",
                group == null ? "every group" : "group '" + group + "'",
                train.size(),
                eval == null ? 0 : eval.size(),
                dir);
        Map<String, Object> resolved = new LinkedHashMap<>(o.resolved());
        resolved.put("output_dir", dir.toString());
        if (group != null) resolved.put("scpo_group", group);
        TrainResult r = RewardCommand.trainOne(
                modelDir, tok, train, eval == null || eval.isEmpty() ? null : eval, own, o.longValue("seed"), resolved);
        Map<String, Object> line = new LinkedHashMap<>();
        if (group != null) line.put("group", group);
        line.put("output_dir", folder);
        line.put("train_pairs", train.size());
        line.put("eval_pairs", eval == null ? 0 : eval.size());
        if (cfg.scpo() != null) {
            line.put("scpo_train_pairs", trainable(train, cfg));
            int scored = 0, filtered = 0, right = 0;
            for (Pair p : eval == null ? List.<Pair>of() : eval) {
                if (p.global() == null) continue; // over max_length: the trainer does not evaluate it either
                scored++;
                if (p.global().chosen() < p.global().rejected()) filtered++;
                if (p.global().chosen() > p.global().rejected()) right++;
            }
            if (scored > 0) {
                line.put("scpo_filtered_eval_pairs", filtered);
                line.put("global_model_eval_accuracy", (double) right / scored);
            }
        }
        Map<String, Object> lastEval = null;
        for (Map<String, Object> row : r.logged()) if (row.containsKey("eval_loss")) lastEval = row;
        if (lastEval != null)
            for (var e : lastEval.entrySet()) if (e.getKey().startsWith("eval_")) line.put(e.getKey(), e.getValue());
        return line;
    }

    /** The pairs of each group value, in the value order (a row without the field is an error naming it). */
    static Map<String, List<Pair>> byGroup(List<Row> rows, List<Pair> pairs, String column) {
        Map<String, List<Pair>> out = new TreeMap<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            JsonNode v = r.json().get(column);
            if (v == null || v.isNull())
                throw new DatasetException(r.where() + ": no '" + column
                        + "' field (scpo_group_column); every row needs its group, e.g. \"" + column
                        + "\": \"Chile\"");
            if (!(v.isTextual() || v.isIntegralNumber() || v.isBoolean()))
                throw new DatasetException(r.where() + ": field '" + column
                        + "' (scpo_group_column) must be a string, an integer or a boolean, got " + v);
            if (v.asText().isBlank())
                throw new DatasetException(r.where() + ": field '" + column + "' (scpo_group_column) is empty");
            out.computeIfAbsent(v.asText(), k -> new ArrayList<>()).add(pairs.get(i));
        }
        return out;
    }

    /** group-&lt;value&gt; for each value, characters outside [A-Za-z0-9._-] as '_'; two values on one name are refused. */
    static Map<String, String> folders(Iterable<String> groups) {
        Map<String, String> out = new LinkedHashMap<>(), taken = new HashMap<>();
        for (String g : groups) {
            if (g.length() > 200)
                throw new CliException("reward: group value '" + g.substring(0, 40) + "...' is longer than 200"
                        + " characters; output_dir/group-<value> would not be a valid folder name");
            String name = PREFIX + g.replaceAll("[^A-Za-z0-9._-]", "_");
            String other = taken.putIfAbsent(name, g);
            if (other != null)
                throw new CliException("reward: group values '" + other + "' and '" + g + "' both map to the folder "
                        + name + "; rename one of them in the data");
            out.put(g, name);
        }
        return out;
    }

    /** The pairs the trainer would train on: within max_length and, with SCPO, kept by its filter. */
    private static int trainable(List<Pair> pairs, RewardConfig cfg) {
        int n = 0;
        for (Pair p : pairs)
            if (p.chosen().length <= cfg.maxLength()
                    && p.rejected().length <= cfg.maxLength()
                    && (cfg.scpo() == null || cfg.scpo().keeps(p.global()))) n++;
        return n;
    }

    /** The unweighted mean over the groups that report {@code key} (the code's per-country average), or null. */
    private static Double mean(List<Map<String, Object>> models, String key) {
        double sum = 0;
        int n = 0;
        for (Map<String, Object> m : models)
            if (m.get(key) instanceof Number v) {
                sum += v.doubleValue();
                n++;
            }
        return n == 0 ? null : sum / n;
    }

    /** What a group run owns in output_dir: the group folders, global/ and the report. */
    private static boolean own(Path p) {
        String n = p.getFileName().toString();
        if (n.equals(REPORT)) return Files.isRegularFile(p);
        return Files.isDirectory(p) && (n.startsWith(PREFIX) || n.equals(GLOBAL));
    }
}
