"""Golden for align4j's AdamW and learning-rate schedule: torch.optim.AdamW stepping three
parameters (one decayed, a bias and a norm weight that transformers' Trainer does not decay)
through 5 steps of a linear schedule with warm-up, given fixed gradients.

    /usr/bin/python3 tools/golden/make_optim_goldens.py

Writes src/test/resources/golden/optim/expected.safetensors:
  init.<name>            parameter before the first step
  grad.<step>.<name>     gradient fed at that step (0-based)
  after.<step>.<name>    parameter after that step
  lr                     the learning rate used at each step, F32 [5]
Settings: peak lr 1e-2, warm-up 2 of 5 steps (linear), weight_decay 0.1, betas (0.9, 0.999),
eps 1e-8; float32 throughout (tolerance 1e-6 absolute in the Java test).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "optim")
STEPS, WARMUP, PEAK, WD = 5, 2, 1e-2, 0.1


def linear_factor(step):
    # transformers.optimization.get_linear_schedule_with_warmup
    if step < WARMUP:
        return step / max(1, WARMUP)
    return max(0.0, (STEPS - step) / max(1, STEPS - WARMUP))


def main():
    g = torch.Generator().manual_seed(7)
    names = ["model.layers.0.mlp.up_proj.weight", "model.layers.0.self_attn.q_proj.bias", "model.norm.weight"]
    shapes = [(4, 3), (4,), (3,)]
    params = {n: torch.randn(s, generator=g).requires_grad_(True) for n, s in zip(names, shapes)}
    out = {"init." + n: p.detach().clone() for n, p in params.items()}
    decay = [params[names[0]]]
    no_decay = [params[names[1]], params[names[2]]]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=PEAK, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_factor)
    lrs = []
    for step in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        for n, p in params.items():
            p.grad = torch.randn(p.shape, generator=g) * (step + 1)
            out["grad.%d.%s" % (step, n)] = p.grad.clone()
        opt.step()
        sched.step()
        for n, p in params.items():
            out["after.%d.%s" % (step, n)] = p.detach().clone()
    out["lr"] = torch.tensor(lrs, dtype=torch.float32)
    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "expected.safetensors"), {"format": "pt", "generator": "tools/golden/make_optim_goldens.py"})
    print("wrote", OUT, "lrs", lrs)


if __name__ == "__main__":
    main()
