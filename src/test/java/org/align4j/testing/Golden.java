// SPDX-License-Identifier: Apache-2.0
package org.align4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.io.SafetensorsFile;

/**
 * A golden directory written by tools/golden/make_goldens.py from PyTorch: an HF model folder plus
 * expected.safetensors (values) and expected.json (descriptions and tolerances).
 */
public final class Golden implements AutoCloseable {
    private final Path dir;
    private final SafetensorsFile expected;
    private final JsonNode meta;

    private Golden(Path dir) throws IOException {
        this.dir = dir;
        this.expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
        this.meta = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
    }

    public static Golden open(String name) throws IOException {
        Path dir = resourceDir("golden/" + name);
        return new Golden(dir);
    }

    /** A test resource directory; fails loudly (never skips) when it is missing. */
    public static Path resourceDir(String relative) {
        Path p = Path.of("src/test/resources").resolve(relative);
        if (!Files.isDirectory(p))
            fail("missing test resource " + p.toAbsolutePath()
                    + ": regenerate with /usr/bin/python3 tools/golden/make_goldens.py");
        return p;
    }

    /** A file under ../shared (the real tokenizer and data sets); fails loudly when absent. */
    public static Path shared(String relative) {
        String root = System.getProperty("align4j.shared", "../shared");
        Path p = Path.of(root).resolve(relative);
        if (!Files.exists(p))
            fail("missing shared resource " + p.toAbsolutePath()
                    + " (the project expects ../shared beside it; see README)");
        return p;
    }

    public Path dir() {
        return dir;
    }

    public boolean has(String name) {
        return expected.tensors().containsKey(name);
    }

    public float[] floats(String name) {
        requireTensor(name);
        return expected.toFloats(name);
    }

    public long[] longs(String name) {
        requireTensor(name);
        MemorySegment s = expected.data(name);
        long[] out = new long[(int) (s.byteSize() / 8)];
        MemorySegment.copy(s, ValueLayout.JAVA_LONG_UNALIGNED, 0, out, 0, out.length);
        return out;
    }

    public long[] shape(String name) {
        requireTensor(name);
        return expected.tensors().get(name).shape();
    }

    /** Splits a flat ragged tensor by the lengths tensor next to it. */
    public List<long[]> ragged(String flat, String lens) {
        long[] all = longs(flat), l = longs(lens);
        List<long[]> rows = new ArrayList<>();
        int off = 0;
        for (long n : l) {
            rows.add(Arrays.copyOfRange(all, off, off + (int) n));
            off += (int) n;
        }
        return rows;
    }

    public double atol(String name, double dflt) {
        return meta.path("tensors").path(name).path("tolerance").path("atol").asDouble(dflt);
    }

    public double rtol(String name, double dflt) {
        return meta.path("tensors").path(name).path("tolerance").path("rtol").asDouble(dflt);
    }

    private void requireTensor(String name) {
        if (!expected.tensors().containsKey(name))
            fail(dir + "/expected.safetensors has no tensor " + name + "; has "
                    + expected.tensors().keySet());
    }

    /** |a - e| <= atol + rtol * |e| everywhere (torch.allclose), reporting the worst element. */
    public static void assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        assertEquals(expected.length, actual.length, what + ": length");
        int worst = -1;
        double worstExcess = 0, maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) actual[i] - expected[i]);
            if (Double.isNaN(actual[i]) != Double.isNaN(expected[i])) fail(what + ": NaN mismatch at " + i);
            maxDiff = Math.max(maxDiff, d);
            double excess = d - (atol + rtol * Math.abs(expected[i]));
            if (excess > worstExcess) {
                worstExcess = excess;
                worst = i;
            }
        }
        if (worst >= 0)
            fail(String.format(
                    "%s: element %d expected %.8g got %.8g (max |diff| %.3g, atol %.1g, rtol %.1g)",
                    what, worst, expected[worst], actual[worst], maxDiff, atol, rtol));
    }

    @Override
    public void close() {
        expected.close();
    }
}
