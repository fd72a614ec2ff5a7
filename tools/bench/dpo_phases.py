"""The phases of torch_bench.py's `dpo --trl_metrics` step timed apart: the PyTorch side of
tools/bench/DpoPhases.java (llama-25m shape, 4 pairs of 128 + 128 tokens, identical reference).
Prints the median of iterations 2-4 per phase.

    /usr/bin/python3 tools/bench/dpo_phases.py
"""
import os
import statistics
import sys
import time

sys.argv = [os.path.abspath(__file__), "dpo"]  # torch_bench's defaults for dpo (and its OpenBLAS re-exec)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench as tb  # noqa: E402

a = tb.parse()
tb.maybe_reexec(a.blas)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(2)
m, _, g = tb.build(a, requires_grad=True)
ref, _, _ = tb.build(a, requires_grad=False)
params = list(m.params.values())
opt = torch.optim.AdamW(params, lr=1e-6, weight_decay=0.0)
b, t, p = 4, 256, 128
prompt = torch.randint(0, a.vocab, (b, p), generator=g)
chosen = torch.randint(0, a.vocab, (b, t - p), generator=g)
rejected = torch.randint(0, a.vocab, (b, t - p), generator=g)
ids = torch.cat([torch.cat([prompt, chosen], 1), torch.cat([prompt, rejected], 1)], 0)  # (2B, T)
attn = torch.ones_like(ids)
labels = ids[:, 1:]
mask = torch.zeros(2 * b, t - 1)
mask[:, p - 1:] = 1

names = ["ref logps (no grad)", "policy forward (hidden)", "logits+tokenLogps+logps", "TRL metrics (detached)",
         "loss", "backward", "clip+AdamW+zero"]
ms = {k: [] for k in names}


def summed_logps(lg):
    return ((lg.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - lg.logsumexp(-1)) * mask).sum(-1)


for it in range(4):
    marks = [time.perf_counter()]
    with torch.no_grad():
        rl = summed_logps(F.linear(ref.hidden_states(ids, attn)[:, :-1], ref.lm_head_weight()))
    marks.append(time.perf_counter())
    h = m.hidden_states(ids, attn)
    marks.append(time.perf_counter())
    lg = F.linear(h[:, :-1], m.lm_head_weight())
    lp = summed_logps(lg)
    float(lp.sum())
    marks.append(time.perf_counter())
    with torch.no_grad():
        d = lg.detach()
        lse = d.logsumexp(-1)
        float(((lse - (torch.softmax(d, -1) * d).sum(-1)) * mask).sum())
        float((d.mean(-1) * mask).sum())
        float(((d[:b].argmax(-1) == labels[:b]).float() * mask[:b]).sum())
    marks.append(time.perf_counter())
    loss = -F.logsigmoid(0.1 * ((lp[:b] - lp[b:]) - (rl[:b] - rl[b:]))).mean()
    float(loss)
    marks.append(time.perf_counter())
    loss.backward()
    marks.append(time.perf_counter())
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    marks.append(time.perf_counter())
    print("iteration %d total %.1f ms" % (it, (marks[-1] - marks[0]) * 1e3))
    if it:
        for k, x, y in zip(names, marks, marks[1:]):
            ms[k].append((y - x) * 1e3)
total = 0
for k in names:
    v = statistics.median(ms[k])
    total += v
    print("%-28s %8.1f ms" % (k, v))
print("%-28s %8.1f ms" % ("sum of medians", total))
