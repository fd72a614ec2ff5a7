// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import static org.align4j.io.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each malformed file is refused with a message naming the file, the tensor and the problem. */
class SafetensorsBadFileTest {
    @TempDir
    Path tmp;

    private static final String W = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private Path bad(byte[] content) throws IOException {
        return write(tmp.resolve("bad.safetensors"), content);
    }

    /** A one-entry header {"w": entry} with {@code dataBytes} zero bytes of data. */
    private Path badEntry(String entry, int dataBytes) throws IOException {
        return bad(paddedFile("{\"w\":" + entry + "}", new byte[dataBytes]));
    }

    private static void assertTensor(CheckpointException e, String tensor) {
        assertEquals(tensor, e.tensor());
        assertTrue(e.getMessage().contains("tensor '" + tensor + "'"), e.getMessage());
    }

    @Test
    void fileShorterThanEightBytes() throws IOException {
        assertRejected(bad(new byte[] {1, 2, 3}), "3 bytes", "shorter than the 8-byte header length");
        assertRejected(bad(new byte[0]), "0 bytes");
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        byte[] content = concat(u64(1000), "{}".getBytes(StandardCharsets.UTF_8));
        assertRejected(bad(content), "header length 1000 runs past the end of the file (10 bytes)");
    }

    @Test
    void headerLengthAbsurdlyLarge() throws IOException {
        assertRejected(bad(concat(u64(100_000_001L), new byte[16])), "100000001", "exceeds the 100000000-byte limit");
        assertRejected(bad(concat(u64(-1L), new byte[16])), "18446744073709551615", "limit");
    }

    @Test
    void headerNotValidJson() throws IOException {
        assertRejected(bad(file("{\"w\":{\"dtype\":", new byte[0])), "header is not valid JSON");
        assertRejected(bad(file("{\"a\":1} {", new byte[0])), "header is not valid JSON");
    }

    @Test
    void headerNotValidUtf8() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        assertRejected(bad(concat(u64(8), header)), "header is not valid UTF-8");
    }

    @Test
    void headerNotAnObject() throws IOException {
        assertRejected(bad(paddedFile("[1,2,3]", new byte[0])), "header is not a JSON object (found array)");
    }

    @Test
    void duplicateTensorNameInHeader() throws IOException {
        assertRejected(bad(paddedFile("{" + W + "," + W + "}", new byte[8])), "not valid JSON", "Duplicate field 'w'");
    }

    @Test
    void entryMissingDtype() throws IOException {
        assertTensor(assertRejected(badEntry("{\"shape\":[2],\"data_offsets\":[0,8]}", 8), "missing 'dtype'"), "w");
    }

    @Test
    void entryMissingShape() throws IOException {
        assertTensor(assertRejected(badEntry("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}", 8), "missing 'shape'"), "w");
    }

    @Test
    void entryMissingDataOffsets() throws IOException {
        assertTensor(assertRejected(badEntry("{\"dtype\":\"F32\",\"shape\":[2]}", 8), "missing 'data_offsets'"), "w");
    }

    @Test
    void entryFieldsOfWrongTypes() throws IOException {
        assertTensor(assertRejected(badEntry("[1]", 0), "header entry must be an object"), "w");
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}", 8), "'dtype' must be a string"),
                "w");
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}", 8),
                        "'shape' must be an array"),
                "w");
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}", 8),
                        "shape[0] must be a non-negative integer"),
                "w");
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}", 8),
                        "shape[0] must be a non-negative integer"),
                "w");
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}", 8),
                        "'data_offsets' must be an array [begin, end]"),
                "w");
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}", 8),
                        "data_offsets[1] must be a non-negative integer"),
                "w");
    }

    @Test
    void metadataNotAStringMap() throws IOException {
        assertRejected(
                bad(paddedFile("{\"__metadata__\":{\"step\":5}," + W + "}", new byte[8])),
                "__metadata__ value for key 'step' must be a string");
        assertRejected(
                bad(paddedFile("{\"__metadata__\":[]," + W + "}", new byte[8])),
                "__metadata__ must be an object of strings");
    }

    @Test
    void negativeDim() throws IOException {
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}", 8),
                        "shape[1] is negative (-1)"),
                "w");
    }

    @Test
    void unknownDtype() throws IOException {
        CheckpointException e = assertRejected(
                badEntry("{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}", 2),
                "unsupported dtype 'F8_E4M3'",
                "BF16");
        assertTensor(e, "w");
    }

    @Test
    void offsetsBeginAfterEnd() throws IOException {
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}", 8),
                        "begin 8 is after end 0"),
                "w");
    }

    @Test
    void offsetsEndPastDataSection() throws IOException {
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", 8),
                        "end 16 is past the end of the data section (8 bytes)"),
                "w");
    }

    @Test
    void truncatedFile() throws IOException {
        byte[] whole = paddedFile("{" + W + "}", new byte[8]);
        Path p = bad(Arrays.copyOf(whole, whole.length - 3));
        assertTensor(assertRejected(p, "past the end of the data section (5 bytes)", "truncated"), "w");
    }

    @Test
    void byteSizeDisagreesWithShapeAndDtype() throws IOException {
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,8]}", 8),
                        "span 8 bytes but shape [2,3] of BF16 needs 12"),
                "w");
    }

    @Test
    void shapeWhoseByteCountOverflows() throws IOException {
        assertTensor(
                assertRejected(
                        badEntry("{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}", 8),
                        "overflows"),
                "w");
    }

    @Test
    void overlappingTensors() throws IOException {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        CheckpointException e = assertRejected(bad(paddedFile(header, new byte[12])), "overlap tensor 'a' at [0, 8)");
        assertTensor(e, "b");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertTensor(
                assertRejected(
                        bad(paddedFile(header, new byte[12])), "starts at byte 8", "'a' ends at 4", "contiguous"),
                "b");
    }

    @Test
    void trailingBytesAfterLastTensor() throws IOException {
        assertRejected(
                bad(paddedFile("{" + W + "}", new byte[12])), "data section has 12 bytes but the tensors cover only 8");
    }

    @Test
    void dataAccessorsNameTheFileForBadRequests() throws IOException {
        Path p = bad(paddedFile("{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.toFloats("i"));
            assertMessage(e, p, "'i'", "I32");
        }
    }
}
