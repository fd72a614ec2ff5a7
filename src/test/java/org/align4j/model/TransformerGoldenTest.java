// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.engine.Tensors;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The transformer against PyTorch goldens (tools/golden/make_goldens.py) for each architecture. */
class TransformerGoldenTest {
    private static final long PAD = 256;

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny", "qwen3-tiny"})
    void logitsMatchPyTorch(String name) throws Exception {
        try (Golden g = Golden.open(name);
                Transformer model = Checkpoints.load(g.dir());
                PointerScope s = new PointerScope();
                NoGradGuard ng = new NoGradGuard()) {
            long[] shape = g.shape("logits_input_ids");
            Tensor ids = Tensors.longs(g.longs("logits_input_ids"), shape);
            float[] logits = Tensors.toFloats(model.logits(model.forward(ids, null, null)));
            assertClose(name + " logits", g.floats("logits"), logits, g.atol("logits", 1e-4), g.rtol("logits", 1e-4));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny", "qwen3-tiny"})
    void paddedBatchLogprobsEqualUnpaddedOnes(String name) throws Exception {
        try (Golden g = Golden.open(name);
                Transformer model = Checkpoints.load(g.dir())) {
            List<long[]> prompts = g.ragged("lp_prompt_ids", "lp_prompt_lens");
            List<long[]> completions = g.ragged("lp_completion_ids", "lp_completion_lens");
            float[][] batched = LogProbs.completionTokenLogps(model, prompts, completions, PAD);
            float[] expectedTokens = g.floats("lp_token_logps"), expectedSums = g.floats("lp_logps");
            int off = 0;
            for (int r = 0; r < prompts.size(); r++) {
                float[] exp = java.util.Arrays.copyOfRange(expectedTokens, off, off + batched[r].length);
                off += batched[r].length;
                assertClose(
                        name + " row " + r + " token logps",
                        exp,
                        batched[r],
                        g.atol("lp_token_logps", 1e-4),
                        g.rtol("lp_token_logps", 1e-4));
                assertEquals(
                        expectedSums[r],
                        LogProbs.sum(batched[r]),
                        1e-4 * batched[r].length,
                        name + " row " + r + " sum");
                // the same row alone (no padding) gives the same numbers
                float[][] alone =
                        LogProbs.completionTokenLogps(model, List.of(prompts.get(r)), List.of(completions.get(r)), PAD);
                assertClose(name + " row " + r + " alone vs batched", alone[0], batched[r], 2e-5, 1e-5);
            }
            assertEquals(expectedTokens.length, off, "all golden tokens compared");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny", "qwen3-tiny"})
    void kvCachedGreedyContinuationMatchesPyTorch(String name) throws Exception {
        try (Golden g = Golden.open(name);
                Transformer model = Checkpoints.load(g.dir())) {
            List<long[]> prompts = g.ragged("greedy_prompt_ids", "greedy_prompt_lens");
            long[] expected = g.longs("greedy_new_tokens");
            int n = (int) g.shape("greedy_new_tokens")[1];
            Generator.Result res = Generator.generate(model, prompts, SamplingParams.greedy(n), new int[0], PAD);
            for (int r = 0; r < prompts.size(); r++)
                assertArrayEquals(
                        java.util.Arrays.copyOfRange(expected, r * n, (r + 1) * n),
                        res.tokens()[r],
                        name + " row " + r);
            // sampled-token log-probs equal a fresh scoring of the same tokens (the RL trainers rely on this)
            float[][] rescored = LogProbs.completionTokenLogps(model, prompts, List.of(res.tokens()), PAD);
            for (int r = 0; r < prompts.size(); r++)
                assertClose(name + " generation logps", rescored[r], res.logps()[r], 2e-5, 1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen3-tiny"})
    void lossAndEveryParameterGradientMatchPyTorch(String name) throws Exception {
        try (Golden g = Golden.open(name);
                Transformer model = Checkpoints.load(g.dir());
                PointerScope s = new PointerScope()) {
            model.requiresGrad(true);
            long[] shape = g.shape("logits_input_ids");
            Tensor ids = Tensors.longs(g.longs("logits_input_ids"), shape);
            long b = shape[0], t = shape[1], v = model.config().vocabSize();
            Tensor logits = model.logits(model.forward(ids, null, null)).narrow(1, 0, t - 1);
            Tensor loss = torch.cross_entropy(
                    logits.reshape(b * (t - 1), v), ids.narrow(1, 1, t - 1).reshape(b * (t - 1)));
            loss.backward();
            assertEquals(g.floats("grad_loss")[0], loss.item_float(), 1e-5, "loss");
            int checked = 0;
            for (var e : model.parameters().entrySet()) {
                String key = "grad." + e.getKey();
                assertClose(
                        name + " " + key,
                        g.floats(key),
                        Tensors.toFloats(e.getValue().grad()),
                        g.atol(key, 1e-5),
                        g.rtol(key, 1e-3));
                checked++;
            }
            assertEquals(model.parameters().size(), checked);
        }
    }

    @Test
    void rewardModelScoresMatchPyTorchWithRightAndLeftPadding() throws Exception {
        try (Golden g = Golden.open("qwen3-tiny-rm");
                Transformer rm = Checkpoints.load(g.dir());
                PointerScope s = new PointerScope();
                NoGradGuard ng = new NoGradGuard()) {
            assertTrue(rm.config().isSequenceClassification());
            for (String side : new String[] {"", "_left"}) {
                long[] shape = g.shape("rm_input_ids" + side);
                Tensor ids = Tensors.longs(g.longs("rm_input_ids" + side), shape);
                Tensor mask = Tensors.longs(g.longs("rm_attention_mask" + side), shape);
                float[] scores = Tensors.toFloats(rm.scores(rm.forward(ids, mask, null), mask));
                assertClose(
                        "rewards" + side,
                        g.floats("rm_rewards"),
                        scores,
                        g.atol("rm_rewards", 1e-4),
                        g.rtol("rm_rewards", 1e-4));
            }
        }
    }

    /** Load then save in the stored dtype: the exact bytes of the original file (F32 and BF16). */
    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny:float32", "qwen2-tiny:bfloat16"})
    void saveAfterLoadReproducesTheCheckpointByteForByte(String spec, @TempDir Path tmp) throws Exception {
        String name = spec.split(":")[0], dtype = spec.split(":")[1];
        try (Golden g = Golden.open(name);
                Transformer model = Checkpoints.load(g.dir())) {
            Path out = tmp.resolve("saved");
            Checkpoints.save(model, out, dtype, false);
            assertArrayEquals(
                    Files.readAllBytes(g.dir().resolve("model.safetensors")),
                    Files.readAllBytes(out.resolve("model.safetensors")));
            try (Transformer again = Checkpoints.load(out)) {
                for (var e : model.parameters().entrySet())
                    assertArrayEquals(
                            Tensors.toFloats(e.getValue()),
                            Tensors.toFloats(again.parameters().get(e.getKey())),
                            e.getKey());
            }
        }
    }

    @Test
    void shardedCheckpointSavesAndReloadsExactly(@TempDir Path tmp) throws Exception {
        try (Golden g = Golden.open("qwen3-tiny");
                Transformer model = Checkpoints.load(g.dir())) {
            Checkpoints.save(model, tmp.resolve("a"), "float32", false);
            Checkpoints.save(Checkpoints.load(tmp.resolve("a")), tmp.resolve("b"), "float32", false);
            assertArrayEquals(
                    Files.readAllBytes(tmp.resolve("a/model.safetensors")),
                    Files.readAllBytes(tmp.resolve("b/model.safetensors")));
            List<String> names = new ArrayList<>(model.parameters().keySet());
            try (Transformer again = Checkpoints.load(tmp.resolve("b"))) {
                assertEquals(names, new ArrayList<>(again.parameters().keySet()));
            }
        }
    }
}
