// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Small helpers between Java arrays and libtorch tensors. Every tensor returned here owns its
 * memory (a copy), so it stays valid after the Java array or the source segment goes away; it
 * belongs to the innermost open {@code PointerScope}.
 */
public final class Tensors {
    static {
        NativeEnv.onFirstUse();
    }

    private Tensors() {}

    public static Tensor floats(float[] data, long... shape) {
        checkNumel(data.length, shape);
        try (FloatPointer p = new FloatPointer(data)) {
            return torch.from_blob(p, shape, new TensorOptions(ScalarType.Float))
                    .clone();
        }
    }

    public static Tensor longs(long[] data, long... shape) {
        checkNumel(data.length, shape);
        try (LongPointer p = new LongPointer(data)) {
            return torch.from_blob(p, shape, new TensorOptions(ScalarType.Long)).clone();
        }
    }

    /**
     * Copies raw little-endian storage (e.g. a safetensors slice) into a new tensor of that dtype,
     * then converts it to float32 when {@code toFloat32} is set (bf16/f16 are storage formats here).
     */
    public static Tensor fromSegment(MemorySegment data, ScalarType storage, long[] shape, boolean toFloat32) {
        Tensor t = torch.empty(shape, new TensorOptions(storage), null);
        long nbytes = t.nbytes();
        if (nbytes != data.byteSize())
            throw new IllegalArgumentException("segment has " + data.byteSize() + " bytes, tensor needs " + nbytes);
        MemorySegment dst = MemorySegment.ofAddress(t.data_ptr().address()).reinterpret(nbytes);
        dst.copyFrom(data);
        if (toFloat32 && storage != ScalarType.Float) {
            Tensor f = t.to(ScalarType.Float);
            t.close();
            return f;
        }
        return t;
    }

    /** A view of a contiguous CPU tensor's storage; valid only while the tensor lives. */
    public static MemorySegment segment(Tensor t) {
        if (!t.is_contiguous()) throw new IllegalArgumentException("tensor must be contiguous");
        return MemorySegment.ofAddress(t.data_ptr().address()).reinterpret(t.nbytes());
    }

    public static float[] toFloats(Tensor t) {
        try (Tensor c = t.detach().to(ScalarType.Float).contiguous()) {
            return segment(c).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    public static double[] toDoubles(Tensor t) {
        try (Tensor c = t.detach().to(ScalarType.Double).contiguous()) {
            return segment(c).toArray(ValueLayout.JAVA_DOUBLE);
        }
    }

    public static long[] toLongs(Tensor t) {
        try (Tensor c = t.detach().to(ScalarType.Long).contiguous()) {
            return segment(c).toArray(ValueLayout.JAVA_LONG);
        }
    }

    public static long[] shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) s[i] = t.size(i);
        return s;
    }

    public static Scalar scalar(double v) {
        return new Scalar(v);
    }

    public static Scalar scalar(long v) {
        return new Scalar(v);
    }

    /**
     * Moves a tensor out of the scope it was made in, so it outlives that scope: the caller now
     * owns it and frees it with {@code close()}. (JavaCPP's {@code detach} alone drops the scope's
     * reference, which frees a tensor nobody else holds.)
     */
    public static <T extends Pointer> T keep(org.bytedeco.javacpp.PointerScope scope, T t) {
        t.retainReference();
        scope.detach(t);
        return t;
    }

    /**
     * Runs {@code body} in its own scope and frees every tensor it made except the result, which
     * joins the caller's scope. Python frees an intermediate as soon as its last reference goes;
     * this gives Java the same footprint at the granularity of a block (e.g. one transformer
     * layer) instead of holding a whole forward pass's temporaries until the outer scope closes.
     * Autograd keeps what backward needs through its own references.
     */
    public static Tensor scoped(java.util.function.Supplier<Tensor> body) {
        Tensor result;
        try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
            result = body.get();
            result.retainReference(); // survives s.close()
        }
        org.bytedeco.javacpp.PointerScope outer = org.bytedeco.javacpp.PointerScope.getInnerScope();
        if (outer != null) {
            outer.attach(result);
            result.releaseReference(); // now owned by the caller's scope alone
        }
        return result;
    }

    /** Sum over one dimension, which is dropped: (..., D, ...) -> (..., ...). */
    public static Tensor sum(Tensor t, long dim) {
        return t.sum(new long[] {dim}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
    }

    /** Mean over one dimension, which is dropped. */
    public static Tensor mean(Tensor t, long dim) {
        return t.mean(new long[] {dim}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
    }

    /** Frees a native tensor now; accepts null. */
    public static void close(Pointer... ps) {
        for (Pointer p : ps) if (p != null && !p.isNull()) p.close();
    }

    private static void checkNumel(int n, long[] shape) {
        long numel = 1;
        for (long d : shape) numel *= d;
        if (numel != n) throw new IllegalArgumentException("data has " + n + " elements, shape needs " + numel);
    }
}
