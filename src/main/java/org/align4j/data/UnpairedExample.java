// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

/** An unpaired preference row (KTO): prompt ids, completion ids and whether the completion is desirable. */
public record UnpairedExample(long[] prompt, long[] completion, boolean desirable) {}
