// SPDX-License-Identifier: Apache-2.0
package org.align4j.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.engine.NativeEnv;
import org.align4j.engine.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One decoder-only transformer for the llama, qwen2 and qwen3 families, switched by
 * {@link ModelConfig} (the litgpt idea: one model file, config decides). It follows transformers'
 * modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py, with parameters held under their
 * Hugging Face names so checkpoints load and save without renaming:
 *
 * <pre>
 * x = embed_tokens[ids]                                       (B, T, H)
 * per layer:  h = rms(x) -> q,k,v proj (+bias qwen2) -> [q/k rms qwen3] -> RoPE -> causal GQA attn -> o_proj
 *             x = x + h;  x = x + down(silu(gate(rms(x))) * up(rms(x)))
 * rms(x) -> lm_head (or embed_tokens when tied) | score head (sequence classification)
 * </pre>
 *
 * Compute is float32. Parameters are leaves that may require grad; tensors made in
 * {@link #forward} belong to the caller's {@code PointerScope}.
 */
public final class Transformer implements AutoCloseable {
    static {
        // before this class touches libtorch: libgomp reads OMP_WAIT_POLICY once, when it loads (NativeEnv)
        NativeEnv.onFirstUse();
    }

    private final ModelConfig config;
    private final LinkedHashMap<String, Tensor> params;
    private final Tensor invFreq; // (D/2)
    private Lora.Config loraConfig; // null: no adapters
    private Map<String, Lora.Pair> adapters = Map.of(); // module prefix -> (A, B)
    // threads that read the frozen base (a reference pass) while withAdaptersOff runs; others keep the adapters
    private final ThreadLocal<Boolean> adaptersOff = ThreadLocal.withInitial(() -> false);
    private boolean training; // LoRA dropout is active only while training
    private String source = ""; // model_name_or_path as given (what a saved adapter names as its base)
    private Path tokenizerDir; // the folder whose tokenizer files a checkpoint of this model carries; null: none
    // this thread's own leaves over the trainable parameters' memory, while withOwnLeaves runs; null: the model's
    private final ThreadLocal<Leaves> ownLeaves = new ThreadLocal<>();

    /** The tensors a forward reads: parameters by HF name and adapters by module prefix. */
    private record Leaves(Map<String, Tensor> params, Map<String, Lora.Pair> adapters) {}

    /** Takes ownership of float32 parameters named as in the HF checkpoint; see {@link #expectedShapes}. */
    public Transformer(ModelConfig config, LinkedHashMap<String, Tensor> params) {
        this.config = config;
        this.params = params;
        try (PointerScope s = new PointerScope()) {
            this.invFreq = Tensors.keep(s, Rope.invFreqTensor(config));
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** Where the base weights came from, as the user named them (a folder or a hub id); "" when built in memory. */
    public String source() {
        return source;
    }

    /** The folder holding the tokenizer files that go with these weights, or null (built in memory). */
    public Path tokenizerDir() {
        return tokenizerDir;
    }

    public void setTokenizerDir(Path dir) {
        this.tokenizerDir = dir;
    }

    /** Records where the base weights came from (for adapter_config.json's base_model_name_or_path). */
    public void setSource(String nameOrPath) {
        this.source = nameOrPath == null ? "" : nameOrPath;
    }

    /** Parameters in HF order, by HF name. The map is read-only; the tensors are live. */
    public Map<String, Tensor> parameters() {
        return Collections.unmodifiableMap(params);
    }

    public long numParameters() {
        long n = 0;
        for (Tensor t : params.values()) n += t.numel();
        return n;
    }

    /**
     * Turns gradients on or off for the trainable parameters (the adapters alone when LoRA is
     * attached; the base weights then stay frozen) and switches training mode (LoRA dropout).
     */
    public void requiresGrad(boolean on) {
        training = on;
        for (Tensor t : params.values()) t.set_requires_grad(on && loraConfig == null);
        for (Lora.Pair pair : adapters.values()) {
            pair.a().set_requires_grad(on);
            pair.b().set_requires_grad(on);
        }
    }

    /** What an optimizer updates: the LoRA A/B tensors when adapters are attached, else every parameter. */
    public Map<String, Tensor> trainableParameters() {
        if (loraConfig == null) return parameters();
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : adapters.entrySet()) {
            m.put(e.getKey() + ".lora_A.weight", e.getValue().a());
            m.put(e.getKey() + ".lora_B.weight", e.getValue().b());
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * Runs {@code work} on this thread with each trainable parameter replaced by a new leaf over the same memory: the
     * forward reads the same numbers, and backward puts the gradients in the new leaves' {@code grad} instead of the
     * parameters'. Threads that each run a part of a batch this way neither race on one {@code grad} nor add into it in
     * an order the scheduler picks ({@code RowParallel} sums the parts' gradients in a fixed order). Other threads keep
     * reading the model's own parameters.
     *
     * @return the leaves, in {@link #trainableParameters} order; the caller closes them
     */
    public List<Tensor> withOwnLeaves(Runnable work) {
        if (ownLeaves.get() != null) throw new IllegalStateException("withOwnLeaves does not nest");
        List<Tensor> leaves = new ArrayList<>();
        Map<String, Tensor> own = new LinkedHashMap<>(params);
        Map<String, Lora.Pair> ownAdapters = new LinkedHashMap<>(adapters);
        if (loraConfig == null) {
            for (var e : params.entrySet()) own.put(e.getKey(), leaf(e.getValue(), leaves));
        } else {
            for (var e : adapters.entrySet()) {
                Tensor a = leaf(e.getValue().a(), leaves), b = leaf(e.getValue().b(), leaves);
                ownAdapters.put(e.getKey(), new Lora.Pair(a, b));
            }
        }
        ownLeaves.set(new Leaves(own, ownAdapters));
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            leaves.forEach(Tensor::close);
            throw e;
        } finally {
            ownLeaves.remove();
        }
        return leaves;
    }

    /** A new leaf over {@code p}'s memory (no copy), requiring grad as {@code p} does; added to {@code leaves}. */
    private static Tensor leaf(Tensor p, List<Tensor> leaves) {
        Tensor t;
        try (PointerScope s = new PointerScope()) { // owned by the caller of withOwnLeaves, not by an open scope
            t = Tensors.keep(s, p.detach().requires_grad_(p.requires_grad()));
        }
        leaves.add(t);
        return t;
    }

    /**
     * Runs {@code work} with the adapters off on this thread only: the model is its frozen base there (the reference
     * model of DPO-style methods, without a second copy), while other threads, such as the other parts of a batch
     * running at the same time ({@code RowParallel}), keep the adapters. Nests.
     */
    public <R> R withAdaptersOff(java.util.function.Supplier<R> work) {
        boolean before = adaptersOff.get();
        adaptersOff.set(true);
        try {
            return work.get();
        } finally {
            adaptersOff.set(before);
        }
    }

    Lora.Config loraConfig() {
        return loraConfig;
    }

    Map<String, Lora.Pair> adapters() {
        return adapters;
    }

    void setAdapters(Lora.Config cfg, Map<String, Lora.Pair> newAdapters) {
        for (Lora.Pair pair : adapters.values()) {
            pair.a().close();
            pair.b().close();
        }
        loraConfig = cfg;
        adapters = new LinkedHashMap<>(newAdapters);
    }

    /** Every tensor name and shape a checkpoint must hold for this config, in transformers' order. */
    /**
     * How many tensors {@link #expectedShapes} lists, computed without listing them, so a config
     * claiming 10^9 layers can be checked against a checkpoint before anything is allocated.
     */
    public static long expectedTensorCount(ModelConfig c) {
        int perLayer = 4 // q, k, v, o
                + (c.qkvBias() ? 3 : 0)
                + (c.oBias() ? 1 : 0)
                + (c.qkNorm() ? 2 : 0)
                + 3 * (c.mlpBias() ? 2 : 1) // gate, up, down
                + 2; // the two layer norms
        int head = c.isSequenceClassification() || !c.tieWordEmbeddings() ? 1 : 0;
        return 2 + head + (long) c.numHiddenLayers() * perLayer; // + embeddings and the final norm
    }

    public static LinkedHashMap<String, long[]> expectedShapes(ModelConfig c) {
        var m = new LinkedHashMap<String, long[]>();
        long h = c.hiddenSize(),
                q = (long) c.numAttentionHeads() * c.headDim(),
                kv = (long) c.numKeyValueHeads() * c.headDim();
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            if (c.qkvBias()) m.put(p + "self_attn.q_proj.bias", new long[] {q});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            if (c.qkvBias()) m.put(p + "self_attn.k_proj.bias", new long[] {kv});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            if (c.qkvBias()) m.put(p + "self_attn.v_proj.bias", new long[] {kv});
            m.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            if (c.oBias()) m.put(p + "self_attn.o_proj.bias", new long[] {h});
            if (c.qkNorm()) {
                m.put(p + "self_attn.q_norm.weight", new long[] {c.headDim()});
                m.put(p + "self_attn.k_norm.weight", new long[] {c.headDim()});
            }
            m.put(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), h});
            if (c.mlpBias()) m.put(p + "mlp.gate_proj.bias", new long[] {c.intermediateSize()});
            m.put(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), h});
            if (c.mlpBias()) m.put(p + "mlp.up_proj.bias", new long[] {c.intermediateSize()});
            m.put(p + "mlp.down_proj.weight", new long[] {h, c.intermediateSize()});
            if (c.mlpBias()) m.put(p + "mlp.down_proj.bias", new long[] {h});
            m.put(p + "input_layernorm.weight", new long[] {h});
            m.put(p + "post_attention_layernorm.weight", new long[] {h});
        }
        m.put("model.norm.weight", new long[] {h});
        if (c.isSequenceClassification()) m.put("score.weight", new long[] {c.numLabels(), h});
        else if (!c.tieWordEmbeddings()) m.put("lm_head.weight", new long[] {c.vocabSize(), h});
        return m;
    }

    /**
     * Final hidden states after the last norm.
     *
     * @param inputIds (B, T) int64
     * @param attentionMask (B, past + T) int64, 1 = real token, 0 = padding; null = no padding
     * @param cache KV cache holding {@code past} positions, appended to; null = no cache (past = 0)
     * @return (B, T, H) float32
     */
    public Tensor forward(Tensor inputIds, Tensor attentionMask, KvCache cache) {
        long b = inputIds.size(0), t = inputIds.size(1);
        int past = cache == null ? 0 : cache.length();
        Tensor positions = positions(attentionMask, b, t, past); // (B, T)
        Tensor mask = attentionMask == null ? null : attentionMask(attentionMask, t, past); // (B, 1, T, past+T) bool
        return forward(inputIds, positions, mask, mask == null && past == 0, cache);
    }

    /**
     * One cached decoding step with the positions and key mask kept by the caller (the generator
     * knows each row's next position and which cached keys are padding, so no step rebuilds them
     * from the whole attention-mask history).
     *
     * @param inputIds (B, 1) int64, the token each row feeds this step
     * @param positionIds (B, 1) int64, each row's position (its real tokens so far)
     * @param keyMask (B, 1, 1, past + 1) bool, true where a cached key (or the new one) is a real
     *     token; null when no row has padding (every key is seen)
     * @param cache holding {@code past} positions, appended to
     * @return (B, 1, H) float32
     */
    public Tensor forwardStep(Tensor inputIds, Tensor positionIds, Tensor keyMask, KvCache cache) {
        if (inputIds.size(1) != 1)
            throw new IllegalArgumentException("forwardStep takes one token per row, got " + inputIds.size(1));
        if (keyMask != null && keyMask.size(3) != cache.length() + 1)
            throw new IllegalArgumentException(
                    "key mask has " + keyMask.size(3) + " columns, expected past + 1 = " + (cache.length() + 1));
        // a single query attends to every key up to itself: no causal mask needed
        return forward(inputIds, positionIds, keyMask, false, cache);
    }

    /**
     * Final hidden states of packed rows: several examples laid end to end in one row, each with
     * its own position ids (restarting at 0) and attending only to earlier tokens of the same
     * example (block-diagonal causal attention through SDPA's boolean attn_mask), so every example
     * computes exactly what it computes alone. Right padding is one more segment of its own.
     *
     * @param inputIds (B, T) int64
     * @param positionIds (B, T) int64, each example's positions 0, 1, ...
     * @param segmentIds (B, T) int64, equal within an example and different between neighbours
     * @return (B, T, H) float32
     */
    public Tensor forwardPacked(Tensor inputIds, Tensor positionIds, Tensor segmentIds) {
        return forward(inputIds, positionIds, segmentMask(segmentIds), false, null);
    }

    private Tensor forward(Tensor inputIds, Tensor positions, Tensor mask, boolean causal, KvCache cache) {
        ModelConfig c = config;
        long t = inputIds.size(1);
        Tensor[] cosSin = Rope.cosSin(positions, invFreq);

        Tensor x = torch.embedding(p("model.embed_tokens.weight"), inputIds); // (B, T, H)
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            final int layer = l;
            final Tensor in = x;
            x = Tensors.scoped(() -> layer(layer, in, cosSin, mask, causal, cache));
        }
        if (cache != null) cache.advance((int) t);
        return rmsNorm(x, p("model.norm.weight"));
    }

    /**
     * Forward and backward with activation recomputation (gradient checkpointing; Chen et al.,
     * arXiv 1604.06174): the layers first run without a graph, keeping only each layer's input
     * (L tensors of (B, T, H)); the loss is differentiated with respect to the last hidden state;
     * then each layer, last to first, is run again with a graph and back-propagated on its own,
     * so at most one layer's activations exist at a time. Gradients accumulate into the
     * parameters exactly as a plain {@code lossFromHidden(forward(...)).backward()} would put them.
     *
     * @param lossFromHidden the scalar loss from final hidden states (B, T, H) (after the norm)
     * @return the loss value
     */
    public double forwardBackwardCheckpointed(
            Tensor inputIds, Tensor attentionMask, java.util.function.Function<Tensor, Tensor> lossFromHidden) {
        try (PointerScope scope = new PointerScope()) {
            long b = inputIds.size(0), t = inputIds.size(1);
            Tensor mask = attentionMask == null ? null : attentionMask(attentionMask, t, 0);
            return forwardBackwardCheckpointed(
                    inputIds, positions(attentionMask, b, t, 0), mask, mask == null, lossFromHidden);
        }
    }

    /** {@link #forwardBackwardCheckpointed(Tensor, Tensor, java.util.function.Function)} for packed rows (see {@link #forwardPacked}). */
    public double forwardBackwardCheckpointedPacked(
            Tensor inputIds,
            Tensor positionIds,
            Tensor segmentIds,
            java.util.function.Function<Tensor, Tensor> lossFromHidden) {
        try (PointerScope scope = new PointerScope()) {
            return forwardBackwardCheckpointed(inputIds, positionIds, segmentMask(segmentIds), false, lossFromHidden);
        }
    }

    private double forwardBackwardCheckpointed(
            Tensor inputIds,
            Tensor positions,
            Tensor mask,
            boolean causal,
            java.util.function.Function<Tensor, Tensor> lossFromHidden) {
        ModelConfig c = config;
        try (PointerScope scope = new PointerScope()) {
            Tensor[] cosSin = Rope.cosSin(positions, invFreq);
            Tensor[] inputs = new Tensor
                    [c.numHiddenLayers() + 1]; // inputs[l] feeds layer l; inputs[L] is the last layer's output
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                inputs[0] = torch.embedding(p("model.embed_tokens.weight"), inputIds);
                for (int l = 0; l < c.numHiddenLayers(); l++) {
                    final int layer = l;
                    final Tensor in = inputs[l];
                    inputs[l + 1] = Tensors.scoped(() -> layer(layer, in, cosSin, mask, causal, null));
                }
            }
            Tensor top = inputs[c.numHiddenLayers()].detach().requires_grad_(true);
            Tensor loss = lossFromHidden.apply(rmsNorm(top, p("model.norm.weight")));
            double value = loss.item_double();
            loss.backward();
            Tensor grad = top.grad().detach();
            for (int l = c.numHiddenLayers() - 1; l >= 0; l--) {
                final int layer = l;
                final Tensor upstream = grad;
                grad = Tensors.scoped(() -> {
                    Tensor in = inputs[layer].detach().requires_grad_(true);
                    layer(layer, in, cosSin, mask, causal, null)
                            .backward(
                                    upstream,
                                    new org.bytedeco.pytorch.BoolOptional(),
                                    false,
                                    new org.bytedeco.pytorch.TensorArrayRefOptional());
                    return in.grad().detach(); // an owning handle: grad() points into `in`, which this scope frees
                });
            }
            Tensor embed = torch.embedding(p("model.embed_tokens.weight"), inputIds);
            if (embed.requires_grad())
                embed.backward(
                        grad,
                        new org.bytedeco.pytorch.BoolOptional(),
                        false,
                        new org.bytedeco.pytorch.TensorArrayRefOptional());
            return value;
        }
    }

    /** One decoder layer: x + attn(rms(x)), then + mlp(rms(.)). x (B, T, H) -> (B, T, H). */
    private Tensor layer(int l, Tensor x, Tensor[] cosSin, Tensor mask, boolean causal, KvCache cache) {
        ModelConfig c = config;
        long b = x.size(0), t = x.size(1);
        String pre = "model.layers." + l + ".";
        Tensor h = rmsNorm(x, p(pre + "input_layernorm.weight"));
        Tensor q = linear(h, pre + "self_attn.q_proj").view(b, t, c.numAttentionHeads(), c.headDim());
        Tensor k = linear(h, pre + "self_attn.k_proj").view(b, t, c.numKeyValueHeads(), c.headDim());
        Tensor v = linear(h, pre + "self_attn.v_proj").view(b, t, c.numKeyValueHeads(), c.headDim());
        if (c.qkNorm()) { // qwen3: RMSNorm over head_dim, before RoPE
            q = rmsNorm(q, p(pre + "self_attn.q_norm.weight"));
            k = rmsNorm(k, p(pre + "self_attn.k_norm.weight"));
        }
        q = Rope.apply(q.transpose(1, 2), cosSin[0], cosSin[1]); // (B, Hq, T, D)
        k = Rope.apply(k.transpose(1, 2), cosSin[0], cosSin[1]); // (B, Hkv, T, D)
        v = v.transpose(1, 2);
        if (cache != null) {
            Tensor[] kv = cache.append(l, k, v); // (B, Hkv, past+T, D)
            k = kv[0];
            v = kv[1];
        }
        // one query per row (a decoding step): the G query heads that share a KV head attend as G queries of
        // that head, (B, Hq, 1, D) -> (B, Hkv, G, D); the same numbers, ~25% faster than SDPA's GQA path
        boolean grouped = groupedDecodeAttention && t == 1 && !causal && c.kvGroups() > 1;
        if (grouped) q = q.reshape(b, c.numKeyValueHeads(), c.kvGroups(), c.headDim());
        // fused SDPA; on this CPU it measured as fast as eager attention and keeps O(T) memory
        Tensor attn = torch.scaled_dot_product_attention(
                q,
                k,
                v,
                mask == null ? new TensorOptional() : new TensorOptional(mask),
                0.0,
                causal,
                new DoubleOptional(),
                !grouped && c.kvGroups() > 1); // (B, Hq, T, D), or (B, Hkv, G, D) grouped
        if (grouped) attn = attn.reshape(b, c.numAttentionHeads(), 1, c.headDim());
        attn = attn.transpose(1, 2).reshape(b, t, (long) c.numAttentionHeads() * c.headDim());
        x = x.add(linear(attn, pre + "self_attn.o_proj"));

        h = rmsNorm(x, p(pre + "post_attention_layernorm.weight"));
        Tensor gate = torch.silu(linear(h, pre + "mlp.gate_proj"));
        return x.add(linear(gate.mul(linear(h, pre + "mlp.up_proj")), pre + "mlp.down_proj"));
    }

    /**
     * Next-token logits (B, T, V) from hidden states (B, T, H), float32 also when bf16 autocast ran the product (what
     * follows, a log-softmax, needs the precision).
     */
    public Tensor logits(Tensor hidden) {
        return torch.linear(hidden, lmHeadWeight()).to(torch.ScalarType.Float);
    }

    /** The LM head's (V, H) weight: lm_head.weight, or embed_tokens.weight when tied. */
    public Tensor lmHeadWeight() {
        if (config.isSequenceClassification())
            throw new IllegalStateException("this is a sequence-classification model (score head); it has no LM head");
        return p(config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
    }

    /**
     * Sequence scores (B, num_labels), read at each row's last real token as transformers'
     * *ForSequenceClassification does (there: last token that is not pad_token_id; here the
     * attention mask says which tokens are real, which is the same whenever padding is masked).
     *
     * @param hidden (B, T, H); attentionMask (B, T) int64 or null when rows are unpadded
     */
    public Tensor scores(Tensor hidden, Tensor attentionMask) {
        if (!config.isSequenceClassification())
            throw new IllegalStateException(
                    "this is a causal LM; scores need a *ForSequenceClassification checkpoint (score.weight)");
        long b = hidden.size(0), t = hidden.size(1);
        Tensor all =
                torch.linear(hidden, p("score.weight")).to(torch.ScalarType.Float); // (B, T, L), float32 under bf16
        Tensor last;
        if (attentionMask == null)
            last = torch.full(new long[] {b}, Tensors.scalar(t - 1), new TensorOptions(torch.ScalarType.Long));
        else {
            Tensor idx = torch.arange(Tensors.scalar(t), new TensorOptions(torch.ScalarType.Long)); // (T)
            last = attentionMask.mul(idx).argmax(new org.bytedeco.pytorch.LongOptional(-1), false); // (B)
        }
        Tensor gatherIdx = last.view(b, 1, 1).expand(b, 1, all.size(2));
        return all.gather(1, gatherIdx).squeeze(1); // (B, L)
    }

    // ---- pieces ----

    private Tensor p(String name) {
        Tensor t = param(name);
        if (t == null) throw new IllegalStateException("parameter " + name + " missing");
        return t;
    }

    /** The parameter a forward reads (this thread's own leaf inside {@link #withOwnLeaves}), or null. */
    private Tensor param(String name) {
        Leaves own = ownLeaves.get();
        return (own == null ? params : own.params()).get(name);
    }

    private Tensor linear(Tensor x, String prefix) {
        Tensor bias = param(prefix + ".bias");
        Tensor y = bias == null
                ? torch.linear(x, p(prefix + ".weight"))
                : torch.linear(x, p(prefix + ".weight"), new TensorOptional(bias));
        Leaves own = ownLeaves.get();
        Lora.Pair lora = adaptersOff.get() ? null : (own == null ? adapters : own.adapters()).get(prefix);
        if (lora == null) return y;
        Tensor in = training && loraConfig.dropout() > 0 ? torch.dropout(x, loraConfig.dropout(), true) : x;
        return y.add(torch.linear(torch.linear(in, lora.a()), lora.b())
                .mul(Tensors.scalar(loraConfig.scale()))); // (alpha/r) x A^T B^T
    }

    private Tensor rmsNorm(Tensor x, Tensor weight) {
        return torch.rms_norm(
                x, new long[] {weight.size(0)}, new TensorOptional(weight), new DoubleOptional(config.rmsNormEps()));
    }

    /** HF: position_ids = cumsum(mask) - 1, with padding positions set to 1; the last T columns. */
    private static volatile boolean groupedDecodeAttention = true;

    /**
     * Whether a one-query-per-row attention (a decoding step) runs as G queries of each KV head
     * (true, the default) or through SDPA's own GQA path (false, the code before issue 15). The same
     * numbers to float rounding; the switch exists for {@code bench --mode grpo_generate}, which
     * times the generator as it was against the generator as it is, in one process.
     */
    public static void groupedDecodeAttention(boolean on) {
        groupedDecodeAttention = on;
    }

    private static Tensor positions(Tensor mask, long b, long t, int past) {
        if (mask == null)
            return torch.arange(
                            Tensors.scalar((long) past),
                            Tensors.scalar(past + t),
                            new TensorOptions(torch.ScalarType.Long))
                    .unsqueeze(0)
                    .expand(b, t);
        Tensor pos = torch.cumsum(mask, -1).sub(Tensors.scalar(1L));
        pos = pos.masked_fill(mask.eq(Tensors.scalar(0L)), Tensors.scalar(1L));
        return pos.narrow(1, pos.size(1) - t, t);
    }

    /**
     * Boolean (B, 1, T, past+T) mask: query i (absolute past+i) sees key j when j <= past+i and key
     * j is real. A padding query also sees itself, so no row is all-masked: an all-masked row makes
     * softmax NaN, and NaN in a padding position's keys would leak into real rows through 0 * NaN.
     */
    private static Tensor attentionMask(Tensor mask, long t, int past) {
        long tk = past + t;
        if (mask.size(1) != tk)
            throw new IllegalArgumentException(
                    "attention_mask has " + mask.size(1) + " columns, expected past + T = " + tk);
        TensorOptions longs = new TensorOptions(torch.ScalarType.Long);
        Tensor qPos = torch.arange(Tensors.scalar((long) past), Tensors.scalar(tk), longs)
                .view(t, 1); // (T, 1)
        Tensor kPos = torch.arange(Tensors.scalar(tk), longs).view(1, tk); // (1, Tk)
        Tensor causal = kPos.le(qPos); // (T, Tk)
        Tensor self = kPos.eq(qPos);
        Tensor real = mask.ne(Tensors.scalar(0L)).view(mask.size(0), 1, 1, tk); // (B, 1, 1, Tk)
        return causal.logical_and(real).logical_or(self); // (B, 1, T, Tk)
    }

    /**
     * Boolean (B, 1, T, T) mask for packed rows: query i sees key j when j <= i and both belong to
     * the same segment (block-diagonal causal). Every query sees itself, so no row is all-masked.
     */
    private static Tensor segmentMask(Tensor segmentIds) {
        long b = segmentIds.size(0), t = segmentIds.size(1);
        TensorOptions longs = new TensorOptions(torch.ScalarType.Long);
        Tensor idx = torch.arange(Tensors.scalar(t), longs);
        Tensor causal = idx.view(1, t).le(idx.view(t, 1)); // (T, T): key <= query
        Tensor same = segmentIds.view(b, t, 1).eq(segmentIds.view(b, 1, t)); // (B, T, T)
        return same.logical_and(causal).view(b, 1, t, t);
    }

    /** The trainable tensors, for gradient clipping: a new vector each call. */
    public TensorVector parameterVector() {
        List<Tensor> list = new ArrayList<>(trainableParameters().values());
        return new TensorVector(list.toArray(new Tensor[0]));
    }

    @Override
    public void close() {
        setAdapters(null, Map.of());
        for (Tensor t : params.values()) t.close();
        invFreq.close();
    }
}
