// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.align4j.engine.Tensors;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of golden/loss (tools/golden/make_loss_goldens.py: TRL's formulas in float64 PyTorch, with
 * autograd gradients): the float32 per-pair losses and the gradients of their mean w.r.t. every input.
 */
class LossGoldenTest {
    private static final List<String> DPO_INPUTS = List.of("chosen", "rejected", "ref_chosen", "ref_rejected");
    private static Golden golden;
    private static JsonNode meta;

    @BeforeAll
    static void open() throws IOException {
        golden = Golden.open("loss");
        meta = new ObjectMapper().readTree(golden.dir().resolve("expected.json").toFile());
    }

    @AfterAll
    static void close() {
        if (golden != null) golden.close();
    }

    @TestFactory
    Stream<DynamicTest> everyCaseMatchesPyTorch() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : meta.path("cases"))
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> check(c)));
        assertTrue(tests.size() >= 100, "expected.json lists " + tests.size() + " cases");
        return tests.stream();
    }

    @Test
    void goldenCoversEveryDpoLossTypeUnderEveryFDivergence() {
        for (String fdiv : DpoLoss.F_DIVERGENCE_TYPES)
            for (String type : DpoLoss.LOSS_TYPES) {
                if (type.equals("sft")) continue;
                String name = "dpo." + fdiv + "." + type;
                assertTrue(golden.has(name + ".loss"), "golden has no case " + name);
            }
        for (String type : CpoLoss.LOSS_TYPES)
            assertTrue(golden.has("cpo." + type + ".loss") || golden.has("cpo." + type + "_defaults.loss"), type);
    }

    @Test
    void wpoWeightsMatchPyTorch() {
        try (PointerScope s = new PointerScope()) {
            Tensor w = DpoLoss.wpoWeights(
                    tensor("wpo.chosen.token_logps", false),
                    tensor("wpo.chosen.log_sum_p2", false),
                    tensor("wpo.chosen.mask", false),
                    tensor("wpo.rejected.token_logps", false),
                    tensor("wpo.rejected.log_sum_p2", false),
                    tensor("wpo.rejected.mask", false));
            assertClose(
                    "wpo.weights",
                    golden.floats("wpo.weights"),
                    Tensors.toFloats(w),
                    golden.atol("wpo.weights", 0),
                    golden.rtol("wpo.weights", 0));
            assertTrue(!w.requires_grad(), "WPO weights carry no gradient");
        }
    }

    private static void check(JsonNode c) {
        String name = c.path("name").asText(),
                kind = c.path("kind").asText(),
                set = c.path("inputs").asText();
        JsonNode cfg = c.path("config");
        try (PointerScope s = new PointerScope()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            Tensor loss;
            List<String> gradNames;
            switch (kind) {
                case "dpo" -> {
                    for (String n : DPO_INPUTS) in.put(n, tensor(set + "." + n, true));
                    PairLogps p = new PairLogps(
                            in.get("chosen"),
                            in.get("rejected"),
                            in.get("ref_chosen"),
                            in.get("ref_rejected"),
                            tensor(set + ".chosen_lengths", false),
                            tensor(set + ".rejected_lengths", false));
                    loss = DpoLoss.perPair(p, dpoConfig(cfg));
                    gradNames = DPO_INPUTS;
                }
                case "kto" -> {
                    for (String n : List.of("policy", "ref", "kl_policy", "kl_ref"))
                        in.put(n, tensor(set + "." + n, true));
                    KtoLoss.Config kc = new KtoLoss.Config(
                            cfg.path("loss_type").asText(),
                            cfg.path("beta").asDouble(),
                            cfg.path("desirable_weight").asDouble(),
                            cfg.path("undesirable_weight").asDouble());
                    KtoLoss.Output out = KtoLoss.compute(
                            in.get("policy"),
                            in.get("ref"),
                            tensor(set + ".desirable", false),
                            in.get("kl_policy"),
                            in.get("kl_ref"),
                            kc);
                    assertEquals(
                            golden.floats(name + ".z0")[0],
                            out.z0(),
                            1e-5 * Math.max(1, Math.abs(out.z0())),
                            name + " z0");
                    loss = out.perExample();
                    gradNames = List.of("policy", "ref");
                }
                case "orpo" -> {
                    for (String n : List.of("chosen", "rejected")) in.put(n, tensor(set + "." + n, true));
                    OrpoLoss.Output out = OrpoLoss.compute(
                            in.get("chosen"),
                            in.get("rejected"),
                            cfg.path("beta").asDouble());
                    assertClose(
                            name + " log_odds",
                            golden.floats(name + ".log_odds"),
                            Tensors.toFloats(out.logOdds()),
                            golden.atol(name + ".log_odds", 0),
                            golden.rtol(name + ".log_odds", 0));
                    assertTrue(!out.logOdds().requires_grad(), "ORPO log odds are detached");
                    loss = out.perPair();
                    gradNames = List.of("chosen", "rejected");
                }
                case "cpo" -> {
                    for (String n : List.of("chosen", "rejected")) in.put(n, tensor(set + "." + n, true));
                    CpoLoss.Config cc = new CpoLoss.Config(
                            cfg.path("loss_type").asText(),
                            cfg.path("beta").asDouble(),
                            cfg.path("label_smoothing").asDouble(),
                            cfg.path("simpo_gamma").asDouble(),
                            cfg.path("alpha").asDouble(),
                            cfg.path("cpo_alpha").asDouble());
                    assertEquals(
                            set.equals("cpo.avgs"),
                            CpoLoss.averagesTokens(cc),
                            name + ": averagesTokens must match the golden's input set");
                    loss = CpoLoss.perPair(in.get("chosen"), in.get("rejected"), cc);
                    gradNames = List.of("chosen", "rejected");
                }
                default -> throw new AssertionError("unknown kind " + kind + " in " + name);
            }
            assertClose(
                    name + " loss",
                    golden.floats(name + ".loss"),
                    Tensors.toFloats(loss),
                    golden.atol(name + ".loss", 0),
                    golden.rtol(name + ".loss", 0));
            loss.mean().backward();
            for (String n : gradNames) {
                String key = name + ".grad." + n;
                Tensor grad = in.get(n).grad();
                assertTrue(grad.defined(), name + ": no gradient reached " + n);
                assertClose(key, golden.floats(key), Tensors.toFloats(grad), golden.atol(key, 0), golden.rtol(key, 0));
            }
            if (kind.equals("kto")) // z0 is detached: the mismatched log-probs get no gradient
            for (String n : List.of("kl_policy", "kl_ref")) {
                    Tensor grad = in.get(n).grad();
                    assertTrue(
                            !grad.defined()
                                    || Tensors.toFloats(grad.abs().max()).length == 1
                                            && Tensors.toFloats(grad.abs().max())[0] == 0f,
                            n + " got a gradient");
                }
        }
    }

    static DpoLoss.Config dpoConfig(JsonNode cfg) {
        List<String> types = new ArrayList<>();
        for (JsonNode t : cfg.path("loss_type")) types.add(t.asText());
        List<Double> weights = new ArrayList<>();
        for (JsonNode w : cfg.path("loss_weights")) weights.add(w.asDouble());
        return new DpoLoss.Config(
                types,
                weights,
                cfg.path("beta").asDouble(),
                cfg.path("label_smoothing").asDouble(),
                cfg.path("f_divergence_type").asText(),
                cfg.path("f_alpha_divergence_coef").asDouble(),
                cfg.path("discopop_tau").asDouble());
    }

    private static Tensor tensor(String name, boolean requiresGrad) {
        Tensor t = Tensors.floats(golden.floats(name), golden.shape(name));
        if (requiresGrad) t.set_requires_grad(true);
        return t;
    }
}
