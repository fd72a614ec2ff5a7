// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class EntropyMonitorTest {

    @Test
    void preRlTriageUsesTauH() {
        assertTrue(EntropyMonitor.preRlTriageFlag(0.17));
        assertFalse(EntropyMonitor.preRlTriageFlag(0.18), "strictly below 0.18 nats");
        assertFalse(EntropyMonitor.preRlTriageFlag(0.9));
        assertTrue(EntropyMonitor.preRlTriageFlag(0.25, 0.3));
        assertThrows(IllegalArgumentException.class, () -> EntropyMonitor.preRlTriageFlag(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> EntropyMonitor.preRlTriageFlag(0.1, 0));
    }

    @Test
    void flagsAMoreThanHalfDropWithinTheWindow() {
        EntropyMonitor m = new EntropyMonitor();
        assertFalse(m.observe(0, 0.8).flagged());
        EntropyMonitor.Verdict half = m.observe(50, 0.4);
        assertFalse(half.flagged(), "exactly 50 % is not more than 50 %");
        assertEquals(0.5, half.relativeDrop(), 1e-15);
        EntropyMonitor.Verdict v = m.observe(120, 0.3);
        assertTrue(v.flagged());
        assertEquals(0.625, v.relativeDrop(), 1e-15);
        assertTrue(v.message().contains("step 120"), v.message());
        EntropyMonitor.Verdict later = m.observe(200, 0.7);
        assertTrue(later.flagged(), "the flag latches");
        assertEquals(120, m.flagged().step());
    }

    @Test
    void dropsAfterTheWindowDoNotFlag() {
        EntropyMonitor m = new EntropyMonitor();
        m.observe(1, 1.0);
        assertFalse(m.observe(150, 0.5).flagged());
        assertFalse(m.observe(151, 0.1).flagged(), "an early-run monitor: step 151 is outside the window");
        assertNull(m.flagged());
        EntropyMonitor custom = new EntropyMonitor(0.3, 10);
        custom.observe(0, 2.0);
        assertTrue(custom.observe(10, 1.3).flagged(), "35 % > 30 % at step 10");
    }

    @Test
    void observationErrors() {
        EntropyMonitor m = new EntropyMonitor();
        assertThrows(IllegalArgumentException.class, () -> m.observe(0, 0.0), "the baseline must be > 0");
        m.observe(3, 1.0);
        assertThrows(IllegalArgumentException.class, () -> m.observe(3, 1.0), "steps must increase");
        assertThrows(IllegalArgumentException.class, () -> m.observe(4, -1));
        assertThrows(IllegalArgumentException.class, () -> new EntropyMonitor(1.0, 150));
        assertThrows(IllegalArgumentException.class, () -> new EntropyMonitor(0.5, -1));
    }

    @Test
    void expectedGroupVarianceMatchesBernoulliSampling() {
        // E[(1/g) Σ (x − x̄)²] for g Bernoulli(p) draws, estimated by simulation; the closed form p(1−p)(g−1)/g
        Random rnd = new Random(11);
        int g = 8, trials = 200_000;
        double p = 0.3, sum = 0;
        for (int t = 0; t < trials; t++) {
            int k = 0;
            for (int i = 0; i < g; i++) if (rnd.nextDouble() < p) k++;
            double mean = (double) k / g;
            sum += (k * (1 - mean) * (1 - mean) + (g - k) * mean * mean) / g;
        }
        assertEquals(EntropyMonitor.expectedGroupRewardVariance(p, g), sum / trials, 0.002);
        assertEquals(0.3 * 0.7 * 7 / 8, EntropyMonitor.expectedGroupRewardVariance(0.3, 8), 1e-15);
        assertEquals(
                0.0, EntropyMonitor.expectedGroupRewardVariance(0.4, 1), "one rollout has no within-group variance");
    }

    @Test
    void passRateThresholdHalvesTheAllFailGroups() {
        assertEquals(0.083, EntropyMonitor.passRateThreshold(8), 5e-4, "the paper's p*(8)");
        assertEquals(0.159, EntropyMonitor.passRateThreshold(4), 5e-4);
        assertEquals(0.042, EntropyMonitor.passRateThreshold(16), 5e-4);
        for (int g : new int[] {1, 2, 8, 64})
            assertEquals(0.5, EntropyMonitor.allFailGroupProbability(EntropyMonitor.passRateThreshold(g), g), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> EntropyMonitor.passRateThreshold(0));
        assertThrows(IllegalArgumentException.class, () -> EntropyMonitor.expectedGroupRewardVariance(1.5, 8));
    }
}
