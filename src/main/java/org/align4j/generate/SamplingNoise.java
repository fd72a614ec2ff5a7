// SPDX-License-Identifier: Apache-2.0
package org.align4j.generate;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The random numbers {@code torch.multinomial(probs, 1)} draws, one step ahead on a helper thread.
 * For one sample per row, multinomial is the exponential race (ATen's Distributions.cpp): q ~
 * Exp(1) for every row and vocabulary entry, then argmax(probs / q). The (B, V) draws do not
 * depend on the logits but dominate a sampling step's cost (for 64 rows x 16,384 entries ~20 ms
 * on one core, serially: the generator is one sequential stream), so drawing step s + 1's while
 * the model computes step s hides them. The draws come from the same generator in the same order,
 * so the tokens are those of multinomial with that generator. With several generators, the rows are split into equal
 * blocks and block c's draws come from generator c (each block's tokens then do not depend on the others).
 */
final class SamplingNoise implements AutoCloseable {
    private final List<org.bytedeco.pytorch.Generator> rngs;
    private final long[] shape;
    private final ExecutorService helper;
    private Future<Tensor> next;

    /**
     * Starts drawing the first (rows, vocab) block, rows / rngs.size() rows from each generator in turn, which this
     * object alone uses from now on.
     */
    SamplingNoise(List<org.bytedeco.pytorch.Generator> rngs, long rows, long vocab) {
        if (rows % rngs.size() != 0)
            throw new IllegalArgumentException(rows + " rows do not split into " + rngs.size() + " equal blocks");
        this.rngs = List.copyOf(rngs);
        this.shape = new long[] {rows, vocab};
        this.helper = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "align4j-sampling-noise");
            t.setDaemon(true);
            return t;
        });
        this.next = helper.<Tensor>submit(this::drawNext);
    }

    /** Exp(1) draws as multinomial makes them: an empty tensor filled by exponential_ from the generator. */
    static Tensor draw(org.bytedeco.pytorch.Generator rng, long[] shape) {
        try (GeneratorOptional g = new GeneratorOptional(rng);
                TensorOptions f32 = new TensorOptions(torch.ScalarType.Float)) {
            return torch.empty(shape, f32, null).exponential_(1, g);
        }
    }

    /** On the helper thread: the tensor belongs to no scope until take() hands it over. */
    private Tensor drawNext() {
        if (rngs.size() == 1) return draw(rngs.getFirst(), shape);
        long block = shape[0] / rngs.size();
        try (TensorOptions f32 = new TensorOptions(torch.ScalarType.Float)) {
            Tensor q = torch.empty(shape, f32, null);
            for (int c = 0; c < rngs.size(); c++)
                try (GeneratorOptional g = new GeneratorOptional(rngs.get(c));
                        Tensor rows = q.narrow(0, c * block, block)) {
                    rows.exponential_(1, g); // in place: block c's rows, as a (block, vocab) draw fills them
                }
            return q;
        }
    }

    /** This step's (rows, vocab) draws, owned by the caller (close it), and starts drawing the next step's. */
    Tensor take() {
        Tensor q = await(next);
        next = helper.<Tensor>submit(this::drawNext);
        return q;
    }

    private static Tensor await(Future<Tensor> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while drawing sampling noise", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("drawing sampling noise failed", e.getCause());
        }
    }

    /** Waits for the draw in flight (it uses the generator), frees it and stops the helper. */
    @Override
    public void close() {
        try {
            Tensor pending = await(next);
            pending.close();
        } finally {
            helper.shutdown();
        }
    }
}
