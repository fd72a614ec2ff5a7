// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

/**
 * How a batch runs through a model: without a graph (evaluation, scoring, reference log-probs), forward then
 * backward, or forward then backward with layer-wise recomputation (gradient_checkpointing: less memory, about 1.3x
 * the compute).
 */
public enum Pass {
    NO_GRAD,
    BACKWARD,
    CHECKPOINTED;

    /** The pass of a training ({@code train}) or evaluation batch, with gradient_checkpointing on or off. */
    public static Pass of(boolean train, boolean gradientCheckpointing) {
        return !train ? NO_GRAD : gradientCheckpointing ? CHECKPOINTED : BACKWARD;
    }
}
