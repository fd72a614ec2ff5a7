// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.time.Duration;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * The collectives a data-parallel training loop needs, on c10d's Gloo backend when the job has
 * more than one worker and as no-ops when it has one, so a trainer calls the same code either way.
 *
 * <p>Every rank must call the same collectives in the same order with tensors of the same shapes
 * and dtypes (as with torch.distributed). Every call waits at most {@link DistOptions#timeout()}
 * for its peers; past that, or when a peer dies, it throws a {@link DistException} naming the
 * rank(s) found responsible, and this object refuses further collectives.
 */
public interface Collective extends AutoCloseable {

    /** World size 1: {@link SingleProcess}; otherwise a TCPStore on rank 0 and a Gloo process group. */
    static Collective open(DistEnv env, DistOptions options) {
        return env.distributed() ? GlooCollective.open(env, options) : new SingleProcess();
    }

    int rank();

    int worldSize();

    default boolean isMain() {
        return rank() == 0;
    }

    /**
     * Sums each tensor across ranks, in place (torch.distributed.all_reduce, SUM). The tensors are
     * packed into buckets of at most {@link DistOptions#bucketCapBytes()} (by dtype, in order) and
     * each bucket is one Gloo all-reduce, as DDP's Reducer does; a lone contiguous tensor is reduced
     * where it lies, without a copy. To average gradients, divide by {@link #worldSize()}.
     */
    void allReduceSum(List<Tensor> tensors);

    default void allReduceSum(Tensor... tensors) {
        allReduceSum(List.of(tensors));
    }

    /** Sums metric sums and counts across ranks, in float64, in place; returns {@code values}. */
    double[] allReduceSum(double[] values);

    /** Every rank's {@code values} (same length on every rank), indexed by rank. */
    double[][] allGather(double[] values);

    /** Copies {@code root}'s tensors into every other rank's, in place (bucketed like all-reduce). */
    void broadcast(List<Tensor> tensors, int root);

    /** Waits until every rank has arrived, at most {@link DistOptions#timeout()}. */
    void barrier();

    /** A barrier with its own bound, for waits known to be long (rank 0 saving a checkpoint). */
    void barrier(Duration timeout);

    /**
     * Nanoseconds this worker has spent inside collectives so far, waiting for slower peers included: what
     * data parallelism costs a step beyond the computation (0 with one worker).
     */
    default long collectiveNanos() {
        return 0;
    }

    /** Releases the process group and the store connection; idempotent. */
    @Override
    void close();
}
