"""Goldens for SCPO's pair weighting of reward models (org.align4j.loss.ScpoWeighting, the weighted
BradleyTerryLoss, RewardTrainer's weighted micro-batch).

    /usr/bin/python3 tools/golden/make_scpo_goldens.py      # ~2 s, deterministic for a torch build

Writes src/test/resources/golden/scpo/expected.safetensors and expected.json.

The formulas are the released code's (github.com/minsik-ai/Steerable-Cultural-Preference, 167b840), written here
as the code writes them, on the global reward model's float32 rewards r+ (chosen) and r- (rejected):
    train filter   exp(r+) / (exp(r+) + exp(r-)) < tau                  preferences.py:287-288 (tau = REWARD_THRES 0.7)
    test filter    r+ < r-                                              preferences.py:345-350
    weight         torch.minimum(torch.exp((r+ - r-) / beta), 1)        our_reward_trainer.py:44 (beta = WEIGHTING_BETA 1.10)
    inverse        torch.maximum(torch.exp(r-) / torch.exp(r+), 1)      our_inverse_reward_trainer.py:41
    loss           -(w * logsigmoid(r_w - r_l [- margin])).mean() [+ c * mean((r_w + r_l)^2)]   our_reward_trainer.py:48-53
The code's forms are evaluated in float32 (as the code runs them) and the expected values in float64; every input
is at least 0.02 in r+ - r- from a filter's switching point, so both precisions take the same branch.

Section "rule": 12 (r+, r-) pairs with |r| <= 45 (the code's exp(r) is finite in float32 there):
    rule.chosen, rule.rejected [12]          inputs
    rule.weight.beta<b> [12]                 SCPO weight for beta 1.10 and 0.5
    rule.inverse [12]                        the ablation's weight (up to exp(85) ~ 8e36)
    rule.keep.tau<t> [12] (I64 0/1)          train filter for tau 0.7 and 0.55
    rule.test_filter [12] (I64 0/1)          r+ < r-
Section "loss": 7 pairs of trained-model rewards r_w, r_l (two with |r_w - r_l| > 40), a margin column and global
rewards g+, g-; for weighting scpo (beta 1.10) / inverse, each plain and with margin + center 0.05:
    loss.<weighting>.<variant>.loss, .grad_chosen, .grad_rejected, .weights
Section "step": one micro-batch on golden/qwen3-tiny-rm (read, not written here) with the trained model = the tiny RM:
4 pairs of byte ids (EOS 258 last), global rewards, SCPO weights (beta 1.10), no margin, center 0.01, chosen and
rejected scored in one right-padded batch of 8 rows (chosen first):
    step.chosen_ids / _lens, step.rejected_ids / _lens, step.global_chosen, step.global_rejected [4]
    step.weights [4], step.rewards_chosen, step.rewards_rejected [4], step.loss, step.grad.<name>
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402
from rm_goldens import EOS, GRAD_NAMES, PAD, ROOT, Expected, load_rm, write  # noqa: E402

OUT = os.path.join(ROOT, "scpo")
TOL = {"value": {"atol": 1e-6, "rtol": 1e-5}, "loss": {"atol": 1e-5, "rtol": 1e-5},
       "rewards": {"atol": 1e-4, "rtol": 1e-4}, "grads": {"atol": 1e-5, "rtol": 1e-3}, "exact": "exact"}
BETA = 1.10
BETAS = (1.10, 0.5)
TAUS = (0.7, 0.55)


def scpo_weight(gp, gm, beta):
    """our_reward_trainer.py:44, literally."""
    return torch.minimum(torch.exp((gp - gm) / beta), torch.ones_like(gp))


def inverse_weight(gp, gm):
    """our_inverse_reward_trainer.py:41, literally."""
    return torch.maximum(torch.exp(gm) / torch.exp(gp), torch.ones_like(gp))


def train_keep(gp, gm, tau):
    """preferences.py:287-288 (score_thres), literally."""
    return (torch.exp(gp) / (torch.exp(gp) + torch.exp(gm))) < tau


def weighted_loss(rw, rl, ratio, margin, c):
    """our_reward_trainer.py:48-53: the weighted BT mean plus the unweighted centering term."""
    d = rw - rl if margin is None else rw - rl - margin
    loss = -(ratio * F.logsigmoid(d)).mean()
    if c is not None:
        loss = loss + c * torch.mean((rw + rl) ** 2)
    return loss


def section_rule(ex, checks):
    gp = torch.tensor([1.0, 0.2, -3.0, 2.0, 0.0, 0.8, 0.9, -40.0, 5.0, -0.5, 12.0, 0.1])
    gm = torch.tensor([0.5, 1.7, 2.5, -1.0, 0.05, 0.0, 0.0, 45.0, -5.0, -0.4, 11.5, 0.2])
    # switching points: r+ - r- = ln(tau / (1 - tau)) (0.847, 0.201) for the train filter, 0 for the test filter
    d = (gp.double() - gm.double())
    dist = min(float((d - math.log(t / (1 - t))).abs().min()) for t in TAUS)
    checks["rule_min_distance_from_a_switching_point"] = min(dist, float(d.abs().min()))
    assert checks["rule_min_distance_from_a_switching_point"] >= 0.02
    ex.add("rule.chosen", gp, "global reward r+ of each pair", TOL["exact"])
    ex.add("rule.rejected", gm, "global reward r- of each pair", TOL["exact"])
    for b in BETAS:
        w32, w64 = scpo_weight(gp, gm, b), scpo_weight(gp.double(), gm.double(), b)
        checks["rule_weight_beta%s_f32_vs_f64_max_abs_err" % b] = float((w32.double() - w64).abs().max())
        ex.add("rule.weight.beta%s" % b, w64, "min(exp((r+ - r-)/%s), 1)" % b, TOL["value"])
    i32, i64 = inverse_weight(gp, gm), inverse_weight(gp.double(), gm.double())
    checks["rule_inverse_f32_vs_f64_max_rel_err"] = float(((i32.double() - i64) / i64).abs().max())
    ex.add("rule.inverse", i64, "max(exp(r-) / exp(r+), 1)", TOL["value"])
    for t in TAUS:
        k32, k64 = train_keep(gp, gm, t), train_keep(gp.double(), gm.double(), t)
        assert torch.equal(k32, k64), t
        ex.add("rule.keep.tau%s" % t, k64.long(), "exp(r+)/(exp(r+)+exp(r-)) < %s (1 = kept for training)" % t, TOL["exact"])
    ex.add("rule.test_filter", (gp < gm).long(), "r+ < r- (1 = in the filtered test set)", TOL["exact"])


def section_loss(ex, checks):
    g = torch.Generator().manual_seed(61)
    rw = torch.randn(7, generator=g) * 2
    rl = torch.randn(7, generator=g) * 2
    rw[5], rl[5] = 30.0, -25.0   # d = 55
    rw[6], rl[6] = -28.0, 32.0   # d = -60: -logsigmoid = 60, must not overflow
    margin = torch.tensor([0.5, 0.0, -0.25, 1.0, 2.0, 0.0, 0.3])
    gp = torch.tensor([0.3, -1.2, 2.0, -0.4, 0.1, -3.0, 0.6])
    gm = torch.tensor([0.9, 0.4, 1.0, -0.1, 1.5, 1.0, 0.2])
    for name, t in (("chosen", rw), ("rejected", rl), ("margin", margin), ("global_chosen", gp), ("global_rejected", gm)):
        ex.add("loss." + name, t, "input (float32)", TOL["exact"])
    for weighting in ("scpo", "inverse"):
        for variant, m, c in (("plain", None, None), ("margin_center", margin, 0.05)):
            outs = {}
            for dt in (torch.float32, torch.float64):
                a = rw.to(dt).clone().requires_grad_(True)
                b = rl.to(dt).clone().requires_grad_(True)
                ratio = scpo_weight(gp.to(dt), gm.to(dt), BETA) if weighting == "scpo" else inverse_weight(gp.to(dt), gm.to(dt))
                loss = weighted_loss(a, b, ratio, None if m is None else m.to(dt), c)
                loss.backward()
                outs[dt] = (loss.detach().reshape([]), a.grad, b.grad, ratio)
            checks["loss_%s_%s_f32_vs_f64_max_abs_err" % (weighting, variant)] = max(
                float((x.double() - y).abs().max()) for x, y in zip(outs[torch.float32], outs[torch.float64]))
            loss, ga, gb, ratio = outs[torch.float64]
            p = "loss.%s.%s." % (weighting, variant)
            desc = "%s weights, %s" % (weighting, "margin loss.margin, center 0.05" if m is not None else "no margin or center")
            ex.add(p + "weights", ratio, "the pair weights, " + desc, TOL["value"])
            ex.add(p + "loss", loss, "-(w * logsigmoid(r_w - r_l [- m])).mean() [+ c mean((r_w + r_l)^2)], " + desc, TOL["loss"])
            ex.add(p + "grad_chosen", ga, "d loss / d r_w, " + desc, TOL["value"])
            ex.add(p + "grad_rejected", gb, "d loss / d r_l, " + desc, TOL["value"])


def section_step(ex, checks):
    cfg, sd = load_rm()
    g = torch.Generator().manual_seed(53)

    def seq(n):
        return torch.cat([torch.randint(0, 256, (n - 1,), generator=g), torch.tensor([EOS])])

    chosen = [seq(n) for n in (8, 12, 5, 9)]
    rejected = [seq(n) for n in (10, 4, 7, 9)]
    gp = torch.tensor([0.2, -1.5, 0.7, -0.3])
    gm = torch.tensor([0.9, 0.1, 0.6, -2.0])
    c = 0.01
    ids, mask = ref.right_pad(chosen + rejected, PAD)
    res = {}
    for dt in (torch.float32, torch.float64):
        m = ref.HFModel(cfg, {k: v.float() for k, v in sd.items()}, dt, requires_grad=True)
        r = m.classify(ids, mask).squeeze(-1)  # (2B,)
        rw, rl = torch.chunk(r, 2)
        ratio = scpo_weight(gp.to(dt), gm.to(dt), BETA)
        loss = weighted_loss(rw, rl, ratio, None, c)
        loss.backward()
        res[dt] = (rw.detach(), rl.detach(), loss.detach(), {n: m.params[n].grad.detach() for n in GRAD_NAMES}, ratio)
    rw, rl, loss, grads, ratio = res[torch.float32]
    rw64, rl64, loss64, grads64, ratio64 = res[torch.float64]
    checks["step_loss_f32_vs_f64_abs_err"] = float(abs(loss.double() - loss64))
    checks["step_grads_f32_vs_f64_max_abs_err"] = max(float((grads[n].double() - grads64[n]).abs().max()) for n in GRAD_NAMES)
    ex.add("step.chosen_ids", torch.cat(chosen), "chosen sequences, flattened (split by step.chosen_lens)", TOL["exact"])
    ex.add("step.chosen_lens", torch.tensor([len(x) for x in chosen]), "lengths", TOL["exact"])
    ex.add("step.rejected_ids", torch.cat(rejected), "rejected sequences, flattened", TOL["exact"])
    ex.add("step.rejected_lens", torch.tensor([len(x) for x in rejected]), "lengths", TOL["exact"])
    ex.add("step.global_chosen", gp, "global reward r+ per pair", TOL["exact"])
    ex.add("step.global_rejected", gm, "global reward r- per pair", TOL["exact"])
    ex.add("step.center_coefficient", torch.tensor([c]), "center_rewards_coefficient", TOL["exact"])
    ex.add("step.weights", ratio64, "min(exp((r+ - r-)/1.10), 1)", TOL["value"])
    ex.add("step.rewards_chosen", rw64, "score at the last non-pad token of each chosen row", TOL["rewards"])
    ex.add("step.rewards_rejected", rl64, "score at the last non-pad token of each rejected row", TOL["rewards"])
    ex.add("step.loss", loss64.reshape([]), "-(w * logsigmoid(r_w - r_l)).mean() + 0.01 * mean((r_w + r_l)^2)", TOL["loss"])
    for n in GRAD_NAMES:
        ex.add("step.grad." + n, grads64[n], "d step.loss / d " + n, TOL["grads"])


def main():
    torch.set_num_threads(1)
    ex, checks = Expected(), {}
    section_rule(ex, checks)
    section_loss(ex, checks)
    section_step(ex, checks)
    write(OUT, ex, {"generator": "tools/golden/make_scpo_goldens.py (forward: tools/golden/hf_reference.py)",
                    "reference": "github.com/minsik-ai/Steerable-Cultural-Preference@167b840"}, checks)


if __name__ == "__main__":
    main()
