// SPDX-License-Identifier: Apache-2.0
package org.align4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Expected calibration error on hand-made reward differences whose probabilities are known in closed form. */
class CalibrationTest {
    /** r_w - r_l whose sigmoid is p. */
    private static double logit(double p) {
        return Math.log(p / (1 - p));
    }

    @Test
    void perfectlyCalibratedPairsHaveZeroError() {
        // confidence 0.75 everywhere, 3 of 4 predictions right (the wrong one has r_w < r_l)
        double[] d = {logit(0.75), logit(0.75), logit(0.75), logit(0.25)};
        assertEquals(0.0, Calibration.expectedCalibrationError(d, 10), 1e-12);
    }

    @Test
    void twoBinsWeightTheirGapsByTheirShareOfPairs() {
        // bin (0.7, 0.8]: 4 pairs at confidence 0.75, 2 right -> |0.5 - 0.75| = 0.25
        // bin (0.9, 1.0]: 2 pairs at confidence 0.95, both right -> |1 - 0.95| = 0.05
        double[] d = {logit(0.75), logit(0.75), logit(0.25), logit(0.25), logit(0.95), logit(0.95)};
        double expected = 4.0 / 6 * 0.25 + 2.0 / 6 * 0.05;
        assertEquals(expected, Calibration.expectedCalibrationError(d, 10), 1e-12);
        // one bin: |overall accuracy - overall mean confidence| = |4/6 - (4 * 0.75 + 2 * 0.95) / 6|
        assertEquals(Math.abs(4.0 / 6 - (4 * 0.75 + 2 * 0.95) / 6), Calibration.expectedCalibrationError(d, 1), 1e-12);
    }

    @Test
    void confidentMistakesApproachOne() {
        double[] d = {-30, -25, -40};
        assertEquals(1.0, Calibration.expectedCalibrationError(d, 10), 1e-10);
    }

    @Test
    void aTieHasConfidenceOneHalfAndCountsAsWrong() {
        assertEquals(0.5, Calibration.expectedCalibrationError(new double[] {0.0}, 10), 1e-12);
    }

    @Test
    void badInputsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Calibration.expectedCalibrationError(new double[0], 10));
        assertThrows(IllegalArgumentException.class, () -> Calibration.expectedCalibrationError(new double[] {1}, 0));
        assertThrows(
                IllegalArgumentException.class,
                () -> Calibration.expectedCalibrationError(new double[] {Double.NaN}, 10));
    }
}
