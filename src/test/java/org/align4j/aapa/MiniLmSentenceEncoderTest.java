// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The real all-MiniLM-L6-v2 graph from the langchain4j jar, run with ONNX Runtime. */
class MiniLmSentenceEncoderTest {
    static final MiniLmSentenceEncoder ENC = SentenceEncoderTestSupport.miniLm();

    /**
     * sentence-transformers' own embeddings of these two sentences (first six components), as published with a
     * third-party R package test ("official model matches SentenceTransformers references", 1e-6 there); the first
     * sentence's leading values 0.0676569, 0.063… also appear in a Spark example of the same model. Token ids are
     * BERT-uncased WordPiece ids from the same reference.
     */
    static final String S1 = "This is an example sentence", S2 = "Each sentence is converted.";

    static final double[] REF1 = {0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273};
    static final double[] REF2 = {0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747};

    @Test
    void tokenizesAsBertUncasedWithClsAndSep() {
        assertArrayEquals(new long[] {101, 2023, 2003, 2019, 2742, 6251, 102}, ENC.tokenIds(S1));
        assertArrayEquals(new long[] {101, 2169, 6251, 2003, 4991, 1012, 102}, ENC.tokenIds(S2));
        assertArrayEquals(new long[] {101, 102}, ENC.tokenIds(""));
    }

    @Test
    void longTextsAreCutAtMaxSeqLength() {
        long[] ids = ENC.tokenIds("word ".repeat(1000));
        assertEquals(MiniLmSentenceEncoder.MAX_TOKENS, ids.length);
        assertEquals(101, ids[0]);
        assertEquals(102, ids[ids.length - 1]);
    }

    @Test
    void matchesSentenceTransformersReferenceValues() {
        float[][] e = ENC.embed(List.of(S1, S2));
        double worst = 0;
        for (int d = 0; d < 6; d++) {
            worst = Math.max(worst, Math.abs(e[0][d] - REF1[d]));
            worst = Math.max(worst, Math.abs(e[1][d] - REF2[d]));
        }
        System.err.printf("MiniLM vs sentence-transformers reference: max |diff| over 12 components = %.2e%n", worst);
        assertTrue(worst < 1e-5, "max |diff| " + worst);
    }

    @Test
    void unitNorm384DimsAndDeterministic() {
        List<String> texts = List.of(S1, "", "#### 12", "Café déjà vu — 東京");
        float[][] a = ENC.embed(texts), b = ENC.embed(texts);
        assertEquals(texts.size(), a.length);
        for (int i = 0; i < a.length; i++) {
            assertEquals(384, a[i].length);
            double n = 0;
            for (float v : a[i]) n += (double) v * v;
            assertEquals(1.0, Math.sqrt(n), 1e-5, "norm of text " + i);
            assertArrayEquals(a[i], b[i], "same text, same call: bit-identical");
        }
        assertEquals(0, ENC.embed(List.of()).length);
    }

    @Test
    void similarSentencesAreCloserThanUnrelatedOnes() {
        float[][] e = ENC.embed(List.of(
                "A man is eating food.",
                "A man is eating a piece of bread.",
                "The stock market fell sharply today.",
                "How do I bake a chocolate cake?",
                "What is a good recipe for chocolate cake?",
                "The train leaves at noon."));
        assertTrue(
                cos(e[0], e[1]) > cos(e[0], e[2]) + 0.2,
                "eating/eating " + cos(e[0], e[1]) + " vs eating/stocks " + cos(e[0], e[2]));
        assertTrue(
                cos(e[3], e[4]) > cos(e[3], e[5]) + 0.2,
                "cake/cake " + cos(e[3], e[4]) + " vs cake/train " + cos(e[3], e[5]));
    }

    @Test
    void batchCompositionChangesVectorsOnlyByRounding() {
        List<String> texts = List.of(
                S1,
                "short",
                "a considerably longer sentence that forces padding on the others in its batch",
                "#### 12",
                "");
        float[][] together = ENC.embed(texts);
        for (int i = 0; i < texts.size(); i++) {
            float[] alone = ENC.embed(List.of(texts.get(i)))[0];
            for (int d = 0; d < 384; d++) assertEquals(alone[d], together[i][d], 1e-5, "text " + i + " dim " + d);
        }
        try (MiniLmSentenceEncoder small = new MiniLmSentenceEncoder(2, 1)) {
            float[][] pairs = small.embed(texts);
            for (int i = 0; i < texts.size(); i++)
                for (int d = 0; d < 384; d++)
                    assertEquals(together[i][d], pairs[i][d], 1e-5, "batch size 2, text " + i + " dim " + d);
        }
    }

    @Test
    void timing() {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 64; i++)
            texts.add("Natalia sold " + i
                    + " clips in April and half as many in May. How many clips did she sell altogether? #### "
                    + (i * 3 / 2));
        ENC.embed(texts.subList(0, 8)); // warm-up
        long start = System.nanoTime();
        float[][] e = ENC.embed(texts);
        double ms = (System.nanoTime() - start) / 1e6;
        System.err.printf(
                "MiniLM: %d sentences of ~30 tokens in %.0f ms = %.2f ms/sentence%n", e.length, ms, ms / e.length);
        assertEquals(64, e.length);
    }

    static double cos(float[] a, float[] b) {
        double s = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return s / Math.sqrt(na * nb);
    }
}
