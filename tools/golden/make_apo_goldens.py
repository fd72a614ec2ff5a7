"""Goldens for align4j's APO reward-model objective (ApoLoss, ApoRewardTrainer's micro-batch).

    /usr/bin/python3 tools/golden/make_apo_goldens.py

Writes src/test/resources/golden/apo/expected.safetensors and expected.json.

APO (Cheng et al., arXiv 2311.08045), code github.com/Linear95/APO at 4282775 (docs/algorithms.md
§2.2, §2.3). The expected values are computed with the code's own formula, re-written here from it:
    trainer.py:103-124  reward_model_loss(logits [bs, r], scores [bs, r], coeffs [bs], loss_type):
        over all ordered pairs (i, j) of an item's responses with different scores, both not padding,
        ranking: -coeff * logsigmoid((l_j - l_i) * sign(s_j - s_i)); diff: -coeff * (l_j - l_i) * sign(s_j - s_i);
        summed over the batch and divided by the number of such pairs in the WHOLE batch
    trainer.py:166-169  compute_loss, task_type apo:
        rm_kl_coeff * reward_model_loss(coeffs = 1 - apo_data_mask, "ranking")
        + apo_loss_coeff / apo_sample_num * reward_model_loss(coeffs = apo_data_mask, apo_loss_type)
    items: {text: [q<sep>chosen_or_gold, q<sep>rejected_or_sample], scores: [1, 0]} (tools/apo_data_converter.py:32-35
    for APO items, type "apo" -> apo_data_mask 1 (reward_datasets.py:53-57); a human pair the same with type hh)
    README "APO RM Training": micro-batch 1, gradient accumulation 8, 8 GPUs; transformers' Trainer divides each
    micro-batch loss by the accumulation steps and DDP averages the ranks, so a window's loss is the mean of its
    micro-batch losses.
So the window loss is ONE mean over all items, each weighted rm_kl_coeff (human) or apo_loss_coeff / apo_sample_num
(APO). align4j's micro-batch returns its share of that mean: the code's loss of the micro-batch times its item count
over the window's item count (its weighted sum over the window's items), so any split adds up to the same total.

Section "loss": fixed reward tensors, H = 5 human pairs and A = 7 APO pairs (two APO pairs with
|r_gold - r_sample| > 40, to check that -logsigmoid is computed stably):
    loss.human_chosen, loss.human_rejected [5], loss.gold, loss.sample [7]          inputs
    loss.<case>.loss, .grad_human_chosen, .grad_human_rejected, .grad_gold, .grad_sample
        the window of the 12 items (interleaved) run as the README recipe runs it: 12 micro-batches of one item,
        their code losses averaged; cases (see expected.json "cases"):
        ranking_default, diff_default (1.0, 0.1, 4), ranking_custom, diff_custom (0.5, 0.3, 2),
        ranking_human_only (the window has only the 5 human items, A inputs unused)
    loss.<type>_split.mb<k> [1]  the shares of 3 micro-batches of the same window (default config):
        mb0 = human 0..1 + APO 0..2, mb1 = human 2..4 only, mb2 = APO 3..6 only;
        share = code loss of the micro-batch * its items / 12; they add up to loss.<type>_default.loss
Self-checks (under "checks"): the same window as ONE micro-batch of 12 items gives the same total (the code's
normaliser counts every item), and the split shares add up to it.
Every value is evaluated in float64 from the float32 inputs with autograd and stored as float32.

Section "step": one micro-batch of 3 human pairs and 4 APO pairs (2 queries x 2 samples, the gold
sequence shared) on golden/qwen3-tiny-rm (read, not written here), token ids random bytes with EOS
258 last, all 14 sequences scored in one right-padded batch (pad 256), reward at the last non-pad
token; config rm_kl_coeff 0.7, apo_loss_coeff 0.5, apo_sample_num 2, window = the micro-batch, loss = the code's
compute_loss of the 7 items:
    step.human_chosen_ids / _lens, step.human_rejected_ids / _lens, step.gold_ids / _lens,
        step.sample_ids / _lens (ragged, flat; APO pair j = (gold j, sample j))
    step.rewards_human_chosen, step.rewards_human_rejected [3], step.rewards_gold, step.rewards_sample [4]
    step.<type>.loss, step.<type>.grad.<name> for type ranking and diff and name in score.weight,
        model.layers.0.self_attn.q_proj.weight, model.layers.1.mlp.down_proj.weight, model.embed_tokens.weight
The model runs in float32 and in float64; max |f32 - f64| is recorded under "checks".
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402
from rm_goldens import EOS, GRAD_NAMES, PAD, ROOT, Expected, load_rm, write  # noqa: E402

OUT = os.path.join(ROOT, "apo")
TOL = {"loss": {"atol": 1e-6, "rtol": 1e-5}, "grads": {"atol": 1e-7, "rtol": 1e-5},
       "rewards": {"atol": 1e-4, "rtol": 1e-4}, "step_loss": {"atol": 1e-5, "rtol": 1e-4},
       "step_grads": {"atol": 1e-5, "rtol": 1e-3}, "exact": "exact"}
DEFAULT = (1.0, 0.1, 4)
CUSTOM = (0.5, 0.3, 2)


def code_pair_loss(logits, scores, coeffs, loss_type):
    """trainer.py:103-124 reward_model_loss: logits, scores [bs, r], coeffs [bs]; one mean over the batch's pairs."""
    diff = logits.unsqueeze(1) - logits.unsqueeze(2)                       # [bs, r, r]: l_j - l_i at [i, j]
    larger = (scores.unsqueeze(1) > scores.unsqueeze(2)).to(logits.dtype)
    smaller = (scores.unsqueeze(1) < scores.unsqueeze(2)).to(logits.dtype)
    sign = larger - smaller
    real = (scores >= 0).unsqueeze(1).to(logits.dtype) * (scores >= 0).unsqueeze(2).to(logits.dtype)
    counted = (larger + smaller) * real                                   # ordered pairs with different scores
    z = diff * sign * real                                                # r_better - r_worse on counted pairs
    per = z if loss_type == "diff" else F.logsigmoid(z)
    per = per * coeffs.unsqueeze(-1).unsqueeze(-1)
    total, pairs = -(per * counted).sum(), counted.sum()
    return total / pairs if pairs > 0 else total


def code_compute_loss(better, worse, apo_mask, cfg, kind):
    """trainer.py:166-169 for a micro-batch of 2-response items: better = r(chosen or gold), worse = r(rejected or sample)."""
    rm_kl, apo_coeff, num = cfg
    logits = torch.stack([better, worse], dim=1)                          # [bs, 2]
    scores = torch.tensor([[1.0, 0.0]] * better.shape[0], dtype=logits.dtype)
    mask = apo_mask.to(logits.dtype)
    return (rm_kl * code_pair_loss(logits, scores, 1.0 - mask, "ranking")
            + apo_coeff / num * code_pair_loss(logits, scores, mask, kind))


def items_of(hc, hr, g, s):
    """The window's items as (better, worse, apo_mask) in an interleaved order (the code shuffles D_P and D_APO together)."""
    better = torch.cat([hc, g])
    worse = torch.cat([hr, s])
    apo = torch.cat([torch.zeros(hc.shape[0]), torch.ones(g.shape[0])])
    order = torch.randperm(better.shape[0], generator=torch.Generator().manual_seed(7))
    return better[order], worse[order], apo[order]


def recipe_window(hc, hr, g, s, cfg, kind):
    """The README recipe: micro-batches of one item, transformers' Trainer averages their losses over the window."""
    b, w, m = items_of(hc, hr, g, s)
    n = b.shape[0]
    return sum(code_compute_loss(b[i:i + 1], w[i:i + 1], m[i:i + 1], cfg, kind) for i in range(n)) / n


def section_loss(ex, checks, cases):
    g = torch.Generator().manual_seed(2311)
    hc = torch.randn(5, generator=g) * 1.5
    hr = torch.randn(5, generator=g) * 1.5
    gold = torch.randn(7, generator=g) * 2
    sample = torch.randn(7, generator=g) * 2
    gold[5], sample[5] = 31.0, -24.0   # d = 55: -logsigmoid ~ 1e-24
    gold[6], sample[6] = -27.0, 30.0   # d = -57: naive log(sigmoid) gives -inf
    for n, t, d in (("human_chosen", hc, "r_chosen of the human pairs"), ("human_rejected", hr, "r_rejected"),
                    ("gold", gold, "r_gold of the APO pairs (pairs 5, 6: |r_gold - r_sample| > 40)"), ("sample", sample, "r_sample")):
        ex.add("loss." + n, t, d, TOL["exact"])
    specs = [("ranking_default", "ranking", DEFAULT, False), ("diff_default", "diff", DEFAULT, False),
             ("ranking_custom", "ranking", CUSTOM, False), ("diff_custom", "diff", CUSTOM, False),
             ("ranking_human_only", "ranking", DEFAULT, True)]
    for name, kind, cfg, human_only in specs:
        leaves = [x.double().clone().requires_grad_(True) for x in (hc, hr, gold, sample)]
        a = 0 if human_only else 7
        loss = recipe_window(leaves[0], leaves[1], leaves[2][:a], leaves[3][:a], cfg, kind)
        # the same window as one micro-batch of all its items: the code's normaliser counts every item
        with torch.no_grad():
            b, w, m = items_of(leaves[0], leaves[1], leaves[2][:a], leaves[3][:a])
            checks["loss_%s_recipe_vs_one_micro_batch_abs_err" % name] = float(abs(loss - code_compute_loss(b, w, m, cfg, kind)))
        loss.backward()
        p = "loss.%s." % name
        desc = "apo_loss_type %s, rm_kl_coeff %s, apo_loss_coeff %s, apo_sample_num %s, window %d human + %d APO items" % (
            kind, cfg[0], cfg[1], cfg[2], 5, a)
        ex.add(p + "loss", loss.reshape([]), "total, " + desc, TOL["loss"])
        for n, leaf in zip(("human_chosen", "human_rejected", "gold", "sample"), leaves):
            grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
            ex.add(p + "grad_" + n, grad, "d total / d r_" + n + ", " + desc, TOL["grads"])
        cases[name] = {"apo_loss_type": kind, "rm_kl_coeff": cfg[0], "apo_loss_coeff": cfg[1], "apo_sample_num": cfg[2],
                       "window_human_pairs": 5, "window_apo_pairs": a, "human_only": human_only}
    # a window split into 3 micro-batches, one without APO pairs and one without human pairs
    parts = [((0, 2), (0, 3)), ((2, 5), (3, 3)), ((5, 5), (3, 7))]
    for kind in ("ranking", "diff"):
        total = 0.0
        for k, ((h0, h1), (a0, a1)) in enumerate(parts):
            x = [t.double() for t in (hc[h0:h1], hr[h0:h1], gold[a0:a1], sample[a0:a1])]
            b, w, m = items_of(*x)
            mb = code_compute_loss(b, w, m, DEFAULT, kind) * b.shape[0] / 12
            total += float(mb)
            ex.add("loss.%s_split.mb%d" % (kind, k), mb.reshape([1]),
                   "share of micro-batch %d (human %d..%d, APO %d..%d) in a window of 12 items, default config, %s" % (k, h0, h1 - 1, a0, a1 - 1, kind), TOL["loss"])
        ref_total = float(ex.tensors["loss.%s_default.loss" % kind])
        checks["loss_%s_split_sum_vs_total_abs_err" % kind] = abs(total - ref_total)
        cases["%s_split" % kind] = {"apo_loss_type": kind, "micro_batches": [[h0, h1, a0, a1] for (h0, h1), (a0, a1) in parts],
                                    "window_pairs": 12, "config": "default"}


def section_step(ex, checks, cases):
    cfg, sd = load_rm()
    g = torch.Generator().manual_seed(2024)

    def rand(n):
        return torch.randint(0, 256, (n,), generator=g)

    def seq(prompt, n):
        return torch.cat([prompt, rand(n), torch.tensor([EOS])])

    human_chosen, human_rejected = [], []
    for plen, cl, rl in ((4, 5, 3), (6, 2, 7), (3, 8, 4)):
        p = rand(plen)
        human_chosen.append(seq(p, cl))
        human_rejected.append(seq(p, rl))
    gold, sample = [], []
    for plen, gl, sl in ((5, 6, (3, 9)), (2, 4, (5, 1))):
        p = rand(plen)
        gs = seq(p, gl)
        for n in sl:
            gold.append(gs)
            sample.append(seq(p, n))
    rows = human_chosen + gold + human_rejected + sample   # chosen side first, as the Java micro-batch lays it out
    ids, mask = ref.right_pad(rows, PAD)
    H, A = len(human_chosen), len(gold)
    conf = (0.7, 0.5, 2)
    res = {}
    for kind in ("ranking", "diff"):
        for dt in (torch.float32, torch.float64):
            m = ref.HFModel(cfg, {k: v.float() for k, v in sd.items()}, dt, requires_grad=True)
            r = m.classify(ids, mask).squeeze(-1)
            hc, gr = r[:H], r[H:H + A]
            hr, sr = r[H + A:2 * H + A], r[2 * H + A:]
            better, worse = torch.cat([hc, gr]), torch.cat([hr, sr])
            apo = torch.cat([torch.zeros(H), torch.ones(A)])
            loss = code_compute_loss(better, worse, apo, conf, kind)
            loss.backward()
            res[(kind, dt)] = (r.detach(), loss.detach(), {n: m.params[n].grad.detach() for n in GRAD_NAMES})
    r32 = res[("ranking", torch.float32)][0]
    r64 = res[("ranking", torch.float64)][0]
    checks["step_rewards_f32_vs_f64_max_abs_err"] = float((r32.double() - r64).abs().max())
    checks["step_reward_abs_max"] = float(r32.abs().max())
    for name, lst in (("human_chosen", human_chosen), ("human_rejected", human_rejected), ("gold", gold), ("sample", sample)):
        ex.add("step.%s_ids" % name, torch.cat(lst), name + " sequences, flattened (split by step.%s_lens)" % name, TOL["exact"])
        ex.add("step.%s_lens" % name, torch.tensor([len(x) for x in lst]), "lengths", TOL["exact"])
    ex.add("step.rewards_human_chosen", r32[:H], "score at the last non-pad token", TOL["rewards"])
    ex.add("step.rewards_gold", r32[H:H + A], "score at the last non-pad token", TOL["rewards"])
    ex.add("step.rewards_human_rejected", r32[H + A:2 * H + A], "score at the last non-pad token", TOL["rewards"])
    ex.add("step.rewards_sample", r32[2 * H + A:], "score at the last non-pad token", TOL["rewards"])
    for kind in ("ranking", "diff"):
        _, loss, grads = res[(kind, torch.float32)]
        _, loss64, grads64 = res[(kind, torch.float64)]
        checks["step_%s_loss_f32_vs_f64_abs_err" % kind] = float(abs(loss.double() - loss64))
        checks["step_%s_grads_f32_vs_f64_max_abs_err" % kind] = max(float((grads[n].double() - grads64[n]).abs().max()) for n in GRAD_NAMES)
        desc = "(0.7 * sum BT(human) + 0.5 / 2 * sum %s(gold, sample)) / 7 items (trainer.py compute_loss)" % kind
        ex.add("step.%s.loss" % kind, loss.reshape([]), desc, TOL["step_loss"])
        for n in GRAD_NAMES:
            ex.add("step.%s.grad.%s" % (kind, n), grads[n], "d step.%s.loss / d %s" % (kind, n), TOL["step_grads"])
    cases["step"] = {"rm_kl_coeff": conf[0], "apo_loss_coeff": conf[1], "apo_sample_num": conf[2], "human_pairs": H, "apo_pairs": A}


def main():
    torch.set_num_threads(1)
    ex, checks, cases = Expected(), {}, {}
    section_loss(ex, checks, cases)
    section_step(ex, checks, cases)
    write(OUT, ex, {"generator": "tools/golden/make_apo_goldens.py (forward: tools/golden/hf_reference.py)", "cases": cases}, checks)


if __name__ == "__main__":
    main()
