// SPDX-License-Identifier: Apache-2.0
package org.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * AAPA's anchoring term as a reward function for GRPO and CHORD (arXiv 2509.25148, docs/aapa.md): r = λ(step)·s, where
 * s is the frozen {@link Discriminator}'s signal for the completion — its logit z = log D/(1 − D) by default, or
 * log σ(z) = log D — and λ follows an {@link AnchorSchedule}. It joins the other reward functions in
 * {@link WeightedRewards} under the name {@value #NAME} (give it weight 1: λ carries the scale).
 *
 * <p>The trainer tells it the optimizer step with {@link #setStep} before scoring a generation batch; until then the
 * step is 0. The discriminator is never updated here (no co-training).
 */
public final class AnchorReward implements RewardFunction {
    public static final String NAME = "aapa_anchor";

    /** Which function of the discriminator's logit z is the signal. */
    public enum Signal {
        /** z = log D − log(1 − D) (unbounded; the "the logit is the anchoring signal"). */
        LOGIT,
        /** log σ(z) = log D ≤ 0 (GAIL's log D form). */
        LOG_SIGMOID
    }

    private final Discriminator discriminator;
    private final AnchorSchedule schedule;
    private final Signal signal;
    private long step;

    public AnchorReward(Discriminator discriminator, AnchorSchedule schedule) {
        this(discriminator, schedule, Signal.LOGIT);
    }

    public AnchorReward(Discriminator discriminator, AnchorSchedule schedule, Signal signal) {
        if (discriminator == null || schedule == null || signal == null) throw new IllegalArgumentException("AnchorReward needs a discriminator, a schedule and a signal");
        this.discriminator = discriminator;
        this.schedule = schedule;
        this.signal = signal;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** The optimizer step whose coefficient the next {@link #score} uses. */
    @Override
    public void setStep(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be ≥ 0, got " + step);
        this.step = step;
    }

    public long step() {
        return step;
    }

    /** λ at the current step. */
    public double coefficient() {
        return schedule.value(step);
    }

    public AnchorSchedule schedule() {
        return schedule;
    }

    /** The unscaled signal s for each completion (the discriminator's logit, or its log-sigmoid). */
    public double[] signals(List<String> prompts, List<String> completions) {
        double[] z = discriminator.logits(prompts, completions);
        if (signal == Signal.LOG_SIGMOID)
            for (int i = 0; i < z.length; i++) z[i] = -DiscriminatorTrainer.softplus(-z[i]); // log σ(z) = −softplus(−z)
        return z;
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        double lambda = coefficient();
        double[] s = signals(prompts, completions);
        for (int i = 0; i < s.length; i++) s[i] *= lambda;
        return s;
    }
}
