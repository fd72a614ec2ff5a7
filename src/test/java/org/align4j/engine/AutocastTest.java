// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** The bf16 region: products in bfloat16 inside, float32 outside and in a nested off region; state restored. */
class AutocastTest {
    @Test
    void productsRunInBfloat16InsideAndTheStateIsRestored() {
        try (PointerScope s = new PointerScope()) {
            Tensor a = torch.randn(4, 8), b = torch.randn(8, 3);
            assertFalse(Autocast.enabled());
            assertEquals(torch.ScalarType.Float.value, a.mm(b).scalar_type().value);
            try (Autocast on = Autocast.bf16(true)) {
                assertTrue(Autocast.enabled());
                Tensor c = a.mm(b);
                assertEquals(torch.ScalarType.BFloat16.value, c.scalar_type().value);
                // the product of the bfloat16-rounded inputs, to bfloat16's precision (8 bits of mantissa)
                Tensor exact = a.to(torch.ScalarType.BFloat16)
                        .to(torch.ScalarType.Float)
                        .mm(b.to(torch.ScalarType.BFloat16).to(torch.ScalarType.Float));
                double err = c.to(torch.ScalarType.Float).sub(exact).abs().max().item_double();
                assertTrue(err <= 0.02 * exact.abs().max().item_double(), "error " + err);
                assertTrue(torch.is_autocast_cache_enabled() == false, "no cast cache: weights change every step");
                try (Autocast off = Autocast.bf16(false)) {
                    assertEquals(torch.ScalarType.Float.value, a.mm(b).scalar_type().value);
                }
                assertEquals(torch.ScalarType.BFloat16.value, a.mm(b).scalar_type().value, "the outer region again");
            }
            assertFalse(Autocast.enabled());
            assertTrue(torch.is_autocast_cache_enabled(), "restored");
            assertEquals(torch.ScalarType.Float.value, a.mm(b).scalar_type().value);
        }
    }
}
