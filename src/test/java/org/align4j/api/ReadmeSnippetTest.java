// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java example compiles and runs as written, in a fresh JVM whose
 * environment has no OMP_WAIT_POLICY and that never calls NativeEnv: libgomp, which reads OMP_WAIT_POLICY once when it
 * loads, must still see PASSIVE. It says what it saw with OMP_DISPLAY_ENV=VERBOSE: GOMP_SPINCOUNT is 0 under PASSIVE
 * (300000 by default), printed as libgomp initialises.
 */
class ReadmeSnippetTest {
    /** Where the example lives. */
    private static final List<Path> SOURCES = List.of(Path.of("README.md"));

    private static final Path MODEL = Golden.resourceDir("golden/qwen3-tiny");

    /** The first ```java block with a public class using org.align4j.api, from the first file that has one. */
    static String javaExample() throws Exception {
        Pattern block = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
        for (Path f : SOURCES) {
            if (!Files.isRegularFile(f)) continue;
            Matcher m = block.matcher(Files.readString(f));
            while (m.find())
                if (m.group(1).contains("import org.align4j.api.") && m.group(1).contains("public class"))
                    return m.group(1);
        }
        throw new AssertionError("no ```java example using org.align4j.api in " + SOURCES);
    }

    /** Compiles {@code source} (one public class) against the test classpath into {@code dir}; returns its name. */
    static String compile(String source, Path dir) throws Exception {
        Matcher name = Pattern.compile("public class (\\w+)").matcher(source);
        assertTrue(name.find(), "the example declares a public class");
        Path file = dir.resolve(name.group(1) + ".java");
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(
                null,
                null,
                err,
                "-Xlint:all,-path", // -path: the bytedeco jars name a javacpp.jar beside them in their manifests
                "-Werror",
                "-classpath",
                System.getProperty("java.class.path"),
                "-d",
                dir.toString(),
                file.toString());
        assertEquals(0, rc, "the README example does not compile:\n" + err.toString(StandardCharsets.UTF_8));
        return name.group(1);
    }

    /** Runs {@code mainClass} in a fresh JVM without OMP_WAIT_POLICY, libgomp telling its settings; returns output. */
    static String runFresh(Path classes, String mainClass, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx1g",
                "-cp",
                classes + java.io.File.pathSeparator + System.getProperty("java.class.path"),
                mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("OMP_WAIT_POLICY");
        pb.environment().put("OMP_DISPLAY_ENV", "VERBOSE");
        Path log = classes.resolve("output.log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(mainClass + " ran past 300 s:\n" + Files.readString(log));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), mainClass + " failed:\n" + out);
        return out;
    }

    @Test
    void theReadmeExampleCompilesRunsAndSavesACompleteFolderWithNoSetUpCall(@TempDir Path tmp) throws Exception {
        String source = javaExample();
        long lines = source.lines().count();
        assertTrue(lines <= 16, "the README promises a short example; it has " + lines + " lines");
        assertFalse(source.contains("NativeEnv"), "no set-up call");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        String main = compile(source, classes);
        Path data = tmp.resolve("pairs.jsonl"), out = tmp.resolve("out");
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 4; i++)
            rows.append("{\"prompt\": \"")
                    .append(i)
                    .append("+1=\", \"chosen\": \" ")
                    .append(i + 1)
                    .append("\", \"rejected\": \" ")
                    .append(i + 2)
                    .append("\"}\n");
        Files.writeString(data, rows);

        String output = runFresh(classes, main, List.of(MODEL.toString(), data.toString(), out.toString()));
        assertTrue(output.contains("GOMP_SPINCOUNT = '0'"), "libgomp started with OMP_WAIT_POLICY=PASSIVE:\n" + output);
        assertTrue(output.contains("{step=1, epoch="), "the listener printed the logged rows:\n" + output);
        assertTrue(output.contains("trained 2 steps into " + out), output);
        try (Transformer m = Checkpoints.load(out);
                Tokenizer t = Tokenizer.load(out)) {
            assertEquals(320, m.config().vocabSize());
            assertTrue(t.encode("1+1= 2").length > 0);
        }
    }

    /** A program that loads libtorch before any align4j class, then uses align4j. */
    public static final class TorchFirst {
        public static void main(String[] args) throws Exception {
            org.bytedeco.pytorch.global.torch.ones(2, 2).close();
            org.align4j.engine.Tensors.floats(new float[] {1f}, 1).close();
        }
    }

    @Test
    void theCheckCatchesLibtorchLoadedBeforeAlign4jAndAlign4jSaysSo(@TempDir Path tmp) throws Exception {
        String output = runFresh(tmp, TorchFirst.class.getName(), List.of());
        assertFalse(output.contains("GOMP_SPINCOUNT = '0'"), "libgomp read no PASSIVE:\n" + output);
        assertTrue(output.contains("GOMP_SPINCOUNT = '"), "libgomp displayed its settings:\n" + output);
        assertTrue(
                output.contains("libtorch was loaded before align4j could set OMP_WAIT_POLICY=PASSIVE"),
                "align4j warns when it comes too late:\n" + output);
    }
}
