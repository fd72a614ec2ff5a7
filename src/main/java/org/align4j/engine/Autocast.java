// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's CPU autocast to bfloat16 for a block of code, as {@code with torch.autocast("cpu", dtype=torch.bfloat16):}
 * in PyTorch: the operations on autocast's lower-precision list (matrix products, linear layers, attention) run in
 * bfloat16, the float32 weights are cast as they are used, and the outputs are bfloat16; everything else runs in the
 * dtype of its inputs. The state is per thread and restored on {@link #close}, so regions nest.
 *
 * <p>The cast cache is off inside: the bound API cannot clear it after an optimizer step, and a cached bfloat16 copy
 * of a weight would then be stale. Each product casts its weight on each use instead.
 */
public final class Autocast implements AutoCloseable {
    private final boolean wasEnabled, wasCache;
    private final torch.ScalarType wasDtype;

    private Autocast(boolean enabled) {
        wasEnabled = torch.is_autocast_enabled(torch.DeviceType.CPU);
        wasCache = torch.is_autocast_cache_enabled();
        wasDtype = torch.get_autocast_dtype(torch.DeviceType.CPU);
        if (enabled) {
            torch.set_autocast_dtype(torch.DeviceType.CPU, torch.ScalarType.BFloat16);
            torch.set_autocast_cache_enabled(false);
        }
        torch.set_autocast_enabled(torch.DeviceType.CPU, enabled);
    }

    /** bfloat16 autocast on when {@code on}, else off (a float32 region, also inside an autocast one). */
    public static Autocast bf16(boolean on) {
        return new Autocast(on);
    }

    /** Whether autocast is on for this thread's CPU operations. */
    public static boolean enabled() {
        return torch.is_autocast_enabled(torch.DeviceType.CPU);
    }

    /**
     * The CPU's bfloat16 instructions as /proc/cpuinfo names them ({@code amx_bf16}, {@code avx512_bf16}); empty when
     * it has none (libtorch then emulates bfloat16, slower than float32) or /proc/cpuinfo cannot be read.
     */
    public static java.util.List<String> cpuBf16Flags() {
        java.nio.file.Path info = java.nio.file.Path.of("/proc/cpuinfo");
        try {
            String flags = java.nio.file.Files.readAllLines(info).stream()
                    .filter(l -> l.startsWith("flags"))
                    .findFirst()
                    .orElse("");
            return java.util.Arrays.stream(flags.split("\\s+"))
                    .filter(f -> f.equals("amx_bf16") || f.equals("avx512_bf16"))
                    .toList();
        } catch (java.io.IOException e) {
            return java.util.List.of();
        }
    }

    @Override
    public void close() {
        torch.set_autocast_enabled(torch.DeviceType.CPU, wasEnabled);
        torch.set_autocast_dtype(torch.DeviceType.CPU, wasDtype);
        torch.set_autocast_cache_enabled(wasCache);
    }
}
