// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

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

    /** Rank {@code root}'s {@code text} on every rank (its UTF-8 bytes broadcast as a tensor, after their length). */
    default String broadcastText(String text, int root) {
        if (worldSize() == 1) return text;
        byte[] bytes = rank() == root ? text.getBytes(StandardCharsets.UTF_8) : new byte[0];
        try (PointerScope scope = new PointerScope()) {
            Tensor n = Tensors.longs(new long[] {bytes.length}, 1);
            broadcast(List.of(n), root);
            int len = (int) n.item_long();
            if (len == 0) return "";
            // one uint8 per byte (a long per byte sent 8x the data)
            Tensor t = torch.empty(new long[] {len}, new TensorOptions(torch.ScalarType.Byte), null);
            if (rank() == root) Tensors.segment(t).copyFrom(MemorySegment.ofArray(bytes));
            broadcast(List.of(t), root);
            return new String(Tensors.segment(t).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    /** Every rank's {@code text}, indexed by rank (one {@link #broadcastText} from each rank in turn). */
    default List<String> allGatherText(String text) {
        List<String> all = new ArrayList<>();
        for (int r = 0; r < worldSize(); r++) all.add(broadcastText(text, r));
        return all;
    }

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
