// SPDX-License-Identifier: Apache-2.0
/**
 * The losses, as pure functions of tensors: each class computes one method's loss and the quantities it logs, with
 * its formula and sources in the class comment and the derivations in docs/algorithms.md. Their tests compare values
 * with closed forms and with PyTorch goldens ({@code tools/golden}). A loss that a trainer splits into micro-batches
 * takes the counts of the whole accumulation window, so the split does not change the update (docs/algorithms.md
 * §1.3).
 *
 * <h2>Contents</h2>
 *
 * <h3>Preference losses</h3>
 *
 * <ul>
 *   <li>{@link DpoLoss}: the 15 loss types of TRL's DPOTrainer, f-divergences and WPO weights; inputs in
 *       {@link PairLogps}
 *   <li>{@link LengthDesensitized}: LD-DPO's log-probs
 *   <li>{@link KtoLoss}: KTO for unpaired rows
 *   <li>{@link OrpoLoss}, {@link CpoLoss}: the reference-free ORPO, CPO, SimPO and AlphaPO
 * </ul>
 *
 * <h3>Policy-gradient losses</h3>
 *
 * <ul>
 *   <li>{@link GrpoLoss}: group advantages, the clipped surrogate with GSPO and CISPO, the k3 KL and TRL's normalisers
 *   <li>{@link ChordLoss}: CHORD's μ schedule and its SFT term on expert tokens
 *   <li>{@link AnchorRewardTerm}: AAPA's anchor for SFT, as a REINFORCE term
 * </ul>
 *
 * <h3>Reward models and classifiers</h3>
 *
 * <ul>
 *   <li>{@link BradleyTerryLoss}: the pairwise loss with margin and centering, and TRL's reward metrics
 *   <li>{@link ApoLoss}: APO's reward-model objective
 *   <li>{@link Calibration}: expected calibration error of the pairwise preference probability
 *   <li>{@link BalancedBce}: class-balanced binary cross-entropy for AAPA's discriminator
 * </ul>
 *
 * {@code LossOps} holds the stable building blocks ({@code logσ}, the label-smoothed logistic) and the argument checks.
 */
package org.align4j.loss;
