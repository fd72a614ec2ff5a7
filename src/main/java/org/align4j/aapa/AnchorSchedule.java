// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

/**
 * The AAPA anchoring coefficient λ(step) (our choice: the paper's schedule is not known, docs/aapa.md):
 * <ul>
 *   <li>{@code constant}: λ = peak;</li>
 *   <li>{@code linear}: λ rises linearly from 0 to peak over {@code warmupSteps}, then stays at peak;</li>
 *   <li>{@code cosine}: the linear warm-up, then peak·½(1 + cos(π·s/decaySteps)) for s = step − warmupSteps, reaching 0
 *       at warmupSteps + decaySteps and staying 0.</li>
 * </ul>
 * Steps count from 0 (the trainer's optimizer step).
 */
public record AnchorSchedule(String type, double peak, int warmupSteps, int decaySteps) {
    public static final String CONSTANT = "constant", LINEAR = "linear", COSINE = "cosine";

    public AnchorSchedule {
        if (!CONSTANT.equals(type) && !LINEAR.equals(type) && !COSINE.equals(type))
            throw new IllegalArgumentException(
                    "anchor schedule '" + type + "' is unknown; valid: constant, linear, cosine");
        if (!Double.isFinite(peak))
            throw new IllegalArgumentException("anchor coefficient must be finite, got " + peak);
        if (warmupSteps < 0) throw new IllegalArgumentException("anchor warm-up steps must be ≥ 0, got " + warmupSteps);
        if (COSINE.equals(type) && decaySteps < 1)
            throw new IllegalArgumentException("the cosine anchor schedule needs decay steps ≥ 1, got " + decaySteps);
        if (decaySteps < 0) throw new IllegalArgumentException("anchor decay steps must be ≥ 0, got " + decaySteps);
    }

    public static AnchorSchedule constant(double coefficient) {
        return new AnchorSchedule(CONSTANT, coefficient, 0, 0);
    }

    public double value(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be ≥ 0, got " + step);
        if (CONSTANT.equals(type)) return peak;
        if (step < warmupSteps) return peak * step / warmupSteps;
        if (LINEAR.equals(type)) return peak;
        long s = step - warmupSteps;
        if (s >= decaySteps) return 0.0;
        return peak * 0.5 * (1 + Math.cos(Math.PI * s / decaySteps));
    }
}
