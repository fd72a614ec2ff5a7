// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.align4j.engine.Tensors.scalar;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Differentiable building blocks shared by the preference losses, and argument checks. */
final class LossOps {
    private LossOps() {}

    /** log σ(x), stable for any |x| (libtorch's log_sigmoid is -softplus(-x) with a stable backward). */
    static Tensor logSigmoid(Tensor x) {
        return torch.log_sigmoid(x);
    }

    /**
     * The label-smoothed logistic loss {@code -(1-ε) logσ(z) - ε logσ(-z)} used by cDPO, AOT and CPO's
     * sigmoid/simpo; the second term is skipped (not multiplied by zero) when ε = 0.
     */
    static Tensor smoothedLogistic(Tensor z, double eps) {
        Tensor loss = logSigmoid(z).mul(scalar(-(1 - eps)));
        if (eps == 0) return loss;
        return loss.sub(logSigmoid(z.neg()).mul(scalar(eps)));
    }

    /** 1 - x, elementwise. */
    static Tensor oneMinus(Tensor x) {
        return x.neg().add(scalar(1.0));
    }

    /** x clamped to [lo, hi]. */
    static Tensor clamp(Tensor x, double lo, double hi) {
        return x.clamp(new ScalarOptional(scalar(lo)), new ScalarOptional(scalar(hi)));
    }

    /** Sorted ascending along the batch dimension; gradients flow back to the unsorted positions. */
    static Tensor sorted(Tensor x) {
        return torch.sort(x, 0, false).get0();
    }

    /** Fails unless t is a defined 1-D tensor; returns its length. */
    static long check1d(String what, Tensor t) {
        if (t == null || t.isNull() || !t.defined())
            throw new IllegalArgumentException(what + " is missing (expected a (B,) tensor)");
        if (t.dim() != 1)
            throw new IllegalArgumentException(what + " must have shape (B,), got " + t.dim() + " dimensions");
        return t.size(0);
    }

    /** Fails unless t is 1-D with exactly b elements. */
    static void check1d(String what, Tensor t, long b) {
        long n = check1d(what, t);
        if (n != b)
            throw new IllegalArgumentException(
                    what + " has " + n + " elements, expected " + b + " (one per pair / example in the batch)");
    }

    static void requirePositive(String what, double v) {
        if (!(v > 0) || Double.isInfinite(v))
            throw new IllegalArgumentException(what + " must be a finite number > 0, got " + v);
    }

    static void requireNonNegative(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v))
            throw new IllegalArgumentException(what + " must be a finite number >= 0, got " + v);
    }

    static void requireFinite(String what, double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException(what + " must be finite, got " + v);
    }

    /**
     * Runs {@code body} in its own scope; the tensors it returns join the caller's scope, every other
     * tensor it made is freed (as {@link org.align4j.engine.Tensors#scoped} for several results). The
     * body must return tensors it created, never its inputs.
     */
    static Tensor[] scopedAll(Supplier<Tensor[]> body) {
        Tensor[] result;
        try (PointerScope s = new PointerScope()) {
            result = body.get();
            for (Tensor t : result) t.retainReference(); // survive s.close()
        }
        PointerScope outer = PointerScope.getInnerScope();
        if (outer != null) {
            for (Tensor t : result) {
                outer.attach(t);
                t.releaseReference(); // owned by the caller's scope alone
            }
        }
        return result;
    }
}
