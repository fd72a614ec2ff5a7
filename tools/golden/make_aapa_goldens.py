"""PyTorch goldens for AAPA's anchoring terms (docs/aapa.md), written from their definitions with autograd:

  head logits   logistic z = w.x + b;  mlp z = w2 . relu(W1 x + b1) + b2   (torch.nn.Linear layout, theta flattened
                as align4j's DiscriminatorHead holds it: logistic [w, b]; mlp [W1 (h x d, row-major), b1, w2, b2])
  head gradient d/dtheta of the class-balanced BCE over a small batch (label 1 = expert), weights n / (2 n_class)
  anchor        lambda * z (signal LOGIT) and lambda * logsigmoid(z) (signal LOG_SIGMOID)
  REINFORCE     -mean((a_i - mean(a)) * logp_i) and its gradient w.r.t. logp

    /usr/bin/python3 tools/golden/make_aapa_goldens.py      # deterministic; writes src/test/resources/golden/aapa/expected.json
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "aapa")


def main():
    g = torch.Generator().manual_seed(2509)
    d, h, n = 8, 5, 6
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)  # unit vectors, like MiniLM's normalised embeddings
    x = x.float().double()  # the Java side reads float32 embeddings
    labels = torch.tensor([1, 1, 0, 0, 0, 1], dtype=torch.float64)
    n1 = labels.sum()
    weights = torch.where(labels > 0, n / (2 * n1), n / (2 * (n - n1)))
    out = {"generator": "tools/golden/make_aapa_goldens.py", "d": d, "h": h, "x": x.tolist(), "labels": labels.tolist()}
    for head in ("logistic", "mlp"):
        size = d + 1 if head == "logistic" else h * d + h + h + 1
        theta = (torch.randn(size, generator=g, dtype=torch.float64) * 0.5).float().double().requires_grad_(True)
        if head == "logistic":
            z = x @ theta[:d] + theta[d]
        else:
            w1 = theta[: h * d].view(h, d)
            b1 = theta[h * d: h * d + h]
            w2 = theta[h * d + h: h * d + 2 * h]
            b2 = theta[h * d + 2 * h]
            z = torch.relu(x @ w1.T + b1) @ w2 + b2
        loss = (weights * torch.nn.functional.binary_cross_entropy_with_logits(z, labels, reduction="none")).mean()
        loss.backward()
        out[head] = {"theta": theta.detach().tolist(), "logits": z.detach().tolist(), "bce": loss.item(), "grad": theta.grad.tolist()}
    lam = 0.37
    z = torch.tensor(out["logistic"]["logits"], dtype=torch.float64)
    out["anchor"] = {"lambda": lam, "logit": (lam * z).tolist(), "log_sigmoid": (lam * torch.nn.functional.logsigmoid(z)).tolist()}
    logp = (torch.randn(n, generator=g, dtype=torch.float64) * 5 - 20).float().double().requires_grad_(True)
    a = torch.randn(n, generator=g, dtype=torch.float64)
    term = -((a - a.mean()) * logp).mean()
    term.backward()
    out["reinforce"] = {"logp": logp.detach().tolist(), "rewards": a.tolist(), "value": term.item(), "grad": logp.grad.tolist()}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT, "bce", out["logistic"]["bce"], out["mlp"]["bce"], "reinforce", out["reinforce"]["value"])


if __name__ == "__main__":
    main()
