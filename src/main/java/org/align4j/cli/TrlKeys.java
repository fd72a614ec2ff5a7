// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Recipe keys a command does not implement, sorted the way a TRL user needs so that a TRL or alignment-handbook recipe
 * ports by copying it:
 *
 * <ul>
 *   <li>keys no TRL or transformers version defines are errors, all reported at once, each with a did-you-mean;
 *   <li>keys that would change the arithmetic if set away from TRL's default (another optimizer, Adam's betas, label
 *       smoothing of the LM loss, NEFTune, ...) are errors naming the key, the default and why;
 *   <li>every other TRL/transformers key (precision, devices, hub, data loading, logging backends, ...) is accepted
 *       and has no effect here; they are listed in one warning.
 * </ul>
 */
final class TrlKeys {
    /** TRL's and transformers' keys (resource trl-keys.txt, with its provenance). */
    static final Set<String> KNOWN = load();

    /** Keys accepted only at the value(s) that leave align4j's training as TRL's default run does. */
    private static final Map<String, List<String>> ONLY_DEFAULT = Map.ofEntries(
            Map.entry("optim", List.of("adamw_torch", "adamw_torch_fused", "adamw_hf", "adamw")),
            Map.entry("adam_beta1", List.of("0.9")),
            Map.entry("adam_beta2", List.of("0.999")),
            Map.entry("adam_epsilon", List.of("1e-8", "1.0e-8", "1e-08")),
            Map.entry("label_smoothing_factor", List.of("0", "0.0")),
            Map.entry("neftune_noise_alpha", List.of("null", "none", "None")),
            Map.entry("use_vllm", List.of("false", "False")),
            Map.entry("load_in_4bit", List.of("false", "False")),
            Map.entry("load_in_8bit", List.of("false", "False")),
            Map.entry("use_dora", List.of("false", "False")),
            Map.entry("use_rslora", List.of("false", "False")),
            Map.entry("lr_scheduler_kwargs", List.of("null", "{}")),
            Map.entry("load_best_model_at_end", List.of("false", "False")));

    private TrlKeys() {}

    /** Sorts {@code undeclared} (key -> {raw value, where}) as the class comment says; {@code declared} are the command's keys. */
    static void check(String command, Map<String, String[]> undeclared, Collection<String> declared) {
        List<String> unknown = new ArrayList<>(), wrong = new ArrayList<>(), ignored = new ArrayList<>();
        for (var e : undeclared.entrySet()) {
            String key = e.getKey(), raw = e.getValue()[0], where = e.getValue()[1];
            if (!KNOWN.contains(key)) {
                unknown.add("'" + key + "' (from " + where + ")" + didYouMean(key, declared));
            } else if (ONLY_DEFAULT.containsKey(key)
                    && raw != null
                    && !ONLY_DEFAULT.get(key).contains(raw.trim())) {
                wrong.add(key + " " + raw.trim() + " (from " + where + "): align4j trains with "
                        + ONLY_DEFAULT.get(key).getFirst() + " only; drop the key or set it to that");
            } else {
                ignored.add(key);
            }
        }
        if (!unknown.isEmpty() || !wrong.isEmpty()) {
            List<String> lines = new ArrayList<>();
            if (!unknown.isEmpty())
                lines.add(unknown.size() + " unknown key(s), in no TRL or transformers version: "
                        + String.join("; ", unknown));
            lines.addAll(wrong);
            throw new CliException(command + ": " + String.join("\n  ", lines) + "\n  (./align4j " + command
                    + " --help lists the keys it accepts)");
        }
        if (!ignored.isEmpty())
            System.err.println(command + ": warning: these TRL/transformers keys have no effect in align4j and are"
                    + " ignored: " + String.join(", ", ignored));
    }

    /** " (did you mean 'x'?)" for the closest key within a small edit distance, else "". */
    static String didYouMean(String key, Collection<String> declared) {
        Set<String> pool = new LinkedHashSet<>(declared);
        pool.addAll(KNOWN);
        String best = pool.stream()
                .min(Comparator.comparingInt((String k) -> distance(key, k))
                        .thenComparing(k -> declared.contains(k) ? 0 : 1))
                .orElse(null);
        if (best == null) return "";
        int d = distance(key, best);
        return d <= Math.max(2, key.length() / 4) ? " (did you mean '" + best + "'?)" : "";
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++)
                cur[j] = Math.min(
                        Math.min(cur[j - 1] + 1, prev[j] + 1),
                        prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static Set<String> load() {
        Set<String> keys = new LinkedHashSet<>();
        try (var in = TrlKeys.class.getResourceAsStream("trl-keys.txt")) {
            if (in == null) throw new IllegalStateException("bug: trl-keys.txt is missing from the jar");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; )
                if (!line.isBlank() && !line.startsWith("#")) keys.add(line.trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Set.copyOf(keys);
    }
}
