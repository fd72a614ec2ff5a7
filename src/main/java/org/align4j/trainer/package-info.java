// SPDX-License-Identifier: Apache-2.0
/**
 * One trainer and one config record per method, sharing functions rather than a base class: every trainer runs
 * {@link TrainLoop}'s single optimizer loop with its own step, and logs its metrics under TRL's names
 * (docs/algorithms.md §12).
 *
 * <h2>Contents</h2>
 *
 * <h3>Offline methods</h3>
 *
 * <ul>
 *   <li>{@link SftTrainer}: supervised fine-tuning
 *   <li>{@link RewardTrainer}, {@link RewardConfig}: Bradley-Terry reward models
 *   <li>{@link DpoTrainer}, {@link DpoConfig}: DPO and its family
 *   <li>{@link KtoTrainer}, {@link KtoConfig}; {@link CpoTrainer}, {@link CpoConfig}; {@link OrpoTrainer},
 *       {@link OrpoConfig}
 * </ul>
 *
 * <h3>Online methods</h3>
 *
 * <ul>
 *   <li>{@link GrpoTrainer}, {@link GrpoConfig}: GRPO, with DAPO's dynamic sampling and CHORD's expert term
 *   <li>{@link OnlineDpoTrainer}, {@link OnlineDpoConfig}: DPO on best-vs-worst pairs of the policy's own samples
 *   <li>{@link RjsTrainer}, {@link RjsConfig}: rejection sampling fine-tuning
 *   <li>{@link Rollouts}, {@link OnlineEval}: sampling and scoring, held-out evaluation
 *   <li>{@link EntropyMonitor}: the entropy-collapse checks
 * </ul>
 *
 * <h3>APO and AAPA</h3>
 *
 * <ul>
 *   <li>{@link ApoLoop}, {@link ApoConfig}: the rounds of the APO game and its baseline
 *   <li>{@link ApoRewardTrainer}: APO's reward-model step
 *   <li>{@link LmDiscriminatorTrainer}: AAPA's causal-LM discriminator
 * </ul>
 *
 * <h3>The loop and what it shares</h3>
 *
 * <ul>
 *   <li>{@link TrainLoop}, {@link TrainingArgs}, {@link TrainResult}: the optimizer loop, its settings and its result
 *   <li>{@link AdamW}, {@link LrSchedule}: the optimizer and the learning-rate schedules, as PyTorch and transformers
 *       step them
 *   <li>{@link TrainCheckpoints}, {@link OutputDir}: checkpoints that resume exactly, and the output folder's rules
 *   <li>{@link MetricsLog}, {@link TensorBoardWriter}: {@code metrics.jsonl} and TensorBoard scalars (in
 *       {@code runs/<date>_<host>/}, with the run's args as text)
 *   <li>{@link TrainingListener}, {@link TrainingListeners}, {@link ConsoleProgress}: what hears a run (every step and
 *       logged row), how listeners are bound, and the console progress (lines with the method's headline, rate and
 *       ETA; a live bar on a terminal)
 *   <li>{@link PromptEncoder}, {@link RewardPairs}: the prompt rows of the online methods and the pairs of reward
 *       models, encoded as TRL encodes them
 *   <li>{@link CompletionBatch}: (prompt, completion) rows scored in one padded batch
 * </ul>
 *
 * Package-private helpers: {@code DataCursor} (the seeded batch order), {@code LogWindow} (averaging over a logging
 * interval), {@code StepSums} (a step's metric sums), {@code Reference} (where reference log-probs come from) and
 * {@code NonFinite} (the message for a NaN loss).
 */
package org.align4j.trainer;
