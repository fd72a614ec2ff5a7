// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The stratified held-out split of AAPA's discriminator data (docs/aapa.md, held-out metrics: our choice): each class
 * is split on its own, so the held-out share has both classes in the training proportions. The causal-LM kind draws
 * it exactly as {@link EncoderDiscriminator#train} does (one {@link Random} from the seed, expert class first), so both kinds
 * hold out the same examples for the same seed and data.
 */
public final class HeldOut {
    private HeldOut() {}

    /**
     * [train, held out] of one class: a shuffle with {@code r}, then the first round(fraction·n), clamped to 1 … n−1,
     * held out; fraction 0 holds out nothing.
     */
    public static <T> List<List<T>> split(List<T> all, double fraction, Random r, String what) {
        List<T> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, r);
        if (fraction == 0) return List.of(shuffled, List.of());
        if (all.size() < 2)
            throw new IllegalArgumentException(
                    "eval_fraction " + fraction + " holds out part of each class, but there is only " + all.size() + " "
                            + what + " example; add examples or pass eval_fraction 0");
        int held = (int) Math.max(1, Math.min(all.size() - 1, Math.round(fraction * all.size())));
        return List.of(shuffled.subList(held, shuffled.size()), shuffled.subList(0, held));
    }
}
