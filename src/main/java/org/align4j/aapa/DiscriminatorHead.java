// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.align4j.io.SafetensorsFile;
import org.align4j.io.TensorBlob;

/**
 * The trained part of the AAPA discriminator, on a frozen sentence embedding x (D floats): logistic,
 * z = w·x + b, or a one-hidden-layer MLP, z = w₂·relu(W₁x + b₁) + b₂. Plain Java, float32 parameters, double
 * arithmetic. The parameters live in one flat array θ so that Adam ({@link DiscriminatorTrainer}) treats them as one
 * vector; the layout follows torch's nn.Linear, saved under its names:
 * <ul>
 *   <li>logistic: {@code out.weight} (1, D), {@code out.bias} (1);</li>
 *   <li>mlp: {@code hidden.weight} (H, D), {@code hidden.bias} (H), {@code out.weight} (1, H), {@code out.bias} (1).</li>
 * </ul>
 */
public final class DiscriminatorHead {
    private final String type;
    private final int inputDim, hidden;
    private final float[] params; // the frozen head's θ
    private final double[] exact; // θ widened to double, exactly

    DiscriminatorHead(String type, int inputDim, int hidden, float[] params) {
        if (!DiscriminatorConfig.LOGISTIC.equals(type) && !DiscriminatorConfig.MLP.equals(type))
            throw new IllegalArgumentException("head type '" + type + "' is unknown; valid: logistic, mlp");
        this.type = type;
        this.inputDim = inputDim;
        this.hidden = isMlp(type) ? hidden : 0;
        if (params.length != size(type, inputDim, this.hidden))
            throw new IllegalArgumentException(
                    type + " head on " + inputDim + " inputs" + (isMlp(type) ? " with " + hidden + " hidden units" : "")
                            + " has " + size(type, inputDim, this.hidden) + " parameters, got " + params.length);
        this.params = params.clone();
        this.exact = new double[params.length];
        for (int i = 0; i < params.length; i++) exact[i] = params[i];
    }

    public String type() {
        return type;
    }

    public int inputDim() {
        return inputDim;
    }

    /** Hidden units (0 for logistic). */
    public int hiddenSize() {
        return hidden;
    }

    static boolean isMlp(String type) {
        return DiscriminatorConfig.MLP.equals(type);
    }

    static int size(String type, int d, int h) {
        return isMlp(type) ? h * d + h + h + 1 : d + 1;
    }

    /** Logistic: zeros (the loss is convex). MLP: torch nn.Linear's default, U(−1/√fan_in, 1/√fan_in), from {@code seed}. */
    static double[] init(String type, int d, int h, long seed) {
        double[] theta = new double[size(type, d, h)];
        if (!isMlp(type)) return theta;
        Random r = new Random(seed);
        double b1 = 1 / Math.sqrt(d), b2 = 1 / Math.sqrt(h);
        for (int i = 0; i < h * d + h; i++) theta[i] = (2 * r.nextDouble() - 1) * b1;
        for (int i = h * d + h; i < theta.length; i++) theta[i] = (2 * r.nextDouble() - 1) * b2;
        return theta;
    }

    /** True where θ holds a weight matrix entry (decayed by AdamW), false for biases. */
    static boolean[] decayMask(String type, int d, int h) {
        boolean[] m = new boolean[size(type, d, h)];
        if (!isMlp(type)) {
            Arrays.fill(m, 0, d, true);
        } else {
            Arrays.fill(m, 0, h * d, true);
            Arrays.fill(m, h * d + h, h * d + 2 * h, true);
        }
        return m;
    }

    /**
     * z for one x under parameters θ; {@code pre} (H, MLP only) receives the hidden pre-activations for
     * {@link #addGradient}.
     */
    static double logit(String type, int d, int h, double[] theta, float[] x, double[] pre) {
        if (x.length != d)
            throw new IllegalArgumentException("embedding has " + x.length + " values, the head expects " + d);
        if (!isMlp(type)) {
            double z = theta[d];
            for (int i = 0; i < d; i++) z += theta[i] * x[i];
            return z;
        }
        int out = h * d + h;
        double z = theta[out + h];
        for (int j = 0; j < h; j++) {
            double a = theta[h * d + j];
            int row = j * d;
            for (int i = 0; i < d; i++) a += theta[row + i] * x[i];
            pre[j] = a;
            if (a > 0) z += theta[out + j] * a;
        }
        return z;
    }

    /** grad += dz/dθ · g for one x (g = dLoss/dz), with {@code pre} from the {@link #logit} call on the same x. */
    static void addGradient(
            String type, int d, int h, double[] theta, float[] x, double[] pre, double g, double[] grad) {
        if (!isMlp(type)) {
            for (int i = 0; i < d; i++) grad[i] += g * x[i];
            grad[d] += g;
            return;
        }
        int out = h * d + h;
        grad[out + h] += g;
        for (int j = 0; j < h; j++) {
            if (pre[j] <= 0) continue; // relu'(a) = 0 for a ≤ 0, as torch
            grad[out + j] += g * pre[j];
            double gj = g * theta[out + j];
            int row = j * d;
            for (int i = 0; i < d; i++) grad[row + i] += gj * x[i];
            grad[h * d + j] += gj;
        }
    }

    /** The frozen head's logit for one embedding. */
    public double logit(float[] x) {
        return logit(type, inputDim, hidden, exact, x, new double[hidden]);
    }

    /** The parameters in the saved layout (a copy). */
    public float[] parameters() {
        return params.clone();
    }

    List<TensorBlob> toBlobs() {
        List<TensorBlob> out = new ArrayList<>();
        int d = inputDim, h = hidden;
        if (isMlp(type)) {
            out.add(TensorBlob.ofFloats("hidden.weight", Arrays.copyOfRange(params, 0, h * d), h, d));
            out.add(TensorBlob.ofFloats("hidden.bias", Arrays.copyOfRange(params, h * d, h * d + h), h));
            out.add(TensorBlob.ofFloats("out.weight", Arrays.copyOfRange(params, h * d + h, h * d + 2 * h), 1, h));
            out.add(TensorBlob.ofFloats("out.bias", Arrays.copyOfRange(params, h * d + 2 * h, h * d + 2 * h + 1), 1));
        } else {
            out.add(TensorBlob.ofFloats("out.weight", Arrays.copyOfRange(params, 0, d), 1, d));
            out.add(TensorBlob.ofFloats("out.bias", Arrays.copyOfRange(params, d, d + 1), 1));
        }
        return out;
    }

    /** Reads the tensors {@link #toBlobs} wrote, checking every name and shape. */
    static DiscriminatorHead read(SafetensorsFile f, String type, int d, int h) {
        float[] theta = new float[size(type, d, isMlp(type) ? h : 0)];
        int at = 0;
        if (isMlp(type)) {
            at = copy(f, "hidden.weight", new long[] {h, d}, theta, at);
            at = copy(f, "hidden.bias", new long[] {h}, theta, at);
            at = copy(f, "out.weight", new long[] {1, h}, theta, at);
        } else {
            at = copy(f, "out.weight", new long[] {1, d}, theta, at);
        }
        copy(f, "out.bias", new long[] {1}, theta, at);
        int expected = isMlp(type) ? 4 : 2;
        if (f.tensors().size() != expected)
            throw new IllegalArgumentException(f.path() + " holds tensors "
                    + f.tensors().keySet() + "; a " + type + " head has exactly " + expected);
        return new DiscriminatorHead(type, d, h, theta);
    }

    private static int copy(SafetensorsFile f, String name, long[] shape, float[] into, int at) {
        if (!f.tensors().containsKey(name))
            throw new IllegalArgumentException(f.path() + " has no tensor '" + name + "' (it holds "
                    + f.tensors().keySet() + "); was it written by the discriminator command?");
        long[] got = f.info(name).shape();
        if (!Arrays.equals(got, shape))
            throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(got)
                    + ", discriminator.json implies " + Arrays.toString(shape));
        float[] v = f.toFloats(name);
        System.arraycopy(v, 0, into, at, v.length);
        return at + v.length;
    }
}
