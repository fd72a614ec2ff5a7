// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.data.JsonRows.Row;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;

/** Rows written to a real .jsonl (so errors carry a file and line) and helpers to read masks back as text. */
final class DataFixtures {
    private DataFixtures() {}

    /** The tiny golden model's tokenizer: byte-level BPE with a ChatML template, eos {@code <|im_end|>}. */
    static Tokenizer tinyTokenizer() {
        return Tokenizer.load(Golden.resourceDir("golden/llama-tiny"));
    }

    static Tokenizer qwen3Tokenizer() {
        return Tokenizer.load(Golden.shared("models/qwen3-tokenizer"));
    }

    /** One JSON object per line, written to {@code dir/rows.jsonl} and read back. */
    static List<Row> rows(Path dir, String... jsonLines) throws IOException {
        Path f = dir.resolve("rows.jsonl");
        Files.writeString(f, String.join("\n", jsonLines) + "\n");
        return JsonRows.read(f);
    }

    /** One row; a JSON object written over several lines (a text block) is joined onto one. */
    static Row row(Path dir, String json) throws IOException {
        return rows(dir, json.replace('\n', ' ')).get(0);
    }

    /** The text of each maximal run of target tokens, decoded with special tokens kept. */
    static List<String> targetRuns(Tokenizer tok, Sequence s) {
        List<String> runs = new ArrayList<>();
        float[] m = s.targetMask();
        for (int i = 0; i < m.length; ) {
            if (m[i] == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < m.length && m[j] != 0) j++;
            runs.add(tok.decode(Arrays.copyOfRange(s.inputIds(), i, j), false));
            i = j;
        }
        return runs;
    }

    /** The text of the context (non-target) tokens, run by run. */
    static List<String> contextRuns(Tokenizer tok, Sequence s) {
        float[] inverted = new float[s.length()];
        for (int i = 0; i < inverted.length; i++) inverted[i] = s.targetMask()[i] == 0 ? 1 : 0;
        return targetRuns(tok, new Sequence(s.inputIds(), inverted));
    }

    static long[] concat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) n += p.length;
        long[] out = new long[n];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
