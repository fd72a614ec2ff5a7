// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.time.Duration;

/**
 * How long to wait for peers and how to bucket gradients.
 *
 * @param timeout the longest a collective may wait for its peers before the job is declared
 *     broken (transformers' {@code ddp_timeout}; PyTorch's {@code init_process_group(timeout=)});
 *     a rank that died or hung is named within about this time plus a few seconds of diagnosis
 * @param initTimeout the longest to wait for every rank to join at start-up: workers of one job
 *     start seconds apart (JVM and libtorch start-up), nodes possibly minutes apart
 * @param bucketCapBytes the size of one all-reduce bucket (DDP's {@code bucket_cap_mb}, 25 MiB by
 *     default, torch/nn/parallel/distributed.py)
 */
public record DistOptions(Duration timeout, Duration initTimeout, long bucketCapBytes) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1800); // transformers' ddp_timeout
    public static final Duration DEFAULT_INIT_TIMEOUT = Duration.ofSeconds(300);
    public static final long DEFAULT_BUCKET_CAP_BYTES = 25L << 20;

    public DistOptions {
        if (timeout.toMillis() < 1) throw new IllegalArgumentException("timeout must be >= 1 ms, got " + timeout);
        if (initTimeout.toMillis() < 1)
            throw new IllegalArgumentException("initTimeout must be >= 1 ms, got " + initTimeout);
        if (bucketCapBytes < 1)
            throw new IllegalArgumentException("bucketCapBytes must be >= 1, got " + bucketCapBytes);
    }

    public static DistOptions defaults() {
        return new DistOptions(DEFAULT_TIMEOUT, DEFAULT_INIT_TIMEOUT, DEFAULT_BUCKET_CAP_BYTES);
    }

    public DistOptions withTimeout(Duration t) {
        return new DistOptions(t, initTimeout, bucketCapBytes);
    }

    public DistOptions withInitTimeout(Duration t) {
        return new DistOptions(timeout, t, bucketCapBytes);
    }

    public DistOptions withBucketCapBytes(long bytes) {
        return new DistOptions(timeout, initTimeout, bytes);
    }
}
