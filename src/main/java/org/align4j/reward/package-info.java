// SPDX-License-Identifier: Apache-2.0
/**
 * Reward functions for the online trainers (GRPO, rejection sampling, online DPO, APO's alignment step), batched like
 * TRL's custom reward functions: one score per completion, or NaN for "no reward" where a function declares it.
 *
 * <h2>Contents</h2>
 *
 * <h3>The interface</h3>
 *
 * <ul>
 *   <li>{@link RewardFunction}: scores a batch of completions, with their prompts and dataset rows
 *   <li>{@link WeightedRewards}: several functions and their weights, the per-completion total and TRL's reward
 *       metrics
 *   <li>{@link RewardException}: a function that failed, named with the row and the completion
 * </ul>
 *
 * <h3>Functions</h3>
 *
 * <ul>
 *   <li>{@link RewardModelReward}: a trained reward model
 *   <li>{@link Gsm8kAnswerReward}: GSM8K final-answer accuracy
 *   <li>{@link FormatReward}: a regular-expression match
 *   <li>{@link LengthReward}: a penalty on length beyond a target
 * </ul>
 *
 * AAPA's anchor reward lives with the discriminator, in {@link org.align4j.aapa.AnchorReward}.
 */
package org.align4j.reward;
