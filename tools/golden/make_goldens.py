"""Writes the PyTorch golden files that align4j's numerics tests compare against.

How to run (from the repository root; needs only Debian's python3-torch and numpy):

    /usr/bin/python3 tools/golden/make_goldens.py            # writes src/test/resources/golden/
    /usr/bin/python3 tools/golden/make_goldens.py --out DIR  # somewhere else

Regenerate deliberately and say why in the commit: the output is deterministic for a given
torch build (fixed seeds, one intra-op thread), but a different torch/BLAS build may change
the last bits of the float outputs (the integer inputs and greedy tokens do not change).

Each golden/<name>/ is a real Hugging Face model directory (config.json as transformers
writes it, safetensors weights, tokenizer.json, tokenizer_config.json, generation_config.json
for causal LMs) plus
  expected.safetensors  F32 / I64 tensors (ragged data flattened, with a *_lens tensor)
  expected.json         a description of every expected tensor, tolerances, seeds, checks.
The forward pass is tools/golden/hf_reference.py, a re-implementation of transformers'
modeling code (there is no transformers package on this machine).

Why these tolerances (float32 Java/libtorch vs float32 PyTorch):
  every quantity is also computed in float64 from the same weights; the max |f32 - f64|
  is recorded in expected.json ("checks"), and is ~1e-6 for logits and log-probs and
  ~1e-7 for gradients with these sizes.  Another float32 implementation differs from this
  one by about the same amount (different summation order in matmul / softmax), so the
  recommended tolerances are ~50x that error: atol 1e-4 (+ rtol 1e-4) for logits,
  log-probs and rewards, atol 1e-5 + rtol 1e-3 for gradients, and exact equality for
  greedy tokens (every greedy step has a top-1/top-2 logit gap > 1e-3, recorded as
  "greedy_min_gap").

Weights: random, chosen so that bugs are visible: matrices are normal with a per-kind std
(q/k large enough that attention is far from uniform, so RoPE and masking errors move the
logits), RMSNorm weights 1 + 0.1*randn, biases 0.1*randn.  Stored in F32, BF16 (qwen2) or
F16 (qwen3-tiny-rm); the expected values are computed in float32 from the stored (rounded)
weights, so a reader that upcasts BF16/F16 to float32 must match them.
"""

import argparse
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

TRANSFORMERS_VERSION = "4.51.3"  # the version whose save_pretrained output the config files mirror
V = 320
PAD, IM_START, IM_END = 256, 257, 258
BOS_CONFIG, EOS = 256, 258

STDS = {"embed_tokens": 0.5, "lm_head": 0.1, "q_proj": 0.15, "k_proj": 0.15, "v_proj": 0.1,
        "o_proj": 0.1, "gate_proj": 0.1, "up_proj": 0.1, "down_proj": 0.1, "score": 0.1}

TOL = {
    "logits": {"atol": 1e-4, "rtol": 1e-4},
    "logps": {"atol": 1e-4, "rtol": 1e-4},
    "rewards": {"atol": 1e-4, "rtol": 1e-4},
    "loss": {"atol": 1e-5, "rtol": 1e-5},
    "grads": {"atol": 1e-5, "rtol": 1e-3},
    "exact": "exact",
}


# ----------------------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character mapping."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) \
        + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"),
          ("Ġ", "s"), ("e", "n"), ("r", "e"), ("Ġ", "w"), ("a", "t"), ("Ġ", "o"), ("in", "g"),
          ("Ġ", "c"), ("o", "r"), ("Ġ", "i"), ("Ġ", "h"), ("a", "n"), ("Ġ", "b"), ("Ġ", "m"),
          ("Ġ", "f"), ("Ġ", "p"), ("e", "s"), ("Ġ", "d"), ("a", "r"), ("o", "u"), ("Ġa", "n"),
          ("Ġan", "d"), ("Ġ", "Ġ")]

SPECIALS = [(PAD, "<|endoftext|>"), (IM_START, "<|im_start|>"), (IM_END, "<|im_end|>")]

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def tokenizer_json():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    # the special tokens are also in the model vocab (like GPT-2's tokenizer.json): the Rust
    # library then keeps their ids whatever version re-assigns added-token ids on load
    for i, s in SPECIALS:
        vocab[s] = i
    nid = 259
    for a, b in MERGES:
        assert a in vocab and b in vocab, (a, b)
        vocab[a + b] = nid
        nid += 1
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in SPECIALS]
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": bl,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                    "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
            "ignore_merges": False,
            "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])),
            "merges": [[a, b] for a, b in MERGES],
        },
    }


def tokenizer_config():
    dec = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                    "single_word": False, "special": True} for i, s in SPECIALS}
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": dec,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "extra_special_tokens": {},
        "model_max_length": 2048,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def simple_encode(text):
    """Reference encoding of `text` with the tokenizer above (GPT-2 regex + BPE ranks),
    used to record a few tokenization examples in expected.json for the Java side."""
    import re
    # GPT-2's pattern with \p{L} / \p{N} narrowed to ASCII: enough for the ASCII examples
    specials = {s: i for i, s in SPECIALS}
    parts = re.split("(" + "|".join(re.escape(s) for s in specials) + ")", text)
    pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
    b2u = bytes_to_unicode()
    tj = tokenizer_json()
    vocab = tj["model"]["vocab"]
    ranks = {(a, b): i for i, (a, b) in enumerate(MERGES)}
    ids = []
    pieces = []
    for part in parts:
        if part in specials:
            pieces.append(part)
        else:
            pieces += pat.findall(part)
    for piece in pieces:
        if piece in specials:
            ids.append(specials[piece])
            continue
        word = [b2u[c] for c in piece.encode("utf-8")]
        while len(word) > 1:
            pairs = [(ranks.get((word[i], word[i + 1]), 1 << 30), i) for i in range(len(word) - 1)]
            r, i = min(pairs)
            if r == 1 << 30:
                break
            a, b = word[i], word[i + 1]
            new, j = [], 0
            while j < len(word):
                if j < len(word) - 1 and word[j] == a and word[j + 1] == b:
                    new.append(a + b)
                    j += 2
                else:
                    new.append(word[j])
                    j += 1
            word = new
        ids += [vocab[w] for w in word]
    return ids


# ----------------------------------------------------------------------------- configs

def base_config(model_type, arch):
    c = {
        "architectures": [arch],
        "attention_dropout": 0.0,
        "bos_token_id": BOS_CONFIG,
        "eos_token_id": EOS,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 160,
        "max_position_embeddings": 512,
        "model_type": model_type,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": V,
    }
    return c


def llama_config():
    c = base_config("llama", "LlamaForCausalLM")
    c.update({
        "attention_bias": False,
        "head_dim": 16,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 64, "rope_type": "llama3"},
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
    })
    return c


def qwen2_config():
    c = base_config("qwen2", "Qwen2ForCausalLM")
    c.update({
        "max_window_layers": 2,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_sliding_window": False,
    })
    return c


def qwen3_config(arch="Qwen3ForCausalLM", dtype="float32", tie=False):
    c = base_config("qwen3", arch)
    c.update({
        "attention_bias": False,
        "head_dim": 32,
        "max_window_layers": 2,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": tie,
        "torch_dtype": dtype,
        "use_sliding_window": False,
    })
    return c


def qwen3_rm_config():
    c = qwen3_config("Qwen3ForSequenceClassification", "float16", tie=True)
    c.update({"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}, "pad_token_id": PAD})
    return c


def dump_json(obj, path):
    # transformers: json.dumps(d, indent=2, sort_keys=True) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- helpers

def _module_order(c):
    """Parameter names in nn.Module registration order (transformers' shard order)."""
    names = ["model.embed_tokens.weight"]
    for i in range(c.num_hidden_layers):
        p = "model.layers.%d." % i
        for n in ("q", "k", "v"):
            names.append(p + "self_attn.%s_proj.weight" % n)
            if c.qkv_bias:
                names.append(p + "self_attn.%s_proj.bias" % n)
        names.append(p + "self_attn.o_proj.weight")
        if c.qk_norm:
            names += [p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"]
        names += [p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight",
                  p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
    names.append("model.norm.weight")
    if c.is_classifier:
        names.append("score.weight")
    elif not c.tie_word_embeddings:
        names.append("lm_head.weight")
    return names


def write_weights(dirpath, cfg, sd, storage_dtype, shards=1):
    stored = {k: v.to(storage_dtype).contiguous() for k, v in sd.items()}
    if shards == 1:
        st.save_file(stored, os.path.join(dirpath, "model.safetensors"), {"format": "pt"})
        files = ["model.safetensors"]
    else:
        # transformers' shard_checkpoint: walk the state dict in module order, start a new
        # shard when adding the next tensor would exceed max_shard_size
        order = _module_order(ref.Config(cfg))
        total = sum(st.nbytes(stored[n]) for n in order)

        def split(max_shard):
            groups, cur, cur_size = [], [], 0
            for n in order:
                sz = st.nbytes(stored[n])
                if cur and cur_size + sz > max_shard:
                    groups.append(cur)
                    cur, cur_size = [], 0
                cur.append(n)
                cur_size += sz
            groups.append(cur)
            return groups

        # the smallest max_shard_size (in KB steps) that gives `shards` files
        max_shard = total // shards
        while len(split(max_shard)) > shards:
            max_shard += 1024
        groups = split(max_shard)
        assert len(groups) == shards, [len(g) for g in groups]
        files, weight_map = [], {}
        for i, g in enumerate(groups):
            fn = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
            st.save_file({n: stored[n] for n in g}, os.path.join(dirpath, fn), {"format": "pt"})
            files.append(fn)
            for n in g:
                weight_map[n] = fn
        dump_json({"metadata": {"total_size": total}, "weight_map": weight_map},
                  os.path.join(dirpath, "model.safetensors.index.json"))
        files.append("model.safetensors.index.json")
    # the reference computes from what was stored (BF16/F16 rounding included)
    return {k: v.to(torch.float32) for k, v in stored.items()}, files


def rand_ids(g, shape, hi):
    return torch.randint(0, hi, shape, generator=g)


class Expected:
    def __init__(self):
        self.tensors = {}
        self.desc = {}

    def add(self, name, t, desc, tol):
        assert t.dtype in (torch.float32, torch.int64), (name, t.dtype)
        self.tensors[name] = t.detach().contiguous()
        self.desc[name] = {"dtype": "F32" if t.dtype == torch.float32 else "I64",
                           "shape": list(t.shape), "description": desc, "tolerance": tol}


def max_err(a, b):
    return float((a.double() - b.double()).abs().max())


# ----------------------------------------------------------------------------- sections

def section_logits(ex, m32, m64, g, checks):
    ids = rand_ids(g, (2, 12), 259)
    lg = m32.logits(ids)
    lg64 = m64.logits(ids)
    checks["logits_f32_vs_f64_max_abs_err"] = max_err(lg, lg64)
    checks["logits_std"] = float(lg.std())
    ex.add("logits_input_ids", ids, "random token ids < 259, no padding", TOL["exact"])
    ex.add("logits", lg, "model logits [B, T, vocab] for logits_input_ids (no attention mask)",
           TOL["logits"])
    return ids


def completion_logps(model, prompt, comp):
    row = torch.cat([prompt, comp])[None, :]
    lg = model.logits(row)[0]
    lp = F.log_softmax(lg.float() if lg.dtype != torch.float64 else lg, dim=-1)
    pos = torch.arange(len(prompt) - 1, len(row[0]) - 1)
    return lp[pos, comp]


def section_logps(ex, m32, m64, g, checks):
    p_lens, c_lens = [5, 9, 3], [4, 2, 7]  # completion lengths include the final eos
    prompts = [rand_ids(g, (n,), 256) for n in p_lens]
    comps = [torch.cat([rand_ids(g, (n - 1,), 256), torch.tensor([EOS])]) for n in c_lens]
    tok32 = [completion_logps(m32, p, c) for p, c in zip(prompts, comps)]
    tok64 = [completion_logps(m64, p, c) for p, c in zip(prompts, comps)]
    # the same rows as one left-padded batch: must agree with the unpadded rows
    rows = [torch.cat([p, c]) for p, c in zip(prompts, comps)]
    ids, mask = ref.left_pad(rows, PAD)
    lp = F.log_softmax(m32.logits(ids, mask), dim=-1)
    T = ids.shape[1]
    worst = 0.0
    for i, (p, c) in enumerate(zip(prompts, comps)):
        start = T - len(c)
        padded = lp[i, start - 1:T - 1].gather(-1, c[:, None])[:, 0]
        worst = max(worst, max_err(padded, tok32[i]))
    assert worst < 1e-5, "left-padded batch disagrees with unpadded rows: %g" % worst
    # and right padding (completion at varying offsets) for good measure
    ids_r, mask_r = ref.right_pad(rows, PAD)
    lp_r = F.log_softmax(m32.logits(ids_r, mask_r), dim=-1)
    worst_r = 0.0
    for i, (p, c) in enumerate(zip(prompts, comps)):
        r = lp_r[i, len(p) - 1:len(p) + len(c) - 1].gather(-1, c[:, None])[:, 0]
        worst_r = max(worst_r, max_err(r, tok32[i]))
    assert worst_r < 1e-5, worst_r
    checks["logps_left_padded_vs_unpadded_max_abs_err"] = worst
    checks["logps_right_padded_vs_unpadded_max_abs_err"] = worst_r
    checks["logps_f32_vs_f64_max_abs_err"] = max(max_err(a, b) for a, b in zip(tok32, tok64))
    ex.add("lp_prompt_ids", torch.cat(prompts), "3 prompts (random ids < 256) concatenated; "
           "row i is the next lp_prompt_lens[i] ids", TOL["exact"])
    ex.add("lp_prompt_lens", torch.tensor(p_lens), "prompt lengths", TOL["exact"])
    ex.add("lp_completion_ids", torch.cat(comps), "3 completions concatenated, each ending with "
           "eos %d (included in its length)" % EOS, TOL["exact"])
    ex.add("lp_completion_lens", torch.tensor(c_lens), "completion lengths incl. eos", TOL["exact"])
    ex.add("lp_token_logps", torch.cat(tok32), "log p(completion token | prompt + earlier completion "
           "tokens) for every completion token incl. eos, each row computed alone (no padding), "
           "flattened like lp_completion_ids", TOL["logps"])
    ex.add("lp_logps", torch.stack([t.sum() for t in tok32]), "per-row sum of lp_token_logps",
           TOL["logps"])


def greedy_rows(model, prompt, n):
    row = prompt.clone()
    out, gaps = [], []
    for _ in range(n):
        lg = model.logits(row[None, :])[0, -1]
        top = torch.topk(lg, 2).values
        gaps.append(float(top[0] - top[1]))
        nxt = int(lg.argmax())
        out.append(nxt)
        row = torch.cat([row, torch.tensor([nxt])])
    return out, min(gaps)


def section_greedy(ex, m32, m64, g, checks):
    lens = [4, 7, 2]
    new = 10
    for attempt in range(200):
        prompts = [rand_ids(g, (n,), 256) for n in lens]
        res = [greedy_rows(m32, p, new) for p in prompts]
        gap = min(r[1] for r in res)
        if gap > 1e-3:
            break
    else:
        raise RuntimeError("no greedy prompts with a clear top-1 found")
    toks = torch.tensor([r[0] for r in res])
    # float64 agrees token for token
    res64 = [greedy_rows(m64, p, new)[0] for p in prompts]
    assert res64 == toks.tolist(), "float64 greedy differs"
    # and the KV-cached left-padded batched generate of the reference agrees
    ids, mask = ref.left_pad(prompts, PAD)
    cached = m32.generate(ids, mask, max_new_tokens=new, do_sample=False)
    assert cached.tolist() == toks.tolist(), (cached, toks)
    checks["greedy_min_gap"] = gap
    checks["greedy_prompt_attempts"] = attempt + 1
    checks["greedy_kv_cached_left_padded_batch_matches"] = True
    ex.add("greedy_prompt_ids", torch.cat(prompts), "3 prompts concatenated (random ids < 256)",
           TOL["exact"])
    ex.add("greedy_prompt_lens", torch.tensor(lens), "prompt lengths", TOL["exact"])
    ex.add("greedy_new_tokens", toks, "greedy continuation of each prompt, %d tokens, no eos "
           "stopping, computed by re-running the full forward each step (no cache); top-1/top-2 "
           "logit gap >= greedy_min_gap at every step" % new, TOL["exact"])


def loss_and_grads(cfg, sd, dtype, ids):
    m = ref.HFModel(cfg, sd, dtype=dtype, requires_grad=True)
    lg = m.logits(ids)
    loss = F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), ids[:, 1:].reshape(-1))
    loss.backward()
    return loss.detach(), {n: p.grad.detach() for n, p in m.params.items()}


def section_grads(ex, cfg, sd, ids, checks):
    loss32, g32 = loss_and_grads(cfg, sd, torch.float32, ids)
    loss64, g64 = loss_and_grads(cfg, sd, torch.float64, ids)
    checks["grad_loss_f32_vs_f64_abs_err"] = abs(float(loss32) - float(loss64))
    checks["grad_f32_vs_f64_max_abs_err"] = max(max_err(g32[n], g64[n]) for n in g32)
    checks["grad_max_abs"] = max(float(g.abs().max()) for g in g32.values())
    ex.add("grad_loss", loss32.reshape([]), "mean next-token cross-entropy over logits_input_ids "
           "(predict ids[:, 1:] from logits[:, :-1], all 2x11 positions, no mask)", TOL["loss"])
    for n in sorted(g32):
        ex.add("grad." + n, g32[n], "d grad_loss / d " + n, TOL["grads"])


def section_rm(ex, m32, m64, g, checks):
    lens = [7, 12, 4]
    rows = [torch.cat([rand_ids(g, (n - 1,), 256), torch.tensor([EOS])]) for n in lens]
    single32 = torch.stack([m32.classify(r[None, :])[0] for r in rows])
    single64 = torch.stack([m64.classify(r[None, :])[0] for r in rows])
    ids_r, mask_r = ref.right_pad(rows, PAD)
    ids_l, mask_l = ref.left_pad(rows, PAD)
    rr = m32.classify(ids_r, mask_r)
    rl = m32.classify(ids_l, mask_l)
    # what a plain transformers forward does with left padding: positions arange(T), not
    # mask-derived. RoPE is relative, so it agrees up to rounding.
    T = ids_l.shape[1]
    rl_arange = m32.classify(ids_l, mask_l, position_ids=torch.arange(T)[None, :].expand(3, T))
    checks["rm_right_padded_vs_single_max_abs_err"] = max_err(rr, single32)
    checks["rm_left_padded_vs_single_max_abs_err"] = max_err(rl, single32)
    checks["rm_left_padded_arange_positions_vs_single_max_abs_err"] = max_err(rl_arange, single32)
    checks["rm_f32_vs_f64_max_abs_err"] = max_err(single32, single64)
    for k in ("rm_right_padded_vs_single_max_abs_err", "rm_left_padded_vs_single_max_abs_err",
              "rm_left_padded_arange_positions_vs_single_max_abs_err"):
        assert checks[k] < 1e-5, (k, checks[k])
    ex.add("rm_input_ids", ids_r, "3 rows (random ids < 256, last token eos %d) right-padded with "
           "pad_token_id %d" % (EOS, PAD), TOL["exact"])
    ex.add("rm_attention_mask", mask_r, "1 for real tokens", TOL["exact"])
    ex.add("rm_rewards", single32, "score at the last non-pad token ([B, num_labels]), each row "
           "computed alone; right- and left-padded batches give the same values", TOL["rewards"])
    ex.add("rm_input_ids_left", ids_l, "the same rows left-padded", TOL["exact"])
    ex.add("rm_attention_mask_left", mask_l, "1 for real tokens", TOL["exact"])


# ----------------------------------------------------------------------------- driver

def write_model(root, name, cfg, storage_dtype, seed, shards=1):
    d = os.path.join(root, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    g = torch.Generator().manual_seed(seed)
    sd = ref.init_state_dict(cfg, g, stds=STDS)
    sd32, files = write_weights(d, cfg, sd, storage_dtype, shards)
    dump_json(cfg, os.path.join(d, "config.json"))
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    dump_json(tokenizer_config(), os.path.join(d, "tokenizer_config.json"))
    files += ["config.json", "tokenizer.json", "tokenizer_config.json"]
    c = ref.Config(cfg)
    if not c.is_classifier:
        dump_json({"_from_model_config": True, "bos_token_id": BOS_CONFIG, "eos_token_id": EOS,
                   "transformers_version": TRANSFORMERS_VERSION},
                  os.path.join(d, "generation_config.json"))
        files.append("generation_config.json")
    # round trip what was written
    loaded = {}
    for fn in files:
        if fn.endswith(".safetensors"):
            t, meta = st.load_file(os.path.join(d, fn))
            assert meta == {"format": "pt"}
            loaded.update(t)
    assert set(loaded) == set(sd32)
    for k in sd32:
        assert loaded[k].dtype == storage_dtype and torch.equal(loaded[k].float(), sd32[k]), k
    return d, sd32, files, g


def generate_causal(root, name, cfg, storage_dtype, seed, shards=1, grads=True, notes="",
                    extra_checks=None):
    d, sd32, files, g = write_model(root, name, cfg, storage_dtype, seed, shards)
    m32 = ref.HFModel(cfg, sd32, torch.float32)
    m64 = ref.HFModel(cfg, sd32, torch.float64)
    ex, checks = Expected(), dict(extra_checks or {})
    with torch.no_grad():
        ids = section_logits(ex, m32, m64, g, checks)
        section_logps(ex, m32, m64, g, checks)
        section_greedy(ex, m32, m64, g, checks)
    if grads:
        section_grads(ex, cfg, sd32, ids, checks)
    finish(d, name, cfg, storage_dtype, seed, files, ex, checks, notes)


def generate_rm(root, name, cfg, storage_dtype, seed, notes=""):
    d, sd32, files, g = write_model(root, name, cfg, storage_dtype, seed)
    m32 = ref.HFModel(cfg, sd32, torch.float32)
    m64 = ref.HFModel(cfg, sd32, torch.float64)
    ex, checks = Expected(), {}
    with torch.no_grad():
        section_rm(ex, m32, m64, g, checks)
    finish(d, name, cfg, storage_dtype, seed, files, ex, checks, notes)


def finish(d, name, cfg, storage_dtype, seed, files, ex, checks, notes):
    st.save_file(ex.tensors, os.path.join(d, "expected.safetensors"), {"format": "pt"})
    back, _ = st.load_file(os.path.join(d, "expected.safetensors"))
    for k, t in ex.tensors.items():
        assert back[k].dtype == t.dtype and torch.equal(back[k], t), k
    examples = ["Hello world", " the cat and the hat", "x = 42;\n",
                "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"]
    info = {
        "name": name,
        "generator": "tools/golden/make_goldens.py (forward: tools/golden/hf_reference.py)",
        "torch_version": torch.__version__,
        "seed": seed,
        "architecture": cfg["architectures"][0],
        "weights": {
            "files": [f for f in files if "safetensors" in f],
            "storage_dtype": str(storage_dtype).replace("torch.", ""),
            "init": "normal with per-kind std %s; RMSNorm weights 1+0.1*randn; biases 0.1*randn"
                    % json.dumps(STDS),
            "note": "expected values are computed in float32 from the stored weights"
                    + ("" if storage_dtype == torch.float32 else
                       " (the %s values upcast exactly to float32)" % str(storage_dtype).replace("torch.", "")),
        },
        "conventions": {
            "position_ids": "cumsum(attention_mask) - 1, 1 where the mask is 0 (arange(T) without "
                            "a mask)",
            "attention_mask_fill": "finfo(float32).min (additive)",
            "compute_dtype": "float32 (float64 only for the error estimates in checks)",
            "special_token_ids": {"<|endoftext|> (pad)": PAD, "<|im_start|>": IM_START,
                                  "<|im_end|> (eos)": EOS},
        },
        "notes": notes,
        "checks": checks,
        "tokenizer_examples": [{"text": t, "ids": simple_encode(t)} for t in examples],
        "tensors": ex.desc,
    }
    dump_json(info, os.path.join(d, "expected.json"))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-14s %7d bytes  %s" % (name, size, json.dumps(checks)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "src", "test", "resources", "golden"))
    args = ap.parse_args()
    torch.set_num_threads(1)  # fixed reduction order: reproducible bits
    root = os.path.abspath(args.out)
    os.makedirs(root, exist_ok=True)

    # llama3 rope scaling must actually change some frequencies (and leave others alone)
    lc = ref.Config(llama_config())
    inv_scaled, _ = ref.rope_inv_freq(lc)
    lc.rope_scaling = None
    inv_plain, _ = ref.rope_inv_freq(lc)
    ratio = (inv_plain / inv_scaled).tolist()
    assert ratio[0] == 1.0 and abs(ratio[-1] - 8.0) < 1e-6 and any(1.0 < r < 8.0 for r in ratio), ratio
    generate_causal(root, "llama-tiny", llama_config(), torch.float32, 1001,
                    notes="GQA (4 heads, 2 kv heads, head_dim 16); llama3 rope_scaling with "
                          "original_max_position_embeddings 64 so that head_dim 16 has "
                          "unscaled, smoothed and /8 frequencies (see checks); untied lm_head",
                    extra_checks={"llama3_rope_inv_freq_ratio_unscaled_over_scaled": ratio})
    generate_causal(root, "qwen2-tiny", qwen2_config(), torch.bfloat16, 1002, grads=False,
                    notes="q/k/v biases; tied embeddings (no lm_head.weight); BF16 storage: "
                          "expected values computed in float32 from the bf16-rounded weights")
    generate_causal(root, "qwen3-tiny", qwen3_config(), torch.float32, 1003, shards=2,
                    notes="head_dim 32 != hidden/heads (q_proj [128, 64]); q_norm/k_norm; "
                          "sharded into 2 files + model.safetensors.index.json")
    generate_rm(root, "qwen3-tiny-rm", qwen3_rm_config(), torch.float16, 1004,
                notes="Qwen3ForSequenceClassification, num_labels 1 (from id2label), "
                      "score.weight [1, 64], no lm_head; tie_word_embeddings true as in "
                      "Qwen3-0.6B-based reward models; F16 storage, expected computed in "
                      "float32 from the f16-rounded weights")


if __name__ == "__main__":
    main()
