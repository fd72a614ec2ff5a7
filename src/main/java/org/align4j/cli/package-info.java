// SPDX-License-Identifier: Apache-2.0
/**
 * The command line: {@code ./align4j <command> [--config recipe.yaml] [--key value ...]}, with TRL's snake_case keys
 * and defaults read from the config records, so that a TRL recipe ports by copying. Unknown keys and ill-typed values
 * are errors that name the key and list the valid ones.
 *
 * <h2>Contents</h2>
 *
 * <h3>Entry point and options</h3>
 *
 * <ul>
 *   <li>{@link Main}: the one map from command name to command
 *   <li>{@link Options}: recipe file first, then {@code --key value} overrides, each checked against its spec
 *   <li>{@link CliException}: a user error, printed as one message with exit code 2
 * </ul>
 *
 * <h3>Trainers</h3>
 *
 * <ul>
 *   <li>{@code SftCommand}, {@code RewardCommand}, {@code DpoCommand}, {@code CpoCommand} (also {@code orpo}),
 *       {@code KtoCommand}: offline methods
 *   <li>{@code GrpoCommand}, {@code RjsCommand}, {@code OnlineDpoCommand}: online methods
 *   <li>{@code ApoCommand}: the APO game and its baseline; {@code DiscriminatorCommand}: AAPA's discriminator;
 *       {@code DemoCommand}: the built-in demonstration
 * </ul>
 *
 * <h3>Tools</h3>
 *
 * <ul>
 *   <li>{@code GenerateCommand}, {@code LogprobsCommand}: JSONL in, JSONL out, one row per input row
 *   <li>{@code BenchCommand}: throughput and MFU, comparable with {@code tools/bench/torch_bench.py}
 * </ul>
 *
 * <h3>Shared by the commands</h3>
 *
 * {@code TrainingOptions} (the keys every trainer shares), {@code OnlineOptions} (sampling and reward-function keys),
 * {@code PreferenceData}, {@code PromptEncoding}, {@code LoadedModel} and {@code JsonlOutput}.
 */
package org.align4j.cli;
