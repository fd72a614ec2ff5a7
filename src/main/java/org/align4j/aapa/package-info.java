// SPDX-License-Identifier: Apache-2.0
/**
 * AAPA, adversarially anchored preference alignment (arXiv 2509.25148): a discriminator trained once, offline, to tell
 * expert responses from the base policy's rollouts, and the anchor it adds to SFT, GRPO and CHORD. Only the paper's
 * abstracts were reachable, so the discriminator, the anchor's formula and its schedule are align4j's choices;
 * docs/aapa.md marks each one.
 *
 * <h2>Contents</h2>
 *
 * <h3>The discriminator</h3>
 *
 * <ul>
 *   <li>{@link Discriminator}: one logit per (prompt, response), positive for "looks like the expert"; opens either
 *       kind from its folder
 *   <li>{@link EncoderDiscriminator}: the default kind, a frozen sentence encoder and a small trained head
 *   <li>{@link LmDiscriminator}: the causal-LM kind, a small LM with a one-label {@code score} head (trained by
 *       {@link org.align4j.trainer.LmDiscriminatorTrainer})
 * </ul>
 *
 * <h3>Parts of the encoder kind</h3>
 *
 * <ul>
 *   <li>{@link SentenceEncoder}, {@link MiniLmSentenceEncoder}: the frozen all-MiniLM-L6-v2 run with ONNX Runtime
 *   <li>{@link DiscriminatorHead}, {@link DiscriminatorConfig}, {@code DiscriminatorTrainer}: the logistic or MLP head,
 *       trained in plain Java with class-balanced cross-entropy
 * </ul>
 *
 * <h3>Evaluation</h3>
 *
 * <ul>
 *   <li>{@link DiscriminatorMetrics}: accuracy, ROC-AUC and the mean logit of each class
 *   <li>{@link HeldOut}: the stratified held-out split
 * </ul>
 *
 * <h3>The anchor</h3>
 *
 * <ul>
 *   <li>{@link AnchorReward}: the anchor as a reward function for GRPO and CHORD
 *   <li>{@link AnchorSchedule}: its coefficient over the steps
 * </ul>
 *
 * The SFT form of the anchor is {@link org.align4j.loss.AnchorRewardTerm}.
 */
package org.align4j.aapa;
