// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.align4j.io.Fixtures.assertMessage;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfJsonTest {
    @TempDir
    Path tmp;

    @Test
    void writeJsonUsesPythonsIndent2LayoutWithTrailingNewline() throws IOException {
        Map<String, Object> cfg = new TreeMap<>();
        cfg.put("architectures", List.of("Qwen3ForCausalLM"));
        cfg.put("hidden_size", 64);
        cfg.put("rope_scaling", null);
        cfg.put("tie_word_embeddings", true);
        cfg.put("empty_list", List.of());
        cfg.put("empty_map", Map.of());
        cfg.put("nested", new LinkedHashMap<>(Map.of("k", "v")));
        Path f = tmp.resolve("config.json");
        HfJson.writeJson(f, cfg, false);
        // what json.dumps(cfg, indent=2, sort_keys=True) + "\n" gives in Python
        assertEquals("""
                {
                  "architectures": [
                    "Qwen3ForCausalLM"
                  ],
                  "empty_list": [],
                  "empty_map": {},
                  "hidden_size": 64,
                  "nested": {
                    "k": "v"
                  },
                  "rope_scaling": null,
                  "tie_word_embeddings": true
                }
                """, Files.readString(f));
        JsonNode back = HfJson.readJson(f);
        assertEquals(64, back.get("hidden_size").asInt());
    }

    @Test
    void malformedJsonErrorNamesFileLineAndColumn() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\n  \"hidden_size\": 64,\n  \"vocab_size\": ,\n}\n");
        CheckpointException e = assertThrows(CheckpointException.class, () -> HfJson.readJson(f));
        assertMessage(e, f, "malformed JSON at line 3, column 17");
    }

    @Test
    void trailingGarbageEmptyAndMissingFilesAreErrorsNamingTheFile() throws IOException {
        Path f = tmp.resolve("a.json");
        Files.writeString(f, "{\"a\": 1}\n{\"b\": 2}\n");
        assertMessage(assertThrows(CheckpointException.class, () -> HfJson.readJson(f)), f, "malformed JSON at line 2");
        Files.writeString(f, "  \n");
        assertMessage(assertThrows(CheckpointException.class, () -> HfJson.readJson(f)), f, "empty file");
        Path missing = tmp.resolve("missing.json");
        assertMessage(assertThrows(CheckpointException.class, () -> HfJson.readJson(missing)), missing, "not found");
    }

    @Test
    void readsWhatPythonsJsonAccepts() throws IOException {
        Path f = tmp.resolve("g.json");
        Files.writeString(f, "{\"x\": NaN, \"y\": Infinity, \"z\": 1e-06}");
        JsonNode n = HfJson.readJson(f);
        assertTrue(Double.isNaN(n.get("x").asDouble()));
        assertEquals(Double.POSITIVE_INFINITY, n.get("y").asDouble());
        assertEquals(1e-6, n.get("z").asDouble());
    }
}
