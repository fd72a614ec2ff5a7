// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets the C environment that libtorch must see before it loads, and answers small questions of libc.
 *
 * <p>Why: bytedeco's libtorch uses OpenMP (libgomp) for ATen and OpenBLAS' own pthread pool for
 * GEMM. With the default active wait policy the two pools spin against each other on small
 * machines and a training step runs about 3x slower (docs/algorithms.md §13.1). libgomp
 * reads {@code OMP_WAIT_POLICY} once, when it initialises, so it has to be in the C environment
 * (not a Java system property) before the first torch class is touched. We set it with libc's
 * {@code setenv} through the FFM API so the program configures itself whatever launched it.
 *
 * <p>Nobody has to call it: the classes through which align4j first touches libtorch ({@link Tensors}, {@code
 * model.Transformer}, {@code model.Checkpoints}, and the {@code org.align4j.api} trainers) call {@link #onFirstUse()}
 * in their static initialisers, which the JVM runs before any code of theirs, so before libtorch's native library
 * (and with it libgomp) is loaded. The command line still calls {@link #configure()} first thing in {@code main}.
 */
public final class NativeEnv {
    private static final Logger LOG = LoggerFactory.getLogger(NativeEnv.class);
    private static volatile boolean configured;

    private NativeEnv() {}

    /**
     * Idempotent; call first thing in {@code main}. Keeps a user's own setting.
     *
     * @throws IllegalStateException when libc's setenv cannot be called (no native access)
     */
    public static synchronized void configure() {
        if (configured) return;
        boolean wasSet = getenv("OMP_WAIT_POLICY") != null;
        setIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        configured = true;
        // too late when libgomp is already in the process: it read its environment when it was loaded
        if (!wasSet && libgompLoaded())
            LOG.warn("libtorch was loaded before align4j could set OMP_WAIT_POLICY=PASSIVE, so training may run up to"
                    + " 3x slower on few cores; export OMP_WAIT_POLICY=PASSIVE, or touch align4j before"
                    + " org.bytedeco.pytorch");
    }

    /**
     * {@link #configure()} from a static initialiser: a failure (the JVM refuses native access) is a warning, not an
     * error, since training still works, only slower.
     */
    public static void onFirstUse() {
        try {
            configure();
        } catch (RuntimeException e) {
            LOG.warn(
                    "could not set OMP_WAIT_POLICY=PASSIVE ({}); training may run up to 3x slower on few cores. Run"
                            + " java with --enable-native-access=ALL-UNNAMED, or export OMP_WAIT_POLICY=PASSIVE",
                    e.getMessage());
        }
    }

    /** Whether libgomp (libtorch's OpenMP runtime) is mapped into this process (Linux; false where unknown). */
    static boolean libgompLoaded() {
        try {
            return Files.readString(Path.of("/proc/self/maps")).contains("libgomp");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether file descriptor {@code fd} is a terminal (libc {@code isatty}): 2 asks about standard error.
     *
     * @throws IllegalStateException when libc cannot be called (no native access)
     */
    public static boolean isatty(int fd) {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(
                    linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw new IllegalStateException("cannot call libc isatty through the FFM API", t);
        }
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
