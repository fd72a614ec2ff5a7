// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.time.Duration;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** A job of one worker: every collective is the identity, as torch.distributed is with world size 1. */
public final class SingleProcess implements Collective {

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    @Override
    public void allReduceSum(List<Tensor> tensors) {}

    @Override
    public double[] allReduceSum(double[] values) {
        return values;
    }

    @Override
    public double[][] allGather(double[] values) {
        return new double[][] {values.clone()};
    }

    @Override
    public void broadcast(List<Tensor> tensors, int root) {
        if (root != 0) throw new IllegalArgumentException("broadcast root " + root + " but the world has only rank 0");
    }

    @Override
    public void barrier() {}

    @Override
    public void barrier(Duration timeout) {}

    @Override
    public void close() {}
}
