// SPDX-License-Identifier: Apache-2.0
/**
 * Sampling from a causal LM: batched, KV-cached decoding with left-padded prompts, as transformers' {@code generate}
 * does for decoder-only models. Used by the {@code generate} tool and by every online trainer.
 *
 * <h2>Contents</h2>
 *
 * <ul>
 *   <li>{@link Generator}: prefill, then one token per row per step, recording each sampled token's log-prob
 *   <li>{@link SamplingParams}: temperature (0 = greedy), top-k, top-p, the length limit and the seed, with
 *       transformers' meanings
 * </ul>
 */
package org.align4j.generate;
