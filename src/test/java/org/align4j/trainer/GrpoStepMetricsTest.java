// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.align4j.loss.GrpoLoss;
import org.junit.jupiter.api.Test;

/**
 * GRPO's per-micro-batch metrics combined as TRL combines them (trl/trainer/grpo_trainer.py@f2cd577: one value per
 * micro-batch appended in _compute_loss :3229-3256, averaged with NaNs filtered in log :3272-3282), and the
 * completions/* length metrics (:2232-2246). Values by hand.
 */
class GrpoStepMetricsTest {
    private static GrpoLoss.Output output(
            double klSum, double masked, double lowMean, double highMean, double lowMin, double highMax) {
        // clipUnits 1 so that the counts are the means
        return new GrpoLoss.Output(null, klSum, lowMean, highMean, lowMean + highMean, masked, 1, lowMin, highMax);
    }

    @Test
    void everyMetricIsTheMeanOfThePerMicroBatchValuesWithNaNsLeftOut() {
        GrpoStepMetrics s = new GrpoStepMetrics();
        // micro-batch 1: rows of 10 and 2 kept tokens, entropy sums 10 and 8 (row means 1 and 4), kl sum 1.2
        s.add(GrpoStepMetrics.MicroBatch.of(
                output(1.2, 12, 0.25, 0.5, 0.0, 0.75), new float[] {10, 8}, new float[] {1, 1}));
        // micro-batch 2: every row masked out (truncated under mask_truncated_completions): TRL's global_masked_mean
        // gives 0 (sum / clamp(count, 1)) and nanmin / nanmax of no sequence give NaN
        s.add(GrpoStepMetrics.MicroBatch.of(
                output(0, 0, 0, 0, Double.NaN, Double.NaN), new float[] {7, 5}, new float[] {0, 0}));
        // micro-batch 3: one row kept (4 tokens, entropy sum 6), the other masked out (its entropy 100 must not count)
        s.add(GrpoStepMetrics.MicroBatch.of(
                output(0.4, 4, 0.5, 0.0, 0.5, 0.0), new float[] {6, 100}, new float[] {1, 0}));
        Map<String, Double> m = s.metrics(true, false);
        assertEquals((0.1 + 0 + 0.1) / 3, m.get("kl"), 1e-12, "kl: per micro-batch klSum / tokens, then the mean");
        // entropy: 18/12 = 1.5, 0, 6/4 = 1.5 -> 1.0 (token-weighted over the step it would be 24/16 = 1.5)
        assertEquals(1.0, m.get("entropy"), 1e-12);
        assertEquals((0.25 + 0 + 0.5) / 3, m.get("clip_ratio/low_mean"), 1e-12);
        assertEquals((0.5 + 0 + 0) / 3, m.get("clip_ratio/high_mean"), 1e-12);
        assertEquals((0.75 + 0 + 0.5) / 3, m.get("clip_ratio/region_mean"), 1e-12);
        // the NaN of micro-batch 2 drops out: mean of 0.0 and 0.5, of 0.75 and 0.0
        assertEquals(0.25, m.get("clip_ratio/low_min"), 1e-12);
        assertEquals(0.375, m.get("clip_ratio/high_max"), 1e-12);
        assertFalse(m.containsKey("cispo_clip_ratio"));
    }

    @Test
    void aMetricWithNoValueIsNotLoggedAndCispoAndBetaZeroLogWhatTrlLogs() {
        GrpoStepMetrics s = new GrpoStepMetrics();
        s.add(GrpoStepMetrics.MicroBatch.of(
                output(0, 0, 0, 0, Double.NaN, Double.NaN), new float[] {3}, new float[] {0}));
        Map<String, Double> m = s.metrics(false, false);
        assertFalse(m.containsKey("clip_ratio/low_min"), "every micro-batch NaN: TRL logs None: " + m);
        assertFalse(m.containsKey("clip_ratio/high_max"), m.toString());
        assertFalse(m.containsKey("kl"), "beta 0: no kl");
        assertEquals(0.0, m.get("entropy"), 0.0, "no token in the loss mask: TRL's global_masked_mean gives 0");
        GrpoStepMetrics c = new GrpoStepMetrics();
        c.add(GrpoStepMetrics.MicroBatch.of(output(0, 4, 0, 0.25, 0, 0.5), new float[] {4}, new float[] {1}));
        c.add(GrpoStepMetrics.MicroBatch.of(output(0, 4, 0, 0.75, 0, 1), new float[] {4}, new float[] {1}));
        Map<String, Double> cm = c.metrics(false, true);
        assertEquals(0.5, cm.get("cispo_clip_ratio"), 1e-12);
        assertTrue(cm.keySet().stream().noneMatch(k -> k.startsWith("clip_ratio/")), cm.toString());
    }

    private static Rollouts.Rollout rollout(int length, boolean terminated) {
        return new Rollouts.Rollout(
                new Rollouts.Prompt(new long[] {1}, "p", null), new long[length], new float[length], terminated, "c");
    }

    @Test
    void terminatedLengthsAreOverTheTerminatedCompletionsAndZeroWhenNoneTerminated() {
        Map<String, Double> m = Rollouts.lengthMetrics(
                List.of(rollout(3, true), rollout(6, false), rollout(2, true), rollout(1, false)));
        assertEquals(3.0, m.get("completions/mean_length"), 0.0);
        assertEquals(1.0, m.get("completions/min_length"), 0.0);
        assertEquals(6.0, m.get("completions/max_length"), 0.0);
        assertEquals(0.5, m.get("completions/clipped_ratio"), 0.0);
        assertEquals(2.5, m.get("completions/mean_terminated_length"), 0.0);
        assertEquals(2.0, m.get("completions/min_terminated_length"), 0.0);
        assertEquals(3.0, m.get("completions/max_terminated_length"), 0.0);
        // TRL: `if len(term_completion_lengths) == 0: term_completion_lengths = torch.zeros(1)` (:2241-2242)
        Map<String, Double> none = Rollouts.lengthMetrics(List.of(rollout(4, false), rollout(5, false)));
        for (String k : new String[] {"mean", "min", "max"})
            assertEquals(0.0, none.get("completions/" + k + "_terminated_length"), 0.0, k);
        assertEquals(1.0, none.get("completions/clipped_ratio"), 0.0);
    }
}
