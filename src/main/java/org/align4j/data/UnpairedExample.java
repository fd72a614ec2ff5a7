// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

/** One tokenized unpaired-preference row (KTO): prompt ids, completion ids (ending with EOS), and its label. */
public record UnpairedExample(long[] prompt, long[] completion, boolean desirable) {}
