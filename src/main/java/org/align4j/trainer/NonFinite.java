// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import java.util.Map;
import org.align4j.model.Transformer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** The message for a step whose loss is NaN or infinite: what is wrong (the weights or the step) and what to change. */
final class NonFinite {
    private NonFinite() {}

    static String message(String command, int step, double loss, Transformer model) {
        String first = firstNonFiniteParameter(model);
        String where =
                command + " step " + step + ": loss is " + loss + "; nothing was applied or saved from this step";
        if (first != null)
            return where + ". The model's weights are not finite (" + first + "): "
                    + (step == 1
                            ? "the checkpoint itself holds NaN or infinite values; check model_name_or_path"
                            : "an earlier update diverged; lower learning_rate or max_grad_norm");
        return where + ". Lower learning_rate (or beta), or check the data and rewards";
    }

    /** The name of the first parameter holding a NaN or infinity, or null. */
    static String firstNonFiniteParameter(Transformer model) {
        try (PointerScope s = new PointerScope();
                NoGradGuard g = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : model.parameters().entrySet())
                if (!e.getValue().isfinite().all().item_bool()) return e.getKey();
        }
        return null;
    }
}
