// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.align4j.engine.Autocast;
import org.align4j.engine.BlasThreads;
import org.align4j.model.Lora;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A micro-batch's forward and backward as P parts of its rows at once, one Java thread per part, each part's kernels
 * and products on torch's thread count / P threads (on 2 cores: two parts on one thread each, instead of one batch on
 * two threads). Data parallelism inside the process: each part's loss is already scaled to the whole window, so the
 * parts' gradients add up to the micro-batch's.
 *
 * <p>Why: on 2 cores libtorch's intra-op threading loses much of the second core to small operations and their
 * synchronisation; two single-threaded halves keep both busy. Forward and backward of the 25M llama at 4 x 256: 1.06-1.22
 * s split against 1.30-1.90 s on two threads (docs/perf-notes.md), as two single-threaded processes beat one
 * two-threaded one by 1.23x in data parallel (README).
 *
 * <p>Deterministic: part 0 runs on the caller's thread into the parameters' own {@code grad}; every other part
 * back-propagates into leaves of its own over the same weights ({@link Transformer#withOwnLeaves}), and their
 * gradients are added afterwards in part order. The sums differ from one whole-batch backward in the last bits, as
 * data parallel's do, and depend on P (the machine's thread count), not on the scheduler.
 *
 * <p>Off ({@code ALIGN4J_ROW_PARALLEL=1}, or at most N parts with {@code =N}), and never used, where it would change
 * what a run computes or cost memory: with LoRA dropout (the parts would draw its masks from the one generator in an
 * order the scheduler picks) and where the other parts' gradients would take more than {@link #EXTRA_GRADIENT_BYTES}.
 */
public final class RowParallel {
    private RowParallel() {}

    /** Memory the parts other than the first may hold in gradients of their own (a full fine-tune's copies). */
    static final long EXTRA_GRADIENT_BYTES = 1L << 30;

    private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "align4j-rows");
        t.setDaemon(true);
        return t;
    });

    /** How many parts a training micro-batch of {@code rows} runs as (1: the whole batch on the caller's thread). */
    public static int parts(Transformer model, int rows) {
        return parts(System.getenv("ALIGN4J_ROW_PARALLEL"), torch.get_num_threads(), rows, model);
    }

    static int parts(String setting, int threads, int rows, Transformer model) {
        int cap = threads;
        if (setting != null && !setting.isBlank()) {
            try {
                cap = Integer.parseInt(setting.strip());
            } catch (NumberFormatException e) {
                cap = 0;
            }
            if (cap < 1)
                throw new IllegalArgumentException("ALIGN4J_ROW_PARALLEL='" + setting + "' (environment): use a number"
                        + " of parts >= 1, or 1 to run each micro-batch whole on torch's threads, as PyTorch does");
        }
        if (Lora.dropout(model) > 0) return 1;
        long gradientBytes = 0;
        for (Tensor p : model.trainableParameters().values()) gradientBytes += p.numel() * 4;
        long byMemory = 1 + EXTRA_GRADIENT_BYTES / Math.max(1, gradientBytes);
        return (int) Math.max(1, Math.min(Math.min(rows, Math.min(cap, threads)), byMemory));
    }

    /**
     * Runs {@code part} on {@code parts} contiguous slices of {@code rows} at once (forward and backward), leaving the
     * sum of their gradients in the model's parameters; returns what each part returned, in part order.
     */
    public static <T, R> List<R> run(Transformer model, List<T> rows, int parts, Function<List<T>, R> part) {
        if (parts <= 1) return List.of(part.apply(rows));
        int threads = torch.get_num_threads();
        int each = Math.max(1, threads / parts);
        boolean bf16 = Autocast.enabled();
        List<R> results = new ArrayList<>();
        List<List<Tensor>> leaves = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            leaves.add(List.of());
            results.add(null);
        }
        List<Future<?>> others = new ArrayList<>();
        RuntimeException failure = null;
        try (BlasThreads.OneThread blas = BlasThreads.oneThread()) {
            for (int i = 1; i < parts; i++) {
                final int k = i;
                List<T> slice = slice(rows, k, parts);
                others.add(THREADS.submit(() -> {
                    torch.set_num_threads(each); // this thread's OpenMP count
                    try (Autocast a = Autocast.bf16(bf16)) {
                        leaves.set(k, model.withOwnLeaves(() -> results.set(k, part.apply(slice))));
                    }
                }));
            }
            torch.set_num_threads(each);
            try {
                results.set(0, part.apply(slice(rows, 0, parts)));
            } catch (RuntimeException e) {
                failure = e;
            }
            for (Future<?> f : others) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (failure == null)
                        failure = e.getCause() instanceof RuntimeException r
                                ? r
                                : new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    if (failure == null) failure = new IllegalStateException("interrupted", e);
                }
            }
        } finally {
            torch.set_num_threads(threads);
        }
        try {
            if (failure != null) throw failure;
            addGradients(model, leaves);
        } finally {
            leaves.forEach(l -> l.forEach(Tensor::close));
        }
        return results;
    }

    /** Rows [k n / parts, (k + 1) n / parts): sizes differ by at most one. */
    static <T> List<T> slice(List<T> rows, int k, int parts) {
        return rows.subList(k * rows.size() / parts, (k + 1) * rows.size() / parts);
    }

    /** Adds each part's own leaves' gradients (parts 1, 2, ...) into the parameters', in that order. */
    private static void addGradients(Transformer model, List<List<Tensor>> leaves) {
        List<Tensor> params = List.copyOf(model.trainableParameters().values());
        try (PointerScope scope = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            for (int k = 1; k < leaves.size(); k++) {
                for (int i = 0; i < params.size(); i++) {
                    Tensor add = leaves.get(k).get(i).grad();
                    if (add == null || add.isNull() || !add.defined()) continue;
                    Tensor p = params.get(i), grad = p.grad();
                    if (grad != null && !grad.isNull() && grad.defined()) grad.add_(add);
                    else p.mutable_grad().put(add.clone());
                }
            }
        }
    }
}
