"""Pure-PyTorch re-implementation of Hugging Face transformers' decoder-only models.

Covers the modeling code of transformers (4.4x-4.5x) for
  LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM and the score-head
  *ForSequenceClassification variants of the same three,
written from modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py and
modeling_rope_utils.py, with the eager attention path.  It needs only torch (no
transformers, no safetensors package) so that it runs on Debian's python3-torch:

    /usr/bin/python3 -c "import sys; sys.path.insert(0, 'tools/golden'); import hf_reference"

Faithfulness notes (each one is a place where a re-implementation can silently differ):
  * RMSNorm: x is upcast to float32, x * rsqrt(mean(x^2, -1) + eps), cast back to the
    input dtype, THEN multiplied by the weight (weight * x.to(dtype)).
  * RoPE: inv_freq = 1 / theta^(arange(0, d, 2) / d) computed in float32; cos/sin are
    computed in float32 from (inv_freq x position) and cast to the activation dtype
    (transformers does this even when the model runs in float64).  rotate_half layout:
    the two halves of head_dim are paired (i, i + d/2), not interleaved pairs.
    rope_scaling {"rope_type": "llama3"} follows _compute_llama3_parameters.
  * Qwen2: q/k/v projections have a bias, o_proj has none.
  * Qwen3: explicit head_dim (num_heads * head_dim may differ from hidden_size),
    q_norm/k_norm are RMSNorms over head_dim applied per head BEFORE RoPE.
  * GQA: repeat_kv repeats each kv head n_rep times consecutively (kv head j serves
    query heads j*n_rep .. j*n_rep + n_rep - 1).
  * Attention: scores = q k^T * head_dim^-0.5 + mask, mask entries are 0 or
    finfo(dtype).min (not -inf: fully masked rows of left padding stay finite), softmax
    in float32, then @ v.
  * Position ids: with an attention mask (left padding) they are cumsum(mask) - 1 and 1
    where mask == 0 (what transformers' generate() builds).  A plain transformers forward
    without position_ids uses arange(T) instead; because RoPE only depends on relative
    positions the two agree up to float rounding for the real tokens.
  * Tied embeddings: lm_head.weight is absent and model.embed_tokens.weight is used.
  * Sequence classification: score (no bias) is applied to every position; the output is
    taken at the rightmost token that is not pad_token_id (for left padding: the last
    position), or at position -1 when pad_token_id is None.
"""

import math

import torch
import torch.nn.functional as F

ARCHITECTURES = {
    "LlamaForCausalLM": ("llama", False),
    "Qwen2ForCausalLM": ("qwen2", False),
    "Qwen3ForCausalLM": ("qwen3", False),
    "LlamaForSequenceClassification": ("llama", True),
    "Qwen2ForSequenceClassification": ("qwen2", True),
    "Qwen3ForSequenceClassification": ("qwen3", True),
}


class Config:
    """The fields of a HF config.json that the forward pass reads."""

    def __init__(self, d):
        self.raw = dict(d)
        self.model_type = d["model_type"]
        arch = (d.get("architectures") or [None])[0]
        self.is_classifier = bool(arch and arch.endswith("ForSequenceClassification"))
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.num_key_value_heads = d.get("num_key_value_heads") or self.num_attention_heads
        self.head_dim = d.get("head_dim") or self.hidden_size // self.num_attention_heads
        self.rms_norm_eps = d.get("rms_norm_eps", 1e-6)
        self.rope_theta = float(d.get("rope_theta", 10000.0))
        self.rope_scaling = d.get("rope_scaling")
        self.tie_word_embeddings = d.get("tie_word_embeddings", False)
        self.hidden_act = d.get("hidden_act", "silu")
        if self.model_type == "llama":
            self.qkv_bias = bool(d.get("attention_bias", False))
            self.o_bias = bool(d.get("attention_bias", False))
            self.mlp_bias = bool(d.get("mlp_bias", False))
        elif self.model_type == "qwen2":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        elif self.model_type == "qwen3":
            self.qkv_bias = bool(d.get("attention_bias", False))
            self.o_bias = bool(d.get("attention_bias", False))
            self.mlp_bias = False
        else:
            raise ValueError("unsupported model_type " + repr(self.model_type))
        self.qk_norm = self.model_type == "qwen3"
        self.pad_token_id = d.get("pad_token_id")
        if "id2label" in d:
            self.num_labels = len(d["id2label"])
        else:
            self.num_labels = d.get("num_labels", 2)
        if self.hidden_act != "silu":
            raise ValueError("only hidden_act silu is implemented")


# ----------------------------------------------------------------------------- RoPE

def rope_inv_freq(cfg):
    """inv_freq (float32 [head_dim/2]) and attention_scaling, as modeling_rope_utils."""
    dim = cfg.head_dim
    base = cfg.rope_theta
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))
    attention_scaling = 1.0
    rs = cfg.rope_scaling
    rope_type = None
    if rs is not None:
        rope_type = rs.get("rope_type", rs.get("type"))
    if rope_type in (None, "default"):
        return inv_freq, attention_scaling
    if rope_type == "llama3":
        factor = rs["factor"]
        low_freq_factor = rs["low_freq_factor"]
        high_freq_factor = rs["high_freq_factor"]
        old_context_len = rs["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        # wavelen < high_freq_wavelen: keep; wavelen > low_freq_wavelen: divide by factor
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        # otherwise: interpolate between the two
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq_llama = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
        return inv_freq_llama, attention_scaling
    if rope_type == "linear":
        return inv_freq / rs["factor"], attention_scaling
    raise ValueError("rope_type %r is not implemented" % rope_type)


def rope_cos_sin(inv_freq, attention_scaling, position_ids, dtype):
    """cos, sin [B, T, head_dim] exactly as LlamaRotaryEmbedding.forward (float32 math)."""
    b = position_ids.shape[0]
    inv_freq_expanded = inv_freq[None, :, None].float().expand(b, -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos = emb.cos() * attention_scaling
    sin = emb.sin() * attention_scaling
    return cos.to(dtype), sin.to(dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos = cos.unsqueeze(1)  # [B, 1, T, D]
    sin = sin.unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


# ----------------------------------------------------------------------------- layers

def rms_norm(x, weight, eps):
    input_dtype = x.dtype
    h = x.to(torch.float32) if input_dtype != torch.float64 else x
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + eps)
    return weight * h.to(input_dtype)


def repeat_kv(x, n_rep):
    b, kvh, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, kvh, n_rep, t, d).reshape(b, kvh * n_rep, t, d)


def position_ids_from_mask(attention_mask):
    pos = attention_mask.long().cumsum(-1) - 1
    return pos.masked_fill(attention_mask == 0, 1)


def build_additive_mask(attention_mask, q_len, past_len, dtype):
    """[B, 1, q_len, past_len + q_len]: 0 where allowed, finfo.min where not.

    attention_mask: [B, past_len + q_len] of 0/1 (None: all ones)."""
    kv_len = past_len + q_len
    q_pos = torch.arange(past_len, kv_len)[:, None]
    k_pos = torch.arange(kv_len)[None, :]
    allowed = (k_pos <= q_pos)[None, None, :, :]
    if attention_mask is not None:
        allowed = allowed & (attention_mask[:, None, None, :] != 0)
    mask = torch.zeros(allowed.shape, dtype=dtype)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


class KVCache:
    def __init__(self, n_layers):
        self.k = [None] * n_layers
        self.v = [None] * n_layers

    def length(self):
        return 0 if self.k[0] is None else self.k[0].shape[2]

    def update(self, i, k, v):
        if self.k[i] is None:
            self.k[i], self.v[i] = k, v
        else:
            self.k[i] = torch.cat([self.k[i], k], dim=2)
            self.v[i] = torch.cat([self.v[i], v], dim=2)
        return self.k[i], self.v[i]


# ----------------------------------------------------------------------------- model

class HFModel:
    """Functional model over a dict of HF-named tensors.

    params: {hf_name: tensor}; tensors are converted to `dtype` (float32 default) and kept
    as leaves so that requires_grad_() / optimizers can be used on them directly."""

    def __init__(self, config, state_dict, dtype=torch.float32, requires_grad=False):
        self.cfg = config if isinstance(config, Config) else Config(config)
        self.dtype = dtype
        self.params = {}
        for name, t in state_dict.items():
            p = t.detach().to(dtype).clone()
            p.requires_grad_(requires_grad)
            self.params[name] = p
        self.inv_freq, self.attention_scaling = rope_inv_freq(self.cfg)
        self._check_names()

    # the exact set of names transformers' save_pretrained writes
    @staticmethod
    def expected_names(cfg):
        cfg = cfg if isinstance(cfg, Config) else Config(cfg)
        names = ["model.embed_tokens.weight", "model.norm.weight"]
        for i in range(cfg.num_hidden_layers):
            p = "model.layers.%d." % i
            for n in ("q", "k", "v", "o"):
                names.append(p + "self_attn.%s_proj.weight" % n)
            if cfg.qkv_bias:
                names += [p + "self_attn.%s_proj.bias" % n for n in ("q", "k", "v")]
            if cfg.o_bias:
                names.append(p + "self_attn.o_proj.bias")
            if cfg.qk_norm:
                names += [p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"]
            for n in ("gate", "up", "down"):
                names.append(p + "mlp.%s_proj.weight" % n)
                if cfg.mlp_bias:
                    names.append(p + "mlp.%s_proj.bias" % n)
            names += [p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
        if cfg.is_classifier:
            names.append("score.weight")
        elif not cfg.tie_word_embeddings:
            names.append("lm_head.weight")
        return names

    @staticmethod
    def param_shapes(cfg):
        cfg = cfg if isinstance(cfg, Config) else Config(cfg)
        h, d = cfg.hidden_size, cfg.head_dim
        qo, kv, im = cfg.num_attention_heads * d, cfg.num_key_value_heads * d, cfg.intermediate_size
        shapes = {}
        for n in HFModel.expected_names(cfg):
            leaf = n.split(".")[-2] if n.startswith("model.layers.") else n
            is_bias = n.endswith(".bias")
            if n == "model.embed_tokens.weight" or n == "lm_head.weight":
                s = [cfg.vocab_size, h]
            elif n == "score.weight":
                s = [cfg.num_labels, h]
            elif n == "model.norm.weight" or leaf in ("input_layernorm", "post_attention_layernorm"):
                s = [h]
            elif leaf in ("q_norm", "k_norm"):
                s = [d]
            elif leaf == "q_proj":
                s = [qo] if is_bias else [qo, h]
            elif leaf in ("k_proj", "v_proj"):
                s = [kv] if is_bias else [kv, h]
            elif leaf == "o_proj":
                s = [h] if is_bias else [h, qo]
            elif leaf in ("gate_proj", "up_proj"):
                s = [im] if is_bias else [im, h]
            elif leaf == "down_proj":
                s = [h] if is_bias else [h, im]
            else:
                raise AssertionError(n)
            shapes[n] = s
        return shapes

    def _check_names(self):
        want = HFModel.param_shapes(self.cfg)
        got = set(self.params)
        if got != set(want):
            raise ValueError("state dict mismatch: missing %s, unexpected %s"
                             % (sorted(set(want) - got), sorted(got - set(want))))
        for n, s in want.items():
            if list(self.params[n].shape) != s:
                raise ValueError("%s: shape %s, expected %s" % (n, list(self.params[n].shape), s))

    def _linear(self, x, prefix, bias):
        return F.linear(x, self.params[prefix + ".weight"], self.params[prefix + ".bias"] if bias else None)

    def _attention(self, i, x, cos, sin, mask, cache):
        cfg = self.cfg
        p = "model.layers.%d.self_attn." % i
        b, t, _ = x.shape
        d = cfg.head_dim
        q = self._linear(x, p + "q_proj", cfg.qkv_bias).view(b, t, -1, d)
        k = self._linear(x, p + "k_proj", cfg.qkv_bias).view(b, t, -1, d)
        v = self._linear(x, p + "v_proj", cfg.qkv_bias).view(b, t, -1, d)
        if cfg.qk_norm:
            q = rms_norm(q, self.params[p + "q_norm.weight"], cfg.rms_norm_eps)
            k = rms_norm(k, self.params[p + "k_norm.weight"], cfg.rms_norm_eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        if cache is not None:
            k, v = cache.update(i, k, v)
        n_rep = cfg.num_attention_heads // cfg.num_key_value_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        scores = torch.matmul(q, k.transpose(2, 3)) * (d ** -0.5)
        scores = scores + mask
        softmax_dtype = torch.float64 if q.dtype == torch.float64 else torch.float32
        probs = F.softmax(scores, dim=-1, dtype=softmax_dtype).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, -1).contiguous()
        return self._linear(out, p + "o_proj", cfg.o_bias)

    def _mlp(self, i, x):
        cfg = self.cfg
        p = "model.layers.%d.mlp." % i
        g = self._linear(x, p + "gate_proj", cfg.mlp_bias)
        u = self._linear(x, p + "up_proj", cfg.mlp_bias)
        return self._linear(F.silu(g) * u, p + "down_proj", cfg.mlp_bias)

    def hidden_states(self, input_ids, attention_mask=None, position_ids=None, cache=None):
        """Final-norm hidden states [B, T, H].

        attention_mask covers past + new tokens ([B, past + T]); position ids default to
        the mask-derived ones (or past + arange(T) without a mask)."""
        cfg = self.cfg
        b, t = input_ids.shape
        past = cache.length() if cache is not None else 0
        if position_ids is None:
            if attention_mask is not None:
                position_ids = position_ids_from_mask(attention_mask)[:, past:]
            else:
                position_ids = torch.arange(past, past + t)[None, :].expand(b, t)
        x = F.embedding(input_ids, self.params["model.embed_tokens.weight"])
        cos, sin = rope_cos_sin(self.inv_freq, self.attention_scaling, position_ids, x.dtype)
        mask = build_additive_mask(attention_mask, t, past, x.dtype)
        for i in range(cfg.num_hidden_layers):
            p = "model.layers.%d." % i
            h = rms_norm(x, self.params[p + "input_layernorm.weight"], cfg.rms_norm_eps)
            x = x + self._attention(i, h, cos, sin, mask, cache)
            h = rms_norm(x, self.params[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
            x = x + self._mlp(i, h)
        return rms_norm(x, self.params["model.norm.weight"], cfg.rms_norm_eps)

    def lm_head_weight(self):
        if self.cfg.tie_word_embeddings:
            return self.params["model.embed_tokens.weight"]
        return self.params["lm_head.weight"]

    def logits(self, input_ids, attention_mask=None, position_ids=None, cache=None):
        h = self.hidden_states(input_ids, attention_mask, position_ids, cache)
        return F.linear(h, self.lm_head_weight())

    def classify(self, input_ids, attention_mask=None, position_ids=None):
        """*ForSequenceClassification: pooled logits [B, num_labels]."""
        h = self.hidden_states(input_ids, attention_mask, position_ids)
        logits = F.linear(h, self.params["score.weight"])
        b, t = input_ids.shape
        if self.cfg.pad_token_id is None:
            last = torch.full((b,), t - 1, dtype=torch.long)
        else:
            non_pad = (input_ids != self.cfg.pad_token_id).to(torch.int32)
            last = (torch.arange(t, dtype=torch.int32) * non_pad).argmax(-1)
        return logits[torch.arange(b), last]

    # ------------------------------------------------------------------ generation

    @torch.no_grad()
    def generate(self, input_ids, attention_mask=None, max_new_tokens=16, do_sample=False,
                 temperature=1.0, top_k=0, top_p=1.0, eos_token_id=None, pad_token_id=0,
                 generator=None, timings=None):
        """KV-cached decoding of a left-padded batch. Returns new tokens [B, max_new_tokens]
        (pad_token_id after a row finished when eos_token_id is given).
        timings: optional dict that receives 'prefill_s' and 'decode_s'."""
        import time
        b = input_ids.shape[0]
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        cache = KVCache(self.cfg.num_hidden_layers)
        finished = torch.zeros(b, dtype=torch.bool)
        out = []
        t0 = time.perf_counter()
        # like transformers' generate (logits_to_keep=1): lm_head only on the last position
        h = self.hidden_states(input_ids, attention_mask, cache=cache)[:, -1, :]
        logits = F.linear(h, self.lm_head_weight())
        t1 = time.perf_counter()
        for step in range(max_new_tokens):
            nxt = self._pick(logits.float(), do_sample, temperature, top_k, top_p, generator)
            if eos_token_id is not None:
                nxt = torch.where(finished, torch.full_like(nxt, pad_token_id), nxt)
                finished |= nxt == eos_token_id
            out.append(nxt)
            if step == max_new_tokens - 1 or (eos_token_id is not None and bool(finished.all())):
                break
            attention_mask = torch.cat([attention_mask, torch.ones(b, 1, dtype=attention_mask.dtype)], dim=1)
            logits = self.logits(nxt[:, None], attention_mask, cache=cache)[:, -1, :]
        t2 = time.perf_counter()
        if timings is not None:
            timings["prefill_s"] = t1 - t0
            timings["decode_s"] = t2 - t1
        res = torch.stack(out, dim=1)
        if res.shape[1] < max_new_tokens:
            res = torch.cat([res, torch.full((b, max_new_tokens - res.shape[1]), pad_token_id, dtype=res.dtype)], 1)
        return res

    @staticmethod
    def _pick(logits, do_sample, temperature, top_k, top_p, generator):
        if not do_sample or temperature == 0:
            return logits.argmax(-1)
        logits = logits / temperature
        if top_k and top_k > 0:
            kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if top_p < 1.0:  # transformers' TopPLogitsWarper
            sorted_logits, sorted_idx = torch.sort(logits, descending=False)
            cum = sorted_logits.softmax(-1).cumsum(-1)
            remove_sorted = cum <= (1 - top_p)
            remove_sorted[..., -1:] = False
            remove = remove_sorted.scatter(1, sorted_idx, remove_sorted)
            logits = logits.masked_fill(remove, float("-inf"))
        probs = F.softmax(logits, dim=-1)
        return torch.multinomial(probs, 1, generator=generator)[:, 0]


def left_pad(rows, pad_id):
    """list of 1-D LongTensors -> (ids [B, T], mask [B, T]) left-padded."""
    t = max(len(r) for r in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, t - len(r):] = r
        mask[i, t - len(r):] = 1
    return ids, mask


def right_pad(rows, pad_id):
    t = max(len(r) for r in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


def init_state_dict(cfg, generator, std=0.02, stds=None):
    """Random HF-named parameters: normals for matrices (per-kind std overrides in
    `stds`, keyed by leaf name such as 'q_proj' or 'embed_tokens'), 1 + 0.1*randn for norm
    weights, 0.1*randn for biases. Deterministic given the generator and name order."""
    cfg = cfg if isinstance(cfg, Config) else Config(cfg)
    stds = stds or {}
    sd = {}
    for name, shape in HFModel.param_shapes(cfg).items():
        parts = name.split(".")
        leaf = parts[-2] if len(parts) >= 2 else parts[0]
        if name.endswith(".bias"):
            sd[name] = 0.1 * torch.randn(shape, generator=generator)
        elif leaf.endswith("norm") or leaf == "norm":
            sd[name] = 1.0 + 0.1 * torch.randn(shape, generator=generator)
        else:
            sd[name] = stds.get(leaf, std) * torch.randn(shape, generator=generator)
    return sd
