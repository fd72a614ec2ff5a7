// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

/**
 * A preference row as token ids: the shared prompt and the two completions (DPO, IPO, ORPO, CPO,
 * reward models). Plain completions end with EOS; conversational ones with what the chat
 * template writes after the turn (its end-of-turn token).
 */
public record PreferencePair(long[] prompt, long[] chosen, long[] rejected) {}
