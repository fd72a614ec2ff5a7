// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import java.util.List;

/**
 * A frozen text encoder: one fixed-size vector per text, the features of the AAPA discriminator's head
 * ({@link EncoderDiscriminator}). Implementations hold native resources, hence {@link AutoCloseable}.
 */
public interface SentenceEncoder extends AutoCloseable {

    /** Identifies the encoder and its weights; saved in {@code discriminator.json} and checked on load. */
    String name();

    /** Length of every vector {@link #embed} returns. */
    int dimension();

    /** One vector of {@link #dimension()} floats per text, in order; an empty list gives an empty array. */
    float[][] embed(List<String> texts);

    @Override
    void close();
}
