// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Sampling semantics (transformers' warpers) and the generator's contract. */
class GeneratorTest {
    private static final long PAD = 256;
    private static final List<long[]> PROMPTS =
            List.of(new long[] {72, 101, 108, 108, 111}, new long[] {49, 43, 49, 61});
    private static Transformer model;

    @BeforeAll
    static void load() throws Exception {
        model = Checkpoints.load(Golden.resourceDir("golden/llama-tiny"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void topK1AndATinyNucleusAreGreedy() {
        Generator.Result greedy = Generator.generate(model, PROMPTS, SamplingParams.greedy(8), new int[0], PAD);
        Generator.Result topK1 =
                Generator.generate(model, PROMPTS, new SamplingParams(1.0, 1, 1.0, 8, 7), new int[0], PAD);
        Generator.Result topP =
                Generator.generate(model, PROMPTS, new SamplingParams(1.0, 0, 1e-6, 8, 7), new int[0], PAD);
        for (int r = 0; r < PROMPTS.size(); r++) {
            assertArrayEquals(greedy.tokens()[r], topK1.tokens()[r]);
            assertArrayEquals(greedy.tokens()[r], topP.tokens()[r]);
        }
    }

    @Test
    void sameSeedSameTokensAndAnotherSeedDiffers() {
        SamplingParams a = new SamplingParams(1.5, 0, 1.0, 12, 123), b = new SamplingParams(1.5, 0, 1.0, 12, 124);
        Generator.Result r1 = Generator.generate(model, PROMPTS, a, new int[0], PAD);
        Generator.Result r2 = Generator.generate(model, PROMPTS, a, new int[0], PAD);
        Generator.Result r3 = Generator.generate(model, PROMPTS, b, new int[0], PAD);
        assertArrayEquals(r1.tokens()[0], r2.tokens()[0]);
        assertArrayEquals(r1.tokens()[1], r2.tokens()[1]);
        assertFalse(java.util.Arrays.equals(r1.tokens()[0], r3.tokens()[0])
                && java.util.Arrays.equals(r1.tokens()[1], r3.tokens()[1]));
    }

    /**
     * Block seeds (how data-parallel GRPO/RLOO shard sampling): each block of rows draws from its own generator, so a
     * block sampled with the others gives the tokens it gives alone, and a one-block batch is the one-seed batch.
     */
    @Test
    void eachBlockOfRowsSamplesAsItWouldAlone() {
        List<long[]> first = List.of(PROMPTS.get(0), PROMPTS.get(0), PROMPTS.get(0)),
                second = List.of(PROMPTS.get(1), PROMPTS.get(1), PROMPTS.get(1));
        List<long[]> both = new java.util.ArrayList<>(first);
        both.addAll(second);
        SamplingParams p = new SamplingParams(1.5, 0, 1.0, 12, 0);
        Generator.Result together = Generator.generate(model, both, p, new int[0], PAD, new long[] {11, 22});
        Generator.Result a = Generator.generate(model, first, p, new int[0], PAD, new long[] {11});
        Generator.Result b = Generator.generate(model, second, p, new int[0], PAD, new long[] {22});
        for (int r = 0; r < 3; r++) {
            assertArrayEquals(a.tokens()[r], together.tokens()[r], "row " + r);
            assertArrayEquals(b.tokens()[r], together.tokens()[3 + r], "row " + (3 + r));
            assertArrayEquals(a.logps()[r], together.logps()[r], 1e-5f);
        }
        Generator.Result oneSeed = Generator.generate(model, first, p.withSeed(11), new int[0], PAD);
        for (int r = 0; r < 3; r++) assertArrayEquals(oneSeed.tokens()[r], a.tokens()[r]);
        assertFalse(java.util.Arrays.equals(a.tokens()[0], a.tokens()[1]), "a block's rows differ");
        assertThrows(
                IllegalArgumentException.class,
                () -> Generator.generate(model, both, p, new int[0], PAD, new long[] {1, 2, 3, 4}));
    }

    /** A bf16 training step samples in float32 (no cast cache: bfloat16 decoding would be slower): the same tokens. */
    @Test
    void samplingInsideABf16StepIsFloat32Sampling() {
        SamplingParams p = new SamplingParams(1.5, 0, 1.0, 12, 5);
        Generator.Result plain = Generator.generate(model, PROMPTS, p, new int[0], PAD), inside;
        try (org.align4j.engine.Autocast on = org.align4j.engine.Autocast.bf16(true)) {
            inside = Generator.generate(model, PROMPTS, p, new int[0], PAD);
            assertTrue(org.align4j.engine.Autocast.enabled(), "the step's region is back after sampling");
        }
        for (int r = 0; r < PROMPTS.size(); r++) {
            assertArrayEquals(plain.tokens()[r], inside.tokens()[r]);
            assertArrayEquals(plain.logps()[r], inside.logps()[r]);
        }
    }

    @Test
    void sampledLogprobsAreTheTemperatureScaledDistributionAtTheSampledToken() {
        // the full-recompute log-prob of each sampled token under softmax(logits / T)
        double temp = 0.7;
        Generator.Result res =
                Generator.generate(model, PROMPTS, new SamplingParams(temp, 0, 1.0, 6, 5), new int[0], PAD);
        try (PointerScope s = new PointerScope();
                org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
            for (int r = 0; r < PROMPTS.size(); r++) {
                long[] p = PROMPTS.get(r), all = java.util.Arrays.copyOf(p, p.length + res.tokens()[r].length);
                System.arraycopy(res.tokens()[r], 0, all, p.length, res.tokens()[r].length);
                Tensor logits = model.logits(model.forward(Tensors.longs(all, 1, all.length), null, null))
                        .div(Tensors.scalar(temp));
                float[] lp = Tensors.toFloats(logits.log_softmax(-1)); // (1, T, V)
                int v = model.config().vocabSize();
                for (int j = 0; j < res.tokens()[r].length; j++) {
                    int pos = p.length - 1 + j;
                    assertEquals(
                            lp[pos * v + (int) res.tokens()[r][j]],
                            res.logps()[r][j],
                            2e-5,
                            "row " + r + " token " + j);
                }
            }
        }
    }

    /**
     * Group rollouts: rows with the same prompt share one prefill (its KV cache copied to each row). That must give
     * the tokens and log-probs of prefilling every row, greedy and seeded sampling, with prompts of different lengths
     * (left padding) and duplicates that are not adjacent, on both golden architectures. The log-probs agree to float
     * rounding, not bit for bit: BLAS may sum a (U x P)-row product in another order than a (B x P)-row one, as a
     * different batch composition already could before sharing.
     */
    @ParameterizedTest
    @ValueSource(strings = {"golden/llama-tiny", "golden/qwen3-tiny"})
    void sharedPrefixesGiveTheTokensOfOnePrefillPerRow(String dir) throws Exception {
        long[] a = {72, 101, 108, 108, 111}, b = {49, 43, 49, 61}, c = {3, 14, 15, 92, 65, 35, 89};
        List<long[]> groups = new java.util.ArrayList<>(); // prompt-major, as Rollouts.sample lays out G samples
        for (long[] p : List.of(a, b, c)) for (int g = 0; g < 3; g++) groups.add(p);
        List<long[]> shuffled = List.of(b, a, c, a, b, b, c, a);
        List<SamplingParams> settings = List.of(
                SamplingParams.greedy(10),
                new SamplingParams(1.0, 0, 1.0, 10, 42),
                new SamplingParams(0.7, 20, 0.9, 10, 43));
        try (Transformer m = Checkpoints.load(Golden.resourceDir(dir))) {
            for (List<long[]> prompts : List.of(groups, shuffled)) {
                for (SamplingParams sp : settings) {
                    Generator.Result shared = Generator.generate(m, prompts, sp, new int[0], PAD, true);
                    Generator.Result separate = Generator.generate(m, prompts, sp, new int[0], PAD, false);
                    for (int r = 0; r < prompts.size(); r++) {
                        assertArrayEquals(separate.tokens()[r], shared.tokens()[r], dir + " " + sp + " row " + r);
                        assertArrayEquals(separate.logps()[r], shared.logps()[r], 1e-5f, dir + " " + sp + " row " + r);
                    }
                    if (!sp.isGreedy() && prompts == groups)
                        assertFalse(
                                java.util.Arrays.equals(shared.tokens()[0], shared.tokens()[1])
                                        && java.util.Arrays.equals(shared.tokens()[1], shared.tokens()[2]),
                                "the samples of one group differ");
                }
            }
        }
    }

    /**
     * Inverse-CDF sampling: u picks the first token whose cumulative probability exceeds u, and a token of probability
     * 0 (here a -inf logit, as top-k and top-p leave them) is never picked, even for a u right at its (flat) step.
     * Probabilities 0.1, 0, 0.2, 0.7: cumulative 0.1, 0.1, 0.3, 1.0.
     */
    @Test
    void aUniformPicksTheFirstTokenWhoseCumulativeProbabilityExceedsIt() {
        float[] row = {(float) Math.log(0.1), Float.NEGATIVE_INFINITY, (float) Math.log(0.2), (float) Math.log(0.7)};
        double[] u = {0.0, 0.0999, 0.1001, 0.2999, 0.3001, 0.999999};
        long[] expected = {0, 0, 2, 2, 3, 3};
        float[] logits = new float[u.length * 4];
        for (int r = 0; r < u.length; r++) System.arraycopy(row, 0, logits, 4 * r, 4);
        try (PointerScope s = new PointerScope()) {
            long[] chosen = new long[u.length];
            float[] logp = new float[u.length];
            Tensor uniforms = Tensors.floats(toFloats(u), u.length, 1).to(torch.ScalarType.Double);
            Generator.choose(
                    Tensors.floats(logits, u.length, 4),
                    new SamplingParams(1.0, 0, 1.0, 1, 0),
                    () -> uniforms,
                    chosen,
                    logp);
            assertArrayEquals(expected, chosen);
            for (int r = 0; r < u.length; r++)
                assertEquals(Math.log(new double[] {0.1, 0, 0.2, 0.7}[(int) chosen[r]]), logp[r], 1e-6, "row " + r);
        }
    }

    /** A NaN or inf logit (a diverged model) is refused with torch.multinomial's message, not sampled from. */
    @Test
    void aNonFiniteLogitIsRefusedAsMultinomialRefusesIt() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            try (PointerScope s = new PointerScope()) {
                Tensor logits = Tensors.floats(new float[] {0.1f, 0.2f, 0.3f, bad, 0.1f, 0.2f}, 2, 3);
                IllegalStateException e = assertThrows(
                        IllegalStateException.class,
                        () -> Generator.choose(
                                logits,
                                new SamplingParams(1.0, 0, 1.0, 1, 0),
                                () -> Tensors.floats(new float[] {0.5f, 0.5f}, 2, 1)
                                        .to(torch.ScalarType.Double),
                                new long[2],
                                new float[2]));
                assertTrue(e.getMessage().contains("`inf`, `nan`"), e.getMessage());
            }
        }
    }

    private static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        return f;
    }

    @Test
    void stopsAtAStopIdAndSaysSo() {
        Generator.Result greedy = Generator.generate(model, PROMPTS, SamplingParams.greedy(8), new int[0], PAD);
        int stop = (int) greedy.tokens()[0][2]; // row 0 stops on its third token
        Generator.Result stopped = Generator.generate(model, PROMPTS, SamplingParams.greedy(8), new int[] {stop}, PAD);
        assertTrue(stopped.stopped()[0]);
        int firstStop = 0;
        while (greedy.tokens()[0][firstStop] != stop) firstStop++;
        assertArrayEquals(
                java.util.Arrays.copyOf(greedy.tokens()[0], firstStop + 1),
                stopped.tokens()[0],
                "up to and including the stop id");
        boolean row1HasStop = java.util.Arrays.stream(greedy.tokens()[1]).anyMatch(t -> t == stop);
        if (!row1HasStop) {
            assertFalse(stopped.stopped()[1]);
            assertArrayEquals(greedy.tokens()[1], stopped.tokens()[1], "other rows go on unchanged");
        }
    }

    @Test
    void topKAndTopPSampleOnlyFromTheKeptSetWithRenormalisedFrequencies() {
        // p = softmax(log [0.5, 0.3, 0.15, 0.05]); top_p 0.8 keeps {0, 1} (transformers' TopPLogitsWarper);
        // top_k 3 keeps {0, 1, 2}
        float[] probs = {0.5f, 0.3f, 0.15f, 0.05f};
        float[] logits = new float[4];
        for (int i = 0; i < 4; i++) logits[i] = (float) Math.log(probs[i]);
        int n = 4000;
        int[] countsP = sample(logits, new SamplingParams(1.0, 0, 0.8, 1, 11), n);
        int[] countsK = sample(logits, new SamplingParams(1.0, 3, 1.0, 1, 12), n);
        assertEquals(0, countsP[2] + countsP[3], "top_p 0.8 never samples the 0.15 and 0.05 tokens");
        assertEquals(0, countsK[3], "top_k 3 never samples the 4th token");
        assertEquals(0.5 / 0.8, countsP[0] / (double) n, 0.03);
        assertEquals(0.5 / 0.95, countsK[0] / (double) n, 0.03);
        assertEquals(0.15 / 0.95, countsK[2] / (double) n, 0.02);
    }

    @Test
    void badSamplingSettingsAreNamed() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new SamplingParams(-1, 0, 1, 4, 0));
        assertTrue(e.getMessage().contains("temperature"));
        e = assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 1.5, 4, 0));
        assertTrue(e.getMessage().contains("top_p"));
    }

    /** Draws n tokens from fixed (1, V) logits with the generator's own chooser, one seeded rng. */
    private static int[] sample(float[] logits, SamplingParams p, int n) {
        int[] counts = new int[logits.length];
        org.bytedeco.pytorch.Generator rng = torch.createCPUGenerator(p.seed());
        try (PointerScope s = new PointerScope()) {
            Tensor l = Tensors.floats(logits, 1, logits.length);
            long[] chosen = new long[1];
            float[] lp = new float[1];
            for (int i = 0; i < n; i++) {
                Generator.choose(l, p, rng, chosen, lp);
                counts[(int) chosen[0]]++;
            }
        } finally {
            rng.close();
        }
        return counts;
    }
}
