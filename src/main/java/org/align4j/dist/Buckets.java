// SPDX-License-Identifier: Apache-2.0
package org.align4j.dist;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * DDP's gradient buckets: many tensors packed into a few flat buffers so that one collective moves
 * megabytes instead of one collective per parameter (PyTorch's Reducer,
 * torch/csrc/distributed/c10d/reducer.cpp {@code compute_bucket_assignment_by_size}, with
 * {@code bucket_cap_mb} from torch/nn/parallel/distributed.py).
 *
 * <p>As in DDP, tensors of different dtypes never share a bucket and a tensor is never split: one
 * larger than the cap gets a bucket of its own. Unlike DDP we close a bucket before it would pass
 * the cap (DDP closes it just after), so a bucket holding several tensors stays within the cap; and
 * there is no small first bucket ({@code _DEFAULT_FIRST_BUCKET_BYTES}): DDP uses it to start
 * communicating while backward still runs, and our loop reduces after backward.
 *
 * <p>One more difference, measured (docs/c10d-notes.md): DDP's gradients live inside its buckets
 * ({@code gradient_as_bucket_view}) or are copied in and out, and on this CPU those copies cost
 * about 0.6 ms per MB, as much as the all-reduce itself. So a contiguous tensor of at least
 * {@link #ALONE_BYTES} (or the cap, if smaller) is reduced alone, where it lies; only the smaller
 * ones, for which one collective each would cost more than the copy, are packed.
 */
final class Buckets {
    /** Tensors from this size up are reduced in place, alone (one Gloo call costs ~0.1-0.5 ms, a copy ~0.6 ms/MB). */
    static final long ALONE_BYTES = 1L << 20;

    private Buckets() {}

    /**
     * Groups tensor indices into buckets, in the order of each bucket's first tensor.
     *
     * @param dtypes a dtype key per tensor (tensors with different keys never share a bucket)
     * @param bytes each tensor's size in bytes
     * @param alone which tensors get a bucket of their own whatever their size
     */
    static List<List<Integer>> plan(int[] dtypes, long[] bytes, boolean[] alone, long capBytes) {
        if (dtypes.length != bytes.length || alone.length != bytes.length)
            throw new IllegalArgumentException("dtypes, bytes and alone differ in length");
        List<List<Integer>> done = new ArrayList<>();
        Map<Integer, List<Integer>> open = new LinkedHashMap<>();
        Map<Integer, Long> openBytes = new LinkedHashMap<>();
        for (int i = 0; i < bytes.length; i++) {
            if (alone[i]) {
                done.add(List.of(i));
                continue;
            }
            List<Integer> bucket = open.get(dtypes[i]);
            if (bucket != null && openBytes.get(dtypes[i]) + bytes[i] > capBytes) {
                done.add(bucket);
                bucket = null;
            }
            if (bucket == null) {
                bucket = new ArrayList<>();
                open.put(dtypes[i], bucket);
                openBytes.put(dtypes[i], 0L);
            }
            bucket.add(i);
            openBytes.merge(dtypes[i], bytes[i], Long::sum);
        }
        done.addAll(open.values());
        done.sort((a, b) -> Integer.compare(a.getFirst(), b.getFirst()));
        return done;
    }

    /** Plans buckets for these tensors (which must be defined, CPU, dense). */
    static List<Bucket> of(List<Tensor> tensors, long capBytes) {
        int[] dtypes = new int[tensors.size()];
        long[] bytes = new long[tensors.size()];
        boolean[] alone = new boolean[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (t == null || !t.defined())
                throw new IllegalArgumentException("tensor " + i + " is undefined (no grad?)");
            if (!t.is_cpu())
                throw new IllegalArgumentException("tensor " + i + " is not on the CPU: Gloo reduces CPU tensors");
            dtypes[i] = t.scalar_type().value;
            bytes[i] = t.numel() * t.element_size();
            alone[i] = t.is_contiguous() && bytes[i] >= Math.min(ALONE_BYTES, capBytes);
        }
        List<Bucket> out = new ArrayList<>();
        for (List<Integer> idx : plan(dtypes, bytes, alone, capBytes)) {
            List<Tensor> members = new ArrayList<>();
            for (int i : idx) members.add(tensors.get(i));
            out.add(new Bucket(members));
        }
        return out;
    }

    /** The tensors of one bucket and the flat buffer a collective runs on. */
    static final class Bucket {
        final List<Tensor> tensors;
        final long numel;
        private Tensor flat;

        Bucket(List<Tensor> tensors) {
            this.tensors = tensors;
            long n = 0;
            for (Tensor t : tensors) n += t.numel();
            this.numel = n;
        }

        /** True when the bucket is one contiguous tensor, which the collective can use in place. */
        boolean inPlace() {
            return tensors.size() == 1 && tensors.getFirst().is_contiguous();
        }

        torch.ScalarType dtype() {
            return tensors.getFirst().scalar_type();
        }

        /**
         * The buffer to reduce: the tensor itself when {@link #inPlace()}, else {@code buffer} (or
         * a new one when null) filled with the tensors' values, one after the other.
         */
        Tensor pack(Tensor buffer, boolean copyValues) {
            if (inPlace()) return flat = tensors.getFirst();
            flat = buffer != null ? buffer : torch.empty(new long[] {numel}, new TensorOptions(dtype()), null);
            if (copyValues) {
                long off = 0;
                for (Tensor t : tensors) {
                    long n = t.numel();
                    flat.narrow(0, off, n).copy_(t.reshape(-1));
                    off += n;
                }
            }
            return flat;
        }

        /** Copies the reduced values back into the tensors (nothing to do when reduced in place). */
        void unpack() {
            if (inPlace()) return;
            long off = 0;
            for (Tensor t : tensors) {
                long n = t.numel();
                t.copy_(flat.narrow(0, off, n).view_as(t));
                off += n;
            }
        }
    }
}
