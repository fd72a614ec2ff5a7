"""PyTorch golden for org.align4j.loss.LengthDesensitized, LD-DPO's log-probs (Liu et al. 2024, arXiv 2409.06411):

    l_p = min(|y_w|, |y_l|)                                   the pair's shared ("public") completion length
    log pi_hat(y) = sum_{k <= l_p} log p(y_k) + alpha * sum_{k > l_p} log p(y_k)   k = completion position from 1

Rows are laid out as the trainer holds them: (N, T) per-token log-probs over prompt + completion, a completion mask
(prompt and padding 0), chosen rows first then rejected. The prompt lengths differ per pair, so positions counted
from the sequence start (TRL's padded path) would give other values than completion positions (the paper, and
this golden). Values and d (sum of outputs * upstream) / d token_logps in float64 from the float32 inputs.

    /usr/bin/python3 tools/golden/make_ld_goldens.py      # deterministic; writes src/test/resources/golden/ld/expected.json
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "ld")


def ld_logps(token_logps, mask, public, alpha):
    # explicit loops over completion positions, as the paper states it (no cumsum trick)
    out = []
    for i in range(token_logps.shape[0]):
        k, front, rear = 0, token_logps.new_zeros(()), token_logps.new_zeros(())
        for t in range(token_logps.shape[1]):
            if mask[i, t] == 0:
                continue
            k += 1
            if k <= public[i]:
                front = front + token_logps[i, t]
            else:
                rear = rear + token_logps[i, t]
        out.append(front + alpha * rear)
    return torch.stack(out)


def main():
    g = torch.Generator().manual_seed(2409)
    # 3 pairs: (prompt length, chosen length, rejected length); T = 12 columns
    pairs = [(2, 3, 7), (4, 6, 2), (1, 5, 5)]
    t = 12
    rows = [(p, c) for p, c, _ in pairs] + [(p, r) for p, _, r in pairs]
    mask = torch.zeros(len(rows), t, dtype=torch.float64)
    for i, (p, n) in enumerate(rows):
        mask[i, p - 1:p - 1 + n] = 1  # completion token j is predicted at position p + j - 1
    lengths = mask.sum(1)
    b = len(pairs)
    public = torch.minimum(lengths[:b], lengths[b:]).repeat(2)
    logps32 = (-torch.rand(len(rows), t, generator=g) * 4).float()
    upstream = torch.randn(len(rows), generator=g, dtype=torch.float64)
    out = {"generator": "tools/golden/make_ld_goldens.py", "pairs": b, "mask": mask.tolist(), "token_logps": logps32.tolist(),
           "upstream": upstream.tolist(), "tolerance": {"atol": 1e-5, "rtol": 1e-5}, "cases": []}
    for alpha in [0.0, 0.5, 1.0]:
        x = logps32.double().requires_grad_(True)
        y = ld_logps(x, mask, public.tolist(), alpha)
        (y * upstream).sum().backward()
        out["cases"].append({"alpha": alpha, "public_lengths": public.tolist(), "logps": y.tolist(), "grad_token_logps": x.grad.tolist()})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
