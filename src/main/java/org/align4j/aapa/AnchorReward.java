// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;

/**
 * AAPA's anchoring term as a reward function for GRPO and CHORD (arXiv 2509.25148, docs/aapa.md): r = λ(step)·s, where
 * s is the frozen {@link EncoderDiscriminator}'s signal for the completion — its logit z = log D/(1 − D) by default, or
 * log σ(z) = log D — and λ follows an {@link AnchorSchedule}. It joins the other reward functions in
 * {@link WeightedRewards} under the name {@value #NAME} (give it weight 1: λ carries the scale).
 *
 * <p>The trainer tells it the optimizer step with {@link #setStep} before scoring a generation batch; until then the
 * step is 0. By default the discriminator is never updated (the paper's fixed discriminator). With
 * {@link #withCoTraining} (an option, off by default) each scored batch, every {@code everySteps} steps, also updates the
 * discriminator on those rollouts against expert examples after they are scored, so the next batch is scored by
 * the updated discriminator ({@link Discriminator#coTrain}).
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
    private Discriminator.CoTraining coTraining;
    private long lastCoTrainedStep = -1;
    private Discriminator.CoTrainStats lastCoTrain;

    public AnchorReward(Discriminator discriminator, AnchorSchedule schedule) {
        this(discriminator, schedule, Signal.LOGIT);
    }

    public AnchorReward(Discriminator discriminator, AnchorSchedule schedule, Signal signal) {
        if (discriminator == null || schedule == null || signal == null)
            throw new IllegalArgumentException("AnchorReward needs a discriminator, a schedule and a signal");
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
        return signalOf(discriminator.logits(prompts, completions));
    }

    /** The signal from logits z, in place. */
    private double[] signalOf(double[] z) {
        if (signal == Signal.LOG_SIGMOID)
            for (int i = 0; i < z.length; i++) z[i] = -DiscriminatorTrainer.softplus(-z[i]); // log σ(z) = −softplus(−z)
        return z;
    }

    /** Turns co-training on (null: off, the default); a kind that cannot co-train refuses on its first update. */
    public AnchorReward withCoTraining(Discriminator.CoTraining c) {
        this.coTraining = c;
        return this;
    }

    public Discriminator discriminator() {
        return discriminator;
    }

    @Override
    public double[] score(List<String> prompts, List<String> completions, List<JsonNode> rows) {
        double lambda = coefficient();
        double[] s;
        // co-train after scoring: this batch's rewards come from the discriminator that has not seen it
        if (coTraining != null && step % coTraining.everySteps() == 0 && step != lastCoTrainedStep) {
            Discriminator.ScoredAndCoTrained r = discriminator.logitsThenCoTrain(prompts, completions, coTraining);
            s = signalOf(r.logits());
            lastCoTrain = r.stats();
            lastCoTrainedStep = step;
        } else {
            s = signals(prompts, completions);
        }
        for (int i = 0; i < s.length; i++) s[i] *= lambda;
        return s;
    }

    /**
     * With co-training, the last update's {@code aapa/cotrain_loss} (BCE on its batch before the update),
     * {@code aapa/cotrain_accuracy} (the discriminator's accuracy on that batch before the update) and
     * {@code aapa/cotrain_updates}; without, nothing. Also {@code aapa/coef}, the current λ.
     */
    @Override
    public Map<String, Double> metrics() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("aapa/coef", coefficient());
        if (lastCoTrain != null) {
            m.put("aapa/cotrain_loss", lastCoTrain.loss());
            m.put("aapa/cotrain_accuracy", lastCoTrain.accuracy());
            m.put("aapa/cotrain_updates", (double) lastCoTrain.updates());
        }
        return m;
    }
}
