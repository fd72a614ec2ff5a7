// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Sets the C environment that libtorch must see before it loads.
 *
 * <p>Why: bytedeco's libtorch uses OpenMP (libgomp) for ATen and OpenBLAS' own pthread pool for
 * GEMM. With the default active wait policy the two pools spin against each other on small
 * machines and a training step runs about 3x slower (docs/algorithms.md §13.1). libgomp
 * reads {@code OMP_WAIT_POLICY} once, when it initialises, so it has to be in the C environment
 * (not a Java system property) before the first torch class is touched. We set it with libc's
 * {@code setenv} through the FFM API so the program configures itself whatever launched it.
 */
public final class NativeEnv {
    private static volatile boolean configured;

    private NativeEnv() {}

    /** Idempotent; call first thing in {@code main} and in test start-up. Keeps a user's own setting. */
    public static synchronized void configure() {
        if (configured) return;
        setIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        configured = true;
    }

    /** Reads the C environment (not Java's cached copy) so tests can check what libgomp will see. */
    public static String getenv(String name) {
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle getenv = linker.downcallHandle(
                    linker.defaultLookup().find("getenv").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            MemorySegment value = (MemorySegment) getenv.invokeExact(arena.allocateFrom(name));
            return value.equals(MemorySegment.NULL)
                    ? null
                    : value.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot call libc getenv through the FFM API", t);
        }
    }

    private static void setIfAbsent(String name, String value) {
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle setenv = linker.downcallHandle(
                    linker.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            int rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
            if (rc != 0) throw new IllegalStateException("setenv(" + name + ") failed with " + rc);
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(
                    "cannot call libc setenv through the FFM API; run with "
                            + "--enable-native-access=ALL-UNNAMED or export " + name + "=" + value,
                    t);
        }
    }
}
