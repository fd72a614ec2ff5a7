// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

/** One real MiniLM encoder for all the tests of a JVM (loading the 90 MB graph takes seconds); closed at exit. */
final class SentenceEncoderTestSupport {
    private static MiniLmSentenceEncoder shared;
    private static Memo memo;

    private SentenceEncoderTestSupport() {}

    static synchronized MiniLmSentenceEncoder miniLm() {
        if (shared == null) {
            long start = System.nanoTime();
            shared = new MiniLmSentenceEncoder();
            System.err.printf("MiniLM encoder loaded in %.2f s%n", (System.nanoTime() - start) / 1e9);
            MiniLmSentenceEncoder s = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
        }
        return shared;
    }

    /**
     * The shared encoder behind a memo (text → its first embedding), so that tests training several discriminators on
     * the same texts embed each text once. Same name and dimension as MiniLM.
     */
    static synchronized SentenceEncoder memoMiniLm() {
        if (memo == null) memo = new Memo(miniLm());
        return memo;
    }

    private static final class Memo implements SentenceEncoder {
        private final SentenceEncoder inner;
        private final java.util.Map<String, float[]> seen = new java.util.HashMap<>();

        Memo(SentenceEncoder inner) {
            this.inner = inner;
        }

        public String name() {
            return inner.name();
        }

        public int dimension() {
            return inner.dimension();
        }

        public synchronized float[][] embed(java.util.List<String> texts) {
            java.util.List<String> missing = new java.util.ArrayList<>(new java.util.LinkedHashSet<>(texts));
            missing.removeIf(seen::containsKey);
            float[][] fresh = inner.embed(missing);
            for (int i = 0; i < fresh.length; i++) seen.put(missing.get(i), fresh[i]);
            float[][] out = new float[texts.size()][];
            for (int i = 0; i < out.length; i++) out[i] = seen.get(texts.get(i)).clone();
            return out;
        }

        public void close() {}
    }
}
