"""Goldens for org.align4j.loss.GrpoLoss, org.align4j.loss.ChordLoss and org.align4j.reward.WeightedRewards metrics.

    /usr/bin/python3 tools/golden/make_grpo_goldens.py      # ~1 s, deterministic

Writes src/test/resources/golden/grpo/
  expected.safetensors   F32 tensors:
      <set>.<input>              inputs: rewards (N,), logps / old_logps / ref_logps / mask (N, T), advantages (N,), ...
      adv.<case>.advantages      group advantages (N,)
      adv.<set>.zero_std         1.0 per group whose rewards all agree (TRL's is_std_zero), (N / G,)
      loss.<case>.loss           the micro-batch loss, shape (1,)
      loss.<case>.grad.logps     d loss / d logps, (N, T)
      loss.<case>.stats          [kl_sum, low, high, region, masked_tokens, clip_units, low_min, high_max] (8,)
      chord.<case>.loss / .grad.logps   CHORD SFT term and its gradient
  expected.json          the cases (config in TRL / Trinity names), mu-schedule values, reward metrics, and the
                         meaning and tolerance of every tensor.

The formulas are TRL's, transcribed literally from huggingface/trl trl/trainer/grpo_trainer.py (v1.9:
_generate_and_score_completions for the advantages and reward metrics, _compute_loss for the loss and its
clip_ratio / kl metrics, nanstd) and trl/trainer/rloo_trainer.py (RLOO baseline, normalize_advantages), and Trinity-RFT's
trinity/algorithm/policy_loss_fn/chord_policy_loss.py (mu_schedule_function, SFTPhiLossFn) and sft_loss.py (SFTLossFn).
They are evaluated in float64 with autograd from float32-rounded inputs. Two things are ours, not TRL's, and are marked
"ours" in the case notes: (1) the RLOO baseline with scale_rewards "group" (the leave-one-out advantages divided by the
group reward std + 1e-4, GRPO's group scaling; TRL's RLOOTrainer only has none / batch-normalised advantages), and
(2) the per-micro-batch normalisation arguments (window_tokens for dapo = TRL's num_items_in_batch on one process,
accumulation_steps = TRL's current_gradient_accumulation_steps); CHORD's SFT term is divided by the window's expert-token
count instead of the micro-batch's (Trinity's masked_mean equals it when the window is one micro-batch).

Input sets (seeded with torch.Generator().manual_seed):
  adv.a      N=12, G=4: a binary group, an all-equal group (zero std), a continuous group.
  adv.b      N=6, G=2: continuous rewards (RLOO with G=2: A = r_i - r_j).
  metrics    N=8, G=4, two reward functions; the second returns NaN ("no reward") on 3 completions; weights 1.0, 0.5;
             the second group's totals all agree (frac_reward_zero_std 0.5).
  loss       N=6, T=8; completion lengths 8, 5, 3, 1, 0 (a masked truncated completion), 6; log-probs in [-4, -0.05];
             old = logps + U(-0.7, 0.7) (num_iterations > 1 style: ratios 0.5..2, clipped on both sides); ref = logps +
             U(-1, 1); advantages with both signs and one exact 0. Positions outside the mask hold other finite values,
             so masking mistakes change the result. Every ratio is checked to be > 1e-4 (relative) from every clip
             boundary and from delta, so float32 and float64 take the same branch.
  chord      N=4, T=6; lengths 6, 4, 2, 0; expert log-probs from -1e-4 (p ~ 1) to -9, some above log(0.6) (cutoff).

Tolerances (allclose semantics, per tensor in expected.json): rtol 1e-5, atol = max(floor, 1e-5 x the tensor's largest
magnitude), floor 1e-6 for values and 1e-7 for gradients; clip counts are exact.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "grpo")
VALUE_TOL = {"atol": 1e-6, "rtol": 1e-5}
GRAD_TOL = {"atol": 1e-7, "rtol": 1e-5}

out = {}
meta = {"tensors": {}, "advantage_cases": [], "loss_cases": [], "chord_cases": [], "mu": [], "metrics": {},
        "generator": "tools/golden/make_grpo_goldens.py", "torch": torch.__version__}


def put(name, t, meaning, tol=None):
    out[name] = t.detach().to(torch.float32).contiguous()
    entry = {"shape": list(t.shape), "meaning": meaning}
    if tol is not None:
        entry["tolerance"] = tol
    meta["tensors"][name] = entry


def tolerance(t, floor):
    finite = t.detach()[torch.isfinite(t.detach())]
    biggest = float(finite.abs().max()) if finite.numel() else 0.0
    return {"atol": max(floor["atol"], 1e-5 * biggest), "rtol": floor["rtol"]}


def f32(values):
    return torch.tensor(values, dtype=torch.float64).to(torch.float32)


# ---------------------------------------------------------------- TRL formulas (float64)

def nanstd(tensor):
    # trl/trainer/utils.py::nanstd
    variance = torch.nanmean((tensor - torch.nanmean(tensor, keepdim=True)) ** 2)
    count = torch.sum(~torch.isnan(tensor))
    variance *= count / (count - 1)
    return torch.sqrt(variance)


def grpo_advantages(rewards, num_generations, scale_rewards):
    # grpo_trainer.py::_generate_and_score_completions
    mean_grouped_rewards = rewards.view(-1, num_generations).mean(dim=1)
    mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
    advantages = rewards - mean_grouped_rewards
    if scale_rewards in ["group", "none"]:
        if num_generations > 1:
            std_rewards = rewards.view(-1, num_generations).std(dim=1)
            std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
        else:
            std_rewards = torch.zeros_like(rewards)
    elif scale_rewards == "batch":
        std_rewards = rewards.std().expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    if scale_rewards != "none":
        advantages = advantages / (std_rewards + 1e-4)
    return advantages, std_rewards, is_std_zero, mean_grouped_rewards


def rloo_advantages(rewards, num_generations, scale_rewards):
    # rloo_trainer.py::_generate_and_score_completions: baseline = mean of the other G-1 rewards
    grouped_rewards = rewards.view(-1, num_generations)
    grouped_sum = grouped_rewards.sum(dim=1, keepdim=True)
    baselines = ((grouped_sum - grouped_rewards) / (num_generations - 1)).view(-1)
    advantages = rewards - baselines
    if scale_rewards == "batch":  # RLOOTrainer normalize_advantages=True
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-4)
    elif scale_rewards == "group":  # ours: GRPO's group scaling on the leave-one-out advantages
        std = grouped_rewards.std(dim=1).repeat_interleave(num_generations, dim=0)
        advantages = advantages / (std + 1e-4)
    return advantages


def grpo_loss(x, c):
    """grpo_trainer.py::_compute_loss (v1.9), loss types grpo / bnpo / dr_grpo / dapo / cispo, one process."""
    per_token_logps, old_per_token_logps, mask = x["logps"], x["old_logps"], x["mask"]
    advantages = x["advantages"].unsqueeze(1)
    epsilon_low = c["epsilon"]
    epsilon_high = c["epsilon_high"] if c["epsilon_high"] is not None else c["epsilon"]
    log_ratio = per_token_logps - old_per_token_logps
    if c["importance_sampling_level"] == "token":
        log_importance_weights = log_ratio
    else:
        log_importance_weights = (log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
        log_importance_weights = log_importance_weights.unsqueeze(-1)
    coef_1 = torch.exp(log_importance_weights)
    if c["beta"] != 0.0:
        ref_per_token_logps = x["ref_logps"]
        per_token_kl = torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1
    if c["loss_type"] == "cispo":  # TRL: the weight clipped at epsilon_high itself, detached, times A and the log-prob
        coef_2 = torch.clamp(coef_1, max=epsilon_high).detach()
        per_token_loss = -coef_2 * advantages * per_token_logps
    else:
        coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
        if c["delta"] is not None:
            coef_1 = torch.clamp(coef_1, max=c["delta"])
        per_token_loss1 = coef_1 * advantages
        per_token_loss2 = coef_2 * advantages
        per_token_loss = -torch.min(per_token_loss1, per_token_loss2)
    if c["beta"] != 0.0:
        per_token_loss = per_token_loss + c["beta"] * per_token_kl
    accumulation = c["accumulation_steps"]
    if c["loss_type"] == "grpo":
        loss = ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accumulation
    elif c["loss_type"] == "bnpo":
        loss = (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0) / accumulation
    elif c["loss_type"] == "dr_grpo":
        loss = (per_token_loss * mask).sum() / (per_token_loss.size(0) * c["max_completion_length"]) / accumulation
    elif c["loss_type"] in ("dapo", "cispo"):
        normalizer = torch.tensor(float(c["window_tokens"]), dtype=torch.float64).clamp(min=1.0)  # num_items_in_batch / 1 process
        loss = (per_token_loss * mask).sum() / normalizer

    # metrics block: global_masked_mean's (sum, count) and masked_seq_mean + nanmin / nanmax
    def sums(t):
        if t.shape[1] == 1:
            return t.sum(), float(t.shape[0])
        return (t * mask).sum(), float(mask.sum())

    def masked_seq_mean(t):
        if t.shape[1] == 1:
            return t.squeeze(1)
        return (t * mask).sum(-1) / mask.sum(-1)

    def nanmin(t):
        return torch.tensor(float("nan")) if torch.isnan(t).all() else torch.min(t[~torch.isnan(t)])

    def nanmax(t):
        return torch.tensor(float("nan")) if torch.isnan(t).all() else torch.max(t[~torch.isnan(t)])

    c1 = coef_1.detach()
    if c["loss_type"] == "cispo":  # TRL logs only cispo_clip_ratio: coef_1 > epsilon_high with A > 0
        is_low_clipped = torch.zeros_like(c1 * advantages)
        is_high_clipped = ((c1 > epsilon_high) & (advantages > 0)).double()
    else:
        is_low_clipped = ((c1 < 1 - epsilon_low) & (advantages < 0)).double()
        is_high_clipped = ((c1 > 1 + epsilon_high) & (advantages > 0)).double()
    is_region_clipped = ((is_low_clipped > 0) | (is_high_clipped > 0)).double()
    kl_sum = (per_token_kl.detach() * mask).sum() if c["beta"] != 0.0 else torch.tensor(0.0, dtype=torch.float64)
    low, units = sums(is_low_clipped)
    high, _ = sums(is_high_clipped)
    region, _ = sums(is_region_clipped)
    stats = torch.stack([kl_sum, low, high, region, mask.sum(), torch.tensor(units, dtype=torch.float64),
                         nanmin(masked_seq_mean(is_low_clipped)).double(), nanmax(masked_seq_mean(is_high_clipped)).double()])
    return loss, stats, coef_1.detach(), coef_2.detach(), log_importance_weights.detach()


def mu_schedule_function(global_step, mu_warmup_steps, mu_decay_steps, mu_peak, mu_valley):
    # Trinity-RFT chord_policy_loss.py, verbatim logic
    if global_step < mu_warmup_steps:
        return (global_step / mu_warmup_steps) * mu_peak
    if global_step >= (mu_warmup_steps + mu_decay_steps):
        return mu_valley
    adjusted_step = global_step - mu_warmup_steps
    cosine_decay = 0.5 * (1 + math.cos(math.pi * adjusted_step / mu_decay_steps))
    return (mu_peak - mu_valley) * cosine_decay + mu_valley


def chord_sft(logprob, action_mask, use_phi, cutoff_prob, window_tokens):
    # Trinity SFTPhiLossFn / SFTLossFn, token-level; masked_mean's denominator replaced by the window's token count
    if use_phi:
        token_prob = torch.exp(logprob)
        if cutoff_prob < 1.0:
            logprob = torch.clamp(logprob, max=math.log(cutoff_prob))
        weighted_phi = token_prob * (1 - token_prob)
        return (-logprob * weighted_phi.detach() * action_mask).sum() / window_tokens
    if cutoff_prob < 1.0:  # ours: Trinity's plain sft has no cutoff
        logprob = torch.clamp(logprob, max=math.log(cutoff_prob))
    return (-logprob * action_mask).sum() / window_tokens


# ---------------------------------------------------------------- cases

def advantage_cases():
    g = torch.Generator().manual_seed(31)
    sets = {
        "adv.a": (f32([1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5, 2.0, -1.0, 0.25, 3.5]), 4),
        "adv.b": ((torch.rand(6, generator=g, dtype=torch.float64) * 4 - 1).to(torch.float32), 2),
    }
    for set_name, (rewards, G) in sets.items():
        put(set_name + ".rewards", rewards, "input rewards (N,), groups of %d consecutive" % G)
        r = rewards.double()
        _, _, is_std_zero, _ = grpo_advantages(r, G, "group")
        put(set_name + ".zero_std", is_std_zero.view(-1, G)[:, 0].double(), "1 per group whose rewards agree (isclose(std, 0))")
        for scale in ("group", "batch", "none"):
            for loo in (False, True):
                name = "adv.%s.%s%s" % (set_name.split(".")[1], "rloo_" if loo else "", scale)
                a = rloo_advantages(r, G, scale) if loo else grpo_advantages(r, G, scale)[0]
                put(name + ".advantages", a, "advantages (N,)", tolerance(a, VALUE_TOL))
                note = "TRL GRPOTrainer" if not loo else {"none": "TRL RLOOTrainer (normalize_advantages=False)",
                                                          "batch": "TRL RLOOTrainer (normalize_advantages=True)",
                                                          "group": "ours: RLOO baseline / (group std + 1e-4)"}[scale]
                meta["advantage_cases"].append({"name": name, "inputs": set_name, "num_generations": G, "scale_rewards": scale,
                                                "leave_one_out": loo, "notes": note})


def metrics_case():
    # two reward functions, the second with "no reward" (None -> NaN) on three completions
    per_func = torch.tensor([[1.0, 0.5], [0.0, float("nan")], [1.0, -0.25], [0.0, 0.75],
                             [1.0, float("nan")], [1.0, 0.0], [1.0, float("nan")], [1.0, 0.0]], dtype=torch.float64)
    weights = torch.tensor([1.0, 0.5], dtype=torch.float64)
    G = 4
    put("metrics.per_func", per_func, "input rewards_per_func (N, 2), NaN = no reward")
    rewards = (per_func * weights.unsqueeze(0)).nansum(dim=1)
    put("metrics.total", rewards, "nansum of weighted rewards (N,)", tolerance(rewards, VALUE_TOL))
    result = {"num_generations": G, "weights": weights.tolist(), "names": ["f0", "f1"], "scale_rewards": {}}
    for scale in ("group", "batch", "none"):
        _, std_rewards, is_std_zero, mean_grouped = grpo_advantages(rewards, G, scale)
        m = {}
        for i, n in enumerate(["f0", "f1"]):
            m["rewards/%s/mean" % n] = torch.nanmean(per_func[:, i]).item()
            m["rewards/%s/std" % n] = nanstd(per_func[:, i]).item()
        m["reward"] = torch.nanmean(rewards).item()
        # grpo_trainer.py:2749 (TRL >= 0.28): nanstd of the whole batch's rewards, whatever scale_rewards is
        m["reward_std"] = nanstd(rewards).item()
        m["frac_reward_zero_std"] = is_std_zero.double().mean().item()
        result["scale_rewards"][scale] = m
    # a batch whose totals all agree, for frac_reward_zero_std under "batch"
    flat = torch.full((8,), 0.75, dtype=torch.float64)
    _, _, zero_flat, _ = grpo_advantages(flat, G, "batch")
    result["flat_batch"] = {"value": 0.75, "reward_std": nanstd(flat).item(), "frac_reward_zero_std": zero_flat.double().mean().item()}
    result["tolerance"] = {"atol": 1e-12, "rtol": 1e-12}
    meta["metrics"] = result


def loss_inputs():
    g = torch.Generator().manual_seed(7)
    n, t = 6, 8
    lengths = [8, 5, 3, 1, 0, 6]
    mask = torch.zeros(n, t, dtype=torch.float64)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
    logps = torch.empty(n, t, dtype=torch.float64).uniform_(-4.0, -0.05, generator=g)
    old = logps + torch.empty(n, t, dtype=torch.float64).uniform_(-0.7, 0.7, generator=g)
    ref = logps + torch.empty(n, t, dtype=torch.float64).uniform_(-1.0, 1.0, generator=g)
    # padding: other finite values (a transcription that forgets the mask gets a different loss)
    pad = mask == 0
    logps[pad] = -7.5
    old[pad] = -0.25
    ref[pad] = -3.0
    advantages = torch.tensor([1.3, -0.8, 0.0, 2.1, -1.5, -0.4], dtype=torch.float64)
    x = {"logps": logps, "old_logps": old, "ref_logps": ref, "mask": mask, "advantages": advantages}
    return {k: v.to(torch.float32) for k, v in x.items()}


def check_margins(name, c, coef_1_raw, mask, seq):
    """Every ratio on the mask must be > 1e-4 relative from each switching point (clip bounds, delta)."""
    eps_low = c["epsilon"]
    eps_high = c["epsilon_high"] if c["epsilon_high"] is not None else c["epsilon"]
    points = [eps_high] if c["loss_type"] == "cispo" else [1 - eps_low, 1 + eps_high] + ([c["delta"]] if c["delta"] is not None else [])
    values = coef_1_raw.flatten() if seq else coef_1_raw[mask > 0]
    if c.get("on_policy"):
        return float("inf")
    closest = min(float((values - p).abs().min() / p) for p in points)
    if closest < 1e-4:
        raise SystemExit("%s: a ratio is %.2g from a switching point; pick other inputs" % (name, closest))
    return closest


def loss_cases():
    x32 = loss_inputs()
    for k, v in x32.items():
        put("loss." + k, v, "input " + ("(N,)" if v.dim() == 1 else "(N, T)"))
    base = {"loss_type": "dapo", "epsilon": 0.2, "epsilon_high": 0.28, "delta": None, "beta": 0.0, "importance_sampling_level": "token",
            "max_completion_length": 16, "window_tokens": 40, "accumulation_steps": 1}
    cases = []
    for lt, acc in (("dapo", 1), ("grpo", 3), ("bnpo", 2), ("dr_grpo", 2)):
        for level in ("token", "sequence"):
            cases.append(("%s_%s" % (lt, level), dict(base, loss_type=lt, accumulation_steps=acc, importance_sampling_level=level)))
    cases += [
        ("dapo_delta", dict(base, delta=1.5)),
        ("dapo_beta", dict(base, beta=0.04)),
        ("dapo_symmetric_eps", dict(base, epsilon_high=None)),
        ("dapo_on_policy", dict(base, on_policy=True)),
        ("dapo_on_policy_beta", dict(base, on_policy=True, beta=0.04)),
        ("grpo_sequence_beta_delta", dict(base, loss_type="grpo", importance_sampling_level="sequence", beta=0.1, delta=1.05, accumulation_steps=2)),
        ("bnpo_beta_delta_eps01", dict(base, loss_type="bnpo", epsilon=0.1, epsilon_high=0.15, beta=0.5, delta=1.3, accumulation_steps=4)),
        ("dr_grpo_sequence_beta", dict(base, loss_type="dr_grpo", importance_sampling_level="sequence", beta=0.02, max_completion_length=512)),
        ("dapo_window_equals_batch", dict(base, window_tokens=23)),
        ("cispo_token", dict(base, loss_type="cispo", epsilon_high=1.1)),
        ("cispo_sequence", dict(base, loss_type="cispo", epsilon_high=1.02, importance_sampling_level="sequence")),
        ("cispo_beta", dict(base, loss_type="cispo", epsilon_high=1.1, beta=0.04)),
    ]
    for name, c in cases:
        leaves = {k: v.to(torch.float64) for k, v in x32.items()}
        if c.get("on_policy"):
            leaves["old_logps"] = leaves["logps"].clone()  # num_iterations == 1: old = logps.detach()
        leaves["logps"].requires_grad_(True)
        loss, stats, _, _, logw = grpo_loss(leaves, c)
        closest = check_margins(name, c, torch.exp(logw), leaves["mask"], c["importance_sampling_level"] == "sequence")
        if c["delta"] is not None:  # the delta cap must matter for this case
            plain = grpo_loss({k: v.detach() for k, v in leaves.items()}, dict(c, delta=None))[0]
            if abs(plain.item() - loss.item()) < 1e-4:
                raise SystemExit("%s: delta %g changes nothing; pick other inputs" % (name, c["delta"]))
        loss.backward()
        key = "loss." + name
        put(key + ".loss", loss.reshape(1), "micro-batch loss", tolerance(loss.reshape(1), VALUE_TOL))
        put(key + ".grad.logps", leaves["logps"].grad, "d loss / d logps (N, T)", tolerance(leaves["logps"].grad, GRAD_TOL))
        put(key + ".stats", stats, "[kl_sum, low, high, region, masked_tokens, clip_units, low_min, high_max]",
            tolerance(stats, VALUE_TOL))
        cfg = {k: v for k, v in c.items() if k != "on_policy"}
        meta["loss_cases"].append({"name": name, "inputs": "loss", "on_policy": bool(c.get("on_policy")), "config": cfg,
                                   "checks": {"closest_ratio_to_switch_rel": None if math.isinf(closest) else closest},
                                   "notes": "window_tokens / accumulation_steps: ours (TRL num_items_in_batch / gradient accumulation)"})
        print("%-28s loss % .6f  low %g high %g region %g units %g  closest %.3g" % (name, loss.item(), stats[1], stats[2], stats[3], stats[5], closest))


def chord_cases():
    lp = [[-1e-4, -0.3, -0.7, -2.0, -0.05, -9.0],
          [-0.45, -0.6, -1.2, -0.01, 0.0, 0.0],
          [-3.5, -0.2, 0.0, 0.0, 0.0, 0.0],
          [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    lengths = [6, 4, 2, 0]
    logps = f32(lp)
    mask = torch.zeros(4, 6)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
    logps[mask == 0] = -5.0  # padding values must not count
    put("chord.logps", logps, "input expert-token log-probs (N, T)")
    put("chord.mask", mask, "input expert mask (N, T)")
    for use_phi in (True, False):
        for cutoff in (1.0, 0.6):
            for window in (12, 20):
                name = "chord.%s_cut%g_w%d" % ("phi" if use_phi else "nll", cutoff, window)
                leaf = logps.double().requires_grad_(True)
                loss = chord_sft(leaf, mask.double(), use_phi, cutoff, window)
                loss.backward()
                put(name + ".loss", loss.reshape(1), "CHORD SFT term", tolerance(loss.reshape(1), VALUE_TOL))
                put(name + ".grad.logps", leaf.grad, "d loss / d logps", tolerance(leaf.grad, GRAD_TOL))
                meta["chord_cases"].append({"name": name, "use_phi": use_phi, "cutoff_prob": cutoff, "window_expert_tokens": window,
                                            "notes": "ours" if (cutoff < 1 and not use_phi) else "Trinity-RFT"})


def mu_cases():
    schedules = [((0, 0, 0.1, 0.1), [0, 1, 5, 1000]),  # Trinity defaults: CHORD-phi constant 0.1
                 ((0, 200, 0.9, 0.05), [0, 1, 50, 100, 150, 199, 200, 201, 500]),  # CHORD-mu
                 ((200, 400, 0.5, 0.02), [0, 1, 100, 199, 200, 201, 300, 400, 599, 600, 1000]),  # mix_chord.yaml
                 ((10, 0, 0.3, 0.1), [0, 5, 9, 10, 11])]
    for (w, d, peak, valley), steps in schedules:
        for s in steps:
            meta["mu"].append({"step": s, "warmup": w, "decay": d, "peak": peak, "valley": valley,
                               "mu": mu_schedule_function(s, w, d, peak, valley)})


def to_json(meta):
    one = lambda v: json.dumps(v, separators=(", ", ": "), allow_nan=False)
    lines = ["{"]
    for k in ("generator", "torch"):
        lines.append("  %s: %s," % (one(k), one(meta[k])))
    for k in ("advantage_cases", "loss_cases", "chord_cases", "mu"):
        lines.append('  "%s": [' % k)
        lines.append(",\n".join("    " + one(c) for c in meta[k]))
        lines.append("  ],")
    lines.append('  "metrics": %s,' % one(meta["metrics"]))
    lines.append('  "tensors": {')
    lines.append(",\n".join("    %s: %s" % (one(k), one(v)) for k, v in meta["tensors"].items()))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    advantage_cases()
    metrics_case()
    loss_cases()
    chord_cases()
    mu_cases()
    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "expected.safetensors"), {"format": "pt", "generator": meta["generator"]})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(to_json(meta))
    print("wrote %s: %d tensors, %d advantage, %d loss, %d chord cases, %d mu values" % (
        OUT, len(out), len(meta["advantage_cases"]), len(meta["loss_cases"]), len(meta["chord_cases"]), len(meta["mu"])))


if __name__ == "__main__":
    main()
