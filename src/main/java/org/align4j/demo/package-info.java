// SPDX-License-Identifier: Apache-2.0
/**
 * The {@code demo} command's job: APO and AAPA against their baselines, from scratch, on a CPU, in minutes, on a task
 * whose hidden gold reward measures what each method really achieved.
 *
 * <h2>Contents</h2>
 *
 * <ul>
 *   <li>{@link AdversarialDemo}: the whole run, from SFT to the report
 *   <li>{@link ArithmeticTask}: two-number addition with a gold reward for correct, concise answers; every data set
 *       the demo trains on is derived from it
 *   <li>{@link DemoAnchor}: the demo's AAPA discriminator, trained once on expert answers against the SFT policy's
 *       rollouts
 *   <li>{@link DemoReport}: the self-contained HTML report (inline SVG, no script), from {@link DemoResults}
 *       (results.json) and the rounds' metrics.jsonl ({@code TrainingCurves}), drawn by {@code Svg} in each
 *       method's {@link MethodStyle}; {@link RunMetadata}: date, commit, CPU of a run
 *   <li>{@link ByteLevelTokenizerFiles}: a minimal real Hugging Face tokenizer for the models the demo trains from
 *       scratch
 * </ul>
 */
package org.align4j.demo;
