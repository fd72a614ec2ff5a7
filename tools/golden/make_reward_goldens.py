"""Goldens for align4j's reward modelling (BradleyTerryLoss, RewardTrainer's step).

    /usr/bin/python3 tools/golden/make_reward_goldens.py

Writes src/test/resources/golden/reward/expected.safetensors and expected.json.

The loss is TRL's RewardTrainer.compute_loss (trl/trainer/reward_trainer.py):
    loss = -logsigmoid(r_w - r_l [- margin]).mean() [+ c * mean((r_w + r_l)^2)]
and the metrics TRL logs: accuracy = mean(r_w > r_l), margin = mean(r_w - r_l).

Section "bt": fixed reward tensors (7 pairs, two of them with |r_w - r_l| > 40 to check that
-log sigmoid is computed stably), for four variants: plain, margin, center (c = 0.05), both.
For each: the per-pair losses, the mean loss and its gradient w.r.t. r_w and r_l.
    bt.chosen, bt.rejected, bt.margin                          [7] inputs
    bt.<variant>.per_pair, .loss, .grad_chosen, .grad_rejected
    bt.accuracy, bt.reward_margin                              TRL's metrics (scalars)

Section "step": the first step of reward training on golden/qwen3-tiny-rm (read, not written
here): 4 pairs of token sequences (random byte ids, EOS 258 last; one rejected sequence ends with
pad id 256 after its EOS, as when pad == eos, so transformers pools at the EOS before it),
chosen and rejected scored in one right-padded batch of 8 rows (chosen first, as TRL's
DataCollatorForPreference), margins [0.5, 0, -0.25, 1], center_rewards_coefficient 0.01:
    step.chosen_ids / step.chosen_lens, step.rejected_ids / step.rejected_lens (ragged, flat)
    step.margin [4], step.center_coefficient [1]
    step.rewards_chosen, step.rewards_rejected [4], step.loss, step.accuracy, step.reward_margin
    step.grad.<name> for score.weight, model.layers.0.self_attn.q_proj.weight,
        model.layers.1.mlp.down_proj.weight, model.embed_tokens.weight
Every value is also computed in float64; the max |f32 - f64| is recorded under "checks".
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402
from rm_goldens import EOS, GRAD_NAMES, PAD, ROOT, Expected, load_rm, write  # noqa: E402

OUT = os.path.join(ROOT, "reward")
TOL = {"loss": {"atol": 1e-5, "rtol": 1e-5}, "rewards": {"atol": 1e-4, "rtol": 1e-4},
       "grads": {"atol": 1e-5, "rtol": 1e-3}, "exact": "exact"}


def bt_loss(rw, rl, margin, c):
    """TRL's compute_loss; returns (mean loss, per-pair loss)."""
    d = rw - rl if margin is None else rw - rl - margin
    per = -F.logsigmoid(d)
    if c is not None:
        per = per + c * (rw + rl) ** 2  # c * mean(s^2) added to the mean == mean of the per-pair sums
    loss = -F.logsigmoid(d).mean()
    if c is not None:
        loss = loss + c * torch.mean((rw + rl) ** 2)
    return loss, per


def section_bt(ex, checks):
    g = torch.Generator().manual_seed(31)
    rw = torch.randn(7, generator=g) * 2
    rl = torch.randn(7, generator=g) * 2
    rw[5], rl[5] = 30.0, -25.0   # d = 55: loss ~ 1e-24, must not underflow to garbage
    rw[6], rl[6] = -28.0, 32.0   # d = -60: loss ~ 60, naive log(sigmoid) gives inf
    margin = torch.tensor([0.5, 0.0, -0.25, 1.0, 2.0, 0.0, 0.3])
    ex.add("bt.chosen", rw, "r_w inputs (pairs 5 and 6 have |r_w - r_l| > 40)", TOL["exact"])
    ex.add("bt.rejected", rl, "r_l inputs", TOL["exact"])
    ex.add("bt.margin", margin, "per-pair margin column", TOL["exact"])
    for name, m, c in (("plain", None, None), ("margin", margin, None), ("center", None, 0.05), ("both", margin, 0.05)):
        outs = {}
        for dt in (torch.float32, torch.float64):
            a = rw.to(dt).clone().requires_grad_(True)
            b = rl.to(dt).clone().requires_grad_(True)
            loss, per = bt_loss(a, b, None if m is None else m.to(dt), c)
            loss.backward()
            outs[dt] = (loss.detach(), per.detach(), a.grad, b.grad)
        l32, p32, ga, gb = outs[torch.float32]
        checks["bt_%s_f32_vs_f64_max_abs_err" % name] = max(float((x.double() - y).abs().max())
                                                            for x, y in zip(outs[torch.float32], outs[torch.float64]))
        desc = "margin %s, center_rewards_coefficient %s" % ("bt.margin" if m is not None else "none", c)
        ex.add("bt.%s.per_pair" % name, p32, "per-pair loss, " + desc, TOL["loss"])
        ex.add("bt.%s.loss" % name, l32.reshape([]), "mean loss (TRL's form), " + desc, TOL["loss"])
        ex.add("bt.%s.grad_chosen" % name, ga, "d loss / d r_w, " + desc, TOL["loss"])
        ex.add("bt.%s.grad_rejected" % name, gb, "d loss / d r_l, " + desc, TOL["loss"])
    ex.add("bt.accuracy", (rw > rl).float().mean().reshape([]), "TRL accuracy: mean(r_w > r_l)", TOL["loss"])
    ex.add("bt.reward_margin", (rw - rl).mean().reshape([]), "TRL margin: mean(r_w - r_l)", TOL["loss"])


def section_step(ex, checks):
    cfg, sd = load_rm()
    g = torch.Generator().manual_seed(47)

    def seq(n):
        return torch.cat([torch.randint(0, 256, (n - 1,), generator=g), torch.tensor([EOS])])

    chosen = [seq(n) for n in (9, 5, 13, 7)]
    rejected = [seq(n) for n in (6, 11, 4, 7)]
    rejected[1] = torch.cat([rejected[1], torch.tensor([PAD])])  # ends with the pad id (pad == eos case)
    margin = torch.tensor([0.5, 0.0, -0.25, 1.0])
    c = 0.01
    ids, mask = ref.right_pad(chosen + rejected, PAD)
    res = {}
    for dt in (torch.float32, torch.float64):
        m = ref.HFModel(cfg, {k: v.float() for k, v in sd.items()}, dt, requires_grad=True)
        r = m.classify(ids, mask).squeeze(-1)           # (2B,)
        rw, rl = torch.chunk(r, 2)
        loss, _ = bt_loss(rw, rl, margin.to(dt), c)
        loss.backward()
        res[dt] = (rw.detach(), rl.detach(), loss.detach(), {n: m.params[n].grad.detach() for n in GRAD_NAMES})
    rw, rl, loss, grads = res[torch.float32]
    rw64, rl64, loss64, grads64 = res[torch.float64]
    checks["step_rewards_f32_vs_f64_max_abs_err"] = max(float((rw.double() - rw64).abs().max()), float((rl.double() - rl64).abs().max()))
    checks["step_loss_f32_vs_f64_abs_err"] = float(abs(loss.double() - loss64))
    checks["step_grads_f32_vs_f64_max_abs_err"] = max(float((grads[n].double() - grads64[n]).abs().max()) for n in GRAD_NAMES)
    checks["step_reward_abs_max"] = float(torch.cat([rw, rl]).abs().max())
    ex.add("step.chosen_ids", torch.cat(chosen), "chosen sequences, flattened (split by step.chosen_lens)", TOL["exact"])
    ex.add("step.chosen_lens", torch.tensor([len(x) for x in chosen]), "lengths", TOL["exact"])
    ex.add("step.rejected_ids", torch.cat(rejected), "rejected sequences, flattened; row 1 ends with pad id 256", TOL["exact"])
    ex.add("step.rejected_lens", torch.tensor([len(x) for x in rejected]), "lengths", TOL["exact"])
    ex.add("step.margin", margin, "per-pair margin", TOL["exact"])
    ex.add("step.center_coefficient", torch.tensor([c]), "center_rewards_coefficient", TOL["exact"])
    ex.add("step.rewards_chosen", rw.float(), "score at the last non-pad token of each chosen row", TOL["rewards"])
    ex.add("step.rewards_rejected", rl.float(), "score at the last non-pad token of each rejected row", TOL["rewards"])
    ex.add("step.loss", loss.float().reshape([]), "mean BT loss with margins + 0.01 * mean((r_w + r_l)^2)", TOL["loss"])
    ex.add("step.accuracy", (rw > rl).float().mean().reshape([]), "mean(r_w > r_l)", TOL["loss"])
    ex.add("step.reward_margin", (rw - rl).mean().float().reshape([]), "mean(r_w - r_l)", TOL["loss"])
    for n in GRAD_NAMES:
        ex.add("step.grad." + n, grads[n].float(), "d step.loss / d " + n, TOL["grads"])


def main():
    torch.set_num_threads(1)
    ex, checks = Expected(), {}
    section_bt(ex, checks)
    section_step(ex, checks)
    write(OUT, ex, {"generator": "tools/golden/make_reward_goldens.py (forward: tools/golden/hf_reference.py)"}, checks)


if __name__ == "__main__":
    main()
