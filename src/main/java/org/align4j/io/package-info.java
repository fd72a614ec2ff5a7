// SPDX-License-Identifier: Apache-2.0
/**
 * Files in the Hugging Face formats: safetensors weights (single files and shards), a model folder's JSON files, and
 * crash-safe writes. align4j never loads pickled {@code .bin} or {@code .pt} files.
 *
 * <h2>Contents</h2>
 *
 * <h3>Safetensors</h3>
 *
 * <ul>
 *   <li>{@link SafetensorsFile}: one memory-mapped file and its header
 *   <li>{@link ShardedSafetensors}: a model folder's weights, single file or shards with their index
 *   <li>{@link SafetensorsWriter}: writes files byte for byte as Hugging Face's library does
 *   <li>{@link TensorInfo}, {@link TensorBlob}, {@link DType}: a header entry, a tensor to write, the element types
 *   <li>{@code Floats}: little-endian float decoding shared by the readers
 * </ul>
 *
 * <h3>Other files</h3>
 *
 * <ul>
 *   <li>{@link HfJson}: {@code config.json}, {@code generation_config.json} and the shard index
 *   <li>{@link AtomicFiles}: a file or folder appears complete under its final name, or not at all
 *   <li>{@link CheckpointException}: a file align4j refuses to load, with the file and the reason named
 * </ul>
 */
package org.align4j.io;
