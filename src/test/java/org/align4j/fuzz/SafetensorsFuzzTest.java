// SPDX-License-Identifier: Apache-2.0
package org.align4j.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import org.align4j.io.CheckpointException;
import org.align4j.io.DType;
import org.align4j.io.SafetensorsFile;
import org.align4j.io.TensorInfo;

/**
 * Fuzzes the safetensors reader ({@link SafetensorsFile}) on arbitrary file bytes.
 *
 * <p>Documented errors: {@link SafetensorsFile#open} throws {@link CheckpointException} (an
 * IOException naming the file) for every malformed file; nothing else may escape, so any other
 * exception or error (IllegalArgumentException, ArithmeticException, IndexOutOfBounds,
 * OutOfMemoryError, StackOverflowError, ...) is a finding. A file that opens must then be readable:
 * every tensor's bytes and, for float dtypes, its values.
 *
 * <p>Input: one mode byte, then the payload. Even mode: the payload is the whole file. Odd mode:
 * a u16 header length L, then the header and the data; the harness writes the u64 length itself,
 * so mutations of the header JSON reach the JSON checks instead of failing the length check.
 *
 * <p>{@code JAZZER_FUZZ=1 ./mvnw -B -o test -Dtest=SafetensorsFuzzTest} fuzzes (see docs/fuzzing.md);
 * the plain suite replays the inputs in {@code SafetensorsFuzzTestInputs/}.
 */
class SafetensorsFuzzTest {
    @FuzzTest(maxDuration = "2h", maxExecutions = 1_000_000)
    void openAndRead(byte[] input) {
        if (input.length == 0) return;
        Path file = FuzzFiles.write("fuzz.safetensors", fileBytes(input));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            f.metadata().forEach((k, v) -> k.length());
            for (TensorInfo t : f.tensors().values()) {
                long bytes = f.data(t.name()).byteSize();
                if (bytes != t.byteSize()) throw new AssertionError(t + " maps " + bytes + " bytes");
                if (isFloat(t.dtype()) && t.numel() <= 1 << 16) f.toFloats(t.name());
            }
        } catch (CheckpointException expected) {
            if (!expected.getMessage().contains(file.toString()))
                throw new AssertionError("the error does not name the file: " + expected.getMessage());
        } catch (java.io.IOException e) {
            throw new AssertionError("an IOException that is not a CheckpointException: " + e, e);
        }
    }

    private static boolean isFloat(DType d) {
        return d == DType.F32 || d == DType.F16 || d == DType.BF16 || d == DType.F64;
    }

    /** The file the input stands for (see the class comment). */
    static byte[] fileBytes(byte[] input) {
        byte[] payload = Arrays.copyOfRange(input, 1, input.length);
        if ((input[0] & 1) == 0) return payload;
        if (payload.length < 2) return payload;
        int length = Math.min((payload[0] & 0xff) | (payload[1] & 0xff) << 8, payload.length - 2);
        ByteBuffer out = ByteBuffer.allocate(8 + payload.length - 2).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(length).put(payload, 2, payload.length - 2);
        return out.array();
    }
}
