// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Command-line and recipe options with TRL's snake_case keys: {@code --config recipe.yaml} first,
 * then {@code --key value} / {@code --key=value} overrides (nanoGPT's configurator, made strict).
 * Unknown keys and ill-typed values are errors that name the key and list the valid ones.
 */
public final class Options {
    public enum Type {
        STRING,
        INT,
        LONG,
        DOUBLE,
        BOOLEAN,
        PATH
    }

    /**
     * One accepted key: its type, default (null = required unless {@code optional}), help line and, for numbers, the
     * smallest value it accepts (null: any).
     */
    public record Spec(String key, Type type, Object defaultValue, boolean optional, String help, Double min) {
        public static Spec required(String key, Type type, String help) {
            return new Spec(key, type, null, false, help, null);
        }

        public static Spec of(String key, Type type, Object dflt, String help) {
            return new Spec(key, type, dflt, true, help, null);
        }

        /** The same key refusing values below {@code min}. */
        public Spec atLeast(double min) {
            return new Spec(key, type, defaultValue, optional, help, min);
        }

        /** The keys of a tool that reads a model and a dataset and writes one JSONL row per input row. */
        public static List<Spec> modelToJsonl(String datasetHelp, Spec... own) {
            List<Spec> specs = new ArrayList<>(List.of(
                    required("model_name_or_path", Type.PATH, "Hugging Face model directory"),
                    required("dataset_name", Type.PATH, datasetHelp),
                    required("output_file", Type.PATH, "JSONL to write")));
            specs.addAll(List.of(own));
            specs.add(of("per_device_eval_batch_size", Type.INT, 8, "rows processed together")
                    .atLeast(1));
            specs.add(of("overwrite_output", Type.BOOLEAN, false, "replace an existing output_file"));
            specs.add(of("model_revision", Type.STRING, null, "branch, tag or commit of a hub id in the local cache"));
            return List.copyOf(specs);
        }
    }

    private final String command;
    private final Map<String, Spec> specs = new LinkedHashMap<>();
    private final Map<String, Object> values = new LinkedHashMap<>();
    /** Keys given that this command does not declare: {raw value, where}; sorted out by {@link TrlKeys}. */
    private final Map<String, String[]> undeclared = new LinkedHashMap<>();
    /** Keys set by the recipe or the command line (not by a default). */
    private final java.util.Set<String> given = new java.util.HashSet<>();

    private Options(String command, List<Spec> specList) {
        this.command = command;
        for (Spec s : specList) specs.put(s.key(), s);
    }

    public static Options parse(String command, List<Spec> specList, String[] args) {
        Options o = new Options(command, specList);
        Map<String, String> cli = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--"))
                throw new CliException("unexpected argument '" + a + "': options look like --key value or --key=value");
            String key = a.substring(2), value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            } else {
                value = "true"; // a bare flag: --quick
            }
            cli.put(key.replace('-', '_'), value);
        }
        String config = cli.remove("config");
        if (config != null) o.readConfigFile(Path.of(config));
        for (var e : cli.entrySet()) o.set(e.getKey(), e.getValue(), "command line");
        TrlKeys.check(command, o.undeclared, o.specs.keySet());
        for (Spec s : specList) {
            if (!o.values.containsKey(s.key())) {
                if (!s.optional())
                    throw new CliException(command + ": --" + s.key() + " is required (" + s.help() + ")");
                o.values.put(s.key(), s.defaultValue());
            }
        }
        return o;
    }

    private void readConfigFile(Path file) {
        for (var e : YamlRecipe.read(file).entrySet()) set(e.getKey(), e.getValue(), file.toString());
    }

    private void set(String key, String raw, String where) {
        Spec s = specs.get(key);
        if (s == null) {
            undeclared.put(key, new String[] {raw, where});
            return;
        }
        given.add(key);
        if (raw == null) {
            values.put(key, null);
            return;
        }
        try {
            values.put(
                    key,
                    switch (s.type()) {
                        case STRING -> raw;
                        case PATH -> Path.of(raw);
                        case INT -> Integer.parseInt(raw.trim());
                        case LONG -> Long.parseLong(raw.trim());
                        case DOUBLE -> Double.parseDouble(raw.trim());
                        case BOOLEAN ->
                            switch (raw.trim().toLowerCase()) {
                                case "true", "1", "yes" -> true;
                                case "false", "0", "no" -> false;
                                default -> throw new NumberFormatException();
                            };
                    });
        } catch (NumberFormatException e) {
            throw new CliException(command + ": --" + key + " expects "
                    + s.type().name().toLowerCase() + ", got '" + raw + "' (from " + where + ")");
        }
        if (values.get(key) instanceof Number n) {
            double v = n.doubleValue();
            if (!Double.isFinite(v))
                throw new CliException(command + ": --" + key + " must be a finite number, got " + raw.trim()
                        + " (from " + where + ")");
            if (s.min() != null && v < s.min())
                throw new CliException(command + ": --" + key + " must be >= " + fmt(s.min()) + ", got " + raw.trim()
                        + " (from " + where + ")");
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    /** Whether this command accepts {@code key}. */
    public boolean declares(String key) {
        return specs.containsKey(key);
    }

    public String command() {
        return command;
    }

    /** The paths this run reads (model, reference, datasets, discriminator, ...): the PATH values of declared keys other than the outputs. */
    public List<Path> inputPaths() {
        List<Path> out = new ArrayList<>();
        for (Spec s : specs.values())
            if (s.type() == Type.PATH
                    && !s.key().startsWith("output")
                    && !s.key().equals("logging_dir")
                    && values.get(s.key()) instanceof Path p) out.add(p);
        return out;
    }

    public String string(String key) {
        return (String) get(key);
    }

    public Path path(String key) {
        return (Path) get(key);
    }

    public int integer(String key) {
        return (Integer) get(key);
    }

    public long longValue(String key) {
        return (Long) get(key);
    }

    public double number(String key) {
        return (Double) get(key);
    }

    public boolean flag(String key) {
        return (Boolean) get(key);
    }

    public boolean has(String key) {
        return get(key) != null;
    }
    /** Whether the recipe or the command line set {@code key}, even to its default value. */
    public boolean given(String key) {
        get(key);
        return given.contains(key);
    }

    /** A list-valued key: "a,b" on the command line, or a YAML list in a recipe (which arrives as JSON text). */
    public List<String> strings(String key) {
        String raw = string(key);
        if (raw == null || raw.isBlank()) return List.of();
        String body = raw.trim();
        if (body.startsWith("[") && body.endsWith("]")) body = body.substring(1, body.length() - 1);
        List<String> out = new ArrayList<>();
        for (String part : body.split(",")) {
            String v = part.trim();
            if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
            if (!v.isEmpty()) out.add(v);
        }
        return out;
    }

    /** A list of numbers (see {@link #strings}); an entry that is not a number names the key. */
    public List<Double> doubles(String key) {
        List<Double> out = new ArrayList<>();
        for (String v : strings(key)) {
            try {
                out.add(Double.parseDouble(v));
            } catch (NumberFormatException e) {
                throw new CliException(command + ": --" + key + " expects a list of numbers, got '" + v + "' in '"
                        + string(key) + "'");
            }
        }
        return out;
    }

    private Object get(String key) {
        if (!specs.containsKey(key))
            throw new IllegalArgumentException("bug: " + command + " reads undeclared key " + key);
        return values.get(key);
    }

    /** The resolved configuration, every key, for printing and saving beside outputs. */
    public Map<String, Object> resolved() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (var e : values.entrySet()) m.put(e.getKey(), e.getValue() instanceof Path p ? p.toString() : e.getValue());
        return m;
    }

    public static String usage(String command, List<Spec> specList) {
        List<String> lines = new ArrayList<>();
        lines.add("usage: ./align4j " + command + " [--config recipe.yaml] [--key value ...]");
        for (Spec s : specList)
            lines.add(String.format(
                    "  --%-28s %s%s",
                    s.key() + " " + s.type().name().toLowerCase(),
                    s.help(),
                    s.optional() ? " (default: " + s.defaultValue() + ")" : " (required)"));
        return String.join("\n", lines);
    }
}
