// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.align4j.data.PreferencePair;
import org.align4j.data.UnpairedExample;
import org.align4j.engine.Tensors;
import org.align4j.loss.CpoLoss;
import org.align4j.loss.DpoLoss;
import org.align4j.loss.KtoLoss;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The first training step of every preference method against PyTorch
 * (tools/golden/make_preference_goldens.py: TRL's formulas written independently in torch, on the
 * tiny llama as policy and a noisy copy of it as reference): loss, logged metrics under TRL's names,
 * and gradient rows, norms and sums of three weights.
 */
class PreferenceGoldenTest {
    private static Golden golden;
    private static JsonNode meta;
    private static Transformer policy, ref;

    @BeforeAll
    static void load() throws Exception {
        golden = Golden.open("preference");
        meta = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(golden.dir().resolve("expected.json").toFile());
        policy = Checkpoints.load(golden.dir().resolve(meta.get("policy").asText()));
        ref = Checkpoints.load(golden.dir().resolve(meta.get("reference").asText()));
    }

    @AfterAll
    static void close() {
        policy.close();
        ref.close();
    }

    static Stream<String> cases() throws Exception {
        JsonNode m = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Golden.resourceDir("golden/preference")
                        .resolve("expected.json")
                        .toFile());
        List<String> names = new ArrayList<>();
        m.get("case_order").forEach(n -> names.add(n.asText()));
        // orpo_completion_nll is the paper's completion-only NLL; align4j follows TRL (prompt + completion), case
        // "orpo"
        return names.stream().filter(n -> !n.equals("orpo_completion_nll"));
    }

    private static long[] ids(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asLong();
        return out;
    }

    private static List<Double> doubles(JsonNode a, int n) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < n; i++)
            out.add(a == null || a.isNull() ? 1.0 : a.get(i).asDouble());
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void firstStepMatchesPyTorch(String name) throws Exception {
        JsonNode c = meta.get("cases").get(name), cfg = c.get("config");
        long pad = meta.get("pad_token_id").asLong();
        List<PreferencePair> pairs = new ArrayList<>();
        for (JsonNode p : meta.get("data").get("pairs"))
            pairs.add(new PreferencePair(ids(p.get("prompt")), ids(p.get("chosen")), ids(p.get("rejected"))));
        TrainingArgs args = TrainingArgs.defaults(java.nio.file.Path.of("unused"));
        policy.requiresGrad(true);
        try (PointerScope scope = new PointerScope()) {
            StepSums sums = switch (c.get("trainer").asText()) {
                case "dpo" -> {
                    List<String> types = new ArrayList<>();
                    cfg.get("loss_type").forEach(t -> types.add(t.asText()));
                    DpoConfig dc = DpoConfig.defaults(args)
                            .withLoss(new DpoLoss.Config(
                                    types,
                                    doubles(cfg.get("loss_weights"), types.size()),
                                    cfg.get("beta").asDouble(),
                                    cfg.get("label_smoothing").asDouble(),
                                    cfg.get("f_divergence_type").asText(),
                                    cfg.get("f_alpha_divergence_coef").asDouble(),
                                    cfg.get("discopop_tau").asDouble()))
                            .withOptions(
                                    cfg.get("reference_free").asBoolean(),
                                    cfg.get("use_weighting").asBoolean(),
                                    cfg.get("precompute_ref_log_probs").asBoolean(),
                                    0)
                            .withLdAlpha(
                                    cfg.get("ld_alpha").isNull()
                                            ? null
                                            : cfg.get("ld_alpha").asDouble());
                    Reference r = new Reference(policy, ref, dc.referenceFree(), "dpo");
                    yield DpoTrainer.microBatch(
                            policy,
                            r,
                            dc.precomputeRefLogProbs()
                                    ? DpoTrainer.precomputed(r, pairs, pairs.size(), pad, dc.ldAlpha())
                                    : DpoTrainer.onTheFly(pairs),
                            dc,
                            pad,
                            window(
                                    pairs.size(),
                                    pairs.stream()
                                            .mapToLong(p -> p.chosen().length)
                                            .sum()),
                            true);
                }
                case "cpo" -> {
                    CpoLoss.Config lc = new CpoLoss.Config(
                            cfg.get("loss_type").asText(),
                            cfg.get("beta").asDouble(),
                            cfg.get("label_smoothing").asDouble(),
                            cfg.get("simpo_gamma").asDouble(),
                            cfg.get("alpha").asDouble(),
                            cfg.get("cpo_alpha").asDouble());
                    yield CpoTrainer.microBatch(
                            policy,
                            pairs,
                            new CpoConfig(args, lc, 0),
                            pad,
                            window(
                                    pairs.size(),
                                    pairs.stream()
                                            .mapToLong(p -> p.chosen().length)
                                            .sum()),
                            true);
                }
                case "orpo" ->
                    OrpoTrainer.microBatch(
                            policy,
                            pairs,
                            new OrpoConfig(args, cfg.get("beta").asDouble(), 0),
                            pad,
                            window(
                                    pairs.size(),
                                    pairs.stream()
                                            .mapToLong(OrpoTrainer::nllTokens)
                                            .sum()),
                            true);
                case "kto" -> {
                    List<UnpairedExample> ex = new ArrayList<>();
                    for (JsonNode e : meta.get("data").get("kto").get("examples"))
                        ex.add(new UnpairedExample(
                                ids(e.get("prompt")),
                                ids(e.get("completion")),
                                e.get("label").asBoolean()));
                    KtoLoss.Config lc = new KtoLoss.Config(
                            cfg.get("loss_type").asText(),
                            cfg.get("beta").asDouble(),
                            cfg.get("desirable_weight").asDouble(),
                            cfg.get("undesirable_weight").asDouble());
                    yield KtoTrainer.microBatch(
                            policy,
                            new Reference(policy, ref, false, "kto"),
                            ex,
                            new KtoConfig(args, lc, 0),
                            pad,
                            window(
                                    ex.size(),
                                    ex.stream()
                                            .mapToLong(e -> e.completion().length)
                                            .sum()),
                            true,
                            1);
                }
                default -> throw new AssertionError("unknown trainer in golden: " + c.get("trainer"));
            };
            JsonNode tol = c.get("tolerance");
            check(name + " loss", c.get("loss").asDouble(), sums.loss(), tol.get("loss"));
            Map<String, Double> got = sums.metrics();
            int compared = 0;
            for (var it = c.get("metrics").properties().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().endsWith("_sum") || e.getKey().startsWith("count/"))
                    continue; // TRL's internal accumulators; their means are compared
                if (!got.containsKey(e.getKey()))
                    fail(name + ": align4j does not log " + e.getKey() + "; it logs " + got.keySet());
                check(
                        name + " " + e.getKey(),
                        e.getValue().asDouble(),
                        got.get(e.getKey()),
                        tol.get("metrics").get(e.getKey()));
                compared++;
            }
            assertTrue(compared >= 5, name + ": too few metrics compared");
            for (JsonNode pn : meta.get("grad_params")) {
                String param = pn.asText();
                Tensor grad = policy.parameters().get(param).grad();
                float[] all = Tensors.toFloats(grad);
                int cols = (int) grad.size(1);
                List<Integer> rows = new ArrayList<>();
                meta.get("grad_rows").get(param).forEach(r -> rows.add(r.asInt()));
                float[] picked = new float[rows.size() * cols];
                for (int i = 0; i < rows.size(); i++) System.arraycopy(all, rows.get(i) * cols, picked, i * cols, cols);
                JsonNode gt = tol.get("grad").get(param);
                Golden.assertClose(
                        name + " grad " + param,
                        golden.floats(name + ".grad." + param),
                        picked,
                        gt.get("atol").asDouble(),
                        gt.get("rtol").asDouble());
                double norm = 0, sum = 0;
                for (float v : all) {
                    norm += (double) v * v;
                    sum += v;
                }
                check(
                        name + " grad norm " + param,
                        c.get("grad_norms").get(param).asDouble(),
                        Math.sqrt(norm),
                        tol.get("grad_norms").get(param));
                check(
                        name + " grad sum " + param,
                        c.get("grad_sums").get(param).asDouble(),
                        sum,
                        tol.get("grad_sums").get(param));
            }
        } finally {
            for (Tensor p : policy.parameters().values())
                if (p.grad() != null && p.grad().defined()) p.mutable_grad().reset();
            policy.requiresGrad(false);
        }
    }

    private static <T> TrainLoop.Window<T> window(int rows, long targetTokens) {
        return new TrainLoop.Window<>(java.util.Collections.nCopies(rows, null), targetTokens, 0);
    }

    private static void check(String what, double expected, double actual, JsonNode tol) {
        double allowed = tol.get("atol").asDouble() + tol.get("rtol").asDouble() * Math.abs(expected);
        if (!(Math.abs(actual - expected) <= allowed))
            fail(String.format(
                    "%s: expected %.10g got %.10g (|diff| %.3g > %.3g)",
                    what, expected, actual, Math.abs(actual - expected), allowed));
    }
}
