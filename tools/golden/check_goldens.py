"""Independent check of the golden directories (run after make_goldens.py):

    /usr/bin/python3 tools/golden/check_goldens.py [golden_root]

Loads every golden/<name>/ from disk only (config.json, single or sharded safetensors via
model.safetensors.index.json, expected.safetensors) and recomputes the expected tensors with
a deliberately different, naive float64 implementation: per-head Python loops, RoPE as an
explicit 2-D rotation of the pairs (i, i + d/2) with llama3 frequencies computed in plain
Python math, GQA as kv_head = head // n_rep, causal masking by slicing instead of an
additive mask.  It shares no code with hf_reference.py, so a bug has to be made twice to
pass.  Prints the max deviation per tensor and fails above the documented tolerances.
"""

import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io as st  # noqa: E402  (file format only)


def load_weights(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        wm = json.load(open(idx))["weight_map"]
        out = {}
        for fn in sorted(set(wm.values())):
            t, _ = st.load_file(os.path.join(d, fn))
            for k in t:
                assert wm[k] == fn, k
            out.update(t)
        assert set(out) == set(wm)
        total = sum(v.numel() * v.element_size() for v in out.values())
        assert total == json.load(open(idx))["metadata"]["total_size"]
        return out
    return st.load_file(os.path.join(d, "model.safetensors"))[0]


def inv_freqs(c):
    d = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    theta = c["rope_theta"]
    f = [1.0 / theta ** (2 * i / d) for i in range(d // 2)]
    rs = c.get("rope_scaling")
    if rs and rs.get("rope_type") == "llama3":
        out = []
        lo_w = rs["original_max_position_embeddings"] / rs["low_freq_factor"]
        hi_w = rs["original_max_position_embeddings"] / rs["high_freq_factor"]
        for x in f:
            w = 2 * math.pi / x
            if w < hi_w:
                out.append(x)
            elif w > lo_w:
                out.append(x / rs["factor"])
            else:
                s = (rs["original_max_position_embeddings"] / w - rs["low_freq_factor"]) / (
                    rs["high_freq_factor"] - rs["low_freq_factor"])
                out.append((1 - s) * x / rs["factor"] + s * x)
        f = out
    return f


def rms(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, f):
    # x [T, d]; rotate pair (i, i + d/2) by angle pos * f[i]
    h = x.shape[-1] // 2
    y = x.clone()
    for t in range(x.shape[0]):
        for i in range(h):
            a = pos[t] * f[i]
            c, s = math.cos(a), math.sin(a)
            x1, x2 = x[t, i], x[t, i + h]
            y[t, i] = x1 * c - x2 * s
            y[t, i + h] = x2 * c + x1 * s
    return y


def naive_hidden(c, W, ids):
    """ids: 1-D list of real tokens (no padding). Returns final-norm hidden [T, H] float64."""
    g = lambda n: W[n].double()  # noqa: E731
    eps = c["rms_norm_eps"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or c["hidden_size"] // nh
    qwen3 = c["model_type"] == "qwen3"
    bias = c["model_type"] == "qwen2"
    f = inv_freqs(c)
    T = len(ids)
    pos = list(range(T))
    x = g("model.embed_tokens.weight")[torch.tensor(ids)]
    for L in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % L
        h = rms(x, g(p + "input_layernorm.weight"), eps)
        proj = {}
        for n in ("q", "k", "v"):
            y = h @ g(p + "self_attn.%s_proj.weight" % n).T
            if bias:
                y = y + g(p + "self_attn.%s_proj.bias" % n)
            proj[n] = y
        heads = []
        for hd in range(nh):
            kvh = hd // (nh // nkv)
            q = proj["q"][:, hd * d:(hd + 1) * d]
            k = proj["k"][:, kvh * d:(kvh + 1) * d]
            v = proj["v"][:, kvh * d:(kvh + 1) * d]
            if qwen3:
                q = rms(q, g(p + "self_attn.q_norm.weight"), eps)
                k = rms(k, g(p + "self_attn.k_norm.weight"), eps)
            q, k = rope(q, pos, f), rope(k, pos, f)
            o = torch.zeros(T, d, dtype=torch.float64)
            for t in range(T):
                s = (k[:t + 1] @ q[t]) / math.sqrt(d)
                o[t] = torch.softmax(s, 0) @ v[:t + 1]
            heads.append(o)
        x = x + torch.cat(heads, 1) @ g(p + "self_attn.o_proj.weight").T
        h = rms(x, g(p + "post_attention_layernorm.weight"), eps)
        a = h @ g(p + "mlp.gate_proj.weight").T
        x = x + ((a * torch.sigmoid(a)) * (h @ g(p + "mlp.up_proj.weight").T)) @ g(p + "mlp.down_proj.weight").T
    return rms(x, g("model.norm.weight"), eps)


def head(c, W):
    n = "model.embed_tokens.weight" if c["tie_word_embeddings"] else "lm_head.weight"
    return W[n].double()


def flat_rows(E, name):
    ids, lens = E[name + "_ids"].tolist(), E[name + "_lens"].tolist()
    out, o = [], 0
    for n in lens:
        out.append(ids[o:o + n])
        o += n
    return out


def check(name, got, want, tol, report):
    # elementwise allclose semantics: |got - want| <= atol + rtol * |want|
    diff = (got.double() - want.double()).abs()
    ok = bool((diff <= tol["atol"] + tol["rtol"] * want.double().abs()).all())
    report.append("  %-26s max|naive f64 - golden| = %.2e (atol %.0e, rtol %.0e)"
                  % (name, float(diff.max()), tol["atol"], tol["rtol"]))
    assert ok, report[-1]


def check_dir(d):
    c = json.load(open(os.path.join(d, "config.json")))
    info = json.load(open(os.path.join(d, "expected.json")))
    E, _ = st.load_file(os.path.join(d, "expected.safetensors"))
    assert set(E) == set(info["tensors"]), "expected.json and expected.safetensors disagree"
    W = {k: v.double() for k, v in load_weights(d).items()}
    tol = {k: v["tolerance"] for k, v in info["tensors"].items()}
    rep = []
    arch = c["architectures"][0]
    if arch.endswith("ForCausalLM"):
        Wh = head(c, W)
        lg = torch.stack([naive_hidden(c, W, r.tolist()) @ Wh.T for r in E["logits_input_ids"]])
        check("logits", lg, E["logits"], tol["logits"], rep)
        toks = []
        for pr, co in zip(flat_rows(E, "lp_prompt"), flat_rows(E, "lp_completion")):
            lp = torch.log_softmax(naive_hidden(c, W, pr + co) @ Wh.T, -1)
            toks += [float(lp[len(pr) - 1 + j, co[j]]) for j in range(len(co))]
        check("lp_token_logps", torch.tensor(toks), E["lp_token_logps"], tol["lp_token_logps"], rep)
        sums = [t.sum() for t in torch.tensor(toks).split(E["lp_completion_lens"].tolist())]
        check("lp_logps", torch.stack(sums), E["lp_logps"], tol["lp_logps"], rep)
        for i, pr in enumerate(flat_rows(E, "greedy_prompt")):
            row = list(pr)
            for _ in range(E["greedy_new_tokens"].shape[1]):
                row.append(int((naive_hidden(c, W, row)[-1] @ Wh.T).argmax()))
            assert row[len(pr):] == E["greedy_new_tokens"][i].tolist(), (i, row)
        rep.append("  greedy_new_tokens          identical")
        if "grad_loss" in E:
            ids = E["logits_input_ids"]
            Wg = {k: v.clone().requires_grad_(True) for k, v in W.items()}
            lg = torch.stack([naive_hidden(c, Wg, r.tolist()) @ head(c, Wg).T for r in ids])
            loss = torch.nn.functional.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), ids[:, 1:].reshape(-1))
            loss.backward()
            check("grad_loss", loss.detach(), E["grad_loss"], tol["grad_loss"], rep)
            worst = 0.0
            for k, v in Wg.items():
                want = E["grad." + k]
                t = tol["grad." + k]
                diff = (v.grad - want.double()).abs()
                assert bool((diff <= t["atol"] + t["rtol"] * want.double().abs()).all()), k
                err = float(diff.max())
                worst = max(worst, err)
            assert set("grad." + k for k in W) == {k for k in E if k.startswith("grad.")}
            rep.append("  grad.* (%d tensors)        max|naive f64 - golden| = %.2e" % (len(W), worst))
    else:
        for key in ("rm_input_ids", "rm_input_ids_left"):
            mask = E[key.replace("input_ids", "attention_mask")]
            r = []
            for ids, m in zip(E[key], mask):
                real = [int(t) for t, mm in zip(ids, m) if mm]
                r.append(naive_hidden(c, W, real)[-1] @ W["score.weight"].T)
            check("rm_rewards (%s)" % key, torch.stack(r), E["rm_rewards"], tol["rm_rewards"], rep)
    print(os.path.basename(d) + ": OK")
    print("\n".join(rep))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "src", "test", "resources", "golden")
    torch.set_num_threads(1)
    for n in sorted(os.listdir(root)):
        check_dir(os.path.join(root, n))


if __name__ == "__main__":
    main()
