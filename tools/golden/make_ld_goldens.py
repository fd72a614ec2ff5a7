"""PyTorch golden for org.align4j.loss.LengthDesensitized, LD-DPO's log-probs (Liu et al. 2024, arXiv 2409.06411):

    l_p = min(|y_w|, |y_l|)                                   the pair's shared ("public") completion length
    log pi_hat(y) = sum_{k <= l_p} log p(y_k) + alpha * sum_{k > l_p} log p(y_k)   k = completion position from 1

Rows are laid out as the trainer holds them: (N, T) per-token log-probs over prompt + completion, a completion mask
(prompt and padding 0), chosen rows first then rejected. The prompt lengths differ per pair, so positions counted
from the sequence start (TRL's padded path) would give other values than completion positions (the paper, and
this golden). Values and d (sum of outputs * upstream) / d token_logps in float64 from the float32 inputs.

The "dpo" section is the DPO sigmoid loss under ld_alpha as TRL v1.x computes it (huggingface/trl
trl/trainer/dpo_trainer.py at f2cd577): the policy's log-probs split at the shared length (:1349-1361) and the
reference's split the same way (:1386-1393; precomputed reference :1204-1216), written below from TRL's
code (positions = cumsum of the completion mask, shared/tail masks, token log-probs zeroed off the completion first).
Two cases on pairs of unequal lengths: "equal_models" (policy token log-probs == reference token log-probs: every
log-ratio is 0, so the loss is ln 2 per pair at step 0), and "distinct_models" (independent reference log-probs). For
each the per-pair loss, the four desensitised log-probs, and d mean(loss) / d policy token log-probs. "checks" records
what desensitising the policy alone (TRL v0.28, align4j before) would give on equal models, to show the case
discriminates.

    /usr/bin/python3 tools/golden/make_ld_goldens.py      # deterministic; writes src/test/resources/golden/ld/expected.json
"""
import json
import math
import os

import torch
import torch.nn.functional as F

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


def trl_ld_logps(token_logps, completion_mask, alpha):
    """TRL v1.x's split (dpo_trainer.py:1348-1361 for the policy, :1386-1393 for the reference, the same masks):
    token log-probs are zeroed off the completion; a completion token's position is the running count of completion
    tokens in its row; the shared length of pair i is min(len(chosen i), len(rejected i)), rows laid out chosen then
    rejected; positions 1..shared count fully, positions past it with weight alpha."""
    lp = torch.where(completion_mask == 0, torch.zeros_like(token_logps), token_logps)
    position = completion_mask.cumsum(dim=1)
    lengths = completion_mask.sum(dim=1).long()
    half = lengths.shape[0] // 2
    shared = torch.minimum(lengths[:half], lengths[half:]).repeat(2).unsqueeze(1)
    in_shared = (position > 0) & (position <= shared)
    in_tail = position > shared
    return (lp * in_shared).sum(dim=1) + alpha * (lp * in_tail).sum(dim=1)


def trl_sigmoid(policy_tok, ref_tok, mask, ld_alpha, beta):
    logps = trl_ld_logps(policy_tok, mask, ld_alpha)
    chosen_logps, rejected_logps = logps.chunk(2, dim=0)
    ref_logps = trl_ld_logps(ref_tok, mask, ld_alpha)
    ref_chosen_logps, ref_rejected_logps = ref_logps.chunk(2, dim=0)
    delta = (chosen_logps - ref_chosen_logps) - (rejected_logps - ref_rejected_logps)
    return -F.logsigmoid(beta * delta), logps, ref_logps  # :1431-1432, reverse_kl scores


def dpo_section(g):
    # 3 pairs, chosen rows then rejected rows; (prompt, chosen, rejected) lengths, every pair of unequal lengths, so
    # each has a tail; the chosen response is the longer one in two pairs and the shorter in one
    pairs = [(2, 6, 2), (3, 3, 7), (1, 8, 4)]
    t, alpha, beta = 11, 0.5, 0.1
    rows = [(p, c) for p, c, _ in pairs] + [(p, r) for p, _, r in pairs]
    mask = torch.zeros(len(rows), t, dtype=torch.float64)
    for i, (p, n) in enumerate(rows):
        mask[i, p - 1:p - 1 + n] = 1
    # strongly negative tail tokens (about -3 nats) so that a policy-only split is far from ln 2
    policy32 = (-0.5 - torch.rand(len(rows), t, generator=g) * 5).float()
    ref32 = (-0.5 - torch.rand(len(rows), t, generator=g) * 5).float()
    out = {"beta": beta, "ld_alpha": alpha, "loss_type": "sigmoid", "pairs": len(pairs), "mask": mask.tolist(),
           "policy_token_logps": policy32.tolist(), "cases": []}
    for name, ref in (("equal_models", policy32), ("distinct_models", ref32)):
        x = policy32.double().requires_grad_(True)
        loss, logps, ref_logps = trl_sigmoid(x, ref.double(), mask, alpha, beta)
        loss.mean().backward()
        case = {"name": name, "ref_token_logps": ref.tolist(), "loss_per_pair": loss.tolist(),
                "policy_logps": logps.tolist(), "ref_logps": ref_logps.tolist(), "grad_token_logps": x.grad.tolist()}
        if name == "equal_models":
            assert all(abs(v - math.log(2)) < 1e-12 for v in loss.tolist()), loss
            # what desensitising the policy alone would give: the reference keeps plain sums
            plain_ref = (ref.double() * mask).sum(1)
            c, r = logps.detach().chunk(2)
            rc, rr = plain_ref.chunk(2)
            policy_only = -F.logsigmoid(beta * ((c - rc) - (r - rr)))
            out["checks"] = {"policy_only_loss_per_pair": policy_only.tolist(),
                             "policy_only_min_abs_diff_from_ln2": min(abs(v - math.log(2)) for v in policy_only.tolist())}
            assert out["checks"]["policy_only_min_abs_diff_from_ln2"] > 0.05
        out["cases"].append(case)
    return out


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
    out["dpo"] = dpo_section(g)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
