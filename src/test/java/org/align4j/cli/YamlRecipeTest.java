// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recipes read as PyYAML's safe_load reads them (review-reliability.md 1.4, defect 6), and hostile ones refused. */
class YamlRecipeTest {
    @TempDir
    Path tmp;

    private static final List<Spec> SPECS = List.of(
            of("model_name_or_path", Type.PATH, null, "model"),
            of("lr_scheduler_type", Type.STRING, "linear", "schedule"),
            of("max_steps", Type.INT, -1, "steps"),
            of("logging_steps", Type.INT, 10, "steps"),
            of("learning_rate", Type.DOUBLE, 1e-5, "lr"),
            of("packing", Type.BOOLEAN, false, "flag"),
            of("base", Type.STRING, null, "a mapping, kept as JSON text"),
            of("lora_target_modules", Type.STRING, null, "a list"));

    private Options parse(String yaml) throws Exception {
        Path f = Files.writeString(tmp.resolve("recipe.yaml"), yaml);
        return Options.parse("test", SPECS, new String[] {"--config", f.toString()});
    }

    private CliException refused(String yaml) throws Exception {
        Path f = Files.writeString(tmp.resolve("recipe.yaml"), yaml);
        CliException e = assertThrows(
                CliException.class, () -> Options.parse("test", SPECS, new String[] {"--config", f.toString()}));
        assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
        return e;
    }

    @Test
    void aliasesResolveToTheAnchorsValue() throws Exception {
        Options o = parse("""
                max_steps: &one 1
                logging_steps: *one
                lr_scheduler_type: &s cosine
                model_name_or_path: *s
                lora_target_modules: &mods [q_proj, v_proj]
                """);
        assertEquals(1, o.integer("logging_steps"), "not the anchor's name 'one'");
        assertEquals(Path.of("cosine"), o.path("model_name_or_path"));
        assertEquals(List.of("q_proj", "v_proj"), o.strings("lora_target_modules"));
    }

    @Test
    void mergeKeysApplyAndExplicitKeysWin() throws Exception {
        Options o = parse("""
                base: &base {max_steps: 3, learning_rate: 0.5}
                <<: *base
                learning_rate: 0.25
                """);
        assertEquals(3, o.integer("max_steps"));
        assertEquals(0.25, o.number("learning_rate"), "a key of the mapping itself overrides the merged one");
        assertEquals("{\"max_steps\":3,\"learning_rate\":0.5}", o.string("base"));
    }

    @Test
    void yaml11ScalarsAndDuplicateKeysAsInPyYaml() throws Exception {
        Options o = parse("""
                packing: yes
                max_steps: 010
                max_steps: 0x10
                learning_rate: 1.0e-3
                lr_scheduler_type: 2024-01-02
                """);
        assertTrue(o.flag("packing"));
        assertEquals(16, o.integer("max_steps"), "the last duplicate wins");
        assertEquals(1e-3, o.number("learning_rate"));
        assertEquals("2024-01-02", o.string("lr_scheduler_type"), "a date stays the text written");
        assertEquals(8, parse("max_steps: 010\n").integer("max_steps"), "YAML 1.1 octal");
    }

    @Test
    void scalarsThatLookLikeNumbersButAreNoneStayText() throws Exception {
        // SnakeYAML's YAML 1.1 patterns take these for numbers; PyYAML reads them as strings (found by fuzzing)
        Options o = parse("lr_scheduler_type: ._\nmodel_name_or_path: 0x_\n");
        assertEquals("._", o.string("lr_scheduler_type"));
        assertEquals(Path.of("0x_"), o.path("model_name_or_path"));
        CliException e = refused("max_steps: ._\n");
        assertTrue(e.getMessage().contains("--max_steps expects int, got '._'"), e.getMessage());
    }

    @Test
    void aTagSnakeYamlCannotRepresentIsNamed() throws Exception {
        // a %-escape decoding to a trailing space made SnakeYAML throw IllegalArgumentException (found by fuzzing)
        CliException e = refused("max_steps: !%20 1\n");
        assertTrue(
                e.getMessage().contains("is not a valid recipe")
                        && e.getMessage().contains("Tag"),
                e.getMessage());
    }

    @Test
    void aNulCharacterIsRefused() throws Exception {
        // "\0" in a quoted path made Path.of throw InvalidPathException (fuzz regression input
        // regression-nul-in-path.yaml)
        CliException e = refused("model_name_or_path: \"models/a\\0b\"\n");
        assertTrue(e.getMessage().contains("key 'model_name_or_path' holds a NUL character"), e.getMessage());
        e = refused("lora_target_modules: [q_proj, \"v\\0\"]\n");
        assertTrue(e.getMessage().contains("key 'lora_target_modules' holds a NUL character"), e.getMessage());
    }

    @Test
    void aListOrMappingAsAKeyIsRefusedAsInPyYaml() throws Exception {
        // nested complex keys were escaped again at each level when made JSON text: seconds for 1 KB (found by fuzzing)
        String key = "a";
        for (int i = 0; i < 40; i++) key = "{" + key + ": 1}";
        String deep = "base: " + key + "\n";
        CliException e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused(deep));
        assertTrue(e.getMessage().contains("key 'base' holds a mapping whose key is a mapping"), e.getMessage());
        e = refused("base: {? [a, b] : c}\n");
        assertTrue(e.getMessage().contains("whose key is a list; keys must be plain values"), e.getMessage());
        assertEquals(
                "{\"1\":\"x\",\"true\":\"y\",\"null\":\"z\"}",
                parse("base: {1: x, yes: y, ~: z}\n").string("base"));
    }

    @Test
    void aSecondDocumentIsAnError() throws Exception {
        CliException e = refused("max_steps: 1\n---\nmax_steps: 2\n");
        assertTrue(e.getMessage().contains("expected a single document"), e.getMessage());
    }

    @Test
    void aNullValueIsAnErrorNamingTheKey() throws Exception {
        for (String v : new String[] {"~", "null", ""}) {
            CliException e = refused("max_steps: 1\nmodel_name_or_path: " + v + "\n");
            assertTrue(e.getMessage().contains("key 'model_name_or_path' has no value"), e.getMessage());
        }
        assertEquals(1, parse("").given("max_steps") ? 0 : 1, "an empty recipe sets nothing");
    }

    /** Counts constructions: a tag naming this class must never create one. */
    public static final class Canary {
        static final AtomicInteger CREATED = new AtomicInteger();

        public Canary() {
            CREATED.incrementAndGet();
        }
    }

    @Test
    void tagsNeverInstantiateClasses() throws Exception {
        for (String yaml : new String[] {
            "model_name_or_path: !!org.align4j.cli.YamlRecipeTest$Canary {}\n",
            "!!org.align4j.cli.YamlRecipeTest$Canary {}\n",
            "model_name_or_path: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader"
                    + " [[!!java.net.URL [\"http://127.0.0.1:9/x.jar\"]]]]\n",
            "model_name_or_path: !foo bar\n"
        }) {
            CliException e = refused(yaml);
            assertTrue(
                    e.getMessage().contains("Global tag is not allowed") // SnakeYAML's TagInspector, before
                            // construction
                            || e.getMessage().contains("could not determine a constructor for the tag !foo"),
                    e.getMessage());
        }
        assertEquals(0, Canary.CREATED.get());
    }

    @Test
    void aliasBombsAndCyclesAreRefusedQuickly() throws Exception {
        StringBuilder laughs = new StringBuilder("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'i'; c++) {
            String prev = String.valueOf((char) (c - 1));
            laughs.append(c).append(": &").append(c).append(" [");
            for (int i = 0; i < 9; i++)
                laughs.append(i == 0 ? "" : ", ").append('*').append(prev);
            laughs.append("]\n");
        }
        CliException e = refused(laughs.toString());
        assertTrue(e.getMessage().contains("Number of aliases for non-scalar nodes exceeds"), e.getMessage());

        // scalar aliases are not counted by SnakeYAML, but they multiply once the list becomes text
        String big = "x".repeat(100_000);
        e = refused("lr_scheduler_type: &x " + big + "\nbase: [" + "*x, ".repeat(100) + "*x]\n");
        assertTrue(e.getMessage().contains("expands to more than"), e.getMessage());

        e = refused("base: &a [1, *a]\n");
        assertTrue(e.getMessage().contains("contains itself through an alias"), e.getMessage());
    }

    @Test
    void aRecipeThatIsNotAMappingOrNotYamlIsNamed() throws Exception {
        assertTrue(refused("- a\n- b\n").getMessage().contains("must be a mapping of key: value, found a list"));
        assertTrue(refused("max_steps: [1\n").getMessage().contains("is not a valid recipe"));
        Files.write(tmp.resolve("latin1.yaml"), new byte[] {'a', ':', ' ', (byte) 0xE9, '\n'});
        CliException e = assertThrows(
                CliException.class,
                () -> Options.parse("test", SPECS, new String[] {
                    "--config", tmp.resolve("latin1.yaml").toString()
                }));
        assertTrue(e.getMessage().contains("latin1.yaml is not a valid recipe"), e.getMessage());
    }
}
