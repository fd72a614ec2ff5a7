// SPDX-License-Identifier: Apache-2.0
package org.align4j.aapa;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.io.HfJson;
import org.align4j.io.SafetensorsFile;
import org.align4j.io.SafetensorsWriter;

/**
 * AAPA's fixed, lightweight, sentence-level discriminator (arXiv 2509.25148, docs/aapa.md): a frozen sentence encoder
 * and a small head trained once, offline, to tell expert responses (label 1) from the base policy's rollouts (label 0).
 * Its logit z = log D/(1 − D) is the anchoring signal ({@link AnchorReward}). Nothing here trains during policy
 * optimisation.
 *
 * <p>A saved discriminator is a folder: {@value #CONFIG_FILE} (encoder, head shape, training settings and statistics,
 * held-out accuracy and ROC-AUC) and {@value #HEAD_FILE} (the head's float32 weights).
 */
public final class EncoderDiscriminator implements Discriminator {
    public static final String CONFIG_FILE = "discriminator.json",
            HEAD_FILE = "head.safetensors",
            EXPERT_FILE = "expert_embeddings.safetensors";
    static final String FORMAT = "align4j-aapa-discriminator";
    static final int FORMAT_VERSION = 1;
    /** Between prompt and response when {@link DiscriminatorConfig#includePrompt()} is set. */
    static final String PROMPT_SEPARATOR = "\n";

    /** One response and the prompt it answers. */
    public record Example(String prompt, String response) {
        public Example {
            if (prompt == null) prompt = "";
            if (response == null) throw new IllegalArgumentException("an example needs a response");
        }
    }

    /** Counts and scores from training, as saved in {@value #CONFIG_FILE}; {@code eval} is null without a held-out split. */
    public record Report(
            int expertExamples,
            int policyExamples,
            double finalTrainLoss,
            double weightExpert,
            double weightPolicy,
            DiscriminatorMetrics train,
            DiscriminatorMetrics eval,
            double embedSeconds,
            double trainSeconds) {}

    private final SentenceEncoder encoder;
    private final boolean ownsEncoder;
    private DiscriminatorHead head;
    private final DiscriminatorConfig config;
    private final Report report;
    /** The training split's expert embeddings (N, D), kept for co-training; null when loaded until co-training asks. */
    private float[][] expertEmbeddings;

    private final Path folder;
    private CoTrainer coTrainer;

    private EncoderDiscriminator(
            SentenceEncoder encoder,
            boolean ownsEncoder,
            DiscriminatorHead head,
            DiscriminatorConfig config,
            Report report,
            float[][] expertEmbeddings,
            Path folder) {
        this.encoder = encoder;
        this.ownsEncoder = ownsEncoder;
        this.head = head;
        this.config = config;
        this.report = report;
        this.expertEmbeddings = expertEmbeddings;
        this.folder = folder;
    }

    @Override
    public String kind() {
        return SENTENCE_ENCODER;
    }

    /**
     * Trains the head on {@code encoder}'s embeddings of the expert and policy responses. A stratified share
     * {@link DiscriminatorConfig#evalFraction()} of each class (at least one example each when the share is above 0)
     * is held out for {@link Report#eval()}. The encoder stays the caller's.
     */
    public static EncoderDiscriminator train(
            SentenceEncoder encoder, List<Example> expert, List<Example> policy, DiscriminatorConfig config) {
        if (expert.isEmpty() || policy.isEmpty())
            throw new IllegalArgumentException("training the discriminator needs expert and policy examples, got "
                    + expert.size() + " expert and " + policy.size() + " policy");
        Random split = new Random(config.seed());
        List<List<Example>> expertSplit = HeldOut.split(expert, config.evalFraction(), split, "expert");
        List<List<Example>> policySplit = HeldOut.split(policy, config.evalFraction(), split, "policy");
        long t0 = System.nanoTime();
        Labelled train = embed(encoder, config, expertSplit.get(0), policySplit.get(0));
        Labelled eval = embed(encoder, config, expertSplit.get(1), policySplit.get(1));
        long t1 = System.nanoTime();
        DiscriminatorTrainer.Fit fit = DiscriminatorTrainer.fit(train.x, train.isExpert, encoder.dimension(), config);
        long t2 = System.nanoTime();
        DiscriminatorMetrics trainMetrics = DiscriminatorMetrics.of(logitsOf(fit.head(), train.x), train.isExpert);
        DiscriminatorMetrics evalMetrics =
                eval.x.length == 0 ? null : DiscriminatorMetrics.of(logitsOf(fit.head(), eval.x), eval.isExpert);
        Report report = new Report(
                expert.size(),
                policy.size(),
                fit.lastEpochLoss(),
                fit.weightExpert(),
                fit.weightPolicy(),
                trainMetrics,
                evalMetrics,
                (t1 - t0) / 1e9,
                (t2 - t1) / 1e9);
        float[][] expertX = java.util.Arrays.copyOf(train.x, expertSplit.get(0).size());
        return new EncoderDiscriminator(encoder, false, fit.head(), config, report, expertX, null);
    }

    private record Labelled(float[][] x, boolean[] isExpert) {}

    private static Labelled embed(
            SentenceEncoder encoder, DiscriminatorConfig c, List<Example> expert, List<Example> policy) {
        List<String> texts = new ArrayList<>();
        boolean[] labels = new boolean[expert.size() + policy.size()];
        for (Example e : expert) texts.add(text(c.includePrompt(), e.prompt(), e.response()));
        for (Example e : policy) texts.add(text(c.includePrompt(), e.prompt(), e.response()));
        java.util.Arrays.fill(labels, 0, expert.size(), true);
        float[][] x = encoder.embed(texts);
        checkEmbeddings(encoder, x, texts.size());
        return new Labelled(x, labels);
    }

    private static void checkEmbeddings(SentenceEncoder encoder, float[][] x, int n) {
        if (x.length != n)
            throw new IllegalStateException(encoder.name() + " returned " + x.length + " vectors for " + n + " texts");
        for (float[] v : x)
            if (v.length != encoder.dimension())
                throw new IllegalStateException(encoder.name() + " returned a " + v.length
                        + "-vector; it declares dimension " + encoder.dimension());
    }

    static String text(boolean includePrompt, String prompt, String response) {
        return includePrompt ? (prompt == null ? "" : prompt) + PROMPT_SEPARATOR + response : response;
    }

    private static double[] logitsOf(DiscriminatorHead head, float[][] x) {
        double[] z = new double[x.length];
        for (int i = 0; i < x.length; i++) z[i] = head.logit(x[i]);
        return z;
    }

    /** z = log D/(1 − D) for one response; positive means "looks like the expert". */
    public double logit(String prompt, String response) {
        return logits(List.of(prompt == null ? "" : prompt), List.of(response))[0];
    }

    /** One logit per (prompt, response) pair, encoded in batches. */
    @Override
    public double[] logits(List<String> prompts, List<String> responses) {
        return logitsOf(head, embed(prompts, responses));
    }

    private float[][] embed(List<String> prompts, List<String> responses) {
        if (prompts.size() != responses.size())
            throw new IllegalArgumentException(
                    prompts.size() + " prompts for " + responses.size() + " responses; pass one prompt per response");
        List<String> texts = new ArrayList<>(responses.size());
        for (int i = 0; i < responses.size(); i++) {
            if (responses.get(i) == null) throw new IllegalArgumentException("response " + i + " is null");
            texts.add(text(config.includePrompt(), prompts.get(i), responses.get(i)));
        }
        float[][] x = encoder.embed(texts);
        checkEmbeddings(encoder, x, texts.size());
        return x;
    }

    /**
     * Co-training (an option, off by default; the paper keeps the discriminator fixed): AdamW steps of the head on
     * one batch of the current policy's responses (label 0) against as many expert embeddings drawn from the
     * training split (label 1), so the anchor follows the policy as a GAN's discriminator would. The head
     * continues from its trained weights with fresh moments; every later {@link #logits} uses the updated head.
     *
     * @param c learning rate, AdamW steps per batch, and the seed of the expert draws
     * @return the batch's mean class-balanced BCE before the first step, and its accuracy (z > 0 for expert) then
     */
    @Override
    public CoTrainStats coTrain(List<String> prompts, List<String> responses, CoTraining c) {
        return coTrainOn(embed(prompts, responses), c);
    }

    /** Scores the batch with the current head, then co-trains on the same embeddings (the encoder runs once). */
    @Override
    public ScoredAndCoTrained logitsThenCoTrain(List<String> prompts, List<String> responses, CoTraining c) {
        float[][] x = embed(prompts, responses);
        double[] z = logitsOf(head, x);
        return new ScoredAndCoTrained(z, coTrainOn(x, c));
    }

    private CoTrainStats coTrainOn(float[][] policyX, CoTraining c) {
        if (policyX.length == 0) throw new IllegalArgumentException("co-training needs at least one policy response");
        if (expertEmbeddings == null) expertEmbeddings = readExpertEmbeddings();
        if (coTrainer == null || !coTrainer.config.equals(c))
            coTrainer = new CoTrainer(
                    c,
                    DiscriminatorTrainer.Optimizer.from(head, c.learningRate(), config.weightDecay()),
                    new Random(c.seed()));
        int n = policyX.length;
        float[][] x = new float[2 * n][];
        boolean[] isExpert = new boolean[2 * n];
        for (int i = 0; i < n; i++) {
            x[i] = expertEmbeddings[coTrainer.draws.nextInt(expertEmbeddings.length)];
            isExpert[i] = true;
            x[n + i] = policyX[i];
        }
        int[] all = new int[2 * n];
        for (int i = 0; i < all.length; i++) all[i] = i;
        double[] before = logitsOf(head, x);
        int right = 0;
        for (int i = 0; i < before.length; i++) if ((before[i] > 0) == isExpert[i]) right++;
        double loss = Double.NaN;
        for (int s = 0; s < c.stepsPerBatch(); s++) {
            double l = coTrainer.optimizer.step(x, isExpert, all, 0, all.length, 1.0, 1.0); // equal classes: weights 1
            if (s == 0) loss = l;
        }
        head = coTrainer.optimizer.head();
        coTrainer.updates++;
        return new CoTrainStats(loss, (double) right / before.length, coTrainer.updates);
    }

    /** Whether {@link #coTrain} has changed the head since training or loading. */
    public boolean coTrained() {
        return coTrainer != null && coTrainer.updates > 0;
    }

    /** Co-training state: the settings it started with, the head's optimizer, the expert draws, the updates so far. */
    private static final class CoTrainer {
        final CoTraining config;
        final DiscriminatorTrainer.Optimizer optimizer;
        final Random draws;
        int updates;

        CoTrainer(CoTraining config, DiscriminatorTrainer.Optimizer optimizer, Random draws) {
            this.config = config;
            this.optimizer = optimizer;
            this.draws = draws;
        }
    }

    private float[][] readExpertEmbeddings() {
        Path f = folder == null ? null : folder.resolve(EXPERT_FILE);
        if (f == null || !Files.isRegularFile(f))
            throw new IllegalArgumentException(
                    "co-training needs the expert embeddings the discriminator was trained on, but "
                            + (f == null ? "this discriminator has none" : f + " does not exist")
                            + "; retrain it with this version of ./align4j discriminator");
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            long[] shape = sf.info("embeddings").shape();
            float[] flat = sf.toFloats("embeddings");
            if (shape.length != 2 || shape[1] != encoder.dimension())
                throw new IllegalArgumentException(f + ": embeddings must be (N, " + encoder.dimension() + "), got "
                        + java.util.Arrays.toString(shape));
            float[][] x = new float[(int) shape[0]][];
            for (int i = 0; i < x.length; i++)
                x[i] = java.util.Arrays.copyOfRange(flat, i * (int) shape[1], (i + 1) * (int) shape[1]);
            return x;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(f + ": " + e.getMessage(), e);
        }
    }

    public DiscriminatorConfig config() {
        return config;
    }

    public DiscriminatorHead head() {
        return head;
    }

    public Report report() {
        return report;
    }

    public SentenceEncoder encoder() {
        return encoder;
    }

    /**
     * Writes the discriminator's files into {@code dir}, each atomically, the
     * config last, so a folder with a config holds a complete discriminator. With {@code overwrite} an earlier
     * discriminator's files are replaced; nothing else in the folder is touched.
     */
    public void save(Path dir) throws IOException {
        save(dir, false);
    }

    /** {@link #save} replacing an earlier discriminator's files in {@code dir}. */
    public void saveReplacing(Path dir) throws IOException {
        save(dir, true);
    }

    private void save(Path dir, boolean overwrite) throws IOException {
        if (!overwrite && Files.exists(dir.resolve(CONFIG_FILE)))
            throw new java.nio.file.FileAlreadyExistsException(
                    dir.toString(), null, "already holds a discriminator; choose another folder or pass overwrite");
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(CONFIG_FILE)); // incomplete until the new config is written
        SafetensorsWriter.write(
                dir.resolve(HEAD_FILE), head.toBlobs(), Map.of("format", "pt", "align4j", FORMAT), true);
        if (expertEmbeddings != null && expertEmbeddings.length > 0) {
            int d = expertEmbeddings[0].length;
            float[] flat = new float[expertEmbeddings.length * d];
            for (int i = 0; i < expertEmbeddings.length; i++) System.arraycopy(expertEmbeddings[i], 0, flat, i * d, d);
            SafetensorsWriter.write(
                    dir.resolve(EXPERT_FILE),
                    List.of(org.align4j.io.TensorBlob.ofFloats("embeddings", flat, expertEmbeddings.length, d)),
                    Map.of("format", "pt", "align4j", FORMAT),
                    true);
        } else {
            Files.deleteIfExists(dir.resolve(EXPERT_FILE));
        }
        HfJson.writeJson(dir.resolve(CONFIG_FILE), toJson(), true);
    }

    private Map<String, Object> toJson() {
        Map<String, Object> enc = new LinkedHashMap<>();
        enc.put("name", encoder.name());
        enc.put("dimension", encoder.dimension());
        if (encoder instanceof MiniLmSentenceEncoder) {
            enc.put("runtime", "onnxruntime");
            enc.put("max_tokens", MiniLmSentenceEncoder.MAX_TOKENS);
            enc.put("pooling", "mean");
            enc.put("normalize", true);
        }
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("type", head.type());
        h.put("input_dim", head.inputDim());
        h.put("hidden_size", head.hiddenSize());
        h.put("activation", DiscriminatorHead.isMlp(head.type()) ? "relu" : null);
        h.put("file", HEAD_FILE);
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("include_prompt", config.includePrompt());
        input.put("prompt_separator", PROMPT_SEPARATOR);
        Map<String, Object> tr = new LinkedHashMap<>();
        tr.put("loss", "class-balanced binary cross-entropy, label 1 = expert");
        tr.put("optimizer", "AdamW (plain Java), betas (0.9, 0.999), eps 1e-8");
        tr.put("epochs", config.epochs());
        tr.put("learning_rate", config.learningRate());
        tr.put("batch_size", config.batchSize());
        tr.put("weight_decay", config.weightDecay());
        tr.put("seed", config.seed());
        tr.put("eval_fraction", config.evalFraction());
        if (report != null) {
            tr.put("expert_examples", report.expertExamples());
            tr.put("policy_examples", report.policyExamples());
            tr.put("class_weight_expert", report.weightExpert());
            tr.put("class_weight_policy", report.weightPolicy());
            tr.put("final_train_loss", DiscriminatorMetrics.finiteOrNull(report.finalTrainLoss()));
            tr.put("embed_seconds", report.embedSeconds());
            tr.put("train_seconds", report.trainSeconds());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("format_version", FORMAT_VERSION);
        m.put("kind", SENTENCE_ENCODER);
        m.put(
                "method",
                "AAPA (arXiv 2509.25148): fixed sentence-level discriminator, expert responses vs policy rollouts");
        m.put("encoder", enc);
        m.put("input", input);
        m.put("head", h);
        m.put("training", tr);
        m.put("train_metrics", report == null ? null : report.train().toJson());
        m.put(
                "eval_metrics",
                report == null || report.eval() == null ? null : report.eval().toJson());
        if (coTrained())
            m.put(
                    "co_training",
                    Map.of(
                            "updates",
                            coTrainer.updates,
                            "learning_rate",
                            coTrainer.config.learningRate(),
                            "steps_per_batch",
                            coTrainer.config.stepsPerBatch(),
                            "every_steps",
                            coTrainer.config.everySteps()));
        return m;
    }

    /**
     * Loads a saved discriminator onto {@code encoder}, which must be the one it was trained on (same name and
     * dimension); the encoder stays the caller's.
     */
    public static EncoderDiscriminator load(Path dir, SentenceEncoder encoder) throws IOException {
        return load(dir, encoder, false);
    }

    /** Loads a saved discriminator with its own all-MiniLM-L6-v2 encoder, closed by {@link #close()}. */
    public static EncoderDiscriminator open(Path dir) throws IOException {
        checkFolder(dir);
        MiniLmSentenceEncoder enc = new MiniLmSentenceEncoder();
        try {
            return load(dir, enc, true);
        } catch (IOException | RuntimeException e) {
            enc.close();
            throw e;
        }
    }

    private static void checkFolder(Path dir) {
        if (!Files.isDirectory(dir))
            throw new IllegalArgumentException(
                    "discriminator folder " + dir + " does not exist; train one with ./align4j discriminator");
        for (String f : List.of(CONFIG_FILE, HEAD_FILE))
            if (!Files.isRegularFile(dir.resolve(f)))
                throw new IllegalArgumentException(
                        dir + " has no " + f + "; it is not a folder written by ./align4j discriminator");
    }

    private static EncoderDiscriminator load(Path dir, SentenceEncoder encoder, boolean owns) throws IOException {
        checkFolder(dir);
        Path cfgFile = dir.resolve(CONFIG_FILE);
        JsonNode j = HfJson.readJson(cfgFile);
        if (!FORMAT.equals(j.path("format").asText())
                || j.path("format_version").asInt() != FORMAT_VERSION)
            throw new IllegalArgumentException(cfgFile + ": format is '"
                    + j.path("format").asText() + "' version "
                    + j.path("format_version").asText() + ", expected '" + FORMAT + "' version " + FORMAT_VERSION);
        String encName = j.path("encoder").path("name").asText();
        int dim = j.path("encoder").path("dimension").asInt();
        if (!encName.equals(encoder.name()) || dim != encoder.dimension())
            throw new IllegalArgumentException(
                    cfgFile + " was trained on encoder '" + encName + "' (" + dim + "-d), not on '" + encoder.name()
                            + "' (" + encoder.dimension() + "-d); load it with the encoder it was trained on");
        JsonNode h = j.path("head"), tr = j.path("training");
        String type = h.path("type").asText();
        int inputDim = h.path("input_dim").asInt(),
                hidden = h.path("hidden_size").asInt();
        if (inputDim != dim)
            throw new IllegalArgumentException(
                    cfgFile + ": head.input_dim " + inputDim + " differs from encoder.dimension " + dim);
        DiscriminatorHead head;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(HEAD_FILE))) {
            head = DiscriminatorHead.read(f, type, inputDim, hidden);
        }
        DiscriminatorConfig config;
        try {
            config = DiscriminatorConfig.builder()
                    .head(type)
                    .hiddenSize(hidden)
                    .epochs(tr.path("epochs").asInt())
                    .learningRate(tr.path("learning_rate").asDouble())
                    .batchSize(tr.path("batch_size").asInt())
                    .weightDecay(tr.path("weight_decay").asDouble())
                    .seed(tr.path("seed").asLong())
                    .evalFraction(tr.path("eval_fraction").asDouble())
                    .includePrompt(j.path("input").path("include_prompt").asBoolean())
                    .build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(cfgFile + ": " + e.getMessage(), e);
        }
        JsonNode ev = j.get("eval_metrics"), trm = j.get("train_metrics");
        Report report = trm == null || trm.isNull()
                ? null
                : new Report(
                        tr.path("expert_examples").asInt(),
                        tr.path("policy_examples").asInt(),
                        DiscriminatorMetrics.num(tr, "final_train_loss"),
                        tr.path("class_weight_expert").asDouble(),
                        tr.path("class_weight_policy").asDouble(),
                        DiscriminatorMetrics.fromJson(trm),
                        ev == null || ev.isNull() ? null : DiscriminatorMetrics.fromJson(ev),
                        tr.path("embed_seconds").asDouble(),
                        tr.path("train_seconds").asDouble());
        return new EncoderDiscriminator(encoder, owns, head, config, report, null, dir);
    }

    /** Closes the encoder if {@link #open} made it; a caller's encoder is left open. */
    @Override
    public void close() {
        if (ownsEncoder) encoder.close();
    }
}
