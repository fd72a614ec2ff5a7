// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

/** One tokenized preference row: prompt ids, then chosen and rejected completion ids (each ending with EOS). */
public record PreferencePair(long[] prompt, long[] chosen, long[] rejected) {}
