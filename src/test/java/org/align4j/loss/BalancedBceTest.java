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

/** AAPA's class-balanced BCE against its closed form and PyTorch (tools/golden/make_bce_goldens.py, golden/bce). */
class BalancedBceTest {
    @Test
    void valueAndGradientAreTheWeightedSoftplusFormDividedByTheWindow() {
        // |z| up to 100: a naive log(1 + e^z) overflows float32 at z ≈ 89
        double[] z0 = {2.5, -1.25, 0, 30, -30, 100, -100};
        boolean[] expert = {true, false, true, false, true, true, false};
        BalancedBce.Weights w = BalancedBce.Weights.of(2, 9);
        int window = 11;
        try (PointerScope s = new PointerScope()) {
            Tensor z = Closed.leaf(z0);
            Tensor per = BalancedBce.perExample(z, expert, w);
            Tensor share = BalancedBce.windowShare(z, expert, w, window);
            share.backward();
            double[] perExpected = new double[z0.length], gradExpected = new double[z0.length];
            double shareExpected = 0;
            for (int i = 0; i < z0.length; i++) {
                double y = expert[i] ? 1 : 0, wi = expert[i] ? 11.0 / 4 : 11.0 / 18;
                double softplus = -Closed.logSig(-z0[i]); // log(1 + e^z)
                perExpected[i] = wi * (softplus - y * z0[i]);
                shareExpected += perExpected[i] / window;
                gradExpected[i] = wi * (Closed.sig(z0[i]) - y) / window; // d/dz [softplus(z) − y z] = σ(z) − y
            }
            Closed.assertNear("per example", perExpected, per, 1e-6);
            assertEquals(shareExpected, share.item_double(), 1e-5 * shareExpected);
            Closed.assertNear("d share / d z", gradExpected, z.grad(), 1e-7);
            Closed.assertAllFinite("per example", per);
        }
    }

    @Test
    void microBatchSharesAndGradientsMatchPyTorchAndAddUpToTheWindowMean() throws Exception {
        JsonNode g = new ObjectMapper()
                .readTree(Golden.resourceDir("golden/bce")
                        .resolve("expected.json")
                        .toFile());
        BalancedBce.Weights w = BalancedBce.Weights.of(
                g.get("n_expert").asLong(), g.get("n_policy").asLong());
        assertEquals(g.get("weight_expert").asDouble(), w.expert(), 1e-15);
        assertEquals(g.get("weight_policy").asDouble(), w.policy(), 1e-15);
        double atol = g.get("tolerance").get("atol").asDouble(),
                rtol = g.get("tolerance").get("rtol").asDouble(),
                total = 0;
        int windowRows = g.get("window_rows").asInt();
        for (JsonNode mb : g.get("micro_batches")) {
            int n = mb.get("labels").size();
            float[] z = new float[n];
            boolean[] expert = new boolean[n];
            for (int i = 0; i < n; i++) {
                z[i] = (float) mb.get("logits").get(i).asDouble();
                expert[i] = mb.get("labels").get(i).asInt() == 1;
            }
            try (PointerScope s = new PointerScope()) {
                Tensor zt = Tensors.floats(z, n).requires_grad_(true);
                Tensor per = BalancedBce.perExample(zt, expert, w);
                Tensor share = BalancedBce.windowShare(zt, expert, w, windowRows);
                share.backward();
                Golden.assertClose("per_example", floats(mb.get("per_example")), Tensors.toFloats(per), atol, rtol);
                Golden.assertClose(
                        "share",
                        new float[] {(float) mb.get("share").asDouble()},
                        new float[] {(float) share.item_double()},
                        atol,
                        rtol);
                Golden.assertClose(
                        "grad_logits", floats(mb.get("grad_logits")), Tensors.toFloats(zt.grad()), 1e-7, rtol);
                total += share.item_double();
            }
        }
        assertEquals(
                g.get("window_loss").asDouble(),
                total,
                1e-5 * g.get("window_loss").asDouble(),
                "the micro-batch shares add up to the window mean");
    }

    @Test
    void balancedWeightsGiveEachClassHalfTheTotalWeight() {
        BalancedBce.Weights w = BalancedBce.Weights.of(3, 7);
        assertEquals(10.0 / 6, w.expert(), 1e-15);
        assertEquals(10.0 / 14, w.policy(), 1e-15);
        assertEquals(3 * w.expert(), 7 * w.policy(), 1e-12, "each class carries n/2");
        assertEquals(1.0, BalancedBce.Weights.of(5, 5).expert(), 0.0, "balanced data: plain BCE");
    }

    @Test
    void badInputsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BalancedBce.Weights.of(0, 4));
        assertTrue(e.getMessage().contains("0 expert"), e.getMessage());
        try (PointerScope s = new PointerScope()) {
            Tensor z = Closed.t(1, 2, 3);
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> BalancedBce.perExample(z, new boolean[] {true, false}, BalancedBce.Weights.of(1, 1)));
            assertTrue(e.getMessage().contains("3 elements, expected 2"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> BalancedBce.windowShare(
                            z, new boolean[] {true, false, true}, BalancedBce.Weights.of(1, 1), 2));
            assertTrue(e.getMessage().contains("window has 2 rows"), e.getMessage());
        }
    }

    private static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) a.get(i).asDouble();
        return out;
    }
}
