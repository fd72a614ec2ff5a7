// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

/**
 * Entropy-collapse diagnostics for RL with verifiable rewards, after "SFT Overtraining Predicts Rank Inversion via
 * Entropy Collapse Under RLVR" (Aphale and Liu, arXiv 2606.18487; docs/algorithms.md §11). The
 * paper's code was not reachable; the thresholds come from its abstract and third-party summaries, and
 * {@link #passRateThreshold} is inferred (see there). Entropy means the mean token entropy (nats) of sampled
 * completions, e.g. TRL's {@code entropy} metric.
 * <ol>
 *   <li>Pre-RL triage ({@link #preRlTriageFlag}): flag the SFT checkpoint when its entropy is below τ_H = 0.18 nats.</li>
 *   <li>Early-run monitor (an instance, {@link #observe}): flag the run when, at some step up to 150, the entropy has
 *       dropped by more than 50 % relative to its first observed value.</li>
 * </ol>
 * Plus the group-statistics behind them: with binary rewards and success probability p, a group of g rollouts has
 * expected within-group reward variance p(1 − p)(g − 1)/g; near 0 most groups are all-fail or all-pass and GRPO gets
 * no signal.
 */
public final class EntropyMonitor {
    /** τ_H: pre-RL entropy threshold, nats. */
    public static final double TAU_H = 0.18;
    /** τ2: the largest tolerated relative entropy drop in the early run. */
    public static final double MAX_RELATIVE_DROP = 0.5;
    /** The early-run window, in steps. */
    public static final int BY_STEP = 150;

    private final double maxRelativeDrop;
    private final int byStep;
    private double first = Double.NaN;
    private int lastStep = Integer.MIN_VALUE;
    private Verdict flag;

    /** The paper's monitor: more than 50 % drop by step 150. */
    public EntropyMonitor() {
        this(MAX_RELATIVE_DROP, BY_STEP);
    }

    public EntropyMonitor(double maxRelativeDrop, int byStep) {
        if (!(maxRelativeDrop > 0 && maxRelativeDrop < 1))
            throw new IllegalArgumentException(
                    "entropy monitor: the relative drop threshold must be in (0, 1), got " + maxRelativeDrop);
        if (byStep < 0)
            throw new IllegalArgumentException("entropy monitor: the step window must be >= 0, got " + byStep);
        this.maxRelativeDrop = maxRelativeDrop;
        this.byStep = byStep;
    }

    /** True when the pre-RL checkpoint's mean token entropy is below τ_H = 0.18 nats (flag it before spending RL compute). */
    public static boolean preRlTriageFlag(double meanTokenEntropy) {
        return preRlTriageFlag(meanTokenEntropy, TAU_H);
    }

    public static boolean preRlTriageFlag(double meanTokenEntropy, double tauH) {
        checkEntropy(meanTokenEntropy);
        if (!(tauH > 0) || Double.isInfinite(tauH))
            throw new IllegalArgumentException("entropy threshold tau_H must be a finite number > 0, got " + tauH);
        return meanTokenEntropy < tauH;
    }

    /**
     * One observation of the run's mean token entropy. The first observation is the baseline H₀ (it must be &gt; 0);
     * steps must increase. Flags when step ≤ byStep and (H₀ − H)/H₀ &gt; maxRelativeDrop; once flagged the verdict stays
     * flagged (the first flagging observation is kept). Observations after byStep never raise a new flag: this is an
     * early-run monitor.
     */
    public Verdict observe(int step, double meanTokenEntropy) {
        checkEntropy(meanTokenEntropy);
        if (step <= lastStep)
            throw new IllegalArgumentException(
                    "entropy monitor: step " + step + " after step " + lastStep + "; steps must increase");
        lastStep = step;
        if (Double.isNaN(first)) {
            if (!(meanTokenEntropy > 0))
                throw new IllegalArgumentException(
                        "entropy monitor: the first entropy (the baseline) must be > 0 nats, got " + meanTokenEntropy);
            first = meanTokenEntropy;
        }
        double drop = (first - meanTokenEntropy) / first;
        if (flag != null) return new Verdict(true, step, first, meanTokenEntropy, drop, flag.message());
        if (step <= byStep && drop > maxRelativeDrop) {
            String msg = String.format(
                    "entropy collapse: mean token entropy fell from %.4g to %.4g nats (%.0f%% drop > %.0f%%) by step %d (window: %d steps)",
                    first, meanTokenEntropy, 100 * drop, 100 * maxRelativeDrop, step, byStep);
            flag = new Verdict(true, step, first, meanTokenEntropy, drop, msg);
            return flag;
        }
        return new Verdict(false, step, first, meanTokenEntropy, drop, null);
    }

    /** The monitor as JSON, for a checkpoint: the baseline, the last step observed and the flag, if raised. */
    public com.fasterxml.jackson.databind.node.ObjectNode state() {
        var n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        n.put("max_relative_drop", maxRelativeDrop).put("by_step", byStep).put("last_step", lastStep);
        if (!Double.isNaN(first)) n.put("first", first);
        if (flag != null)
            n.putObject("flag")
                    .put("step", flag.step())
                    .put("current", flag.current())
                    .put("relative_drop", flag.relativeDrop())
                    .put("message", flag.message());
        return n;
    }

    /** A monitor as {@link #state()} saved it. */
    public static EntropyMonitor fromState(com.fasterxml.jackson.databind.JsonNode n) {
        EntropyMonitor m = new EntropyMonitor(
                n.path("max_relative_drop").asDouble(MAX_RELATIVE_DROP),
                n.path("by_step").asInt(BY_STEP));
        m.lastStep = n.path("last_step").asInt(Integer.MIN_VALUE);
        if (n.has("first")) m.first = n.get("first").asDouble();
        var f = n.path("flag");
        if (f.isObject())
            m.flag = new Verdict(
                    true,
                    f.path("step").asInt(),
                    m.first,
                    f.path("current").asDouble(),
                    f.path("relative_drop").asDouble(),
                    f.path("message").asText());
        return m;
    }

    /** The first flagging observation, or null. */
    public Verdict flagged() {
        return flag;
    }

    /** One observation's outcome: relativeDrop = (first − current)/first (negative when entropy rose). */
    public record Verdict(
            boolean flagged, int step, double first, double current, double relativeDrop, String message) {}

    /**
     * E[σ²_G] = p(1 − p)(g − 1)/g: the expected within-group variance (1/g-normalised sample variance) of g Bernoulli(p)
     * rewards, hence of the unscaled GRPO advantages.
     */
    public static double expectedGroupRewardVariance(double p, int g) {
        checkP(p);
        checkG(g);
        return p * (1 - p) * (g - 1) / g;
    }

    /** (1 − p)^g: the probability that a group of g rollouts is all-fail (no GRPO signal from it). */
    public static double allFailGroupProbability(double p, int g) {
        checkP(p);
        checkG(g);
        return Math.pow(1 - p, g);
    }

    /**
     * p*(g) = 1 − 2^(−1/g): the pass rate below which more than half of all groups are all-fail ((1 − p)^g = ½).
     * INFERRED, not from the paper's text: the paper's summaries give p*(8) = 0.083, which this formula reproduces;
     * its exact definition was not reachable (docs/algorithms.md §11.2). g = 4: 0.159, 8: 0.083, 16: 0.042.
     */
    public static double passRateThreshold(int g) {
        checkG(g);
        return 1 - Math.pow(2, -1.0 / g);
    }

    private static void checkEntropy(double h) {
        if (!(h >= 0) || Double.isInfinite(h))
            throw new IllegalArgumentException("mean token entropy must be a finite number >= 0 nats, got " + h);
    }

    private static void checkP(double p) {
        if (!(p >= 0 && p <= 1))
            throw new IllegalArgumentException("success probability p must be in [0, 1], got " + p);
    }

    private static void checkG(int g) {
        if (g < 1) throw new IllegalArgumentException("group size g must be >= 1, got " + g);
    }
}
