// SPDX-License-Identifier: Apache-2.0
package org.align4j.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.align4j.io.DType;
import org.align4j.io.SafetensorsWriter;
import org.align4j.io.TensorBlob;

/**
 * Writes the seed inputs of the fuzz targets into their committed Inputs folders: small valid
 * files in each target's input encoding (see each target's class comment), so the fuzzer starts
 * from the real formats. Run once from the repository root, after test-compile:
 *
 * <pre>java -cp target/test-classes:target/classes:$(cat cp.txt) org.align4j.fuzz.FuzzSeeds</pre>
 */
public final class FuzzSeeds {
    private static final Path ROOT = Path.of("src/test/resources/org/align4j/fuzz");

    private FuzzSeeds() {}

    public static void main(String[] args) throws IOException {
        safetensors(ROOT.resolve("SafetensorsFuzzTestInputs/openAndRead"));
        jsonRows(ROOT.resolve("JsonRowsFuzzTestInputs/readRows"));
        recipes(ROOT.resolve("YamlRecipeFuzzTestInputs/readRecipe"));
    }

    /** A file from the project's own writer, raw (mode 0) and with the harness-written length (mode 1). */
    private static void safetensors(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path tmp = Files.createTempDirectory("seeds");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        List<TensorBlob> tensors = List.of(
                TensorBlob.ofFloats("model.embed_tokens.weight", new float[] {1, -2, 3.5f, 0, 1e-3f, 7}, 2, 3),
                TensorBlob.of("bf16", DType.BF16, new long[] {2}, new byte[] {(byte) 0x80, 0x3f, 0, (byte) 0xc0}),
                TensorBlob.of("f16", DType.F16, new long[] {1, 1}, new byte[] {0, 0x3c}),
                TensorBlob.of("f64", DType.F64, new long[] {1}, new byte[] {0, 0, 0, 0, 0, 0, (byte) 0xf0, 0x3f}),
                TensorBlob.ofLongs("ids", new long[] {5, -1}, 2),
                TensorBlob.of("mask", DType.BOOL, new long[] {3}, new byte[] {1, 0, 1}),
                TensorBlob.of("empty", DType.U8, new long[] {0, 4}, new byte[0]));
        SafetensorsWriter.write(tmp.resolve("a.safetensors"), tensors, meta);
        SafetensorsWriter.write(tmp.resolve("b.safetensors"), tensors.subList(0, 1), Map.of());
        SafetensorsWriter.write(tmp.resolve("c.safetensors"), List.of(), Map.of());
        for (String name : new String[] {"a", "b", "c"}) {
            byte[] file = Files.readAllBytes(tmp.resolve(name + ".safetensors"));
            Files.write(dir.resolve("seed-" + name + "-raw"), concat(new byte[] {0}, file));
            long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] rest = Arrays.copyOfRange(file, 8, file.length);
            Files.write(
                    dir.resolve("seed-" + name + "-header"), concat(new byte[] {1, (byte) n, (byte) (n >> 8)}, rest));
        }
    }

    private static final String JSONL = """
            {"prompt": "1+1=", "completion": "2"}
            {"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "hello"}]}
            {"chosen": "Q: 3+4= A: 7", "rejected": "Q: 3+4= A: 8"}
            {"chosen": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "rejected": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "c"}]}

            {"prompt": "p", "completion": "c", "label": true}\r
            {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u\\u00e9\\ud83d\\ude00"}], "tools": "[]"}
            {"text": "plain text", "n": 1.5e3, "x": null, "l": [1, [2, {"a": false}]]}
            {"prompt": "only a prompt"}
            """;

    /** One seed per mode (see JsonRowsFuzzTest): jsonl, json, gzip by harness, raw gzip, and jsonl with bad lines kept. */
    private static void jsonRows(Path dir) throws IOException {
        Files.createDirectories(dir);
        byte[] jsonl = JSONL.getBytes(StandardCharsets.UTF_8);
        String array = "["
                + String.join(
                        ",", JSONL.strip().lines().filter(l -> !l.isBlank()).toList()) + "]";
        Files.write(dir.resolve("seed-jsonl"), concat(new byte[] {0}, jsonl));
        Files.write(dir.resolve("seed-json"), concat(new byte[] {1}, array.getBytes(StandardCharsets.UTF_8)));
        Files.write(dir.resolve("seed-gzip-by-harness"), concat(new byte[] {2}, jsonl));
        Files.write(dir.resolve("seed-gzip-raw"), concat(new byte[] {3}, gzip(jsonl)));
        byte[] bad = concat(jsonl, "{\"prompt\": \"caf".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xe9});
        bad = concat(bad, "\"}\n[1, 2]\n{\"prompt\": \n{\"a\": 1} {\"b\": 2}\n".getBytes(StandardCharsets.UTF_8));
        Files.write(dir.resolve("seed-jsonl-bad-lines-kept"), concat(new byte[] {4}, bad));
    }

    /** The shipped recipes, and the YAML features recipes may use: anchors, aliases, merge keys, flow lists, escapes. */
    private static void recipes(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (var files = Files.list(Path.of("recipes"))) {
            for (Path r :
                    files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList())
                Files.copy(
                        r, dir.resolve("seed-" + r.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Files.writeString(dir.resolve("seed-aliases.yaml"), """
                base: &base {learning_rate: 0.5, max_steps: 3}
                <<: *base
                seed: &s 7
                max_steps: *s
                use_peft: yes
                lora_target_modules: &m [q_proj, "v_proj"]
                reward_weights: [1.0, -0.5, .inf]
                lr_scheduler_type: "cos\\tine \\u00e9"
                model_name_or_path: 'models/x'
                output_dir: >
                  runs/y
                """);
        Files.writeString(dir.resolve("seed-documents.yaml"), "max_steps: 1\n---\nmax_steps: 2\n...\n");
    }

    private static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
