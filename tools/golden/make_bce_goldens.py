"""PyTorch golden for org.align4j.loss.BalancedBce, AAPA's class-balanced discriminator loss (docs/aapa.md):

    l_i = w_i * BCEWithLogits(z_i, y_i) = w_i * (softplus(z_i) - y_i z_i),   y = 1 expert, 0 policy rollout
    w_i = n / (2 n_class(i))       (class counts of the whole training set, passed in; scikit-learn's "balanced")
    micro-batch share = sum_i l_i / window_rows

One accumulation window of 10 rows (3 expert, 7 policy: w = 10/6 and 10/14) split into micro-batches of 6 and 4;
logits include |z| = 35 and 90, where a naive log(1 + e^z) overflows float32, and an exact 0. Values and
d share / d z are evaluated in float64 with autograd from the float32 logits Java holds.

    /usr/bin/python3 tools/golden/make_bce_goldens.py      # deterministic; writes src/test/resources/golden/bce/expected.json
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "bce")


def main():
    g = torch.Generator().manual_seed(2509)
    labels = [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0]]
    extremes = [[35.0, -90.0], [0.0, -35.0]]  # first two rows of each micro-batch
    n = sum(len(y) for y in labels)
    n_expert = sum(sum(y) for y in labels)
    w_expert, w_policy = n / (2 * n_expert), n / (2 * (n - n_expert))
    out = {"generator": "tools/golden/make_bce_goldens.py", "window_rows": n, "n_expert": n_expert, "n_policy": n - n_expert,
           "weight_expert": w_expert, "weight_policy": w_policy, "tolerance": {"atol": 1e-6, "rtol": 1e-5}, "micro_batches": []}
    window_loss = 0.0
    for y_list, ext in zip(labels, extremes):
        z32 = torch.cat([torch.tensor(ext), torch.randn(len(y_list) - len(ext), generator=g) * 3]).float()
        z = z32.double().requires_grad_(True)
        y = torch.tensor(y_list, dtype=torch.float64)
        w = torch.where(y > 0, torch.tensor(w_expert, dtype=torch.float64), torch.tensor(w_policy, dtype=torch.float64))
        per = F.binary_cross_entropy_with_logits(z, y, weight=w, reduction="none")
        share = per.sum() / n
        share.backward()
        window_loss += share.item()
        out["micro_batches"].append({"logits": z32.tolist(), "labels": y_list, "per_example": per.tolist(), "share": share.item(),
                                     "grad_logits": z.grad.tolist()})
    out["window_loss"] = window_loss
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT, "window loss", window_loss)


if __name__ == "__main__":
    main()
