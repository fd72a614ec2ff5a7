// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * What a demo result needs to be read later: when, which align4j (the git commit of the checkout the jar was built
 * in when there is one, else the jar's version), on which CPU and Java. Every probe is best effort: a missing git or
 * /proc leaves its field null and never fails the run.
 */
public final class RunMetadata {
    private RunMetadata() {}

    /** The fields results.json carries: date, align4j_version, git_commit, cpu, java. */
    public static Map<String, Object> collect(ZonedDateTime started) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("date", started.truncatedTo(ChronoUnit.SECONDS).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        m.put("align4j_version", version());
        m.put("git_commit", gitCommit());
        m.put("cpu", cpu());
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        return m;
    }

    /** The Maven version the jar was packaged with (pom.properties), or null when run from classes. */
    static String version() {
        String v = RunMetadata.class.getPackage().getImplementationVersion();
        if (v != null) return v;
        try (InputStream in =
                RunMetadata.class.getResourceAsStream("/META-INF/maven/org.align4j/align4j/pom.properties")) {
            if (in == null) return null;
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The commit of the checkout these classes were built in (target/classes or target/align4j.jar sit two levels
     * below it), with "+changes" when tracked files differ from it; null outside a git checkout.
     */
    static String gitCommit() {
        try {
            Path code = Path.of(RunMetadata.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            Path checkout = code.getParent() == null ? null : code.getParent().getParent();
            if (checkout == null) return null;
            String head = git(checkout, "rev-parse", "--short=12", "HEAD");
            if (head == null || head.isBlank()) return null;
            String changes = git(checkout, "status", "--porcelain", "--untracked-files=no");
            return head.strip() + (changes != null && !changes.isBlank() ? "+changes" : "");
        } catch (Exception e) {
            return null;
        }
    }

    private static String git(Path dir, String... args) throws IOException, InterruptedException {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "git";
        cmd[1] = "-C";
        cmd[2] = dir.toString();
        System.arraycopy(args, 0, cmd, 3, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return null;
        }
        return p.exitValue() == 0 ? out : null;
    }

    /** "AMD EPYC 7B13, 2 cores" from /proc/cpuinfo's first model name and the cores this JVM may use. */
    static String cpu() {
        int cores = Runtime.getRuntime().availableProcessors();
        String model = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8))
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).strip();
                    break;
                }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc hidden: the architecture is all there is
        }
        if (model == null) model = System.getProperty("os.arch");
        return model + ", " + cores + (cores == 1 ? " core" : " cores");
    }
}
