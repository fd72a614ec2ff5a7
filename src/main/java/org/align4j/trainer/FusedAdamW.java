// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One AdamW update of many parameters in a single pass over each element: read p, g, m, v once, write p, m, v once.
 * The same arithmetic as {@link AdamW}'s libtorch ops (torch.optim.AdamW's single-tensor step), in the same order,
 * element by element:
 *
 * <pre>
 * p = p * (1 - lr wd)                          (when the parameter decays)
 * m = m + (1 - b1) (g - m)                     lerp, as libtorch's for weights below 0.5
 * v = v b2 + (1 - b2) g g                      mul, addcmul
 * p = p + (-lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
 * </pre>
 *
 * Why: those ops are eight passes over 4-byte elements (about 2 GB of memory traffic for a 25M-parameter model),
 * the single pass about 0.7 GB; on the 2-core Xeon the update of 25.2M parameters with weight decay took 90 ms as
 * ops and 45 ms fused (docs/perf-notes.md). Results equal the ops' to float rounding (libtorch's vector kernels fuse
 * some multiply-adds, differ between CPU capabilities, and lerp the other way for 1 - b1 >= 0.5), not bit for bit;
 * Java's float arithmetic itself is the same on every CPU.
 *
 * <p>Only float32, contiguous CPU tensors of one shape qualify ({@link #fits}); {@link AdamW} steps any other
 * parameter with the ops. Work is cut into chunks spread over the common fork-join pool (on the calling thread alone
 * when torch runs on one thread).
 */
final class FusedAdamW {
    private FusedAdamW() {}

    /** Elements per unit of parallel work: large enough to amortise a task, small enough to balance two cores. */
    private static final long CHUNK = 1 << 18;

    /** One parameter's tensors (all the same length, float32, contiguous) and whether it decays. */
    record Slot(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n, boolean decays) {}

    /** The step's scalars, cast to float as libtorch casts a Scalar for a float32 tensor. */
    record Coefficients(
            float decay,
            float oneMinusBeta1,
            float beta2,
            float oneMinusBeta2,
            float bc2Sqrt,
            float eps,
            float stepSize) {
        static Coefficients of(
                double lr, double weightDecay, double beta1, double beta2, double eps, double bc1, double bc2Sqrt) {
            return new Coefficients(
                    (float) (1 - lr * weightDecay),
                    (float) (1 - beta1),
                    (float) beta2,
                    (float) (1 - beta2),
                    (float) bc2Sqrt,
                    (float) eps,
                    (float) (-lr / bc1));
        }
    }

    /** Whether p, its gradient and both moments can be updated in place through their memory. */
    static boolean fits(Tensor p, Tensor g, Tensor m, Tensor v) {
        for (Tensor t : new Tensor[] {p, g, m, v})
            // by value: the bound scalar_type() returns an enum instance that is not the constant itself
            if (t.scalar_type().value != torch.ScalarType.Float.value || !t.is_contiguous() || !t.is_cpu())
                return false;
        return g.numel() == p.numel() && m.numel() == p.numel() && v.numel() == p.numel();
    }

    static Slot slot(Tensor p, Tensor g, Tensor m, Tensor v, boolean decays) {
        return new Slot(
                Tensors.segment(p), Tensors.segment(g), Tensors.segment(m), Tensors.segment(v), p.numel(), decays);
    }

    /** Updates every slot, chunks of all of them in parallel. */
    static void step(List<Slot> slots, Coefficients c) {
        List<long[]> chunks = new ArrayList<>(); // {slot, from, to}
        for (int s = 0; s < slots.size(); s++)
            for (long from = 0; from < slots.get(s).n(); from += CHUNK)
                chunks.add(new long[] {s, from, Math.min(slots.get(s).n(), from + CHUNK)});
        IntStream range = IntStream.range(0, chunks.size());
        // one thread where torch has one (a data-parallel worker per core): the pool's threads would compete
        (torch.get_num_threads() > 1 ? range.parallel() : range).forEach(i -> {
            long[] k = chunks.get(i);
            update(slots.get((int) k[0]), k[1], k[2], c);
        });
    }

    private static void update(Slot s, long from, long to, Coefficients c) {
        MemorySegment p = s.p(), g = s.g(), m = s.m(), v = s.v();
        float decay = s.decays() ? c.decay() : 1f;
        for (long i = from; i < to; i++) {
            long o = i << 2;
            float gi = g.get(JAVA_FLOAT_UNALIGNED, o);
            float mi = m.get(JAVA_FLOAT_UNALIGNED, o);
            float vi = v.get(JAVA_FLOAT_UNALIGNED, o);
            mi = mi + c.oneMinusBeta1() * (gi - mi);
            vi = vi * c.beta2();
            vi = vi + c.oneMinusBeta2() * gi * gi;
            float denom = (float) Math.sqrt(vi) / c.bc2Sqrt() + c.eps();
            float pi = p.get(JAVA_FLOAT_UNALIGNED, o) * decay;
            m.set(JAVA_FLOAT_UNALIGNED, o, mi);
            v.set(JAVA_FLOAT_UNALIGNED, o, vi);
            p.set(JAVA_FLOAT_UNALIGNED, o, pi + c.stepSize() * mi / denom);
        }
    }
}
