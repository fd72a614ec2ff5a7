// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.engine.Tensors;
import org.bytedeco.pytorch.Tensor;

/** Plain-double closed forms and comparisons for the loss tests (independent of libtorch). */
final class Closed {
    private Closed() {}

    static double logSig(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    static double sig(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /** log(1 − e^x), x < 0, in double. */
    static double log1mexp(double x) {
        return x > -Math.log(2) ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
    }

    static double[] sortedCopy(double[] x) {
        double[] s = x.clone();
        java.util.Arrays.sort(s);
        return s;
    }

    static Tensor t(double... v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensors.floats(f, f.length);
    }

    static Tensor leaf(double... v) {
        Tensor x = t(v);
        x.set_requires_grad(true);
        return x;
    }

    /** The float32 values as doubles (what the closed form must start from). */
    static double[] d(Tensor x) {
        float[] f = Tensors.toFloats(x);
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    /** |actual − expected| ≤ 1e-5·|expected| + atol, element by element. */
    static void assertNear(String what, double[] expected, Tensor actual, double atol) {
        float[] a = Tensors.toFloats(actual);
        assertEquals(expected.length, a.length, what + ": length");
        for (int i = 0; i < a.length; i++)
            assertEquals(expected[i], a[i], atol + 1e-5 * Math.abs(expected[i]), what + " element " + i);
    }

    static void assertAllFinite(String what, Tensor x) {
        float[] f = Tensors.toFloats(x);
        for (int i = 0; i < f.length; i++) assertTrue(Float.isFinite(f[i]), what + " element " + i + " is " + f[i]);
    }
}
