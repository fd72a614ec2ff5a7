// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One right-padded batch through a one-label sequence classifier ({@code *ForSequenceClassification}): the layout and
 * pooling the reward model, APO's reward model, the causal-LM discriminator and reward-model scoring all share.
 */
public final class ClassifierBatch {
    private ClassifierBatch() {}

    /** One batch through the classifier: each row's score (N) and the loss value. */
    public record Forward(float[] scores, double loss) {}

    /**
     * Scores N token sequences in one right-padded batch, as TRL's collators lay them out: ids (N, T) filled with
     * {@code padId} after each sequence, attention (N, T) 1 on real tokens, and each row's score read at its last token
     * that is not {@code padId}, exactly as transformers' *ForSequenceClassification pools, so the saved model scores
     * the same in transformers. {@code lossOfScores} turns the scores (N) into the batch's loss (0-d), which runs
     * backward unless {@code mode} is {@link Pass#NO_GRAD}; gradients accumulate into the parameters.
     */
    public static Forward forward(
            Transformer model, List<long[]> rows, long padId, Pass mode, Function<Tensor, Tensor> lossOfScores) {
        int n = rows.size(), t = 0;
        for (long[] r : rows) t = Math.max(t, r.length);
        long[] ids = new long[n * t], attn = new long[n * t];
        Arrays.fill(ids, padId);
        for (int i = 0; i < n; i++) {
            long[] seq = rows.get(i);
            System.arraycopy(seq, 0, ids, i * t, seq.length);
            Arrays.fill(attn, i * t, i * t + seq.length, 1L);
        }
        try (PointerScope s = new PointerScope()) {
            Tensor idsT = Tensors.longs(ids, n, t), attnT = Tensors.longs(attn, n, t);
            // transformers pools at the last token that is not pad_token_id (the same as the
            // attention mask unless a sequence itself contains the pad id, e.g. pad == eos)
            Tensor pool = idsT.ne(Tensors.scalar(padId)).to(torch.ScalarType.Long);
            float[][] scores = new float[1][];
            Function<Tensor, Tensor> lossFromHidden = hidden -> {
                Tensor r = model.scores(hidden, pool).view(-1); // (N)
                scores[0] = Tensors.toFloats(r);
                return lossOfScores.apply(r);
            };
            double loss = switch (mode) {
                case CHECKPOINTED -> model.forwardBackwardCheckpointed(idsT, attnT, lossFromHidden);
                case BACKWARD -> {
                    Tensor l = lossFromHidden.apply(model.forward(idsT, attnT, null));
                    l.backward();
                    yield l.item_double();
                }
                case NO_GRAD -> {
                    try (NoGradGuard g = new NoGradGuard()) {
                        yield lossFromHidden
                                .apply(model.forward(idsT, attnT, null))
                                .item_double();
                    }
                }
            };
            return new Forward(scores[0], loss);
        }
    }
}
