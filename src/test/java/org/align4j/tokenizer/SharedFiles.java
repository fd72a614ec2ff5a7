package org.align4j.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Locates the real files under shared/ and the golden files; a missing file fails the test. */
final class SharedFiles {

    private SharedFiles() {}

    static final ObjectMapper JSON = new ObjectMapper();

    static Path shared() {
        String p = System.getProperty("align4j.shared");
        if (p == null) {
            fail(
                    "system property align4j.shared is not set (the surefire configuration sets it to the shared/ folder)");
        }
        return Path.of(p);
    }

    /** The real Qwen3 tokenizer directory; fails naming any missing file. */
    static Path qwen3Dir() {
        Path dir = shared().resolve("models/qwen3-tokenizer");
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Path file = dir.resolve(f);
            if (!Files.isRegularFile(file)) {
                fail("missing real tokenizer file " + file.toAbsolutePath());
            }
        }
        return dir;
    }

    /** A golden JSON file from src/test/resources/tokenizer/. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> golden(String name) {
        String resource = "/tokenizer/" + name;
        try (InputStream in = SharedFiles.class.getResourceAsStream(resource)) {
            if (in == null) {
                fail("missing test resource src/test/resources" + resource
                        + " (regenerate with /usr/bin/python3 tools/chat_template/render_goldens.py)");
            }
            return JSON.readValue(in, LinkedHashMap.class);
        } catch (IOException e) {
            throw new AssertionError("cannot read test resource " + resource, e);
        }
    }
}
