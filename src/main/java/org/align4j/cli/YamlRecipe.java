// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.AbstractConstruct;
import org.yaml.snakeyaml.constructor.Construct;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads a {@code --config} recipe into key → value text, as TRL's parser reads it with PyYAML's
 * {@code safe_load}: one document, aliases resolve to their anchor's value, merge keys
 * ({@code <<: *base}) apply, the last of duplicate keys wins, YAML 1.1 scalars ({@code yes} is
 * true, {@code 010} is 8). Scalars become their text; lists and mappings become JSON text, which
 * {@link Options#strings} reads.
 *
 * <p>Only SnakeYAML's safe constructor runs, so a tag never instantiates a class: a
 * {@code !!java.lang.Runtime} or {@code !foo} tag is an error, as in {@code safe_load}. Dates and
 * {@code !!binary} stay the text written. Expansion is bounded: at most 50 aliases of collections
 * (SnakeYAML's guard against billion laughs), and at most {@link #MAX_EXPANDED} characters and
 * values in all once aliases are expanded, since even scalar aliases multiply when values become text.
 */
final class YamlRecipe {
    /** Characters plus values, all aliases expanded; a recipe is a page of settings. */
    static final int MAX_EXPANDED = 1 << 22;
    /** Nesting of a value once aliases are expanded (the document itself may nest 50 levels). */
    private static final int MAX_DEPTH = 100;

    private YamlRecipe() {}

    /** The recipe's keys in file order, each with its value as text; every error names the file. */
    static Map<String, String> read(Path file) {
        if (!Files.isRegularFile(file)) throw new CliException("--config " + file + ": no such file");
        Object root;
        try (InputStream in = Files.newInputStream(file)) {
            root = yaml().load(in);
        } catch (YAMLException | IllegalArgumentException e) { // SnakeYAML's Tag refuses some escapes with IAE
            // (found by YamlRecipeFuzzTest: a tag whose %-escapes decode to a trailing space)
            String m = String.valueOf(e.getMessage());
            String hint = m.contains("expected a single document")
                    ? " (a recipe is one YAML document: remove the second '---' and what follows, or split the file)"
                    : "";
            throw new CliException("--config " + file + " is not a valid recipe: " + m + hint);
        } catch (IOException e) {
            throw new CliException("--config " + file + ": cannot read it: " + e.getMessage());
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (root == null) return out; // an empty file sets nothing
        if (!(root instanceof Map<?, ?> map))
            throw new CliException("--config " + file + " must be a mapping of key: value, found " + kind(root));
        Expansion budget = new Expansion(file);
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof String || e.getKey() instanceof Number || e.getKey() instanceof Boolean))
                throw new CliException("--config " + file + ": a key must be a name, found " + kind(e.getKey()));
            String key = String.valueOf(e.getKey());
            Object v = e.getValue();
            if (v == null)
                throw new CliException("--config " + file + ": key '" + key
                        + "' has no value (YAML null or ~); give it a value or delete the line to keep the default");
            JsonNode node = budget.toJson(v, key, 0);
            out.put(key, node.isValueNode() ? node.asText() : node.toString());
        }
        return out;
    }

    private static Yaml yaml() {
        LoaderOptions options = new LoaderOptions();
        options.setMaxAliasesForCollections(50);
        options.setAllowRecursiveKeys(false);
        options.setAllowDuplicateKeys(true); // the last wins, as in PyYAML
        options.setWarnOnDuplicateKeys(false); // silently, as in PyYAML (SnakeYAML logs through java.util.logging)
        options.setNestingDepthLimit(50);
        options.setCodePointLimit(3 * 1024 * 1024);
        DumperOptions dumper = new DumperOptions();
        return new Yaml(new TextScalars(options), new Representer(dumper), dumper, options, new Resolver());
    }

    /**
     * SafeConstructor, but timestamps and !!binary stay the text written (PyYAML would make date and
     * bytes objects), and so does a scalar that SnakeYAML's YAML 1.1 patterns take for a number but
     * that is none ({@code ._}, {@code 0x_}: its patterns are looser than PyYAML's, which reads these
     * as strings; Java's parser then threw NumberFormatException, found by YamlRecipeFuzzTest).
     */
    private static final class TextScalars extends SafeConstructor {
        TextScalars(LoaderOptions options) {
            super(options);
            yamlConstructors.put(Tag.TIMESTAMP, new ConstructYamlStr());
            yamlConstructors.put(Tag.BINARY, new ConstructYamlStr());
            yamlConstructors.put(Tag.INT, new TextIfNotANumber(yamlConstructors.get(Tag.INT)));
            yamlConstructors.put(Tag.FLOAT, new TextIfNotANumber(yamlConstructors.get(Tag.FLOAT)));
        }

        private final class TextIfNotANumber extends AbstractConstruct {
            private final Construct number;

            TextIfNotANumber(Construct number) {
                this.number = number;
            }

            @Override
            public Object construct(Node node) {
                try {
                    return number.construct(node);
                } catch (NumberFormatException notANumber) {
                    return constructScalar((ScalarNode) node);
                }
            }
        }
    }

    /** Converts constructed values to JSON, counting what aliases expand to and refusing cycles. */
    private static final class Expansion {
        private final Path file;
        private final Set<Object> open = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        private long spent;

        Expansion(Path file) {
            this.file = file;
        }

        JsonNode toJson(Object v, String key, int depth) {
            spend(1, key);
            JsonNodeFactory f = JsonNodeFactory.instance;
            return switch (v) {
                case null -> f.nullNode();
                case String s -> {
                    spend(s.length(), key);
                    // no recipe value takes a NUL ("\0" in a quoted string), and Path.of throws on one
                    if (s.indexOf('\0') >= 0)
                        throw new CliException("--config " + file + ": key '" + key + "' holds a NUL character (\\0)");
                    yield f.textNode(s);
                }
                case Boolean b -> f.booleanNode(b);
                case Integer i -> f.numberNode(i);
                case Long l -> f.numberNode(l);
                case BigInteger b -> f.numberNode(b);
                case Double d -> f.numberNode(d);
                case Map<?, ?> m ->
                    container(m, key, depth, () -> {
                        ObjectNode o = f.objectNode();
                        for (Map.Entry<?, ?> e : m.entrySet())
                            o.set(keyText(e.getKey(), key), toJson(e.getValue(), key, depth + 1));
                        return o;
                    });
                case Collection<?> c ->
                    container(c, key, depth, () -> {
                        ArrayNode a = f.arrayNode();
                        for (Object x : c) a.add(toJson(x, key, depth + 1));
                        return a;
                    });
                case Object[] pair ->
                    container(
                            pair,
                            key,
                            depth,
                            () -> { // an entry of !!pairs
                                ArrayNode a = f.arrayNode();
                                for (Object x : pair) a.add(toJson(x, key, depth + 1));
                                return a;
                            });
                default -> throw new CliException("--config " + file + ": key '" + key + "' holds " + kind(v));
            };
        }

        /**
         * A nested mapping's key as text. A list or mapping as a key is an error, as in PyYAML ("found
         * unhashable key"): as JSON text each level of such keys escaped the one inside it again, so a
         * 1 KB recipe of nested keys took seconds (found by YamlRecipeFuzzTest as slow inputs).
         */
        private String keyText(Object k, String key) {
            if (k instanceof Map<?, ?> || k instanceof Collection<?> || k instanceof Object[])
                throw new CliException("--config " + file + ": key '" + key + "' holds a mapping whose key is "
                        + kind(k) + "; keys must be plain values");
            JsonNode n = toJson(k, key, 0);
            return n.asText();
        }

        private JsonNode container(Object c, String key, int depth, java.util.function.Supplier<JsonNode> build) {
            if (depth >= MAX_DEPTH)
                throw new CliException("--config " + file + ": key '" + key + "' nests values more than " + MAX_DEPTH
                        + " levels deep once aliases are expanded");
            if (!open.add(c))
                throw new CliException("--config " + file + ": key '" + key
                        + "' contains itself through an alias (a recursive structure has no value as text)");
            try {
                return build.get();
            } finally {
                open.remove(c);
            }
        }

        private void spend(long n, String key) {
            spent += n;
            if (spent > MAX_EXPANDED)
                throw new CliException("--config " + file + ": the recipe expands to more than " + MAX_EXPANDED
                        + " characters and values once its aliases are expanded (at key '" + key
                        + "'); align4j refuses it to bound memory");
        }
    }

    private static String kind(Object v) {
        return switch (v) {
            case null -> "null";
            case Map<?, ?> m -> "a mapping";
            case Collection<?> c -> "a list";
            case Object[] pair -> "a pair";
            case String s -> "a string";
            case Number n -> "a number";
            case Boolean b -> "a boolean";
            default -> "a " + v.getClass().getSimpleName();
        };
    }
}
