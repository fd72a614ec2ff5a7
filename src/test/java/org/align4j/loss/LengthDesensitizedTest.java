// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** LD-DPO's log-probs against a closed form and PyTorch (tools/golden/make_ld_goldens.py, golden/ld). */
class LengthDesensitizedTest {
    private static Tensor matrix(JsonNode rows, boolean grad) {
        int n = rows.size(), t = rows.get(0).size();
        float[] f = new float[n * t];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < t; j++)
                f[i * t + j] = (float) rows.get(i).get(j).asDouble();
        Tensor x = Tensors.floats(f, n, t);
        if (grad) x.set_requires_grad(true);
        return x;
    }

    private static double[] vector(JsonNode v) {
        double[] d = new double[v.size()];
        for (int i = 0; i < d.length; i++) d[i] = v.get(i).asDouble();
        return d;
    }

    @Test
    void theTokensPastTheSharedLengthCountWithWeightAlpha() {
        try (PointerScope s = new PointerScope()) {
            // row 0: prompt token, then completion -1, -2, -3 (3 tokens); row 1: two prompt tokens, completion -4 (1
            // token), padding
            Tensor logps = Tensors.floats(new float[] {-9, -1, -2, -3, -9, -9, -4, -9}, 2, 4);
            Tensor mask = Tensors.floats(new float[] {0, 1, 1, 1, 0, 0, 1, 0}, 2, 4);
            Tensor shared = Closed.t(1, 1); // l_p = min(3, 1)
            Closed.assertNear(
                    "alpha 0.25",
                    new double[] {-1 + 0.25 * (-2 - 3), -4},
                    LengthDesensitized.logps(logps, mask, shared, 0.25),
                    1e-6);
            Closed.assertNear(
                    "alpha 1 = plain sums",
                    new double[] {-6, -4},
                    LengthDesensitized.logps(logps, mask, shared, 1.0),
                    1e-6);
            Closed.assertNear(
                    "alpha 0 = the shared part only",
                    new double[] {-1, -4},
                    LengthDesensitized.logps(logps, mask, shared, 0.0),
                    1e-6);
            assertThrows(IllegalArgumentException.class, () -> LengthDesensitized.logps(logps, mask, shared, -0.1));
            IllegalArgumentException above = assertThrows(
                    IllegalArgumentException.class, () -> LengthDesensitized.logps(logps, mask, shared, 1.5));
            assertTrue(above.getMessage().contains("ld_alpha")
                    && above.getMessage().contains("[0, 1]"));
            assertThrows(
                    IllegalArgumentException.class, () -> LengthDesensitized.logps(logps, mask, shared, Double.NaN));
        }
    }

    /**
     * The DPO sigmoid loss under ld_alpha with the policy AND the reference desensitised (TRL v1.x,
     * trl/trainer/dpo_trainer.py:1349-1361 and :1386-1393), pairs of unequal lengths: ln 2 per pair when π = π_ref,
     * and TRL's values and gradients when they differ.
     */
    @Test
    void dpoUnderLdAlphaMatchesTrlWithTheReferenceDesensitisedLikeThePolicy() throws Exception {
        JsonNode d = new ObjectMapper()
                .readTree(
                        Golden.resourceDir("golden/ld").resolve("expected.json").toFile())
                .get("dpo");
        int b = d.get("pairs").asInt();
        double alpha = d.get("ld_alpha").asDouble(), beta = d.get("beta").asDouble();
        DpoLoss.Config sigmoid = DpoLoss.Config.defaults().withBeta(beta);
        assertEquals(2, d.get("cases").size());
        for (JsonNode c : d.get("cases")) {
            String name = c.get("name").asText();
            try (PointerScope s = new PointerScope()) {
                Tensor x = matrix(d.get("policy_token_logps"), true), mask = matrix(d.get("mask"), false);
                Tensor ref = matrix(c.get("ref_token_logps"), false);
                Tensor pol = LengthDesensitized.pairLogps(x, mask, alpha),
                        refLd = LengthDesensitized.pairLogps(ref, mask, alpha); // (2B) each
                Closed.assertNear(name + " policy logps", vector(c.get("policy_logps")), pol, 1e-5);
                Closed.assertNear(name + " reference logps", vector(c.get("ref_logps")), refLd, 1e-5);
                Tensor loss = DpoLoss.perPair(
                        new PairLogps(
                                pol.narrow(0, 0, b), pol.narrow(0, b, b), refLd.narrow(0, 0, b), refLd.narrow(0, b, b)),
                        sigmoid); // (B)
                Closed.assertNear(name + " loss per pair", vector(c.get("loss_per_pair")), loss, 1e-6);
                if (name.equals("equal_models"))
                    for (double v : Closed.d(loss))
                        assertEquals(Math.log(2), v, 1e-6, "π = π_ref: every log-ratio is 0 whatever the lengths");
                loss.mean().backward();
                double[] grad = new double[(int) (x.size(0) * x.size(1))];
                int k = 0;
                for (JsonNode row : c.get("grad_token_logps")) for (JsonNode v : row) grad[k++] = v.asDouble();
                Closed.assertNear(
                        name + " d mean(loss) / d policy token logps",
                        grad,
                        x.grad().reshape(-1),
                        1e-6);
            }
        }
    }

    @Test
    void valuesAndGradientsMatchPyTorchWithPromptsOfDifferentLengths() throws Exception {
        JsonNode g = new ObjectMapper()
                .readTree(
                        Golden.resourceDir("golden/ld").resolve("expected.json").toFile());
        double atol = g.get("tolerance").get("atol").asDouble();
        for (JsonNode c : g.get("cases")) {
            try (PointerScope s = new PointerScope()) {
                Tensor x = matrix(g.get("token_logps"), true), mask = matrix(g.get("mask"), false);
                Tensor shared = Closed.t(vector(c.get("public_lengths")));
                Tensor y =
                        LengthDesensitized.logps(x, mask, shared, c.get("alpha").asDouble());
                Closed.assertNear("alpha " + c.get("alpha") + " logps", vector(c.get("logps")), y, atol);
                y.mul(Closed.t(vector(g.get("upstream")))).sum().backward();
                double[] grad = new double[x.size(0) == 0 ? 0 : (int) (x.size(0) * x.size(1))];
                int k = 0;
                for (JsonNode row : c.get("grad_token_logps")) for (JsonNode v : row) grad[k++] = v.asDouble();
                Closed.assertNear(
                        "alpha " + c.get("alpha") + " d/d token_logps",
                        grad,
                        x.grad().reshape(-1),
                        atol);
            }
        }
    }
}
