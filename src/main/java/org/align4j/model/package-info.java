// SPDX-License-Identifier: Apache-2.0
/**
 * One decoder-only transformer for the llama, qwen2 and qwen3 families, switched by {@code config.json}, loaded from
 * and saved to Hugging Face model folders with transformers' tensor names, so that what align4j saves loads in
 * transformers unchanged.
 *
 * <h2>Contents</h2>
 *
 * <h3>The model</h3>
 *
 * <ul>
 *   <li>{@link Transformer}: embeddings, attention with rotary positions, MLP, norms and the LM or {@code score} head
 *   <li>{@link ModelConfig}, {@link ModelPresets}: the architecture fields of {@code config.json}, and named shapes
 *   <li>{@link Rope}, {@link KvCache}: rotary embeddings and the decoding cache
 *   <li>{@link Lora}: LoRA adapters in PEFT's layout
 *   <li>{@link Pass}: how a batch runs: no graph, forward and backward, or with gradient checkpointing
 * </ul>
 *
 * <h3>What the losses are built on</h3>
 *
 * <ul>
 *   <li>{@link LogProbs}: the log-probabilities of given tokens, summed over a completion and its EOS
 *   <li>{@link ClassifierBatch}: one right-padded batch through a one-label sequence classifier, pooled at each row's
 *       last non-pad token
 * </ul>
 *
 * {@link Checkpoints} loads and saves model folders (weights, config and tokenizer files).
 */
package org.align4j.model;
