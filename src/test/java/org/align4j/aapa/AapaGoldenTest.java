// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.align4j.engine.Tensors;
import org.align4j.loss.AnchorRewardTerm;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * AAPA's anchoring pieces against PyTorch (tools/golden/make_aapa_goldens.py): the discriminator
 * head's logits and class-balanced BCE gradient (logistic and MLP), the anchor reward in both
 * signals, and the REINFORCE term of anchored SFT with its gradient.
 */
class AapaGoldenTest {
    private static JsonNode golden() throws Exception {
        return new ObjectMapper()
                .readTree(Golden.resourceDir("golden/aapa")
                        .resolve("expected.json")
                        .toFile());
    }

    private static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asDouble();
        return out;
    }

    private static float[] row(JsonNode x, int i) {
        float[] out = new float[x.get(i).size()];
        for (int j = 0; j < out.length; j++) out[j] = (float) x.get(i).get(j).asDouble();
        return out;
    }

    @Test
    void headLogitsAndBalancedBceGradientMatchPyTorch() throws Exception {
        JsonNode g = golden();
        int d = g.get("d").asInt(), h = g.get("h").asInt(), n = g.get("x").size();
        double[] y = doubles(g.get("labels"));
        double n1 = 0;
        for (double v : y) n1 += v;
        for (String type : List.of("logistic", "mlp")) {
            JsonNode c = g.get(type);
            double[] theta = doubles(c.get("theta")), grad = new double[theta.length];
            int hidden = type.equals("mlp") ? h : 0;
            double loss = 0;
            for (int i = 0; i < n; i++) {
                double[] pre = new double[Math.max(1, hidden)];
                double z = DiscriminatorHead.logit(type, d, hidden, theta, row(g.get("x"), i), pre);
                assertEquals(c.get("logits").get(i).asDouble(), z, 1e-12, type + " logit " + i);
                double w = y[i] > 0 ? n / (2 * n1) : n / (2 * (n - n1));
                loss += w * (DiscriminatorTrainer.softplus(z) - y[i] * z) / n;
                DiscriminatorHead.addGradient(
                        type,
                        d,
                        hidden,
                        theta,
                        row(g.get("x"), i),
                        pre,
                        w * (DiscriminatorTrainer.sigmoid(z) - y[i]) / n,
                        grad);
            }
            assertEquals(c.get("bce").asDouble(), loss, 1e-12, type + " bce");
            double[] expected = doubles(c.get("grad"));
            for (int k = 0; k < grad.length; k++) assertEquals(expected[k], grad[k], 1e-12, type + " grad " + k);
        }
    }

    @Test
    void anchorSignalsAndTheReinforceTermMatchPyTorch() throws Exception {
        JsonNode g = golden(), a = g.get("anchor"), r = g.get("reinforce");
        double lam = a.get("lambda").asDouble();
        double[] z = doubles(g.get("logistic").get("logits"));
        for (int i = 0; i < z.length; i++) {
            assertEquals(a.get("logit").get(i).asDouble(), lam * z[i], 1e-12);
            assertEquals(a.get("log_sigmoid").get(i).asDouble(), -lam * DiscriminatorTrainer.softplus(-z[i]), 1e-12);
        }
        double[] logp = doubles(r.get("logp")), rewards = doubles(r.get("rewards"));
        float[] lp = new float[logp.length];
        for (int i = 0; i < lp.length; i++) lp[i] = (float) logp[i];
        try (PointerScope s = new PointerScope()) {
            Tensor t = Tensors.floats(lp, lp.length).requires_grad_(true);
            Tensor term = AnchorRewardTerm.reinforce(t, rewards);
            term.backward();
            assertEquals(r.get("value").asDouble(), term.item_double(), 1e-5);
            float[] grad = Tensors.toFloats(t.grad());
            for (int i = 0; i < grad.length; i++)
                assertEquals(r.get("grad").get(i).asDouble(), grad[i], 1e-7, "grad " + i);
        }
    }
}
