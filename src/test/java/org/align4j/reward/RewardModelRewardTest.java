// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;

/** The golden tiny Qwen3 reward model (pad 256, eos 258, byte-level tokenizer) as a reward function. */
class RewardModelRewardTest {
    private static final long EOS = 258;

    private static Path rmDir() {
        return Golden.resourceDir("golden/qwen3-tiny-rm");
    }

    @Test
    void idsScoreAsPyTorchsSequenceClassifierForAnyBatchSize() throws Exception {
        try (Golden g = Golden.open("qwen3-tiny-rm")) {
            long[] ids = g.longs("rm_input_ids"), mask = g.longs("rm_attention_mask");
            int b = (int) g.shape("rm_input_ids")[0], t = (int) g.shape("rm_input_ids")[1];
            List<long[]> rows = new ArrayList<>();
            for (int r = 0; r < b; r++) {
                int len = 0;
                for (int j = 0; j < t; j++) len += (int) mask[r * t + j];
                rows.add(Arrays.copyOfRange(ids, r * t, r * t + len)); // unpadded: the class pads them itself
            }
            float[] expected = g.floats("rm_rewards");
            float[] one, all;
            try (RewardModelReward rm = RewardModelReward.load(rmDir(), 1)) {
                one = rm.scoreIds(rows);
            }
            try (RewardModelReward rm = RewardModelReward.load(rmDir(), 8)) {
                all = rm.scoreIds(rows);
            }
            Golden.assertClose(
                    "rm scores, batch 1", expected, one, g.atol("rm_rewards", 1e-4), g.rtol("rm_rewards", 1e-4));
            Golden.assertClose(
                    "rm scores, one padded batch",
                    expected,
                    all,
                    g.atol("rm_rewards", 1e-4),
                    g.rtol("rm_rewards", 1e-4));
            Golden.assertClose("padding changes nothing", one, all, 1e-5, 0);
        }
    }

    @Test
    void textIsPromptPlusCompletionPlusEosScoredAtItsLastToken() throws Exception {
        List<String> prompts = List.of("Q: 2+2?\nA:", "Q: 2+2?\nA:", "hello", "Q: 10-3?", "x");
        List<String> completions = List.of(" 4", " five, I think", " world<|im_end|>", " 7 #### 7", "");
        List<JsonNode> rows = Collections.nCopies(5, null);
        double[] direct = new double[5];
        try (Tokenizer tok = Tokenizer.load(rmDir());
                Transformer model = Checkpoints.load(rmDir())) {
            for (int i = 0; i < 5; i++) {
                String text = prompts.get(i) + completions.get(i);
                long[] ids = text.endsWith("<|im_end|>") ? tok.encode(text) : append(tok.encode(text), EOS);
                assertEquals(EOS, ids[ids.length - 1], "every scored sequence ends with EOS");
                try (PointerScope s = new PointerScope();
                        NoGradGuard ng = new NoGradGuard()) { // one unpadded row: the score at its last position
                    direct[i] = Tensors.toFloats(
                            model.scores(model.forward(Tensors.longs(ids, 1, ids.length), null, null), null))[0];
                }
            }
        }
        for (int batch : new int[] {1, 2, 5}) {
            try (RewardModelReward rm = RewardModelReward.load(rmDir(), batch)) {
                assertEquals("reward_model", rm.name());
                double[] got = rm.score(prompts, completions, rows);
                for (int i = 0; i < 5; i++) assertEquals(direct[i], got[i], 1e-5, "batch " + batch + ", row " + i);
            }
        }
        assertTrue(
                Math.abs(direct[0] - direct[1]) > 1e-6,
                "different completions score differently: " + Arrays.toString(direct));
    }

    @Test
    void aCausalLmIsRefusedWithTheReason() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> RewardModelReward.load(Golden.resourceDir("golden/llama-tiny"), 4));
        assertTrue(
                e.getMessage().contains("ForSequenceClassification")
                        && e.getMessage().contains("llama-tiny"),
                e.getMessage());
    }

    @Test
    void encodeAppendsEosOnce() throws Exception {
        try (RewardModelReward rm = RewardModelReward.load(rmDir(), 4)) {
            long[] a = rm.encode("ab", "c"), b = rm.encode("ab", "c<|im_end|>");
            assertArrayEquals(a, b);
            assertEquals(1, Arrays.stream(a).filter(id -> id == EOS).count());
        }
    }

    private static long[] append(long[] ids, long id) {
        long[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = id;
        return out;
    }
}
