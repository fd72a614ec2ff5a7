// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.align4j.aapa.AnchorReward;
import org.align4j.aapa.AnchorSchedule;
import org.align4j.aapa.DiscriminatorConfig;
import org.align4j.aapa.EncoderDiscriminator;
import org.align4j.aapa.MiniLmSentenceEncoder;
import org.align4j.reward.RewardFunction;

/**
 * The demo's AAPA anchor: a discriminator on frozen all-MiniLM-L6-v2 embeddings, trained once on
 * expert answers against the SFT policy's rollouts (what {@code ./align4j discriminator} does),
 * saved beside the run, then used with a constant coefficient as an extra GRPO reward. The
 * encoder stays open for the rest of the JVM (the demo scores with it to the end).
 */
public final class DemoAnchor {
    /** The anchor's weight beside the reward model's score (docs/aapa.md: the coefficient is our choice). */
    static final double COEFFICIENT = 0.5;

    private DemoAnchor() {}

    public static RewardFunction train(AdversarialDemo.Context c) {
        List<EncoderDiscriminator.Example> expert = new ArrayList<>(), policy = new ArrayList<>();
        for (int i = 0; i < c.expertResponses().size(); i++)
            expert.add(new EncoderDiscriminator.Example(
                    c.expertPrompts().get(i), c.expertResponses().get(i)));
        for (int i = 0; i < c.rolloutResponses().size(); i++)
            policy.add(new EncoderDiscriminator.Example(
                    c.rolloutPrompts().get(i), c.rolloutResponses().get(i)));
        MiniLmSentenceEncoder encoder = new MiniLmSentenceEncoder();
        // the prompt is part of the text: whether "23+19=42" is right depends on it
        DiscriminatorConfig cfg =
                DiscriminatorConfig.builder().includePrompt(true).build();
        EncoderDiscriminator d = EncoderDiscriminator.train(encoder, expert, policy, cfg);
        try {
            d.saveReplacing(c.dir());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var eval = d.report().eval();
        System.out.printf(
                "demo: AAPA discriminator (MiniLM + %s head) held-out accuracy %.3f, ROC-AUC %.3f%n",
                cfg.head(), eval == null ? Double.NaN : eval.accuracy(), eval == null ? Double.NaN : eval.rocAuc());
        return new AnchorReward(d, AnchorSchedule.constant(COEFFICIENT));
    }
}
