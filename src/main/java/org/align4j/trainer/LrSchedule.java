// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

/**
 * Learning-rate multipliers of transformers' {@code get_scheduler} (optimization.py), as a
 * function of the optimizer step about to be taken (0-based), so that a resumed run recomputes
 * exactly the rate the uninterrupted run would have used.
 *
 * <ul>
 *   <li>linear: warm-up from 0, then linear decay to 0 at {@code totalSteps}
 *   <li>cosine: warm-up, then 0.5 (1 + cos(pi * progress)), i.e. num_cycles 0.5
 *   <li>constant; constant_with_warmup
 * </ul>
 */
public record LrSchedule(String type, double peak, int warmupSteps, int totalSteps) {
    public static final java.util.List<String> TYPES =
            java.util.List.of("linear", "cosine", "constant", "constant_with_warmup");

    public LrSchedule {
        if (!TYPES.contains(type))
            throw new IllegalArgumentException(
                    "lr_scheduler_type '" + type + "' is not supported; use one of " + TYPES);
        if (warmupSteps < 0) throw new IllegalArgumentException("warmup_steps must be >= 0, got " + warmupSteps);
        if (totalSteps < 1)
            throw new IllegalArgumentException("the schedule needs at least one training step, got " + totalSteps);
    }

    /**
     * transformers' rule: warmup_steps if set, else ceil(warmup_ratio * total).
     */
    public static int warmupSteps(int warmupSteps, double warmupRatio, int totalSteps) {
        if (warmupRatio < 0 || warmupRatio > 1)
            throw new IllegalArgumentException("warmup_ratio must be in [0, 1], got " + warmupRatio);
        return warmupSteps > 0 ? warmupSteps : (int) Math.ceil(warmupRatio * totalSteps);
    }

    /** The learning rate for optimizer step {@code step} (0-based). */
    public double at(int step) {
        return peak * factor(step);
    }

    double factor(int step) {
        boolean warming = step < warmupSteps;
        double warm = (double) step / Math.max(1, warmupSteps);
        return switch (type) {
            case "constant" -> 1.0;
            case "constant_with_warmup" -> warming ? warm : 1.0;
            case "linear" ->
                warming ? warm : Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case "cosine" -> {
                if (warming) yield warm;
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
            default -> throw new IllegalStateException(type);
        };
    }
}
