// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.align4j.testing.Golden.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.io.SafetensorsFile;
import org.align4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AdamW and the schedule against torch.optim.AdamW + transformers' linear warm-up schedule. */
class AdamWTest {
    private static final List<String> NAMES =
            List.of("model.layers.0.mlp.up_proj.weight", "model.layers.0.self_attn.q_proj.bias", "model.norm.weight");

    @Test
    void decayGroupsFollowTransformersTrainer() {
        assertTrue(AdamW.decays("model.layers.0.mlp.up_proj.weight"));
        assertTrue(AdamW.decays("lm_head.weight"));
        assertFalse(AdamW.decays("model.layers.0.self_attn.q_proj.bias"));
        assertFalse(AdamW.decays("model.norm.weight"));
        assertFalse(AdamW.decays("model.layers.3.input_layernorm.weight"));
        assertFalse(AdamW.decays("model.layers.3.self_attn.q_norm.weight"));
    }

    @Test
    void fiveStepsMatchTorchAdamWWithLinearWarmup(@TempDir Path tmp) throws Exception {
        Path file = Golden.resourceDir("golden/optim").resolve("expected.safetensors");
        try (SafetensorsFile g = SafetensorsFile.open(file);
                PointerScope s = new PointerScope()) {
            Map<String, Tensor> params = new LinkedHashMap<>();
            for (String n : NAMES)
                params.put(
                        n,
                        Tensors.floats(
                                        g.toFloats("init." + n),
                                        g.tensors().get("init." + n).shape())
                                .set_requires_grad(true));
            LrSchedule schedule = new LrSchedule("linear", 1e-2, 2, 5);
            float[] expectedLr = g.toFloats("lr");
            try (AdamW opt = AdamW.withDefaults(params, 0.1)) {
                for (int step = 0; step < 5; step++) {
                    assertEquals(expectedLr[step], schedule.at(step), 1e-9, "lr at step " + step);
                    for (String n : NAMES)
                        params.get(n)
                                .mutable_grad()
                                .put(Tensors.floats(
                                        g.toFloats("grad." + step + "." + n),
                                        g.tensors().get("init." + n).shape()));
                    opt.step(schedule.at(step));
                    opt.zeroGrad();
                    for (String n : NAMES)
                        assertClose(
                                "step " + step + " " + n,
                                g.toFloats("after." + step + "." + n),
                                Tensors.toFloats(params.get(n)),
                                1e-6,
                                1e-6);
                    if (step == 2) { // save and restore mid-run: the rest must still match
                        opt.save(tmp.resolve("optimizer.safetensors"), false);
                        opt.load(tmp.resolve("optimizer.safetensors"));
                        assertEquals(3, opt.stepCount());
                    }
                }
            }
        }
    }

    /**
     * The one-pass update (FusedAdamW) against libtorch's ops on the same gradients: a decaying weight larger than
     * one work chunk, a bias that does not decay, and a weight whose gradient is a transposed view (not contiguous,
     * so both optimizers step it with the ops).
     */
    @Test
    void theOnePassUpdateEqualsTheOpsToFloatRounding() {
        try (PointerScope s = new PointerScope()) {
            org.bytedeco.pytorch.global.torch.manual_seed(7);
            Map<String, long[]> shapes = new LinkedHashMap<>();
            shapes.put("model.layers.0.mlp.up_proj.weight", new long[] {600, 500});
            shapes.put("model.layers.0.self_attn.q_proj.bias", new long[] {500});
            shapes.put("model.layers.0.self_attn.o_proj.weight", new long[] {40, 30});
            Map<String, Tensor> fusedParams = new LinkedHashMap<>(), opsParams = new LinkedHashMap<>();
            for (var e : shapes.entrySet()) {
                Tensor init = org.bytedeco.pytorch.global.torch.randn(e.getValue());
                fusedParams.put(e.getKey(), init.clone().set_requires_grad(true));
                opsParams.put(e.getKey(), init.clone().set_requires_grad(true));
            }
            try (AdamW fused = AdamW.withDefaults(fusedParams, 0.1);
                    AdamW ops = AdamW.withDefaults(opsParams, 0.1)) {
                ops.useFused(false);
                for (int step = 0; step < 4; step++) {
                    for (var e : shapes.entrySet()) {
                        long[] shape = e.getValue();
                        Tensor grad = shape.length == 2 && shape[0] == 40
                                ? org.bytedeco
                                        .pytorch
                                        .global
                                        .torch
                                        .randn(shape[1], shape[0])
                                        .t() // a view: not contiguous
                                : org.bytedeco.pytorch.global.torch.randn(shape);
                        fusedParams.get(e.getKey()).mutable_grad().put(grad);
                        opsParams.get(e.getKey()).mutable_grad().put(grad.clone());
                    }
                    Tensor w = fusedParams.get("model.layers.0.mlp.up_proj.weight");
                    assertTrue(FusedAdamW.fits(w, w.grad(), w, w), "a float32 contiguous weight takes the one pass");
                    Tensor o = fusedParams.get("model.layers.0.self_attn.o_proj.weight");
                    assertFalse(FusedAdamW.fits(o, o.grad(), o, o), "a transposed gradient takes the ops");
                    fused.step(1e-2);
                    ops.step(1e-2);
                    fused.zeroGrad();
                    ops.zeroGrad();
                    for (String n : shapes.keySet())
                        assertClose(
                                "step " + step + " " + n,
                                Tensors.toFloats(opsParams.get(n)),
                                Tensors.toFloats(fusedParams.get(n)),
                                1e-6,
                                1e-6);
                }
            }
        }
    }

    @Test
    void schedulesMatchTheirClosedForms() {
        LrSchedule cos = new LrSchedule("cosine", 2.0, 10, 110);
        assertEquals(0.0, cos.at(0));
        assertEquals(1.0, cos.at(5), 1e-12);
        assertEquals(2.0, cos.at(10), 1e-12);
        assertEquals(1.0, cos.at(60), 1e-12); // halfway through the decay: cos(pi/2)
        assertEquals(2.0 * 0.5 * (1 + Math.cos(Math.PI * 0.75)), cos.at(85), 1e-12);
        LrSchedule lin = new LrSchedule("linear", 1.0, 0, 4);
        assertArrayEquals(
                new double[] {1.0, 0.75, 0.5, 0.25}, new double[] {lin.at(0), lin.at(1), lin.at(2), lin.at(3)}, 1e-12);
        assertEquals(3, LrSchedule.warmupSteps(0, 0.03, 100), "ceil(0.03 * 100)");
        assertEquals(7, LrSchedule.warmupSteps(7, 0.5, 100), "warmup_steps wins over warmup_ratio");
    }
}
