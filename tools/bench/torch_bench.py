"""PyTorch-eager side of align4j's side-by-side benchmarks (float32, CPU).

    /usr/bin/python3 tools/bench/torch_bench.py train    [--batch 4 --seq 256 --threads 2]
    /usr/bin/python3 tools/bench/torch_bench.py generate [--batch 8 --prompt_len 32 --new_tokens 128]
    /usr/bin/python3 tools/bench/torch_bench.py forward  [--batch 4 --seq 256]
    /usr/bin/python3 tools/bench/torch_bench.py dpo      [--batch 4 --seq 256] [--trl_metrics]

Each prints ONE JSON line. Times are the median of --iters timed iterations after --warmup
untimed ones. The model is tools/golden/hf_reference.py (a re-implementation of
transformers' LlamaForCausalLM, eager attention) with a llama shape of ~25M parameters:
vocab 16384, hidden 384, intermediate 1024, 8 layers, 6 heads, 2 kv heads (head_dim 64),
untied lm_head, rope_theta 10000, RMSNorm eps 1e-6; weights normal(0, 0.02), norms 1,
torch.manual_seed(--seed) (default 0); random token ids from the same seed.

train:    forward + mean next-token cross-entropy + backward + global grad-norm clip 1.0
          (--no_clip to skip) + torch.optim.AdamW(lr 1e-4, betas (0.9, 0.999), eps 1e-8,
          weight_decay 0.0: transformers' Trainer defaults). Reports ms/step, tokens/s
          (batch*seq/step time) and MFU = 6 * params * tokens/s / peak_flops.
          --peak_flops defaults to 190e9: 2 Zen 3 cores x 2 FMA units x 8 f32 lanes x
          2 FLOP x ~3 GHz (see docs/algorithms.md §13.2).
generate: KV-cached greedy decoding of --batch random prompts of --prompt_len tokens for
          --new_tokens tokens (no eos stop). Prefill (the prompt forward that yields the
          first token) is timed apart from decode (the new_tokens - 1 cached steps);
          decode tokens/s = batch * (new_tokens - 1) / decode time, and end-to-end
          tokens/s = batch * new_tokens / (prefill + decode).
forward:  forward only (no grad) of [batch, seq] with logits, tokens/s.
dpo:      one DPO training step (Rafailov et al., arXiv 2305.18290) as TRL's DPOTrainer does
          it, per step: --batch random pairs, prompt seq//2 tokens, chosen and rejected
          seq - seq//2 tokens each; chosen rows then rejected rows in ONE concatenated forward
          of [2*batch, seq] (attention mask given, all ones); the reference is a second
          identical copy of the model run under no_grad (full fine-tune, TRL's default); summed
          completion log-probs via gather - logsumexp; sigmoid loss
          -logsigmoid(beta * (pi_logratio - ref_logratio)) with beta 0.1, mean over pairs;
          backward, clip_grad_norm 1.0, torch.optim.AdamW (lr 1e-6 = DPOConfig's default).
          --trl_metrics also computes, without a graph, what TRL logs from the logits each step
          (entropy, mean token accuracy, mean logits, rewards; what align4j always computes).
          Reports steps/s, tokens/s (2*batch*seq per step) and MFU at 8N FLOPs per token
          (6N policy + 2N reference forward).

BLAS: Debian's python3-torch calls BLAS through libblas.so.3; if that is the reference
(netlib) BLAS, matmuls are ~50x slower than any real baseline.  Run
tools/bench/fetch_openblas.sh once; this script then re-executes itself with
LD_LIBRARY_PATH pointing at the unpacked OpenBLAS (--blas system disables that).  The BLAS
actually loaded is reported in the JSON ("blas").  Measured here (forward, batch 4 x 256):
OpenBLAS-openmp 0.34 s, OpenBLAS-pthread 0.36 s, netlib 21 s.  OMP_WAIT_POLICY defaults to
PASSIVE (as align4j sets it); with ACTIVE the pthread OpenBLAS took 1.4 s.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "align4j")


def maybe_reexec(blas):
    # like align4j's JVM start-up: without a passive OpenMP wait policy, the BLAS and torch
    # thread pools spin against each other on 2 cores (measured: forward 1.4 s -> 0.35 s).
    # Set before torch (libgomp) is loaded; an explicit OMP_WAIT_POLICY is respected.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if blas == "system" or os.environ.get("ALIGN4J_BENCH_REEXEC"):
        return
    lib = os.path.join(CACHE, "openblas-%s" % blas, "usr", "lib", "x86_64-linux-gnu", "openblas-%s" % blas)
    if not os.path.exists(os.path.join(lib, "libblas.so.3")):
        sys.stderr.write("note: %s not found; using the system libblas.so.3 "
                         "(run tools/bench/fetch_openblas.sh %s)\n" % (lib, blas))
        return
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["ALIGN4J_BENCH_REEXEC"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def loaded_blas():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    except OSError:
        return "unknown"
    real = sorted(os.path.realpath(p) for p in libs)
    return ", ".join(real) if real else "none"


def parse():
    ap = argparse.ArgumentParser(description="PyTorch-eager benchmarks for align4j")
    ap.add_argument("command", choices=["train", "generate", "forward", "dpo"])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2 = all cores here)")
    ap.add_argument("--batch", type=int, default=None, help="default 4 (train, forward) or 8 (generate)")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--prompt_len", type=int, default=32)
    ap.add_argument("--new_tokens", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=None, help="default 2 (1 for generate)")
    ap.add_argument("--iters", type=int, default=None, help="default 5 (3 for generate)")
    ap.add_argument("--no_clip", action="store_true", help="train without the grad-norm clip")
    ap.add_argument("--no_optimizer", action="store_true", help="train: forward+backward only")
    ap.add_argument("--lr", type=float, default=None, help="default 1e-4 (train) or 1e-6 (dpo)")
    ap.add_argument("--beta", type=float, default=0.1, help="dpo: DPO beta")
    ap.add_argument("--trl_metrics", action="store_true",
                    help="dpo: also compute TRL's logged metrics (entropy, token accuracy, logits means) each step")
    ap.add_argument("--peak_flops", type=float, default=190e9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas", choices=["openmp", "pthread", "system"], default="openmp",
                    help="which OpenBLAS unpacked by fetch_openblas.sh to use (system: libblas.so.3 as is)")
    ap.add_argument("--vocab", type=int, default=16384)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv_heads", type=int, default=2)
    a = ap.parse_args()
    if a.batch is None:
        a.batch = 8 if a.command == "generate" else 4
    if a.warmup is None:
        a.warmup = 1 if a.command == "generate" else 2
    if a.iters is None:
        a.iters = 3 if a.command == "generate" else 5
    if a.lr is None:
        a.lr = 1e-6 if a.command == "dpo" else 1e-4
    return a


def model_config(a):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": a.vocab,
        "hidden_size": a.hidden, "intermediate_size": a.intermediate, "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads, "hidden_act": "silu",
        "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "rope_scaling": None, "tie_word_embeddings": False, "attention_bias": False,
    }


def build(a, requires_grad):
    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "golden"))
    import hf_reference as ref
    cfg = model_config(a)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    sd = ref.init_state_dict(cfg, g, std=0.02)
    for n in sd:
        if n.endswith("norm.weight"):
            sd[n] = torch.ones_like(sd[n])
    m = ref.HFModel(cfg, sd, torch.float32, requires_grad=requires_grad)
    n_params = sum(p.numel() for p in m.params.values())
    return m, n_params, g


CPU = {}


def busy_cpu_s():
    """Machine-wide busy CPU seconds (all processes) from /proc/stat; None if unavailable."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v) - v[3] - (v[4] if len(v) > 4 else 0)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    ts = []
    c0, w0, b0 = time.process_time(), time.perf_counter(), busy_cpu_s()
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    CPU["cpu_s"], CPU["wall_s"] = time.process_time() - c0, time.perf_counter() - w0
    b1 = busy_cpu_s()
    CPU["other_s"] = None if b0 is None or b1 is None else max(0.0, (b1 - b0) - CPU["cpu_s"])
    return ts


def main():
    a = parse()
    maybe_reexec(a.blas)
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    out = {"bench": a.command, "impl": "pytorch-eager (tools/golden/hf_reference.py)",
           "torch": torch.__version__, "threads": a.threads, "blas": loaded_blas(),
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
           "dtype": "float32", "warmup": a.warmup, "iters": a.iters, "seed": a.seed}

    if a.command == "train":
        m, n_params, g = build(a, requires_grad=True)
        params = list(m.params.values())
        opt = None if a.no_optimizer else torch.optim.AdamW(
            params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)
        losses = []

        def step():
            lg = m.logits(ids)
            loss = F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), ids[:, 1:].reshape(-1))
            loss.backward()
            if not a.no_clip:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
            if opt is not None:
                opt.step()
                opt.zero_grad(set_to_none=True)
            else:
                for p in params:
                    p.grad = None
            losses.append(float(loss))

        ts = timed(step, a.warmup, a.iters)
        t = statistics.median(ts)
        tps = a.batch * a.seq / t
        out.update({"params": n_params, "batch": a.batch, "seq": a.seq,
                    "optimizer": None if opt is None else "AdamW(lr=%g, wd=0)" % a.lr,
                    "grad_clip": None if a.no_clip else 1.0,
                    "ms_per_step": round(t * 1e3, 2), "ms_per_step_all": [round(x * 1e3, 1) for x in ts],
                    "tokens_per_s": round(tps, 1),
                    "mfu": round(6 * n_params * tps / a.peak_flops, 4), "peak_flops": a.peak_flops,
                    "first_loss": round(losses[0], 4), "last_loss": round(losses[-1], 4)})

    elif a.command == "forward":
        m, n_params, g = build(a, requires_grad=False)
        ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)

        def fwd():
            with torch.no_grad():
                m.logits(ids)

        ts = timed(fwd, a.warmup, a.iters)
        t = statistics.median(ts)
        tps = a.batch * a.seq / t
        out.update({"params": n_params, "batch": a.batch, "seq": a.seq,
                    "ms_per_forward": round(t * 1e3, 2), "tokens_per_s": round(tps, 1),
                    "mfu": round(2 * n_params * tps / a.peak_flops, 4), "peak_flops": a.peak_flops})

    elif a.command == "dpo":
        m, n_params, g = build(a, requires_grad=True)
        ref, _, _ = build(a, requires_grad=False)  # the same seed: an identical copy
        params = list(m.params.values())
        opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        b, t = a.batch, a.seq
        p_len = t // 2
        prompt = torch.randint(0, a.vocab, (b, p_len), generator=g)
        chosen = torch.randint(0, a.vocab, (b, t - p_len), generator=g)
        rejected = torch.randint(0, a.vocab, (b, t - p_len), generator=g)
        ids = torch.cat([torch.cat([prompt, chosen], 1), torch.cat([prompt, rejected], 1)], 0)  # (2B, T)
        attn = torch.ones_like(ids)
        labels = ids[:, 1:]  # (2B, T-1): position i predicts token i + 1
        mask = torch.zeros(2 * b, t - 1)
        mask[:, p_len - 1:] = 1.0  # the completion tokens (positions p_len .. T-1)
        losses, metrics = [], {}

        def summed_logps(logits):  # (2B, T-1, V) -> (2B)
            tok = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)
            return (tok * mask).sum(-1)

        def step():
            with torch.no_grad():
                ref_lp = summed_logps(F.linear(ref.hidden_states(ids, attn)[:, :-1], ref.lm_head_weight()))
            logits = F.linear(m.hidden_states(ids, attn)[:, :-1], m.lm_head_weight())  # (2B, T-1, V)
            lp = summed_logps(logits)
            margin = (lp[:b] - lp[b:]) - (ref_lp[:b] - ref_lp[b:])
            loss = -F.logsigmoid(a.beta * margin).mean()
            if a.trl_metrics:  # TRL's DPOTrainer: from the detached logits, every step
                with torch.no_grad():
                    d = logits.detach()
                    lse = d.logsumexp(-1)
                    ent = lse - (torch.softmax(d, -1) * d).sum(-1)
                    n_tok = mask.sum()
                    metrics["entropy"] = float((ent * mask).sum() / n_tok)
                    metrics["mean_token_accuracy"] = float(((d[:b].argmax(-1) == labels[:b]).float() * mask[:b]).sum() / mask[:b].sum())
                    metrics["logits/chosen"] = float((d[:b].mean(-1) * mask[:b]).sum() / mask[:b].sum())
                    metrics["logits/rejected"] = float((d[b:].mean(-1) * mask[b:]).sum() / mask[b:].sum())
                    rc, rr = a.beta * (lp[:b] - ref_lp[:b]).detach(), a.beta * (lp[b:] - ref_lp[b:]).detach()
                    metrics["rewards/accuracies"] = float((rc > rr).float().mean())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss))

        ts = timed(step, a.warmup, a.iters)
        med = statistics.median(ts)
        tokens = 2 * b * t
        out.update({"params": n_params, "pairs": b, "rows": 2 * b, "prompt_len": p_len, "completion_len": t - p_len,
                    "seq": t, "reference": "identical copy, no_grad (full fine-tune)", "loss_type": "sigmoid",
                    "beta": a.beta, "optimizer": "AdamW(lr=%g, wd=0)" % a.lr, "grad_clip": 1.0,
                    "trl_metrics": a.trl_metrics,
                    "ms_per_step": round(med * 1e3, 2), "ms_per_step_all": [round(x * 1e3, 1) for x in ts],
                    "steps_per_s": round(1 / med, 4), "tokens_per_s": round(tokens / med, 1),
                    "mfu": round(8 * n_params * tokens / med / a.peak_flops, 4), "peak_flops": a.peak_flops,
                    "first_loss": round(losses[0], 6), "last_loss": round(losses[-1], 6)})

    else:
        m, n_params, g = build(a, requires_grad=False)
        ids = torch.randint(0, a.vocab, (a.batch, a.prompt_len), generator=g)
        runs = []

        def gen():
            tm = {}
            toks = m.generate(ids, torch.ones_like(ids), max_new_tokens=a.new_tokens, timings=tm)
            assert toks.shape == (a.batch, a.new_tokens)
            runs.append(tm)

        timed(gen, a.warmup, a.iters)
        runs = runs[a.warmup:]
        pre = statistics.median(r["prefill_s"] for r in runs)
        dec = statistics.median(r["decode_s"] for r in runs)
        tot = statistics.median(r["prefill_s"] + r["decode_s"] for r in runs)
        out.update({"params": n_params, "batch": a.batch, "prompt_len": a.prompt_len,
                    "new_tokens": a.new_tokens, "sampling": "greedy, KV cache, no eos stop",
                    "prefill_ms": round(pre * 1e3, 2),
                    "decode_ms": round(dec * 1e3, 1),
                    "decode_ms_per_step": round(dec * 1e3 / max(1, a.new_tokens - 1), 3),
                    "decode_tokens_per_s": round(a.batch * (a.new_tokens - 1) / dec, 1),
                    "generated_tokens_per_s": round(a.batch * a.new_tokens / tot, 1)})
    # contention check over the timed iterations: cpu_util = this process's CPU time /
    # (wall x threads); cpu_ms_per_step = its CPU time / iterations; other_cores = cores kept busy by OTHER processes on average (from
    # /proc/stat). other_cores above ~0.1 means the machine was shared and the numbers are low.
    out["cpu_util"] = round(CPU["cpu_s"] / (CPU["wall_s"] * a.threads), 3)
    out["cpu_ms_per_step"] = round(CPU["cpu_s"] * 1e3 / a.iters, 1)  # the work a step, whatever the load
    if CPU["other_s"] is not None:
        out["other_cores"] = round(CPU["other_s"] / CPU["wall_s"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
