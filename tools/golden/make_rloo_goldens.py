"""Goldens for org.align4j.loss.RlooLoss (TRL's RLOOTrainer) and org.align4j.loss.OnlineDpoLoss (TRL's OnlineDPOTrainer).

    /usr/bin/python3 tools/golden/make_rloo_goldens.py      # ~1 s, deterministic

Writes src/test/resources/golden/rloo/
  expected.safetensors   F32 tensors:
      rloo.<input>                 inputs: rewards (N,), logps / old_logps / ref_logps / mask (N, T)
      rloo.<case>.rewards          the rewards the baseline sees: clipped, minus beta * summed k1 KL (N,)
      rloo.<case>.advantages       leave-one-out advantages, batch-normalised when asked (N,)
      rloo.<case>.loss             mean over the N sequences of the clipped sequence-level loss, shape (1,)
      rloo.<case>.grad.logps       d loss / d per-token logps (N, T)
      rloo.<case>.stats            [kl, frac_reward_zero_std, low_mean, low_min, high_mean, high_max, region_mean] (7,)
      odpo.<input>                 inputs: chosen / rejected / ref_chosen / ref_rejected summed log-probs (B,)
      odpo.<case>.losses           per-pair losses (B,)
      odpo.<case>.grad.<input>     d mean(losses) / d chosen, rejected (B,)
  expected.json          the cases (config in TRL's names) and the meaning and tolerance of every tensor.

The formulas are TRL's, transcribed from huggingface/trl at f2cd577 (1.10.0.dev0):
  trl/trainer/rloo_trainer.py  _generate_and_score_completions :1519-1590 (reward clip, k1 KL folded into the reward,
                               leave-one-out baseline, normalize_advantages, kl / frac_reward_zero_std metrics) and
                               _compute_loss :1676-1721 (summed log-probs, sequence ratio, clipped loss, clip metrics);
  trl/experimental/online_dpo/online_dpo_trainer.py training_step :1203-1236 (pairing, sigmoid and ipo losses).
Evaluated in float64 with autograd from float32-rounded inputs. The RLOO loss is taken over the whole input batch as one
micro-batch (TRL's per_sequence_loss.mean()); dividing by the number of micro-batches is the trainer's.

Input sets (seeded with torch.Generator().manual_seed):
  rloo   N=6, T=8; completion lengths 8, 5, 3, 0 (a masked truncated completion), 6, 2; per-token log-probs in [-4, -0.05];
         old = logps + U(-0.3, 0.3) per token (summed ratios spread around 1: clipped on both sides), ref = logps +
         U(-0.6, 0.6); padding positions hold other finite values, so a transcription that forgets the mask differs.
         Rewards [1.0, 0.25, -0.5, 0.75, 0.75, 0.75]: with G=3 and beta 0 the second prompt's rewards all agree
         (frac_reward_zero_std 0.5); any beta > 0 breaks the tie through the KL penalty, as in TRL, where the zero-std
         test reads the penalised rewards. Every sequence ratio is checked to be > 1e-4 (relative) from both clip bounds.
  odpo   B=5 summed log-probs (chosen, rejected, their references), logits of both signs and one exact 0.

Tolerances (allclose semantics, per tensor in expected.json): rtol 1e-5, atol = max(floor, 1e-5 x the tensor's largest
magnitude), floor 1e-6 for values and 1e-7 for gradients.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "rloo")
VALUE_TOL = {"atol": 1e-6, "rtol": 1e-5}
GRAD_TOL = {"atol": 1e-7, "rtol": 1e-5}

out = {}
meta = {"generator": "tools/golden/make_rloo_goldens.py", "torch": torch.__version__,
        "trl": "huggingface/trl@f2cd57710ae345ea6428ae95363267fcf38a3dc8",
        "rloo_cases": [], "online_dpo_cases": [], "tensors": {}}


def put(name, t, meaning, tol=None):
    out[name] = t.detach().to(torch.float32).reshape(t.shape).contiguous()
    entry = {"shape": list(t.shape), "meaning": meaning}
    if tol is not None:
        entry["tolerance"] = tol
    meta["tensors"][name] = entry


def tolerance(t, floor):
    biggest = float(t.detach().abs().max()) if t.numel() else 0.0
    return {"atol": max(floor["atol"], 1e-5 * biggest), "rtol": floor["rtol"]}


def nanstd(tensor, dim=None):
    # trl/trainer/utils.py:857-884 (Bessel-corrected, NaN ignored; NaN with fewer than two values)
    dims = dim if dim is not None else tuple(range(tensor.dim()))
    mean = torch.nanmean(tensor, dim=dims, keepdim=True)
    variance = torch.nanmean((tensor - mean) ** 2, dim=dims, keepdim=True)
    count = torch.sum(~torch.isnan(tensor), dim=dims, keepdim=True)
    correction = count / (count - 1)
    correction = torch.where(count > 1, correction, torch.full_like(correction, float("nan")))
    return torch.sqrt(variance * correction).squeeze(dims) if dim is not None else torch.sqrt(variance * correction).reshape(())


# ---------------------------------------------------------------- TRL's RLOOTrainer (float64)

def rloo_generation(rewards, old_per_token_logps, ref_per_token_logps, completion_mask, c):
    """rloo_trainer.py:1519-1590 on one process, every completion scorable."""
    num_generations, beta = c["num_generations"], c["beta"]
    if c["reward_clip_range"]:
        rewards = rewards.clamp(min=c["reward_clip_range"][0], max=c["reward_clip_range"][1])
    if beta != 0.0:
        per_token_kl = old_per_token_logps - ref_per_token_logps
        kl = (per_token_kl * completion_mask).sum(-1)
        rewards = rewards - beta * kl
    grouped_rewards = rewards.view(-1, num_generations)
    std_rewards = nanstd(grouped_rewards, dim=1)
    scorable_counts = (~torch.isnan(grouped_rewards)).sum(dim=1, keepdim=True)
    grouped_sum = torch.nansum(grouped_rewards, dim=1, keepdim=True)
    baselines = ((grouped_sum - grouped_rewards) / (scorable_counts - 1)).view(-1)
    advantages = rewards - baselines
    if c["normalize_advantages"]:
        advantages = (advantages - torch.nanmean(advantages)) / (nanstd(advantages) + 1e-4)
    advantages = torch.nan_to_num(advantages, nan=0.0)
    is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    if beta != 0.0:
        kl_metric = (per_token_kl * completion_mask).sum() / completion_mask.sum().clamp(min=1.0)
    else:
        kl_metric = torch.tensor(0.0, dtype=torch.float64)
    return rewards, advantages, kl_metric, is_std_zero.double().mean()


def rloo_loss(per_token_logps, old_logps, advantages, completion_mask, c):
    """rloo_trainer.py:1683-1721 (_compute_loss), one process."""
    epsilon_low = c["epsilon"]
    epsilon_high = c["epsilon_high"] if c["epsilon_high"] is not None else c["epsilon"]
    logps = (per_token_logps * completion_mask).sum(1)
    log_ratio = logps - old_logps
    coef_1 = torch.exp(log_ratio)
    coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
    per_sequence_loss1 = coef_1 * advantages
    per_sequence_loss2 = coef_2 * advantages
    per_sequence_loss = -torch.min(per_sequence_loss1, per_sequence_loss2)
    loss = per_sequence_loss.mean()
    is_low_clipped = ((coef_1 < 1 - epsilon_low) & (advantages < 0)).double()
    is_high_clipped = ((coef_1 > 1 + epsilon_high) & (advantages > 0)).double()
    is_region_clipped = ((is_low_clipped > 0) | (is_high_clipped > 0)).double()
    clip = [is_low_clipped.mean(), is_low_clipped.min(), is_high_clipped.mean(), is_high_clipped.max(),
            is_region_clipped.mean()]
    return loss, clip, coef_1.detach()


def rloo_inputs():
    g = torch.Generator().manual_seed(11)
    n, t = 6, 8
    lengths = [8, 5, 3, 0, 6, 2]
    mask = torch.zeros(n, t, dtype=torch.float64)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
    logps = torch.empty(n, t, dtype=torch.float64).uniform_(-4.0, -0.05, generator=g)
    old = logps + torch.empty(n, t, dtype=torch.float64).uniform_(-0.3, 0.3, generator=g)
    ref = logps + torch.empty(n, t, dtype=torch.float64).uniform_(-0.6, 0.6, generator=g)
    pad = mask == 0
    logps[pad] = -7.5
    old[pad] = -0.25
    ref[pad] = -3.0
    rewards = torch.tensor([1.0, 0.25, -0.5, 0.75, 0.75, 0.75], dtype=torch.float64)
    x = {"rewards": rewards, "logps": logps, "old_logps": old, "ref_logps": ref, "mask": mask}
    return {k: v.to(torch.float32) for k, v in x.items()}


def rloo_cases():
    x32 = rloo_inputs()
    for k, v in x32.items():
        put("rloo." + k, v, "input " + ("(N,)" if v.dim() == 1 else "(N, T)"))
    base = {"num_generations": 2, "beta": 0.05, "epsilon": 0.2, "epsilon_high": None, "normalize_advantages": False,
            "reward_clip_range": None, "on_policy": False}
    cases = [
        ("defaults_g2", dict(base)),
        ("g3_normalized_eps_high", dict(base, num_generations=3, normalize_advantages=True, epsilon_high=0.28)),
        ("beta0_on_policy_g2", dict(base, beta=0.0, on_policy=True)),
        ("beta0_g3", dict(base, beta=0.0, num_generations=3)),
        ("clip_range_beta01_g3", dict(base, num_generations=3, beta=0.1, reward_clip_range=[-0.25, 1.0])),
        ("beta05_g2_normalized", dict(base, beta=0.5, normalize_advantages=True, epsilon=0.1, epsilon_high=0.15)),
    ]
    for name, c in cases:
        x = {k: v.to(torch.float64) for k, v in x32.items()}
        rewards, advantages, kl_metric, frac_zero = rloo_generation(x["rewards"], x["old_logps"], x["ref_logps"], x["mask"], c)
        leaf = x["logps"].clone().requires_grad_(True)
        old_logps = (x["old_logps"] * x["mask"]).sum(1)
        if c["on_policy"]:  # num_iterations 1: old_logps are the policy's own, so every ratio is 1
            old_logps = (leaf * x["mask"]).sum(1).detach()
        loss, clip, coef_1 = rloo_loss(leaf, old_logps, advantages, x["mask"], c)
        loss.backward()
        if not c["on_policy"]:  # no sequence ratio may sit within 1e-4 (relative) of a clip bound
            eps_high = c["epsilon_high"] if c["epsilon_high"] is not None else c["epsilon"]
            for bound in (1 - c["epsilon"], 1 + eps_high):
                closest = float(((coef_1 - bound).abs() / bound).min())
                if closest < 1e-4:
                    raise SystemExit("%s: a ratio is %.2g from clip bound %g; pick other inputs" % (name, closest, bound))
        key = "rloo." + name
        put(key + ".rewards", rewards, "clipped rewards minus beta * summed k1 KL (N,)", tolerance(rewards, VALUE_TOL))
        put(key + ".advantages", advantages, "leave-one-out advantages (N,)", tolerance(advantages, VALUE_TOL))
        put(key + ".loss", loss.reshape(1), "mean over sequences of -min(rho A, clip(rho) A)", tolerance(loss.reshape(1), VALUE_TOL))
        put(key + ".grad.logps", leaf.grad, "d loss / d per-token logps (N, T)", tolerance(leaf.grad, GRAD_TOL))
        stats = torch.stack([kl_metric, frac_zero] + clip)
        put(key + ".stats", stats, "[kl, frac_reward_zero_std, low_mean, low_min, high_mean, high_max, region_mean]",
            tolerance(stats, VALUE_TOL))
        meta["rloo_cases"].append({"name": name, "config": {k: v for k, v in c.items() if k != "on_policy"},
                                   "on_policy": c["on_policy"], "ratios": [round(float(r), 6) for r in coef_1]})
        print("rloo %-24s loss % .6f  kl % .5f  zero_std %.3f  clip low %.3f high %.3f" % (
            name, loss.item(), kl_metric.item(), frac_zero.item(), clip[0].item(), clip[2].item()))


# ---------------------------------------------------------------- TRL's OnlineDPOTrainer (float64)

def online_dpo_losses(chosen, rejected, ref_chosen, ref_rejected, loss_type, beta):
    """online_dpo_trainer.py:1225-1236 on summed log-probs."""
    pi_logratios = chosen - rejected
    ref_logratios = ref_chosen - ref_rejected
    logits = pi_logratios - ref_logratios
    if loss_type == "sigmoid":
        return -F.logsigmoid(beta * logits)
    if loss_type == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    raise NotImplementedError(loss_type)


def online_dpo_cases():
    x = {
        "chosen": [-12.5, -3.25, -40.0, -7.0, -20.0],
        "rejected": [-14.0, -2.0, -35.5, -7.0, -26.0],
        "ref_chosen": [-13.0, -3.0, -41.0, -6.5, -19.0],
        "ref_rejected": [-13.5, -2.5, -36.0, -6.5, -27.5],
    }
    x32 = {k: torch.tensor(v, dtype=torch.float64).to(torch.float32) for k, v in x.items()}
    for k, v in x32.items():
        put("odpo." + k, v, "input summed log-probs (B,)")
    for loss_type in ("sigmoid", "ipo"):
        for beta in (0.1, 0.5):
            name = "%s_beta%g" % (loss_type, beta)
            leaves = {k: v.to(torch.float64).requires_grad_(k in ("chosen", "rejected")) for k, v in x32.items()}
            losses = online_dpo_losses(leaves["chosen"], leaves["rejected"], leaves["ref_chosen"], leaves["ref_rejected"],
                                       loss_type, beta)
            losses.mean().backward()
            key = "odpo." + name
            put(key + ".losses", losses, "per-pair losses (B,)", tolerance(losses, VALUE_TOL))
            for k in ("chosen", "rejected"):
                put(key + ".grad." + k, leaves[k].grad, "d mean(losses) / d " + k, tolerance(leaves[k].grad, GRAD_TOL))
            meta["online_dpo_cases"].append({"name": name, "loss_type": loss_type, "beta": beta})
            print("odpo %-14s losses %s" % (name, [round(float(v), 6) for v in losses]))


def to_json(meta):
    one = lambda v: json.dumps(v, separators=(", ", ": "), allow_nan=False)
    lines = ["{"]
    for k in ("generator", "torch", "trl"):
        lines.append("  %s: %s," % (one(k), one(meta[k])))
    for k in ("rloo_cases", "online_dpo_cases"):
        lines.append('  "%s": [' % k)
        lines.append(",\n".join("    " + one(c) for c in meta[k]))
        lines.append("  ],")
    lines.append('  "tensors": {')
    lines.append(",\n".join("    %s: %s" % (one(k), one(v)) for k, v in meta["tensors"].items()))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    rloo_cases()
    online_dpo_cases()
    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "expected.safetensors"), {"format": "pt", "generator": meta["generator"]})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(to_json(meta))
    print("wrote %s: %d tensors, %d rloo and %d online DPO cases" % (
        OUT, len(out), len(meta["rloo_cases"]), len(meta["online_dpo_cases"])))


if __name__ == "__main__":
    main()
