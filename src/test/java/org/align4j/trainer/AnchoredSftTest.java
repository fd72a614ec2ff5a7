// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.Sequence;
import org.align4j.engine.Tensors;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.reward.RewardFunction;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AAPA-anchored SFT: the REINFORCE term beside the NLL (its closed form is tested in AnchorRewardTermTest). */
class AnchoredSftTest {
    private static RewardFunction anchor(boolean constant) {
        return RewardFunction.perCompletion("aapa_anchor", (p, c, row) -> constant ? 0.5 : c.length());
    }

    private static Map<String, float[]> run(Path out, RewardFunction anchor) throws Exception {
        Path dir = Golden.resourceDir("golden/llama-tiny");
        try (Tokenizer tok = Tokenizer.load(dir);
                Transformer m = Checkpoints.load(dir)) {
            List<Sequence> data = SftTrainerTest.arithmetic(8, 3);
            TrainingArgs args =
                    TrainingArgs.defaults(out).withSteps(2, 4, 1, 1e-3).withLogging(1, 0);
            if (anchor == null) SftTrainer.train(m, data, args, 256, Map.of());
            else
                SftTrainer.trainAnchored(
                        m,
                        data,
                        args,
                        256,
                        new SftTrainer.Anchoring(anchor, tok, 4, new SamplingParams(1.0, 0, 1.0, 5, 11)),
                        Map.of());
            Map<String, float[]> s = new LinkedHashMap<>();
            for (var e : m.parameters().entrySet()) s.put(e.getKey(), Tensors.toFloats(e.getValue()));
            return s;
        }
    }

    @Test
    void aConstantAnchorLeavesSftUnchangedAndAVaryingOneMovesThePolicy(@TempDir Path tmp) throws Exception {
        Map<String, float[]> plain = run(tmp.resolve("plain"), null),
                constant = run(tmp.resolve("constant"), anchor(true)),
                varying = run(tmp.resolve("varying"), anchor(false));
        // equal rewards: every advantage a - mean(a) is 0, so the term adds nothing
        for (var e : plain.entrySet()) assertArrayEquals(e.getValue(), constant.get(e.getKey()), 1e-7f, e.getKey());
        assertTrue(
                plain.entrySet().stream()
                        .anyMatch(e -> !java.util.Arrays.equals(e.getValue(), varying.get(e.getKey()))),
                "a varying anchor changes the update");
        assertTrue(MetricsLog.read(tmp.resolve("varying")).get(0).has("aapa/anchor_term"));
    }
}
