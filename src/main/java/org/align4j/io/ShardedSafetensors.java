// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The weights of a Hugging Face model folder: {@code model.safetensors}, or
 * {@code model.safetensors.index.json} plus the shards its {@code weight_map} names (the
 * single file wins when both exist, as in transformers). Pickled {@code .bin}/{@code .pt} files
 * are never loaded.
 *
 * <p>{@link #open} checks that the index and the shards agree: every shard exists, every tensor
 * the index lists is in its shard, no tensor is in two shards, and no shard holds a tensor the
 * index does not list. Owns the opened files; {@link #close()} unmaps them all.
 */
public final class ShardedSafetensors implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> fileOf;
    private final Map<String, TensorInfo> tensors;

    private ShardedSafetensors(
            Path dir,
            List<SafetensorsFile> files,
            Map<String, SafetensorsFile> fileOf,
            Map<String, TensorInfo> tensors) {
        this.dir = dir;
        this.files = files;
        this.fileOf = fileOf;
        this.tensors = tensors;
    }

    /** Opens the weights in {@code modelDir}; see the class comment for what is checked. */
    public static ShardedSafetensors open(Path modelDir) throws IOException {
        if (!Files.isDirectory(modelDir)) throw new CheckpointException(modelDir, "not a directory");
        Path single = modelDir.resolve(SINGLE_FILE);
        Path index = modelDir.resolve(INDEX_FILE);
        if (Files.exists(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
            for (String name : f.tensors().keySet()) fileOf.put(name, f);
            return new ShardedSafetensors(modelDir, List.of(f), Collections.unmodifiableMap(fileOf), f.tensors());
        }
        if (Files.exists(index)) return openIndexed(modelDir, index);
        String hint = Files.exists(modelDir.resolve("pytorch_model.bin"))
                        || Files.exists(modelDir.resolve("pytorch_model.bin.index.json"))
                ? "; found pickled pytorch_model.bin weights, which align4j never loads (they can run code): convert them to safetensors"
                : "";
        throw new CheckpointException(modelDir, "no " + SINGLE_FILE + " or " + INDEX_FILE + " in this folder" + hint);
    }

    private static ShardedSafetensors openIndexed(Path dir, Path index) throws IOException {
        Map<String, String> weightMap = readWeightMap(dir, index);
        // shard file -> tensors the index puts there, shards in file-name order as transformers loads them
        Map<String, List<String>> byShard = new TreeMap<>();
        weightMap.forEach((tensor, shard) ->
                byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(tensor));

        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                Path shardPath = dir.resolve(e.getKey());
                List<String> listed = e.getValue();
                if (!Files.exists(shardPath))
                    throw new CheckpointException(
                            index,
                            listed.getFirst(),
                            "its shard " + shardPath + " is missing (the index puts " + listed.size()
                                    + " tensor(s) there)");
                if (!Files.isRegularFile(shardPath))
                    throw new CheckpointException(
                            index,
                            listed.getFirst(),
                            "its shard " + shardPath + " is "
                                    + (Files.isDirectory(shardPath) ? "a directory" : "not a regular file")
                                    + ", not a safetensors file (the index puts " + listed.size()
                                    + " tensor(s) there)");
                SafetensorsFile f = SafetensorsFile.open(shardPath);
                opened.add(f);
                for (TensorInfo t : f.tensors().values()) {
                    SafetensorsFile other = fileOf.get(t.name());
                    if (other != null)
                        throw new CheckpointException(
                                index, t.name(), "appears in two shards: " + other.path() + " and " + shardPath);
                    fileOf.put(t.name(), f);
                    tensors.put(t.name(), t);
                }
                for (String name : listed) {
                    if (!f.tensors().containsKey(name))
                        throw new CheckpointException(
                                index, name, "the index puts it in shard " + shardPath + ", which does not contain it");
                }
            }
            for (Map.Entry<String, SafetensorsFile> e : fileOf.entrySet()) {
                if (!weightMap.containsKey(e.getKey()))
                    throw new CheckpointException(
                            index,
                            e.getKey(),
                            "shard " + e.getValue().path()
                                    + " holds this tensor but the index's weight_map does not list it");
            }
            return new ShardedSafetensors(
                    dir,
                    List.copyOf(opened),
                    Collections.unmodifiableMap(fileOf),
                    Collections.unmodifiableMap(tensors));
        } catch (IOException | RuntimeException | Error e) {
            for (SafetensorsFile f : opened) f.close();
            throw e;
        }
    }

    private static Map<String, String> readWeightMap(Path dir, Path index) throws IOException {
        JsonNode root = HfJson.readJson(index);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject())
            throw new CheckpointException(index, "missing the 'weight_map' object (tensor name -> shard file)");
        Map<String, String> out = new LinkedHashMap<>();
        Path base = dir.toAbsolutePath().normalize();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual())
                throw new CheckpointException(
                        index, e.getKey(), "weight_map value must be a shard file name, found " + e.getValue());
            String shard = e.getValue().textValue();
            Path p = base.resolve(shard).normalize();
            if (shard.isEmpty() || !base.equals(p.getParent()))
                throw new CheckpointException(
                        index, e.getKey(), "shard '" + shard + "' is not a file name inside " + dir);
            out.put(e.getKey(), shard);
        }
        return out;
    }

    /** The model folder. */
    public Path dir() {
        return dir;
    }

    /** Every tensor: shards in file-name order, each in header order. Unmodifiable. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The open file holding {@code tensor}; throws {@link IllegalArgumentException} if there is none. */
    public SafetensorsFile fileOf(String tensor) {
        SafetensorsFile f = fileOf.get(tensor);
        if (f == null) throw new IllegalArgumentException(dir + ": no tensor '" + tensor + "' in the model weights");
        return f;
    }

    /** See {@link SafetensorsFile#data}. */
    public MemorySegment data(String tensor) {
        return fileOf(tensor).data(tensor);
    }

    /** See {@link SafetensorsFile#toFloats}. */
    public float[] toFloats(String tensor) {
        return fileOf(tensor).toFloats(tensor);
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }

    /** {@link #writeSharded(Path, List, long, Map, boolean)} refusing to replace existing weights. */
    public static void writeSharded(
            Path dir, List<TensorBlob> tensors, long maxShardBytes, Map<String, String> metadata) throws IOException {
        writeSharded(dir, tensors, maxShardBytes, metadata, false);
    }

    /**
     * Writes the weights of a model folder as transformers' {@code save_pretrained} does (through
     * huggingface_hub's {@code split_state_dict_into_shards_factory}): tensors are taken in list
     * order and a new shard starts when the next tensor would push the current one past
     * {@code maxShardBytes} (tensor bytes only); a tensor larger than the limit gets a shard of
     * its own. One shard is written as {@code model.safetensors}; more as
     * {@code model-00001-of-0000N.safetensors} plus {@code model.safetensors.index.json}
     * ({@code {"metadata": {"total_size": bytes}, "weight_map": {tensor: file}}}, keys sorted),
     * the index last. Each file is written atomically; with {@code overwrite} the weight files of
     * an earlier save that this one does not replace are deleted afterwards (as transformers does),
     * so the folder never mixes two saves once this returns.
     *
     * @param metadata the {@code __metadata__} of every shard, e.g. {@code {"format": "pt"}}
     * @param overwrite when false, any existing weight file in {@code dir} is an error
     */
    public static void writeSharded(
            Path dir, List<TensorBlob> tensors, long maxShardBytes, Map<String, String> metadata, boolean overwrite)
            throws IOException {
        if (maxShardBytes <= 0)
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        SafetensorsWriter.officialOrder(tensors); // rejects duplicate names before anything is written
        Files.createDirectories(dir);
        List<Path> previous = existingWeightFiles(dir);
        if (!overwrite && !previous.isEmpty())
            throw new FileAlreadyExistsException(
                    previous.getFirst().toString(),
                    null,
                    "already exists; refusing to replace model weights (pass overwrite=true to replace them)");

        List<List<TensorBlob>> shards = split(tensors, maxShardBytes);
        List<Path> written = new ArrayList<>();
        if (shards.size() <= 1) {
            Path f = dir.resolve(SINGLE_FILE);
            SafetensorsWriter.write(f, shards.isEmpty() ? List.of() : shards.getFirst(), metadata, overwrite);
            written.add(f);
        } else {
            Map<String, String> weightMap = new TreeMap<>();
            long totalSize = 0;
            int n = shards.size();
            for (int i = 0; i < n; i++) {
                String name = "model-%05d-of-%05d.safetensors".formatted(i + 1, n);
                Path f = dir.resolve(name);
                SafetensorsWriter.write(f, shards.get(i), metadata, overwrite);
                written.add(f);
                for (TensorBlob t : shards.get(i)) {
                    weightMap.put(t.name(), name);
                    totalSize += t.data().byteSize();
                }
            }
            Map<String, Object> indexJson = new LinkedHashMap<>();
            indexJson.put("metadata", Map.of("total_size", totalSize));
            indexJson.put("weight_map", weightMap);
            Path idx = dir.resolve(INDEX_FILE);
            HfJson.writeJson(idx, indexJson, overwrite);
            written.add(idx);
        }
        for (Path p : previous) {
            if (!written.contains(p)) Files.deleteIfExists(p);
        }
    }

    /** huggingface_hub's greedy split, in list order; an oversized tensor is emitted as its own shard at once. */
    static List<List<TensorBlob>> split(List<TensorBlob> tensors, long maxShardBytes) {
        List<List<TensorBlob>> shards = new ArrayList<>();
        List<TensorBlob> current = new ArrayList<>();
        long currentBytes = 0;
        for (TensorBlob t : tensors) {
            long size = t.data().byteSize();
            if (size > maxShardBytes) {
                shards.add(List.of(t));
                continue;
            }
            if (currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += size;
        }
        if (!current.isEmpty()) shards.add(current);
        return shards;
    }

    /** model.safetensors, the index and model-0000i-of-0000n.safetensors files present in {@code dir}. */
    private static List<Path> existingWeightFiles(Path dir) throws IOException {
        TreeSet<Path> found = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.equals(SINGLE_FILE)
                        || n.equals(INDEX_FILE)
                        || SHARD_NAME.matcher(n).matches()) found.add(p);
            }
        }
        return new ArrayList<>(found);
    }
}
