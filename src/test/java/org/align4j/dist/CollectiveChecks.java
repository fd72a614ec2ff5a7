// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The values every rank checks after each collective, shared by the in-process and the
 * multi-process tests. All values are small integers or dyadic fractions, so float sums are exact
 * whatever order Gloo adds them in. Returns what was wrong (empty when all is right).
 */
final class CollectiveChecks {
    private CollectiveChecks() {}

    static List<String> all(Collective c) {
        List<String> bad = new ArrayList<>();
        gradients(c, bad);
        metrics(c, bad);
        gather(c, bad);
        broadcast(c, bad);
        c.barrier();
        return bad;
    }

    /**
     * Gradient-like tensors over several 4 KiB buckets (the workers use a 4096-byte cap): one
     * larger than a bucket, a non-contiguous one, a float64 one that gets a bucket of its dtype.
     */
    static void gradients(Collective c, List<String> bad) {
        int w = c.worldSize();
        double factor = (c.rank() + 1); // summed over ranks: w(w+1)/2
        double total = w * (w + 1) / 2.0;
        List<Tensor> grads = new ArrayList<>();
        grads.add(torch.arange(new Scalar(100)).reshape(10, 10).to(torch.ScalarType.Float)); // 400 B
        grads.add(torch.arange(new Scalar(3000)).to(torch.ScalarType.Float)); // 12000 B: a bucket of its own
        grads.add(torch.arange(new Scalar(600))
                .reshape(20, 30)
                .to(torch.ScalarType.Float)
                .t()); // non-contiguous
        grads.add(torch.arange(new Scalar(50)).to(torch.ScalarType.Double)); // float64
        grads.add(torch.arange(new Scalar(900)).to(torch.ScalarType.Float)); // 3600 B: closes the first bucket
        grads.add(torch.arange(new Scalar(7)).to(torch.ScalarType.Float));
        List<Tensor> expected = new ArrayList<>();
        for (int i = 0; i < grads.size(); i++) {
            Tensor g = grads.get(i).add(new Scalar((double) i));
            expected.add(g.mul(new Scalar(total)));
            grads.get(i).copy_(g.mul(new Scalar(factor)));
        }
        boolean wasContiguous = grads.get(2).is_contiguous();
        c.allReduceSum(grads);
        for (int i = 0; i < grads.size(); i++)
            if (!torch.equal(grads.get(i), expected.get(i)))
                bad.add("gradient " + i + ": " + first(grads.get(i)) + " != " + first(expected.get(i)));
        if (grads.get(2).is_contiguous() != wasContiguous) bad.add("tensor 2 changed layout");
        // a second call reuses the bucket buffers
        for (Tensor g : grads) g.fill_(new Scalar(factor));
        c.allReduceSum(grads);
        for (int i = 0; i < grads.size(); i++)
            if (!torch.equal(grads.get(i), torch.full_like(grads.get(i), new Scalar(total))))
                bad.add("second all_reduce, gradient " + i + ": " + first(grads.get(i)));
    }

    static void metrics(Collective c, List<String> bad) {
        int w = c.worldSize();
        double[] m = {1.0, c.rank(), 0.25 * (c.rank() + 1), 1e300};
        double[] got = c.allReduceSum(m);
        double[] want = {w, w * (w - 1) / 2.0, 0.25 * w * (w + 1) / 2.0, w * 1e300};
        if (got != m || !Arrays.equals(m, want))
            bad.add("metrics " + Arrays.toString(m) + " != " + Arrays.toString(want));
    }

    static void gather(Collective c, List<String> bad) {
        double[][] all = c.allGather(new double[] {c.rank(), 10 + c.rank() * 0.5});
        for (int r = 0; r < c.worldSize(); r++)
            if (!Arrays.equals(all[r], new double[] {r, 10 + r * 0.5}))
                bad.add("all_gather row " + r + ": " + Arrays.toString(all[r]));
    }

    static void broadcast(Collective c, List<String> bad) {
        Tensor want = torch.randn(
                new long[] {300, 7},
                new GeneratorOptional(torch.createCPUGenerator(42)),
                new TensorOptions(torch.ScalarType.Float));
        Tensor small = torch.arange(new Scalar(5)).to(torch.ScalarType.Long);
        Tensor mine = c.rank() == 0 ? want.clone() : torch.zeros_like(want);
        Tensor mineSmall = c.rank() == 0 ? small.clone() : torch.zeros_like(small);
        c.broadcast(List.of(mine, mineSmall), 0);
        if (!torch.equal(mine, want)) bad.add("broadcast float: " + first(mine));
        if (!torch.equal(mineSmall, small)) bad.add("broadcast long: " + Arrays.toString(Tensors.toLongs(mineSmall)));
    }

    private static String first(Tensor t) {
        float[] v = Tensors.toFloats(t.reshape(-1));
        return Arrays.toString(Arrays.copyOf(v, Math.min(4, v.length)));
    }
}
