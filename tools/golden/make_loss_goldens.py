"""Goldens for org.align4j.loss: the DPO family, KTO, ORPO, CPO/SimPO/AlphaPO and WPO weights.

    /usr/bin/python3 tools/golden/make_loss_goldens.py      # ~1 s, deterministic

Writes src/test/resources/golden/loss/
  expected.safetensors   F32 tensors:
      <set>.<input>            the inputs of an input set, (B,) or (B, T)
      <case>.loss              per-pair (DPO, CPO, ORPO) or per-example (KTO) losses, (B,)
      <case>.grad.<input>      d mean(loss) / d input, from autograd, (B,)
      <case>.log_odds          ORPO only: the log odds ratio, (B,)
      <case>.z0                KTO only: the KL baseline, shape (1,)
      wpo.weights              WPO weights, (B,)
  expected.json          the cases (kind, input set, config in TRL's names), the meaning and
                         tolerance of every tensor.

The formulas below are written from docs/algorithms.md §6-§9 and TRL's
trl/trainer/dpo_trainer.py::_compute_loss (v1.x, with f-divergence "scores"), kto_trainer.py::kto_loss,
experimental/orpo/orpo_trainer.py::odds_ratio_loss and experimental/cpo/cpo_trainer.py::cpo_loss, as
literally as possible (TRL's plain formulas, no stabilising rewrites), but evaluated in float64 from the
float32-rounded inputs: float64 keeps even the naive forms (exp(-z) in DiscoPOP, log1p(-exp(x)) in ORPO)
accurate over the ranges used here, so the goldens are the exact values a float32 implementation must
approach. Tolerances (allclose semantics, per tensor in expected.json): rtol 1e-5, atol = max(floor, 1e-5 x
the tensor's largest magnitude), floor 1e-6 for values and 1e-7 for gradients. (float32 rounding of the
inputs' differences is ~4e-6 absolute on margins of token sums of magnitude 60, well inside that; the
max-magnitude term covers elements that are small differences of large numbers.)

Input sets (seeded with torch.Generator().manual_seed, fixed below):
  dpo.base      B=6 token-sum log-probs in [-60, -5], reference = policy + U(-6, 6), lengths 3..20;
                pair 2 has an exactly zero margin (l_w = l_l = 1.75).
  dpo.extreme   B=6 with |beta * Delta| up to ~290 (overflows a naive float32 log(sigmoid) / exp),
                a zero margin (all four log-probs equal) and a small margin; reverse_kl only.
  kto.pos / kto.neg   B=6 unpaired examples, desirable = [1,0,1,1,0,0]; the mismatched-completion
                log-probs give mean(kl_policy - kl_ref) > 0 (z0 > 0) and < 0 (z0 clamped to 0).
                Example 5 has a huge reward (beta * r ~ 180).
  orpo.base     B=6 average log-probs in [-3, -0.05].
  orpo.edge     B=8 average log-probs near 0 (-7e-8 .. -1e-3, where log(1 - e^x) needs the
                log1mexp form), around -ln 2 (the branch point) and very negative.
  cpo.sums / cpo.avgs   B=6 token sums in [-60, -5] and the same divided by lengths 3..20.
  cpo.extreme   token sums with |Delta| up to ~3000.
  wpo           B=4, T=7, V=11 random logits; token log-probs, log sum_v p_v^2 and completion masks.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test", "resources", "golden", "loss")
VALUE_TOL = {"atol": 1e-6, "rtol": 1e-5}
GRAD_TOL = {"atol": 1e-7, "rtol": 1e-5}
DPO_INPUTS = ["chosen", "rejected", "ref_chosen", "ref_rejected"]

out = {}
meta = {"tensors": {}, "cases": [], "generator": "tools/golden/make_loss_goldens.py", "torch": torch.__version__}


def put(name, t, meaning, tol=None):
    out[name] = t.detach().to(torch.float32).contiguous()
    entry = {"shape": list(t.shape), "meaning": meaning}
    if tol is not None:
        entry["tolerance"] = tol
    meta["tensors"][name] = entry


def f32(values):
    return torch.tensor(values, dtype=torch.float64).to(torch.float32)


# ---------------------------------------------------------------- input sets

def dpo_sets():
    g = torch.Generator().manual_seed(1234)
    b = 6
    chosen = torch.empty(b, dtype=torch.float64).uniform_(-60, -5, generator=g)
    rejected = torch.empty(b, dtype=torch.float64).uniform_(-60, -5, generator=g)
    ref_chosen = chosen + torch.empty(b, dtype=torch.float64).uniform_(-6, 6, generator=g)
    ref_rejected = rejected + torch.empty(b, dtype=torch.float64).uniform_(-6, 6, generator=g)
    # pair 2: l_w = l_l = 1.75 exactly (values exact in float32) -> Delta = 0
    chosen[2], ref_chosen[2], rejected[2], ref_rejected[2] = -20.5, -22.25, -31.0, -32.75
    chosen_len = torch.randint(3, 21, (b,), generator=g).to(torch.float64)
    rejected_len = torch.randint(3, 21, (b,), generator=g).to(torch.float64)
    sets = {"dpo.base": dict(chosen=chosen, rejected=rejected, ref_chosen=ref_chosen, ref_rejected=ref_rejected,
                             chosen_lengths=chosen_len, rejected_lengths=rejected_len)}
    sets["dpo.extreme"] = dict(
        chosen=[-2.0, -1400.0, -40.0, -10.0, -450.0, -30.0],
        rejected=[-1500.0, -5.0, -40.0, -700.0, -60.0, -30.5],
        ref_chosen=[-1400.0, -2.0, -40.0, -600.0, -55.0, -30.25],
        ref_rejected=[-5.0, -1500.0, -40.0, -15.0, -470.0, -30.5],
        chosen_lengths=[400.0, 350.0, 7.0, 200.0, 150.0, 12.0],
        rejected_lengths=[380.0, 20.0, 9.0, 220.0, 30.0, 12.0])
    return {k: {n: f32(v) if isinstance(v, list) else v.to(torch.float32) for n, v in s.items()} for k, s in sets.items()}


def kto_sets():
    g = torch.Generator().manual_seed(4321)
    b = 6
    policy = torch.empty(b, dtype=torch.float64).uniform_(-60, -5, generator=g)
    ref = policy + torch.empty(b, dtype=torch.float64).uniform_(-6, 6, generator=g)
    policy[5], ref[5] = -3.0, -1800.0  # beta * r ~ 180
    desirable = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    kl_policy = torch.empty(b, dtype=torch.float64).uniform_(-70, -20, generator=g)
    gap = torch.empty(b, dtype=torch.float64).uniform_(0.5, 4.0, generator=g)
    sets = {}
    for name, sign in (("kto.pos", 1.0), ("kto.neg", -1.0)):
        sets[name] = dict(policy=policy, ref=ref, desirable=desirable, kl_policy=kl_policy,
                          kl_ref=kl_policy - sign * gap)
    return {k: {n: v.to(torch.float32) for n, v in s.items()} for k, s in sets.items()}


def orpo_sets():
    g = torch.Generator().manual_seed(99)
    base = dict(chosen=torch.empty(6, dtype=torch.float64).uniform_(-3, -0.05, generator=g),
                rejected=torch.empty(6, dtype=torch.float64).uniform_(-3, -0.05, generator=g))
    edge = dict(chosen=[-0.8, -1e-6, -2.5, -0.6931, -1e-3, -4.0, -0.25, -7e-8],
                rejected=[-1.9, -0.5, -1e-5, -3.0, -0.6932, -1e-7, -1.3, -25.0])
    return {"orpo.base": {n: v.to(torch.float32) for n, v in base.items()},
            "orpo.edge": {n: f32(v) for n, v in edge.items()}}


def cpo_sets():
    g = torch.Generator().manual_seed(777)
    b = 6
    sums_c = torch.empty(b, dtype=torch.float64).uniform_(-60, -5, generator=g).to(torch.float32)
    sums_r = torch.empty(b, dtype=torch.float64).uniform_(-60, -5, generator=g).to(torch.float32)
    len_c = torch.randint(3, 21, (b,), generator=g).to(torch.float32)
    len_r = torch.randint(3, 21, (b,), generator=g).to(torch.float32)
    return {"cpo.sums": dict(chosen=sums_c, rejected=sums_r),
            "cpo.avgs": dict(chosen=sums_c / len_c, rejected=sums_r / len_r),
            "cpo.extreme": dict(chosen=f32([-2.0, -3000.0, -40.0, -10.0, -900.0, -7.5]),
                                rejected=f32([-3000.0, -2.0, -40.0, -950.0, -12.0, -7.25]))}


# ---------------------------------------------------------------- reference formulas (float64)

def dpo_scores(logratio, fdiv, coef):
    # docs/algorithms.md §6.1, f_divergence_type, v1.x parametrisation
    if fdiv == "reverse_kl":
        return logratio
    if fdiv == "forward_kl":
        return -torch.exp(-logratio)
    if fdiv == "js_divergence":
        return F.logsigmoid(logratio)
    if fdiv == "alpha_divergence":
        if abs(coef - 1.0) < 1e-6:
            return logratio
        return torch.exp(torch.clamp((coef - 1.0) * logratio, max=80.0)) / (coef - 1.0)
    raise ValueError(fdiv)


def dpo_one(loss_type, x, c):
    beta, eps = c["beta"], c["label_smoothing"]
    lw = x["chosen"] - x["ref_chosen"]
    ll = x["rejected"] - x["ref_rejected"]
    sw = dpo_scores(lw, c["f_divergence_type"], c["f_alpha_divergence_coef"])
    sl = dpo_scores(ll, c["f_divergence_type"], c["f_alpha_divergence_coef"])
    d = sw - sl
    if loss_type == "sigmoid":  # cDPO when eps > 0 (legacy TRL formula)
        return -(1 - eps) * F.logsigmoid(beta * d) - eps * F.logsigmoid(-beta * d)
    if loss_type == "hinge":
        return torch.relu(1 - beta * d)
    if loss_type in ("ipo", "sigmoid_norm"):
        avg = sw / x["chosen_lengths"].clamp(min=1.0) - sl / x["rejected_lengths"].clamp(min=1.0)
        if loss_type == "ipo":
            return (avg - 1 / (2 * beta)) ** 2
        return -F.logsigmoid(beta * avg)
    if loss_type == "exo_pair":
        e = torch.tensor(eps, dtype=torch.float64)
        return (torch.sigmoid(beta * d) * (F.logsigmoid(beta * d) - torch.log1p(-e))
                + torch.sigmoid(-beta * d) * (F.logsigmoid(-beta * d) - torch.log(e)))
    if loss_type == "nca_pair":
        return -F.logsigmoid(beta * sw) - 0.5 * F.logsigmoid(-beta * sw) - 0.5 * F.logsigmoid(-beta * sl)
    if loss_type == "robust":
        return (-(1 - eps) * F.logsigmoid(beta * d) + eps * F.logsigmoid(-beta * d)) / (1 - 2 * eps)
    if loss_type == "bco_pair":
        return -F.logsigmoid(beta * sw) - F.logsigmoid(-beta * sl)
    if loss_type == "sppo_hard":
        return (sw - 0.5 / beta) ** 2 + (sl + 0.5 / beta) ** 2
    if loss_type in ("aot", "aot_unpaired"):
        if loss_type == "aot":
            delta = (torch.sort(x["chosen"] - x["rejected"], dim=0)[0]
                     - torch.sort(x["ref_chosen"] - x["ref_rejected"], dim=0)[0])
        else:
            delta = torch.sort(lw, dim=0)[0] - torch.sort(ll, dim=0)[0]
        return -(1 - eps) * F.logsigmoid(beta * delta) - eps * F.logsigmoid(-beta * delta)
    if loss_type == "apo_zero":
        return (1 - torch.sigmoid(beta * lw)) + torch.sigmoid(beta * ll)
    if loss_type == "apo_down":  # TRL: the second term uses the f-divergence margin delta_score
        return torch.sigmoid(beta * lw) + (1 - torch.sigmoid(beta * d))
    if loss_type == "discopop":
        z = beta * d
        m = torch.sigmoid(z / c["discopop_tau"])
        return -F.logsigmoid(z) * (1 - m) + torch.exp(-z) * m
    raise ValueError(loss_type)


def dpo_per_pair(x, c):
    total = torch.zeros_like(x["chosen"])
    for t, w in zip(c["loss_type"], c["loss_weights"]):
        if t != "sft":  # the trainer adds the token-mean NLL itself
            total = total + w * dpo_one(t, x, c)
    return total


def kto_per_example(x, c):
    beta = c["beta"]
    if c["loss_type"] == "kto":
        z0 = (x["kl_policy"] - x["kl_ref"]).mean().clamp(min=0).detach()
    else:
        z0 = torch.zeros((), dtype=torch.float64)
    r = x["policy"] - x["ref"]
    if c["loss_type"] == "kto":
        chosen = 1 - torch.sigmoid(beta * (r - z0))
        rejected = 1 - torch.sigmoid(beta * (z0 - r))
    else:  # apo_zero_unpaired
        chosen = 1 - torch.sigmoid(beta * r)
        rejected = torch.sigmoid(beta * r)
    d = x["desirable"]
    losses = d * c["desirable_weight"] * chosen + (1 - d) * c["undesirable_weight"] * rejected
    return losses, z0


def orpo(x, beta):
    lw, ll = x["chosen"], x["rejected"]
    log_odds = (lw - ll) - (torch.log1p(-torch.exp(lw)) - torch.log1p(-torch.exp(ll)))
    return -beta * F.logsigmoid(log_odds), log_odds


def cpo(x, c):
    beta, eps, alpha = c["beta"], c["label_smoothing"], c["alpha"]
    lw, ll = x["chosen"], x["rejected"]
    if alpha != 0.0:
        z = (1 - torch.exp(lw).pow(-alpha)) / alpha - (1 - torch.exp(ll).pow(-alpha)) / alpha
    else:
        z = lw - ll
    t = c["loss_type"]
    if t in ("simpo", "alphapo"):
        z = z - c["simpo_gamma"] / beta
        t = "sigmoid"
    if t == "sigmoid":
        return -F.logsigmoid(beta * z) * (1 - eps) - F.logsigmoid(-beta * z) * eps
    if t == "hinge":
        return torch.relu(1 - beta * z)
    if t == "ipo":
        return (z - 1 / (2 * beta)) ** 2
    raise ValueError(t)


# ---------------------------------------------------------------- cases

def tolerance(t, floor):
    # rtol 1e-5 per element, plus an absolute allowance of 1e-5 of the tensor's largest magnitude: an element
    # that is a small difference of large float32 numbers (e.g. sppo_hard's s - 1/(2 beta) near 0) carries
    # the absolute rounding error of those numbers, not a relative one.
    biggest = float(t.detach().abs().max())
    return {"atol": max(floor["atol"], 1e-5 * biggest), "rtol": floor["rtol"]}


def run_case(kind, name, set_name, inputs, config, fn, grad_names):
    leaves = {n: inputs[n].to(torch.float64).requires_grad_(n in grad_names) for n in inputs}
    result = fn(leaves, config)
    loss, extra = (result if isinstance(result, tuple) else (result, None))
    loss.mean().backward()
    put(name + ".loss", loss, "per-%s loss (config: see cases)" % ("example" if kind == "kto" else "pair"), tolerance(loss, VALUE_TOL))
    for n in grad_names:
        put(name + ".grad." + n, leaves[n].grad, "d mean(loss) / d " + n, tolerance(leaves[n].grad, GRAD_TOL))
    if kind == "orpo":
        put(name + ".log_odds", extra, "ORPO log odds ratio", tolerance(extra, VALUE_TOL))
    if kind == "kto":
        put(name + ".z0", extra.reshape(1), "KTO KL baseline z0 (detached)", tolerance(extra, VALUE_TOL))
    meta["cases"].append({"name": name, "kind": kind, "inputs": set_name, "config": config})


def dpo_config(types, weights=None, beta=0.1, ls=0.0, fdiv="reverse_kl", coef=0.5, tau=0.05):
    return {"loss_type": types, "loss_weights": weights or [1.0] * len(types), "beta": beta, "label_smoothing": ls,
            "f_divergence_type": fdiv, "f_alpha_divergence_coef": coef, "discopop_tau": tau}


ALL_DPO = ["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
           "aot_unpaired", "apo_zero", "apo_down", "discopop", "sigmoid_norm"]
SMOOTHING = {"exo_pair": 1e-3, "robust": 0.1}


def to_json(meta):
    """One line per tensor and per case, so diffs of a regenerated golden stay readable."""
    one = lambda v: json.dumps(v, separators=(", ", ": "))
    lines = ["{"]
    for k in ("generator", "torch"):
        lines.append("  %s: %s," % (one(k), one(meta[k])))
    lines.append('  "cases": [')
    lines.append(",\n".join("    " + one(c) for c in meta["cases"]))
    lines.append("  ],")
    lines.append('  "tensors": {')
    lines.append(",\n".join("    %s: %s" % (one(k), one(v)) for k, v in meta["tensors"].items()))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    torch.manual_seed(0)
    sets = {}
    for s in (dpo_sets(), kto_sets(), orpo_sets(), cpo_sets()):
        sets.update(s)
    for set_name, s in sets.items():
        for n, v in s.items():
            put(set_name + "." + n, v, "input")

    # DPO family: every loss type alone, under every f-divergence, on the realistic set
    for fdiv, coef in (("reverse_kl", 0.5), ("forward_kl", 0.5), ("js_divergence", 0.5), ("alpha_divergence", 0.5),
                       ("alpha_divergence", 0.3), ("alpha_divergence", 1.0)):
        for t in ALL_DPO:
            name = "dpo.%s%s.%s" % (fdiv, "" if coef == 0.5 else "_%g" % coef, t)
            run_case("dpo", name, "dpo.base", sets["dpo.base"], dpo_config([t], ls=SMOOTHING.get(t, 0.0), fdiv=fdiv, coef=coef),
                     dpo_per_pair, DPO_INPUTS)
    # every loss type on the extreme set (stable log-sigmoid, DiscoPOP's exp, zero margin)
    for t in ALL_DPO:
        run_case("dpo", "dpo.extreme." + t, "dpo.extreme", sets["dpo.extreme"], dpo_config([t], ls=SMOOTHING.get(t, 0.0)),
                 dpo_per_pair, DPO_INPUTS)
    # label smoothing: cDPO on sigmoid, smoothed AOT; other betas / taus
    run_case("dpo", "dpo.cdpo", "dpo.base", sets["dpo.base"], dpo_config(["sigmoid"], ls=0.2), dpo_per_pair, DPO_INPUTS)
    run_case("dpo", "dpo.cdpo_extreme", "dpo.extreme", sets["dpo.extreme"], dpo_config(["sigmoid"], ls=0.1), dpo_per_pair, DPO_INPUTS)
    run_case("dpo", "dpo.aot_smoothed", "dpo.base", sets["dpo.base"], dpo_config(["aot", "aot_unpaired"], ls=0.1), dpo_per_pair, DPO_INPUTS)
    run_case("dpo", "dpo.beta05", "dpo.base", sets["dpo.base"], dpo_config(["sigmoid", "ipo", "hinge"], beta=0.5), dpo_per_pair, DPO_INPUTS)
    run_case("dpo", "dpo.discopop_tau", "dpo.base", sets["dpo.base"], dpo_config(["discopop"], beta=0.3, tau=0.5), dpo_per_pair, DPO_INPUTS)
    # a weighted mix including "sft" (excluded from the per-pair sum: the trainer adds it)
    run_case("dpo", "dpo.mix", "dpo.base", sets["dpo.base"],
             dpo_config(["sigmoid", "sft", "ipo", "apo_zero", "bco_pair"], [1.0, 0.5, 0.3, 0.2, 0.7]), dpo_per_pair, DPO_INPUTS)

    # KTO
    kto_inputs = ["policy", "ref"]
    for set_name in ("kto.pos", "kto.neg"):
        tag = set_name.split(".")[1]
        run_case("kto", "kto.%s.kto" % tag, set_name, sets[set_name],
                 {"loss_type": "kto", "beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0}, kto_per_example, kto_inputs)
        run_case("kto", "kto.%s.weighted" % tag, set_name, sets[set_name],
                 {"loss_type": "kto", "beta": 0.2, "desirable_weight": 1.33, "undesirable_weight": 0.8}, kto_per_example, kto_inputs)
        run_case("kto", "kto.%s.apo_zero_unpaired" % tag, set_name, sets[set_name],
                 {"loss_type": "apo_zero_unpaired", "beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0},
                 kto_per_example, kto_inputs)

    # ORPO
    for set_name in ("orpo.base", "orpo.edge"):
        for beta in (0.1, 0.5):
            run_case("orpo", "%s.beta%g" % (set_name, beta), set_name, sets[set_name], {"beta": beta},
                     lambda x, c: orpo(x, c["beta"]), ["chosen", "rejected"])

    # CPO / SimPO / AlphaPO
    def cpo_config(t, beta=0.1, ls=0.0, gamma=0.5, alpha=0.0, cpo_alpha=1.0):
        return {"loss_type": t, "beta": beta, "label_smoothing": ls, "simpo_gamma": gamma, "alpha": alpha, "cpo_alpha": cpo_alpha}
    cpo_cases = [
        ("cpo.sigmoid", "cpo.sums", cpo_config("sigmoid")),
        ("cpo.sigmoid_smoothed", "cpo.sums", cpo_config("sigmoid", ls=0.1)),
        ("cpo.hinge", "cpo.sums", cpo_config("hinge")),
        ("cpo.ipo", "cpo.avgs", cpo_config("ipo")),
        ("cpo.simpo_defaults", "cpo.avgs", cpo_config("simpo", cpo_alpha=0.0)),
        ("cpo.simpo", "cpo.avgs", cpo_config("simpo", beta=2.0, gamma=1.0, cpo_alpha=0.0)),
        ("cpo.simpo_smoothed", "cpo.avgs", cpo_config("simpo", beta=2.0, gamma=1.0, ls=0.1, cpo_alpha=0.0)),
        ("cpo.alphapo", "cpo.avgs", cpo_config("alphapo", beta=2.5, gamma=1.0, alpha=0.25, cpo_alpha=0.0)),
        ("cpo.alphapo_negative", "cpo.avgs", cpo_config("alphapo", beta=2.5, gamma=0.5, alpha=-0.5, cpo_alpha=0.0)),
        ("cpo.sigmoid_alpha", "cpo.sums", cpo_config("sigmoid", alpha=0.02)),
        ("cpo.hinge_alpha", "cpo.sums", cpo_config("hinge", alpha=0.02)),
        ("cpo.ipo_alpha", "cpo.avgs", cpo_config("ipo", alpha=-0.3)),
        ("cpo.sigmoid_extreme", "cpo.extreme", cpo_config("sigmoid")),
        ("cpo.sigmoid_smoothed_extreme", "cpo.extreme", cpo_config("sigmoid", ls=0.1)),
    ]
    for name, set_name, c in cpo_cases:
        run_case("cpo", name, set_name, sets[set_name], c, cpo, ["chosen", "rejected"])

    # WPO weights (no gradient): exp(mean over completion tokens of [log p_t - log sum_v p_v^2]), chosen x rejected
    g = torch.Generator().manual_seed(2024)
    b, t, v = 4, 7, 11
    wpo = {}
    for side, lens, starts in (("chosen", [7, 4, 1, 5], [0, 2, 3, 1]), ("rejected", [6, 3, 2, 7], [1, 0, 4, 0])):
        logits = torch.randn(b, t, v, generator=g, dtype=torch.float64) * 2
        ids = torch.randint(0, v, (b, t), generator=g)
        logp = torch.log_softmax(logits, -1)
        token = logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        lsp2 = torch.logsumexp(2 * logp, -1)
        mask = torch.zeros(b, t, dtype=torch.float64)
        for i in range(b):
            mask[i, starts[i]:min(t, starts[i] + lens[i])] = 1
        token, lsp2 = token.to(torch.float32), lsp2.to(torch.float32)
        put("wpo.%s.token_logps" % side, token, "input (B,T)")
        put("wpo.%s.log_sum_p2" % side, lsp2, "input (B,T)")
        put("wpo.%s.mask" % side, mask, "input (B,T)")
        m = mask
        w = torch.exp(((token.double() - lsp2.double()) * m).sum(1) / m.sum(1).clamp(min=1))
        wpo[side] = w
    weights = wpo["chosen"] * wpo["rejected"]
    put("wpo.weights", weights, "WPO weights w_chosen * w_rejected (B,)", tolerance(weights, {"atol": 0.0, "rtol": 1e-5}))

    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "expected.safetensors"), {"format": "pt", "generator": meta["generator"]})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(to_json(meta))
    print("wrote %s: %d tensors, %d cases" % (OUT, len(out), len(meta["cases"])))


if __name__ == "__main__":
    main()
