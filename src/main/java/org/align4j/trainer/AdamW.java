// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.align4j.engine.Tensors;
import org.align4j.io.DType;
import org.align4j.io.SafetensorsFile;
import org.align4j.io.SafetensorsWriter;
import org.align4j.io.TensorBlob;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * AdamW (Loshchilov and Hutter, arXiv 1711.05101, Algorithm 2) exactly as torch.optim.AdamW
 * steps, written here so that its state is ours to save and restore bit for bit:
 *
 * <pre>
 * p &lt;- p * (1 - lr * wd)                      decoupled weight decay
 * m &lt;- b1 m + (1 - b1) g ;  v &lt;- b2 v + (1 - b2) g^2
 * p &lt;- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * Weight decay applies to the parameters transformers' Trainer decays: not to biases and not to
 * normalisation weights ({@code get_decay_parameter_names}: names matching bias, layernorm,
 * rmsnorm, ".norm." or "_norm"). Parameters whose {@code grad()} is undefined are skipped.
 *
 * <p>Float32 contiguous parameters (all of them, in practice) are updated by {@link FusedAdamW}: the same arithmetic
 * in one pass over each element instead of eight libtorch ops; the ops remain for any other parameter.
 */
public final class AdamW implements AutoCloseable {
    private static final Pattern NO_DECAY =
            Pattern.compile("bias|layernorm|rmsnorm|(?:^|\\.)norm(?:$|\\.)|_norm(?:$|\\.)");

    private final Map<String, Tensor> params;
    private final Map<String, Tensor> expAvg = new LinkedHashMap<>(), expAvgSq = new LinkedHashMap<>();
    private final double beta1, beta2, eps, weightDecay;
    private long step;
    private boolean fused = true;

    public AdamW(Map<String, Tensor> params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        try (PointerScope s = new PointerScope()) {
            for (var e : this.params.entrySet()) {
                expAvg.put(e.getKey(), Tensors.keep(s, torch.zeros_like(e.getValue())));
                expAvgSq.put(e.getKey(), Tensors.keep(s, torch.zeros_like(e.getValue())));
            }
        }
    }

    /** transformers' TrainingArguments defaults: betas (0.9, 0.999), eps 1e-8. */
    public static AdamW withDefaults(Map<String, Tensor> params, double weightDecay) {
        return new AdamW(params, 0.9, 0.999, 1e-8, weightDecay);
    }

    public static boolean decays(String name) {
        return !NO_DECAY.matcher(name.toLowerCase()).find();
    }

    public long stepCount() {
        return step;
    }

    /**
     * Whether {@link #step} updates float32 contiguous parameters in one pass over their memory ({@link FusedAdamW},
     * the default) or with libtorch's ops (the same numbers to float rounding; for tests and benchmarks).
     */
    void useFused(boolean on) {
        fused = on;
    }

    /** One update at learning rate {@code lr} from the gradients currently in each parameter's grad. */
    public void step(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        try (NoGradGuard g = new NoGradGuard();
                PointerScope s = new PointerScope()) {
            List<FusedAdamW.Slot> slots = new ArrayList<>();
            for (var e : params.entrySet()) {
                Tensor p = e.getValue(), grad = p.grad();
                if (grad == null || grad.isNull() || !grad.defined()) continue;
                Tensor m = expAvg.get(e.getKey()), v = expAvgSq.get(e.getKey());
                boolean decays = weightDecay != 0 && decays(e.getKey());
                if (fused && FusedAdamW.fits(p, grad, m, v)) {
                    slots.add(FusedAdamW.slot(p, grad, m, v, decays));
                    continue;
                }
                if (decays) p.mul_(Tensors.scalar(1 - lr * weightDecay));
                m.lerp_(grad, Tensors.scalar(1 - beta1)); // b1 m + (1 - b1) g
                v.mul_(Tensors.scalar(beta2)).addcmul_(grad, grad, Tensors.scalar(1 - beta2));
                Tensor denom = v.sqrt().div_(Tensors.scalar(bc2Sqrt)).add_(Tensors.scalar(eps));
                p.addcdiv_(m, denom, Tensors.scalar(-lr / bc1));
            }
            FusedAdamW.step(slots, FusedAdamW.Coefficients.of(lr, weightDecay, beta1, beta2, eps, bc1, bc2Sqrt));
        }
    }

    /**
     * The end of every trainer's step: clip the global gradient norm of {@code model} to {@code maxGradNorm} (when > 0;
     * 0 or less means no clipping, as in transformers), update at {@code lr}, clear the gradients. Returns the norm
     * before clipping (what transformers logs as grad_norm).
     */
    public double clipStepAndZero(Transformer model, double maxGradNorm, double lr) {
        // an infinite bound measures the norm and scales by min(1, inf / norm) = 1: nothing changes
        double bound = maxGradNorm > 0 ? maxGradNorm : Double.POSITIVE_INFINITY;
        double norm = torch.clip_grad_norm_(model.parameterVector(), bound, 2.0, false);
        step(lr);
        zeroGrad();
        return norm;
    }

    /** Sets every gradient to undefined (set_to_none, PyTorch's default), freeing its memory. */
    public void zeroGrad() {
        for (Tensor p : params.values()) {
            Tensor grad = p.grad();
            if (grad != null && !grad.isNull() && grad.defined())
                p.mutable_grad().reset();
        }
    }

    /** Moments and step count as a safetensors file: {@code exp_avg.<name>}, {@code exp_avg_sq.<name>}, {@code step}. */
    public void save(Path file, boolean overwrite) throws IOException {
        try (PointerScope s = new PointerScope()) {
            List<TensorBlob> blobs = new ArrayList<>();
            for (String name : params.keySet()) {
                blobs.add(blob("exp_avg." + name, expAvg.get(name)));
                blobs.add(blob("exp_avg_sq." + name, expAvgSq.get(name)));
            }
            blobs.add(TensorBlob.ofLongs("step", new long[] {step}));
            SafetensorsWriter.write(file, blobs, Map.of("format", "pt", "optimizer", "adamw"), overwrite);
        }
    }

    /** Restores what {@link #save} wrote; every parameter's moments must be there with the right shape. */
    public void load(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file);
                NoGradGuard g = new NoGradGuard();
                PointerScope s = new PointerScope()) {
            for (String name : params.keySet()) {
                copyInto(f, "exp_avg." + name, expAvg.get(name));
                copyInto(f, "exp_avg_sq." + name, expAvgSq.get(name));
            }
            if (!f.tensors().containsKey("step"))
                throw new org.align4j.io.CheckpointException(file, "step", "missing; not an align4j AdamW state file");
            step = f.data("step").get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0);
        }
    }

    private static TensorBlob blob(String name, Tensor t) {
        Tensor c = t.contiguous();
        return new TensorBlob(name, DType.F32, Tensors.shape(c), Tensors.segment(c));
    }

    private static void copyInto(SafetensorsFile f, String name, Tensor target) throws IOException {
        var info = f.tensors().get(name);
        if (info == null)
            throw new org.align4j.io.CheckpointException(
                    f.path(), name, "missing from the optimizer state; it does not belong to this model");
        if (!java.util.Arrays.equals(info.shape(), Tensors.shape(target)))
            throw new org.align4j.io.CheckpointException(
                    f.path(),
                    name,
                    "has shape " + java.util.Arrays.toString(info.shape()) + ", the parameter has "
                            + java.util.Arrays.toString(Tensors.shape(target)));
        target.copy_(Tensors.fromSegment(f.data(name), torch.ScalarType.Float, info.shape(), true));
    }

    @Override
    public void close() {
        for (Tensor t : expAvg.values()) t.close();
        for (Tensor t : expAvgSq.values()) t.close();
    }
}
