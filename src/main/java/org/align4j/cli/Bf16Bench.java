// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Autocast;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.align4j.trainer.AdamW;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code bench --mode bf16}: what bfloat16 compute buys on this CPU, float32 and bfloat16 side by side in one process
 * (issue 15, goal 3).
 *
 * <ol>
 *   <li>the model's two widest matrix products at the train step's shapes, (B·(T−1) × hidden) · (hidden ×
 *       intermediate) and · (hidden × vocab), in float32 and in bfloat16 (libtorch's oneDNN kernels, AMX where the CPU
 *       has it): the median of {@code iters} each, alternating, and the ratio;
 *   <li>the train step ({@link BenchCommand#trainStep}: next-token cross-entropy, backward, clip, AdamW on float32
 *       master weights) in float32 and under libtorch's CPU autocast to bfloat16 (what {@code torch.autocast("cpu",
 *       dtype=torch.bfloat16)} does in PyTorch: matrix products in bfloat16, the loss in float32), on two copies of the
 *       model with the same weights, alternating steps: the median of each, the ratio, and both runs' losses at every
 *       step with their largest difference (what bfloat16 costs in accuracy).
 * </ol>
 *
 * The autocast is the one {@code --bf16 true} trains with ({@link Autocast}).
 */
final class Bf16Bench {
    private Bf16Bench() {}

    static Map<String, Object> run(Transformer model, Options o) throws java.io.IOException {
        int b = o.integer("batch"), t = o.integer("seq"), warmup = o.integer("warmup"), iters = o.integer("iters");
        if (iters < 1) throw new CliException("bench --mode bf16: --iters must be >= 1, got " + iters);
        var c = model.config();
        long rows = (long) b * (t - 1);
        Map<String, Object> r = BenchCommand.header("bf16", model, o);
        r.put("cpu_bf16", Autocast.cpuBf16Flags());
        r.put("batch", b);
        r.put("seq", t);
        long[][] shapes = {{rows, c.hiddenSize(), c.intermediateSize()}, {rows, c.hiddenSize(), c.vocabSize()}};
        String[] names = {"mlp", "lm_head"};
        for (int s = 0; s < shapes.length; s++) {
            double[][] ms = matmul(shapes[s], warmup, iters);
            double f = BenchCommand.median(ms[0]), h = BenchCommand.median(ms[1]);
            r.put(
                    "matmul_" + names[s] + "_shape",
                    Arrays.stream(shapes[s]).boxed().toList());
            r.put("matmul_" + names[s] + "_ms_f32", BenchCommand.round(f));
            r.put("matmul_" + names[s] + "_ms_bf16", BenchCommand.round(h));
            r.put("speedup_matmul_" + names[s], BenchCommand.round(f / h));
        }
        Tensor ids = BenchCommand.randomIds(c, b, t, o.longValue("seed"));
        try (Transformer copy = ModelPresets.randomInit(c, o.longValue("seed") + 1)) {
            try (NoGradGuard g = new NoGradGuard()) { // the same weights in both
                model.parameters().forEach((k, v) -> copy.parameters().get(k).copy_(v));
            }
            model.requiresGrad(true);
            copy.requiresGrad(true);
            AdamW of = AdamW.withDefaults(model.trainableParameters(), 0.0),
                    ob = AdamW.withDefaults(copy.trainableParameters(), 0.0);
            double[] msF = new double[iters], msB = new double[iters];
            List<Double> lossF = new ArrayList<>(), lossB = new ArrayList<>();
            for (int i = -warmup; i < iters; i++) {
                for (int j = 0; j < 2; j++) {
                    boolean bf16 = (i + j) % 2 != 0; // alternate which runs first
                    long t0 = System.nanoTime();
                    double loss = bf16 ? autocastStep(copy, ids, ob) : BenchCommand.trainStep(model, ids, of);
                    double took = (System.nanoTime() - t0) / 1e6;
                    (bf16 ? lossB : lossF).add(BenchCommand.round(loss));
                    if (i >= 0) (bf16 ? msB : msF)[i] = took;
                }
            }
            model.requiresGrad(false);
            copy.requiresGrad(false);
            of.close();
            ob.close();
            double f = BenchCommand.median(msF), h = BenchCommand.median(msB);
            r.put("step_ms_f32", BenchCommand.round(f));
            r.put("step_ms_bf16", BenchCommand.round(h));
            r.put("speedup_step", BenchCommand.round(f / h));
            r.put("loss_f32", lossF);
            r.put("loss_bf16", lossB);
            double diff = 0;
            for (int i = 0; i < lossF.size(); i++) diff = Math.max(diff, Math.abs(lossF.get(i) - lossB.get(i)));
            r.put("max_loss_diff", BenchCommand.round(diff));
        } finally {
            ids.close();
        }
        r.put("iters", iters);
        r.put("warmup", warmup);
        return r;
    }

    /** One train step with the matrix products in bfloat16 (libtorch CPU autocast, no cast cache). */
    private static double autocastStep(Transformer m, Tensor ids, AdamW opt) {
        try (Autocast on = Autocast.bf16(true)) {
            return BenchCommand.trainStep(m, ids, opt);
        }
    }

    /** (M × K) · (K × N) in float32 and bfloat16, alternating: milliseconds of each timed call. */
    private static double[][] matmul(long[] mkn, int warmup, int iters) {
        double[][] ms = new double[2][iters];
        try (PointerScope scope = new PointerScope()) {
            Tensor a = torch.randn(mkn[0], mkn[1]), w = torch.randn(mkn[1], mkn[2]);
            Tensor[][] in = {{a, w}, {a.to(torch.ScalarType.BFloat16), w.to(torch.ScalarType.BFloat16)}};
            for (int i = -warmup; i < iters; i++)
                for (int j = 0; j < 2; j++) {
                    int which = (i + j) % 2 == 0 ? 0 : 1;
                    long t0 = System.nanoTime();
                    in[which][0].matmul(in[which][1]).close();
                    if (i >= 0) ms[which][i] = (System.nanoTime() - t0) / 1e6;
                }
        }
        return ms;
    }
}
