// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * APO's reward-model objective against PyTorch autograd of the APO code's formula (golden/apo, section loss: trainer.py's
 * reward_model_loss and compute_loss, one mean over every item of the window) and its closed form in doubles.
 */
class ApoLossTest {
    private static final ApoLoss.Config CUSTOM_RANKING = new ApoLoss.Config(0.5, 0.3, 2, ApoLoss.RANKING);

    private static ApoLoss.Config config(String golden) {
        String type = golden.startsWith("diff") ? ApoLoss.DIFF : ApoLoss.RANKING;
        return golden.contains("custom")
                ? new ApoLoss.Config(0.5, 0.3, 2, type)
                : new ApoLoss.Config(1.0, 0.1, 4, type);
    }

    @Test
    void lossAndGradientsOfAWholeWindowMatchPyTorch() throws Exception {
        try (Golden g = Golden.open("apo")) {
            float[] hc = g.floats("loss.human_chosen"),
                    hr = g.floats("loss.human_rejected"),
                    gold = g.floats("loss.gold"),
                    sample = g.floats("loss.sample");
            for (String name : new String[] {
                "ranking_default", "diff_default", "ranking_custom", "diff_custom", "ranking_human_only"
            }) {
                boolean humanOnly = name.endsWith("human_only");
                int a = humanOnly ? 0 : gold.length;
                try (PointerScope s = new PointerScope()) {
                    Tensor[] x = {
                        Tensors.floats(hc, hc.length).requires_grad_(true),
                        Tensors.floats(hr, hr.length).requires_grad_(true),
                        Tensors.floats(gold, gold.length).requires_grad_(true),
                        Tensors.floats(sample, sample.length).requires_grad_(true)
                    };
                    Tensor loss = ApoLoss.loss(
                            x[0], x[1], x[2].narrow(0, 0, a), x[3].narrow(0, 0, a), config(name), hc.length + a);
                    loss.backward();
                    String p = "loss." + name + ".";
                    Golden.assertClose(p + "loss", g.floats(p + "loss"), Tensors.toFloats(loss), 1e-6, 1e-5);
                    String[] inputs = {"human_chosen", "human_rejected", "gold", "sample"};
                    for (int i = 0; i < 4; i++) {
                        float[] grad = humanOnly && i >= 2 ? new float[gold.length] : Tensors.toFloats(x[i].grad());
                        Golden.assertClose(
                                p + "grad_" + inputs[i], g.floats(p + "grad_" + inputs[i]), grad, 1e-7, 1e-5);
                    }
                }
            }
        }
    }

    @Test
    void theSharesOfAWindowSplitIntoMicroBatchesAddUpToTheWholeWindow() throws Exception {
        // mb0 = human 0..1 + APO 0..2, mb1 = human 2..4 only, mb2 = APO 3..6 only; gradients
        // accumulate into the same leaves, as micro-batches accumulate into the parameters
        int[][] parts = {{0, 2, 0, 3}, {2, 5, 3, 3}, {5, 5, 3, 7}};
        try (Golden g = Golden.open("apo")) {
            float[] hc = g.floats("loss.human_chosen"),
                    hr = g.floats("loss.human_rejected"),
                    gold = g.floats("loss.gold"),
                    sample = g.floats("loss.sample");
            for (String type : new String[] {"ranking", "diff"}) {
                try (PointerScope s = new PointerScope()) {
                    Tensor[] x = {
                        Tensors.floats(hc, 5).requires_grad_(true),
                        Tensors.floats(hr, 5).requires_grad_(true),
                        Tensors.floats(gold, 7).requires_grad_(true),
                        Tensors.floats(sample, 7).requires_grad_(true)
                    };
                    double total = 0;
                    for (int k = 0; k < parts.length; k++) {
                        int[] q = parts[k];
                        Tensor mb = ApoLoss.loss(
                                x[0].narrow(0, q[0], q[1] - q[0]),
                                x[1].narrow(0, q[0], q[1] - q[0]),
                                x[2].narrow(0, q[2], q[3] - q[2]),
                                x[3].narrow(0, q[2], q[3] - q[2]),
                                config(type + "_default"),
                                12);
                        Golden.assertClose(
                                type + " mb" + k,
                                g.floats("loss." + type + "_split.mb" + k),
                                new float[] {(float) mb.item_double()},
                                1e-6,
                                1e-5);
                        mb.backward();
                        total += mb.item_double();
                    }
                    String p = "loss." + type + "_default.";
                    assertEquals(
                            g.floats(p + "loss")[0], total, 1e-6, type + ": the shares add up to the window total");
                    String[] inputs = {"human_chosen", "human_rejected", "gold", "sample"};
                    for (int i = 0; i < 4; i++)
                        Golden.assertClose(
                                type + " accumulated grad_" + inputs[i],
                                g.floats(p + "grad_" + inputs[i]),
                                Tensors.toFloats(x[i].grad()),
                                1e-7,
                                1e-5);
                }
            }
        }
    }

    @Test
    void closedFormOneMeanOverEveryPairOfTheWindowWithPerKindWeights() {
        double[] hc = {1.5, -0.25, 3.0},
                hr = {0.5, 0.75, -2.0},
                gold = {0.2, 45.0, -1.0, 2.5, -30.0},
                sample = {0.9, -1.0, -1.5, 2.5, 20.0};
        for (String type : new String[] {ApoLoss.RANKING, ApoLoss.DIFF}) {
            ApoLoss.Config c = new ApoLoss.Config(0.8, 0.2, 4, type);
            // the micro-batch holds 3 + 5 pairs, its window 14 (trainer.py:121-124 divides by every pair of the batch)
            long window = 14;
            double expected = 0;
            double[] gc = new double[3], gr = new double[3], gg = new double[5], gs = new double[5];
            for (int i = 0; i < 3; i++) {
                double d = hc[i] - hr[i];
                expected += 0.8 * -Closed.logSig(d) / window;
                gc[i] = -0.8 * Closed.sig(-d) / window; // d/dd -log sigma(d) = -sigma(-d)
                gr[i] = -gc[i];
            }
            for (int j = 0; j < 5; j++) {
                double d = gold[j] - sample[j];
                double w = 0.2 / 4 / window;
                expected += w * (type.equals(ApoLoss.RANKING) ? -Closed.logSig(d) : -d);
                gg[j] = type.equals(ApoLoss.RANKING) ? -w * Closed.sig(-d) : -w;
                gs[j] = -gg[j];
            }
            try (PointerScope s = new PointerScope()) {
                Tensor[] x = {Closed.leaf(hc), Closed.leaf(hr), Closed.leaf(gold), Closed.leaf(sample)};
                Tensor loss = ApoLoss.loss(x[0], x[1], x[2], x[3], c, window);
                loss.backward();
                assertEquals(expected, loss.item_double(), 1e-6 * Math.max(1, Math.abs(expected)), type + " loss");
                double[][] want = {gc, gr, gg, gs};
                for (int i = 0; i < 4; i++) {
                    float[] got = Tensors.toFloats(x[i].grad());
                    for (int k = 0; k < got.length; k++)
                        assertEquals(
                                want[i][k],
                                got[k],
                                1e-7 + 1e-5 * Math.abs(want[i][k]),
                                type + " grad " + i + "[" + k + "]");
                }
            }
        }
    }

    @Test
    void withOneHumanPairAndFourSamplesPerGoldQueryTheApoTermWeighsATenthOfTheHumanTerm() {
        // the README recipe (1.0, 0.1, 4): a query's 4 gold-vs-sample pairs together weigh apo_loss_coeff = 0.1 of one
        // human pair; each term averaged over its own pairs (align4j before) gave 0.025
        ApoLoss.Config d = ApoLoss.Config.defaults();
        try (PointerScope s = new PointerScope()) {
            Tensor empty = Closed.t();
            Tensor human = Closed.t(0.0), golds = Closed.t(0, 0, 0, 0), samples = Closed.t(0, 0, 0, 0);
            double both = ApoLoss.loss(human, human, golds, samples, d, 5).item_double();
            double humanTerm = ApoLoss.loss(human, human, empty, empty, d, 5).item_double();
            double apoTerm = ApoLoss.loss(empty, empty, golds, samples, d, 5).item_double();
            // every difference is 0: each pair's term is log 2
            assertEquals(Math.log(2) / 5, humanTerm, 1e-7);
            assertEquals(4 * 0.025 * Math.log(2) / 5, apoTerm, 1e-8);
            assertEquals(0.1, apoTerm / humanTerm, 1e-6, "the APO share of the loss");
            assertEquals(humanTerm + apoTerm, both, 1e-7);
        }
    }

    @Test
    void defaultsAreTheCodeRecipeAndAGoldSamplePairWeighsAFortiethOfAHumanPair() {
        ApoLoss.Config d = ApoLoss.Config.defaults();
        assertEquals(1.0, d.rmKlCoeff());
        assertEquals(0.1, d.apoLossCoeff());
        assertEquals(4, d.apoSampleNum());
        assertEquals(ApoLoss.RANKING, d.apoLossType());
        // one human pair and one APO pair in a window of 2: total = (BT + 0.025 * APO_term) / 2
        try (PointerScope s = new PointerScope()) {
            double hd = 0.3, ad = -0.7;
            double got = ApoLoss.loss(Closed.t(hd), Closed.t(0), Closed.t(ad), Closed.t(0), d, 2)
                    .item_double();
            assertEquals((-Closed.logSig(hd) + 0.025 * -Closed.logSig(ad)) / 2, got, 1e-6);
        }
    }

    @Test
    void aMicroBatchWithoutPairsOfAKindAddsOnlyTheOtherKindOverTheWholeWindow() {
        try (PointerScope s = new PointerScope()) {
            Tensor empty = Closed.t();
            // a window of 3 pairs: this micro-batch holds its 2 human pairs, another one its APO pair
            double humanOnly = ApoLoss.loss(Closed.t(1.0, -2.0), Closed.t(0.0, 0.5), empty, empty, CUSTOM_RANKING, 3)
                    .item_double();
            assertEquals(0.5 * (-Closed.logSig(1.0) - Closed.logSig(-2.5)) / 3, humanOnly, 1e-6);
            double apoOnly = ApoLoss.loss(empty, empty, Closed.t(2.0), Closed.t(3.0), CUSTOM_RANKING, 3)
                    .item_double();
            assertEquals(0.3 / 2 * -Closed.logSig(-1.0) / 3, apoOnly, 1e-6);
            assertEquals(
                    0.0,
                    ApoLoss.loss(empty, empty, empty, empty, CUSTOM_RANKING, 3).item_double(),
                    0.0,
                    "a micro-batch with no pairs adds 0");
        }
    }

    @Test
    void badConfigsAndWindowsAreRefusedWithTheKeyName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ApoLoss.Config(-1, 0.1, 4, "ranking"))
                .getMessage()
                .contains("rm_kl_coeff"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ApoLoss.Config(1, Double.NaN, 4, "ranking"))
                .getMessage()
                .contains("apo_loss_coeff"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ApoLoss.Config(1, 0.1, 0, "ranking"))
                .getMessage()
                .contains("apo_sample_num"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ApoLoss.Config(1, 0.1, 4, "wgan"))
                .getMessage()
                .contains("apo_loss_type"));
        try (PointerScope s = new PointerScope()) {
            Tensor two = Closed.t(1, 2), one = Closed.t(1);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoLoss.loss(two, two, one, one, ApoLoss.Config.defaults(), 2));
            assertTrue(e.getMessage().contains("whole accumulation window"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ApoLoss.loss(two, one, one, one, ApoLoss.Config.defaults(), 3));
            assertTrue(e.getMessage().contains("same length"), e.getMessage());
        }
    }
}
