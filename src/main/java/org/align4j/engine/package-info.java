// SPDX-License-Identifier: Apache-2.0
/**
 * The thin layer over libtorch (bytedeco pytorch) that everything else uses: the C environment it must start in, and
 * the helpers that move data between Java arrays and tensors inside explicit native-memory scopes. docs/algorithms.md
 * §13 explains the engine facts the code relies on.
 *
 * <h2>Contents</h2>
 *
 * <ul>
 *   <li>{@link NativeEnv}: sets {@code OMP_WAIT_POLICY=PASSIVE} in the C environment before libtorch loads
 *   <li>{@link Tensors}: copies between arrays and tensors, scalars, shapes, and {@code scoped}, which frees every
 *       tensor a computation made except its result
 * </ul>
 */
package org.align4j.engine;
