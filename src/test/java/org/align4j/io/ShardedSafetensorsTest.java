// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.align4j.io.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedSafetensorsTest {
    @TempDir
    Path tmp;

    private static final Map<String, String> PT = Map.of("format", "pt");

    /** Five F32 tensors of 16, 16, 40, 8 and 8 bytes. */
    private static List<TensorBlob> model() {
        return List.of(
                TensorBlob.ofFloats("model.embed_tokens.weight", new float[] {1, 2, 3, 4}, 2, 2),
                TensorBlob.ofFloats("model.layers.0.mlp.up_proj.weight", new float[] {5, 6, 7, 8}, 4),
                TensorBlob.ofFloats("model.layers.0.big.weight", new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 2, 5),
                TensorBlob.ofFloats("model.norm.weight", new float[] {-1, -2}, 2),
                TensorBlob.ofFloats("lm_head.weight", new float[] {9, 10}, 1, 2));
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writeShardedSplitsLikeHuggingfaceHubAndReadsBack() throws IOException {
        Path dir = tmp.resolve("out");
        // limit 32: [16+16] then the 40-byte tensor alone (emitted at once, before the open shard), then [8+8]
        ShardedSafetensors.writeSharded(dir, model(), 32, PT);
        assertEquals(
                List.of(
                        "model-00001-of-00003.safetensors",
                        "model-00002-of-00003.safetensors",
                        "model-00003-of-00003.safetensors",
                        "model.safetensors.index.json"),
                names(dir));
        String index = Files.readString(dir.resolve("model.safetensors.index.json"));
        assertEquals("""
                {
                  "metadata": {
                    "total_size": 88
                  },
                  "weight_map": {
                    "lm_head.weight": "model-00003-of-00003.safetensors",
                    "model.embed_tokens.weight": "model-00002-of-00003.safetensors",
                    "model.layers.0.big.weight": "model-00001-of-00003.safetensors",
                    "model.layers.0.mlp.up_proj.weight": "model-00002-of-00003.safetensors",
                    "model.norm.weight": "model-00003-of-00003.safetensors"
                  }
                }
                """, index);

        try (ShardedSafetensors st = ShardedSafetensors.open(dir)) {
            assertEquals(5, st.tensors().size());
            for (TensorBlob b : model()) {
                assertArrayEquals(b.shape(), st.tensors().get(b.name()).shape());
                float[] expected = new float[(int) b.numel()];
                for (int i = 0; i < expected.length; i++)
                    expected[i] = b.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                assertArrayEquals(expected, st.toFloats(b.name()), b.name());
            }
            assertEquals(
                    dir.resolve("model-00001-of-00003.safetensors"),
                    st.fileOf("model.layers.0.big.weight").path());
            assertEquals(PT, st.fileOf("lm_head.weight").metadata());
            assertThrows(IllegalArgumentException.class, () -> st.data("nope"));
        }
    }

    @Test
    void writeShardedWritesOneModelSafetensorsWhenItFits() throws IOException {
        Path dir = tmp.resolve("out");
        ShardedSafetensors.writeSharded(dir, model(), 1_000, PT);
        assertEquals(List.of("model.safetensors"), names(dir));
        try (ShardedSafetensors st = ShardedSafetensors.open(dir)) {
            assertEquals(5, st.tensors().size());
            assertArrayEquals(new float[] {9, 10}, st.toFloats("lm_head.weight"));
        }
    }

    @Test
    void writeShardedRefusesExistingWeightsWithoutOverwriteAndReplacesStaleShardsWithIt() throws IOException {
        Path dir = tmp.resolve("out");
        ShardedSafetensors.writeSharded(dir, model(), 32, PT);
        FileAlreadyExistsException e = assertThrows(
                FileAlreadyExistsException.class, () -> ShardedSafetensors.writeSharded(dir, model(), 1_000, PT));
        assertTrue(e.getMessage().contains("overwrite=true"), e.getMessage());
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());

        ShardedSafetensors.writeSharded(dir, model(), 1_000, PT, true);
        assertEquals(List.of("model.safetensors"), names(dir), "stale shards and index removed");
        ShardedSafetensors.writeSharded(dir, model(), 32, PT, true);
        assertFalse(Files.exists(dir.resolve("model.safetensors")), "a stale single file would shadow the new shards");
        try (ShardedSafetensors st = ShardedSafetensors.open(dir)) {
            assertEquals(5, st.tensors().size());
        }
    }

    // ---- bad folders ---------------------------------------------------------------------------

    private static final String A = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    private static final String B = "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    private static final String AB = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";

    private Path folder(String weightMapJson, String... shardNameAndHeader) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(
                dir.resolve("model.safetensors.index.json"),
                "{\"metadata\": {\"total_size\": 8}, \"weight_map\": " + weightMapJson + "}\n");
        for (int i = 0; i < shardNameAndHeader.length; i += 2) {
            String header = shardNameAndHeader[i + 1];
            int bytes = header.equals(AB) ? 8 : 4;
            write(dir.resolve(shardNameAndHeader[i]), paddedFile(header, new byte[bytes]));
        }
        return dir;
    }

    private static CheckpointException assertFolderRejected(Path dir, Path named, String tensor, String... fragments) {
        CheckpointException e = assertThrows(
                CheckpointException.class, () -> ShardedSafetensors.open(dir).close());
        assertMessage(e, named, fragments);
        if (tensor != null) assertTrue(e.getMessage().contains("tensor '" + tensor + "'"), e.getMessage());
        return e;
    }

    @Test
    void indexedFolderWithConsistentShardsOpens() throws IOException {
        Path dir = folder(
                "{\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}", "s1.safetensors", A, "s2.safetensors", B);
        try (ShardedSafetensors st = ShardedSafetensors.open(dir)) {
            assertEquals(List.of("a", "b"), new ArrayList<>(st.tensors().keySet()));
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Path dir = folder("{\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}", "s1.safetensors", A);
        assertFolderRejected(
                dir,
                dir.resolve("model.safetensors.index.json"),
                "b",
                "shard " + dir.resolve("s2.safetensors") + " is missing");
    }

    @Test
    void tensorListedInIndexButAbsentFromItsShard() throws IOException {
        Path dir = folder("{\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}", "s1.safetensors", A);
        assertFolderRejected(
                dir,
                dir.resolve("model.safetensors.index.json"),
                "b",
                "puts it in shard " + dir.resolve("s1.safetensors") + ", which does not contain it");
    }

    @Test
    void tensorInTwoShards() throws IOException {
        Path dir = folder(
                "{\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}", "s1.safetensors", A, "s2.safetensors", AB);
        assertFolderRejected(
                dir,
                dir.resolve("model.safetensors.index.json"),
                "a",
                "appears in two shards",
                dir.resolve("s1.safetensors").toString(),
                dir.resolve("s2.safetensors").toString());
    }

    @Test
    void shardHoldingATensorTheIndexDoesNotList() throws IOException {
        Path dir = folder("{\"a\": \"s1.safetensors\"}", "s1.safetensors", AB);
        assertFolderRejected(dir, dir.resolve("model.safetensors.index.json"), "b", "weight_map does not list it");
    }

    @Test
    void shardPathEscapingTheFolder() throws IOException {
        Path dir = folder("{\"a\": \"../s1.safetensors\"}");
        assertFolderRejected(dir, dir.resolve("model.safetensors.index.json"), "a", "is not a file name inside");
    }

    @Test
    void indexWithoutWeightMap() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\": {}}");
        assertFolderRejected(dir, dir.resolve("model.safetensors.index.json"), null, "missing the 'weight_map' object");
    }

    @Test
    void malformedIndexJsonNamesLineAndColumn() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(
                dir.resolve("model.safetensors.index.json"), "{\n  \"weight_map\": {\n    \"a\": \"s1\",,\n  }\n}\n");
        assertFolderRejected(
                dir, dir.resolve("model.safetensors.index.json"), null, "malformed JSON at line 3, column");
    }

    @Test
    void badShardIsNamedWithItsOwnPath() throws IOException {
        Path dir = folder("{\"a\": \"s1.safetensors\"}");
        write(dir.resolve("s1.safetensors"), new byte[] {1, 2});
        assertFolderRejected(dir, dir.resolve("s1.safetensors"), null, "shorter than the 8-byte header length");
    }

    @Test
    void aShardThatIsADirectoryIsNamedWithTheIndex() throws IOException {
        Path dir = folder("{\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}", "s1.safetensors", A);
        Files.createDirectories(dir.resolve("s2.safetensors"));
        assertFolderRejected(
                dir,
                dir.resolve("model.safetensors.index.json"),
                "b",
                "its shard " + dir.resolve("s2.safetensors") + " is a directory, not a safetensors file");
        // the single-file layout: model.safetensors itself a directory (was "No such device")
        Path single = Files.createDirectories(tmp.resolve("single/model.safetensors"));
        assertFolderRejected(single.getParent(), single, null, "is a directory, not a safetensors file");
    }

    @Test
    void folderWithoutSafetensorsSaysSoAndRefusesPickles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {1});
        assertFolderRejected(dir, dir, null, "no model.safetensors or model.safetensors.index.json", "pickled");
    }
}
