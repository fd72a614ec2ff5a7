// SPDX-License-Identifier: Apache-2.0
/**
 * Datasets as users bring them, in TRL's shapes, turned into token ids the way TRL turns them: local {@code .jsonl},
 * {@code .json} or {@code .parquet} files, plain strings or conversations rendered with the chat template.
 *
 * <h2>Contents</h2>
 *
 * <h3>Reading</h3>
 *
 * <ul>
 *   <li>{@link Datasets}: a file or a hub-style folder, by split
 *   <li>{@link JsonRows}: JSONL and JSON rows, each error naming file and line
 *   <li>{@link DatasetShape}: TRL's dataset types, told apart by their fields
 *   <li>{@link Messages}: conversational fields and TRL's implicit-prompt split
 * </ul>
 *
 * <h3>Tokenizing</h3>
 *
 * <ul>
 *   <li>{@link Encoder}: rows to token ids, for every trainer
 *   <li>{@link Truncation}: TRL's length limits and the order they apply in
 *   <li>{@code AssistantMask}: which tokens of a rendered conversation the assistant wrote
 *   <li>{@link Encoded}: the items and the rows skipped, with why
 * </ul>
 *
 * <h3>Training items</h3>
 *
 * <ul>
 *   <li>{@link Sequence}: one SFT sequence with its target mask
 *   <li>{@link PreferencePair}: prompt, chosen and rejected ids
 *   <li>{@link UnpairedExample}: a KTO row
 *   <li>{@link Packing}, {@link PackedSequence}: TRL's best-fit-decreasing packing
 * </ul>
 *
 * {@link DatasetException} is the error for bad input; its message names the file, the line and the field.
 */
package org.align4j.data;
