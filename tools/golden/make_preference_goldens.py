"""Goldens for the FIRST TRAINING STEP of the preference trainers (DPO family, CPO/SimPO/AlphaPO,
ORPO, KTO): loss, TRL's logged metrics and parameter gradients, on the tiny llama checkpoint.

    /usr/bin/python3 tools/golden/make_preference_goldens.py     # ~6 s, deterministic for a torch build

Writes src/test/resources/golden/preference/
  ref/config.json, ref/model.safetensors   the reference model: llama-tiny's weights plus
                                           N(0, 0.02^2) noise (torch.Generator seed REF_SEED, every
                                           tensor, in sorted-name order), stored F32
  expected.json                            data (token ids), per-sequence intermediates, and per case:
                                           its config (TRL key names), loss, metrics, gradient norms,
                                           tolerances and f32-vs-f64 checks
  expected.safetensors                     F32 gradient rows `<case>.grad.<param>`, shape
                                           [len(grad_rows[param]), cols]: rows grad_rows[param]
                                           (listed in expected.json) of d loss / d param
The policy is src/test/resources/golden/llama-tiny (F32, vocab 320, pad 256, eos 258).

Why row subsets of the gradients: three full gradients are 205 KB per case and there are 38 cases;
the golden is kept under 1 MB.  The rows kept cover every kind of row (for lm_head.weight:
label tokens, tokens that only appear in prompts, never-seen tokens, pad/eos; for
embed_tokens.weight: prompt and completion tokens, the final eos whose gradient is exactly 0 because
the logits at the last position are not used, the pad id (exactly 0: padding must not leak) and
unused ids (exactly 0)), and the Frobenius norm and sum of each FULL gradient are in expected.json
("grad_norms", "grad_sums") so that an error outside the kept rows still shows.

Numerics.  Every case is computed twice from the same weights: with both models and all loss math
in float64 (the stored golden values) and in float32 (what a float32 implementation does).  The
max |f32 - f64| per case is recorded under "checks"; the tolerances are 20x that with a floor
(see TOL_* below), in numpy allclose form |java - golden| <= atol + rtol * |golden|.  Discontinuous
quantities (rewards/accuracies, mean_token_accuracy, sort order in aot, the hinge kink, the KTO
clamp) are checked to be far from their switching points ("checks" -> "*_min_gap").

Conventions (align4j's, and TRL's):
  * completion log-prob = SUM over completion tokens of log p(token | prefix), the completion
    following the prompt; logits at position t predict token t+1 (labels shifted by one).
  * one right-padded batch, chosen rows first then rejected rows; attention mask 1 on real
    tokens; position ids = cumsum(mask) - 1 (arange for right padding).  Padding does not change
    anything: the self-check compares batched logps with each sequence run alone.
  * lengths = number of completion tokens (eos included).

Formulas (docs/algorithms.md §6-§9, metric names docs/algorithms.md §12.3), and where TRL's code
was read to settle them (huggingface/trl, files named below):
  DPO (trl/trainer/dpo_trainer.py::_compute_loss, v1.x main):
    l_w = logp(y_w) - ref_logp(y_w), l_l likewise (token sums).  scores s = f(l):
    reverse_kl s = l; js_divergence s = logsigmoid(l); alpha_divergence (coef a) s = exp((a-1) l)/(a-1)
    (TRL clamps (a-1) l at 80 before exp; irrelevant here).  delta = s_w - s_l.
    loss = sum_k loss_weights[k] * mean_over_pairs(loss_k).  Per pair:
      sigmoid -logsig(b d); hinge relu(1 - b d); ipo (s_w/len_w - s_l/len_l - 1/(2b))^2;
      exo_pair sig(b d)(logsig(b d) - log1p(-e)) + sig(-b d)(logsig(-b d) - log e);
      nca_pair -logsig(b s_w) - 0.5 logsig(-b s_w) - 0.5 logsig(-b s_l);
      robust (-(1-e) logsig(b d) + e logsig(-b d)) / (1 - 2e)   [TRL v1.x writes it as
        (clean - flipped)/(1-2e) with clean = -(1-e)logsig(b d), flipped = -e logsig(-b d): the same];
      bco_pair -logsig(b s_w) - logsig(-b s_l)  (v1.x: no running-mean shift);
      sppo_hard (s_w - 0.5/b)^2 + (s_l + 0.5/b)^2;
      aot: d = sort(logp_w - logp_l) - sort(ref_logp_w - ref_logp_l) over the batch (ascending,
        raw log-probs, not scores), -(1-e) logsig(b d) - e logsig(-b d);
      aot_unpaired: d = sort(l_w) - sort(l_l), same smoothed sigmoid;
      apo_zero (1 - sig(b l_w)) + sig(b l_l);  apo_down sig(b l_w) + (1 - sig(b d))  (l, not s, in
        the single terms; d = s_w - s_l in the second apo_down term: TRL's code);
      discopop z = b d, m = sig(z / tau): (1-m)(-logsig z) + m exp(-z);
      sft: token-mean NLL over ALL chosen completion tokens of the batch (F.cross_entropy on the
        masked chosen positions), the same value for every pair;
      sigmoid_norm -logsig(b (s_w/len_w - s_l/len_l)).
    WPO (use_weighting): each loss_k's per-pair loss is multiplied by w_w * w_l, computed without
      gradient: w = exp(mean over completion tokens of [logp_t - (logsumexp(2 z) - 2 logsumexp(z))]),
      z = the logits at that position; v1.x does not clamp the product.  "sft" is weighted too
      (dpo_trainer.py:1565-1576 multiplies every loss type's per-sequence tensor): its per-sequence tensor
      is the batch NLL expanded over the pairs, so the weighted term is NLL * mean(w_w * w_l).  (TRL
      multiplies in place, `per_sequence_loss *= ...`, which PyTorch refuses on an expanded tensor when the
      batch has more than one pair; the golden multiplies out of place, the value TRL's code means and
      the value v0.28 gave the RPO NLL, dpo_trainer.py@v0.28.0:1814-1818.)  TRL refuses use_weighting with
      aot / aot_unpaired (:769-773), so no such case.
    LD-DPO (ld_alpha a, TRL v1.x dpo_trainer.py:1349-1361 policy, :1386-1393 reference, :1204-1216
      precomputed reference): the policy's AND the reference's summed log-probs become
      shared + a * tail, split at the pair's shared completion length min(len_w, len_l) with positions
      counted within the completion (comp_pos = cumsum of the completion mask); the token-averaged types
      (ipo, sigmoid_norm) still divide by the plain lengths, WPO and sft use the plain token log-probs;
      logps/* and rewards/* are the desensitised values.
    Legacy (TRL v0.28, case "semantics": "trl-v0.28"):
      cDPO = sigmoid with label_smoothing e: -(1-e) logsig(b d) - e logsig(-b d)  (v1.x's sigmoid
        ignores label_smoothing);
      reference_free: the reference log-probs are 0 everywhere, including in the rewards/* metrics
        (align4j's convention from the brief; TRL v0.28 zeroed them only inside the loss and still
        logged rewards with the reference model's log-probs).
    RPO (legacy rpo_alpha a) == loss_type [sigmoid, sft], loss_weights [1, a].
    Metrics (TRL names): rewards/chosen, rewards/rejected = mean of b*l (reverse-KL log-ratios,
    whatever f_divergence_type), rewards/margins = mean(b l_w - b l_l), rewards/accuracies =
    mean(b l_w > b l_l) strict, logps/chosen, logps/rejected = mean of the summed policy log-probs,
    logits/chosen, logits/rejected = (sum over completion tokens of the vocab-mean logit) / tokens,
    entropy = token mean over chosen AND rejected completion tokens of the next-token entropy,
    mean_token_accuracy = fraction of chosen completion tokens whose argmax logit is the label.
  CPO (trl/experimental/cpo/cpo_trainer.py::cpo_loss, get_batch_loss_metrics; cpo_config.py):
    lp = token SUM for sigmoid/hinge, token AVERAGE for ipo/simpo (get_batch_logps
    average_log_prob = loss_type in [ipo, simpo]); loss_type "alphapo" is rewritten by
    CPOConfig.__post_init__ to simpo with cpo_alpha 0, so it averages too.
    alpha != 0: u = (1 - exp(lp)^(-alpha)) / alpha, z = u_w - u_l, rewards = b*u; else z = lp_w - lp_l,
    rewards = b*lp.  simpo: z -= simpo_gamma / b, then -(1-e)logsig(b z) - e logsig(-b z); sigmoid the
    same without gamma; hinge relu(1 - b z); ipo (z - 1/(2b))^2.
    loss = mean(pref) + cpo_alpha * nll, nll = F.cross_entropy over the chosen COMPLETION tokens
    (prompt labels are -100 in CPO), token mean over the batch.  When cpo_alpha == 0 TRL does not
    compute the NLL and logs nll_loss = 0.0; the golden follows TRL.
    Metrics: rewards/chosen, rewards/rejected, rewards/accuracies (strict >), rewards/margins,
    logps/chosen, logps/rejected (sums or averages as the loss uses), nll_loss.
  ORPO (trl/experimental/orpo/orpo_trainer.py::odds_ratio_loss, concatenated_forward):
    lp = AVERAGE completion log-prob; log_odds = (lp_w - lp_l) - (log1mexp(lp_w) - log1mexp(lp_l));
    loss = nll - b * mean(logsig(log_odds)).  TRL's nll ("orpo chosen nll loss is computed over the
    full prompt and response") is F.cross_entropy over every real token of the chosen rows after the
    first (labels = input_ids where attention_mask == 1): case "orpo", config nll_tokens
    "prompt_and_completion".  Case "orpo_completion_nll" (nll_tokens "completion") takes the NLL over
    chosen completion tokens only, like CPO, for an implementation that follows the paper's
    completion-only SFT term.
    Metrics: rewards/chosen = b*mean(lp_w), rewards/rejected, rewards/accuracies, rewards/margins,
    logps/chosen, logps/rejected (averages), nll_loss, log_odds_ratio = mean(logsig(log_odds)),
    log_odds_chosen = mean(log_odds).
  KTO (trl/experimental/kto/kto_trainer.py and trl/trainer/kto_trainer.py: _get_kl_dataset, kto_loss,
    get_batch_loss_metrics, log):
    r = logp(y|x) - ref_logp(y|x) (sums).  KL rows: _get_kl_dataset sets
    answer_input_ids = [answers[-1]] + answers[:-1], i.e. KL row i = prompt i + completion of
    example (i - 1) mod n ("kl_completion_source" in the data).  (In TRL the shift runs over
    dataset.map chunks of 1000 rows and the batch is a sequential slice; within one batch of n
    examples that is the mod-n rotation used here.)  The KL rows are run under no_grad.
    kl = clamp_min(mean(kl_policy - kl_ref), 0), detached (0 for apo_zero_unpaired, which has
    calculate_KL False).  kto: desirable 1 - sig(b (r - kl)), undesirable 1 - sig(b (kl - r));
    apo_zero_unpaired: desirable 1 - sig(b r), undesirable sig(b r).  losses =
    cat(desirable_weight * desirable, undesirable_weight * undesirable); loss = nanmean(losses)
    (mean over all examples).
    Metrics: per step TRL stores kl, rewards/chosen_sum, logps/chosen_sum, count/chosen,
    rewards/rejected_sum, logps/rejected_sum, count/rejected (b*r and logp summed over examples);
    its log() turns them into rewards/chosen = rewards/chosen_sum / count/chosen, logps/chosen,
    (same for rejected) and rewards/margins = rewards/chosen - rewards/rejected.  Both are stored.
    TRL v1.x's trl/trainer/kto_trainer.py (:1595-1631) also logs entropy = token mean of the next-token
    entropy over the completion tokens of every (non-KL) row, and logits/chosen, logits/rejected = the
    vocab-mean logit averaged over the completion tokens of the desirable, resp. undesirable, rows.
  Metrics left out on purpose: logits/* of CPO and ORPO.  TRL computes them as the mean of ALL
    logits of the chosen rows, prompt and padding positions included, so they depend on the padded
    length; align4j's trainers cannot match them meaningfully.
"""

import json
import math
import os
import shutil
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as R  # noqa: E402
from make_ld_goldens import trl_ld_logps  # noqa: E402
import safetensors_io as st  # noqa: E402

GOLDEN = os.path.normpath(os.path.join(HERE, "..", "..", "src", "test", "resources", "golden"))
POLICY_DIR = os.path.join(GOLDEN, "llama-tiny")
OUT = os.path.join(GOLDEN, "preference")
PAD, EOS = 256, 258
REF_SEED, REF_STD = 102, 0.02

# Four preference pairs (prompt, chosen, rejected), fixed here.  Pairs 0-2 were drawn once from
# torch.Generator seed 11 with (prompt, chosen, rejected) lengths (3,5,2), (7,2,9), (5,9,4); in pairs 0
# and 2 some chosen tokens are the policy's greedy choice (when that is < 256) so that
# mean_token_accuracy is not 0 (4 of the 22 chosen tokens).  Pair 3's completions (lengths 6 and 3) are
# draw 40 of a search over seeds for completions whose policy margin logp_w - logp_l sorts differently
# from the reference margin (policy -25.20 < -23.88 of pair 2, reference -25.83 < -24.66), so that
# loss_type "aot" (which sorts the margins) differs from "sigmoid"; without that they are equal.
# Every completion ends with eos 258; all other ids are in [0, 256).
PAIRS = [
    ([153, 191, 80], [91, 27, 86, 81, 258], [183, 258]),
    ([13, 76, 161, 71, 82, 24, 109], [92, 258], [176, 253, 160, 45, 236, 125, 132, 34, 258]),
    ([140, 129, 74, 37, 245], [231, 79, 221, 212, 81, 91, 152, 248, 258], [145, 67, 70, 258]),
    ([171, 114, 242, 192], [70, 219, 7, 165, 248, 258], [184, 50, 258]),
]
# KTO: four unpaired examples built from the pairs, 3 desirable and 1 undesirable, not grouped by
# kind.  Not 2 + 2: with balanced labels and small rewards the KL baseline z0 cancels to first order
# (d loss / d z0 = b/n * [sum_des sig'(b(r - z0)) - sum_und sig'(b(r - z0))] ~ 0), so an
# implementation that ignores z0 would match "kto" within tolerance.
KTO_EXAMPLES = [
    (PAIRS[0][0], PAIRS[0][1], True),
    (PAIRS[1][0], PAIRS[1][2], False),
    (PAIRS[2][0], PAIRS[2][1], True),
    (PAIRS[3][0], PAIRS[3][1], True),
]
KL_SOURCE = [(i - 1) % len(KTO_EXAMPLES) for i in range(len(KTO_EXAMPLES))]  # TRL's +1 rotation

GRAD_PARAMS = ["lm_head.weight", "model.layers.1.mlp.down_proj.weight", "model.embed_tokens.weight"]
GRAD_ROWS = {
    # labels (27, 79, 91, 92, 145, 176, 258), prompt-only ids (13, 153, 171), unseen (0, 200),
    # pad 256, im_start 257, out-of-byte-range ids (300, 319)
    "lm_head.weight": [0, 13, 27, 79, 91, 92, 145, 153, 171, 176, 200, 256, 257, 258, 300, 319],
    "model.layers.1.mlp.down_proj.weight": [0, 5, 17, 31, 32, 46, 58, 63],
    # prompt ids (13, 109, 153, 171, 192), completion ids (27, 79, 91, 145, 248), eos 258 (only ever at
    # the last position: gradient 0), pad 256 (gradient 0), unused (0, 200, 257, 319: gradient 0)
    "model.embed_tokens.weight": [0, 13, 27, 79, 91, 109, 145, 153, 171, 192, 200, 248, 256, 257, 258, 319],
}

# tolerance = max(floor, 20 * |f32 - f64|)  (atol), plus rtol
TOL_FACTOR = 20.0
TOL_SCALAR_FLOOR, TOL_SCALAR_RTOL = 2e-6, 1e-5
TOL_GRAD_FLOOR, TOL_GRAD_RTOL = 1e-6, 1e-4


# ----------------------------------------------------------------------------- forward helpers

class Stats:
    """Per-token quantities of one right-padded batch (T' = T - 1 shifted positions).

    logits (B, T', V) at positions that predict the next token; labels (B, T'); comp (B, T') 1 where the
    label is a completion token; real (B, T') 1 where the label is any real token; tok_logp (B, T')
    log p(label), 0 where comp == 0."""

    def __init__(self, model, rows, prompt_lens):
        ids, mask = R.right_pad([torch.tensor(r) for r in rows], PAD)
        comp = torch.zeros_like(mask)
        for i, (r, p) in enumerate(zip(rows, prompt_lens)):
            comp[i, p:len(r)] = 1
        logits = model.logits(ids, mask)
        self.logits = logits[:, :-1, :]
        self.labels = ids[:, 1:]
        self.comp = comp[:, 1:].to(logits.dtype)
        self.real = mask[:, 1:].to(logits.dtype)
        logp = F.log_softmax(self.logits, dim=-1)
        all_tok = logp.gather(-1, self.labels.unsqueeze(-1)).squeeze(-1)
        self.full_tok_logp = all_tok * self.real
        self.tok_logp = all_tok * self.comp
        self.logps = self.tok_logp.sum(1)          # (B,) summed completion log-probs
        self.lens = self.comp.sum(1)                # (B,) completion lengths

    def nll(self, rows, tokens):
        """token-mean NLL over the given rows: tokens "completion" (completion labels) or "all" (every
        real label, prompt included; the first token of a row is never a label)"""
        if tokens == "completion":
            lp, w = self.tok_logp[rows], self.comp[rows]
        elif tokens == "all":
            lp, w = self.full_tok_logp[rows], self.real[rows]
        else:
            raise ValueError(tokens)
        return -lp.sum() / w.sum()


def pair_rows():
    prompts = [p for p, _, _ in PAIRS]
    rows = [p + c for p, c, _ in PAIRS] + [p + r for p, _, r in PAIRS]
    return rows, [len(p) for p in prompts] * 2


def kto_rows():
    rows = [p + c for p, c, _ in KTO_EXAMPLES]
    kl_rows = [KTO_EXAMPLES[i][0] + KTO_EXAMPLES[KL_SOURCE[i]][1] for i in range(len(KTO_EXAMPLES))]
    plens = [len(p) for p, _, _ in KTO_EXAMPLES]
    return rows, kl_rows, plens


def entropy_per_token(logits):
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def token_weighted_mean(values, mask):
    return (values * mask).sum() / mask.sum()


# ----------------------------------------------------------------------------- losses

def dpo_case(cfg, pol_model, ref_model):
    rows, plens = pair_rows()
    n = len(PAIRS)
    pol = Stats(pol_model, rows, plens)
    with torch.no_grad():
        ref = Stats(ref_model, rows, plens)
    beta = cfg["beta"]
    eps = cfg.get("label_smoothing", 0.0)
    legacy = cfg.get("semantics") == "trl-v0.28"
    ld_alpha = cfg.get("ld_alpha")
    if ld_alpha is None:
        pol_logps, ref_logps = pol.logps, ref.logps
    else:  # LD-DPO: both sides desensitised with the same split (TRL v1.x)
        pol_logps = trl_ld_logps(pol.tok_logp, pol.comp, ld_alpha)
        ref_logps = trl_ld_logps(ref.tok_logp, ref.comp, ld_alpha)
    cl, rl = pol_logps[:n], pol_logps[n:]
    if cfg.get("reference_free", False):
        rcl, rrl = torch.zeros_like(cl), torch.zeros_like(rl)
    else:
        rcl, rrl = ref_logps[:n], ref_logps[n:]
    lw, ll = cl - rcl, rl - rrl
    fdiv = cfg.get("f_divergence_type", "reverse_kl")
    if fdiv == "reverse_kl":
        sw, sl = lw, ll
    elif fdiv == "js_divergence":
        sw, sl = F.logsigmoid(lw), F.logsigmoid(ll)
    elif fdiv == "alpha_divergence":
        a = cfg["f_alpha_divergence_coef"]
        sw, sl = torch.exp((a - 1) * lw) / (a - 1), torch.exp((a - 1) * ll) / (a - 1)
    else:
        raise ValueError(fdiv)
    d = sw - sl
    len_w, len_l = pol.lens[:n], pol.lens[n:]
    weights = cfg.get("loss_weights") or [1.0] * len(cfg["loss_type"])
    wpo = None
    if cfg.get("use_weighting", False):
        with torch.no_grad():
            z = pol.logits
            log_denom = torch.logsumexp(2.0 * z, -1) - 2.0 * torch.logsumexp(z, -1)
            aligned = (pol.tok_logp - log_denom) * pol.comp
            w = torch.exp(aligned.sum(1) / pol.lens)
            wpo = w[:n] * w[n:]
    loss = 0.0
    for lt, lwgt in zip(cfg["loss_type"], weights):
        if lt == "sigmoid":
            if legacy and eps:
                per = -(1 - eps) * F.logsigmoid(beta * d) - eps * F.logsigmoid(-beta * d)
            else:
                per = -F.logsigmoid(beta * d)
        elif lt == "hinge":
            per = torch.relu(1 - beta * d)
        elif lt == "ipo":
            per = (sw / len_w - sl / len_l - 1 / (2 * beta)) ** 2
        elif lt == "exo_pair":
            per = (torch.sigmoid(beta * d) * (F.logsigmoid(beta * d) - math.log1p(-eps))
                   + torch.sigmoid(-beta * d) * (F.logsigmoid(-beta * d) - math.log(eps)))
        elif lt == "nca_pair":
            per = -F.logsigmoid(beta * sw) - 0.5 * F.logsigmoid(-beta * sw) - 0.5 * F.logsigmoid(-beta * sl)
        elif lt == "robust":
            per = (-(1 - eps) * F.logsigmoid(beta * d) + eps * F.logsigmoid(-beta * d)) / (1 - 2 * eps)
        elif lt == "bco_pair":
            per = -F.logsigmoid(beta * sw) - F.logsigmoid(-beta * sl)
        elif lt == "sppo_hard":
            per = (sw - 0.5 / beta) ** 2 + (sl + 0.5 / beta) ** 2
        elif lt == "aot":
            dd = torch.sort(cl - rl).values - torch.sort(rcl - rrl).values
            per = -(1 - eps) * F.logsigmoid(beta * dd) - eps * F.logsigmoid(-beta * dd)
        elif lt == "aot_unpaired":
            dd = torch.sort(lw).values - torch.sort(ll).values
            per = -(1 - eps) * F.logsigmoid(beta * dd) - eps * F.logsigmoid(-beta * dd)
        elif lt == "apo_zero":
            per = (1 - torch.sigmoid(beta * lw)) + torch.sigmoid(beta * ll)
        elif lt == "apo_down":
            per = torch.sigmoid(beta * lw) + (1 - torch.sigmoid(beta * d))
        elif lt == "discopop":
            zz = beta * d
            m = torch.sigmoid(zz / cfg["discopop_tau"])
            per = (1 - m) * (-F.logsigmoid(zz)) + m * torch.exp(-zz)
        elif lt == "sft":
            per = pol.nll(slice(0, n), "completion").expand(n)
        elif lt == "sigmoid_norm":
            per = -F.logsigmoid(beta * (sw / len_w - sl / len_l))
        else:
            raise ValueError(lt)
        if wpo is not None:
            per = per * wpo
        loss = loss + lwgt * per.mean()

    with torch.no_grad():
        rc, rr = beta * lw, beta * ll
        ent = entropy_per_token(pol.logits)
        vocab_mean = pol.logits.mean(-1)
        pred = pol.logits[:n].argmax(-1)
        correct = (pred == pol.labels[:n]).to(pol.comp.dtype)
        metrics = {
            "rewards/chosen": rc.mean(), "rewards/rejected": rr.mean(),
            "rewards/margins": (rc - rr).mean(), "rewards/accuracies": (rc > rr).to(rc.dtype).mean(),
            "logps/chosen": cl.mean(), "logps/rejected": rl.mean(),
            "logits/chosen": token_weighted_mean(vocab_mean[:n], pol.comp[:n]),
            "logits/rejected": token_weighted_mean(vocab_mean[n:], pol.comp[n:]),
            "entropy": token_weighted_mean(ent, pol.comp),
            "mean_token_accuracy": token_weighted_mean(correct, pol.comp[:n]),
        }
        top2 = pol.logits[:n].topk(2, dim=-1).values
        gaps = {
            "reward_accuracy_min_gap": (rc - rr).abs().min(),
            "argmax_min_gap": ((top2[..., 0] - top2[..., 1])[pol.comp[:n] > 0]).min(),
        }
        if "hinge" in cfg["loss_type"]:
            gaps["hinge_kink_min_gap"] = (1 - beta * d).abs().min()
        if "aot" in cfg["loss_type"]:
            gaps["aot_sort_min_gap"] = torch.minimum(min_sorted_gap(cl - rl), min_sorted_gap(rcl - rrl))
        if "aot_unpaired" in cfg["loss_type"]:
            gaps["aot_sort_min_gap"] = torch.minimum(min_sorted_gap(lw), min_sorted_gap(ll))
        if ld_alpha is not None and cfg["loss_type"] == ["sigmoid"]:
            # the case tells a reference-plain-sums implementation (TRL v0.28) apart
            d_policy_only = (cl - ref.logps[:n]) - (rl - ref.logps[n:])
            gaps["ld_policy_only_loss_gap"] = (loss - (-F.logsigmoid(beta * d_policy_only)).mean()).abs()
    inter = {"policy_chosen_logps": cl, "policy_rejected_logps": rl, "ref_chosen_logps": ref_logps[:n],
             "ref_rejected_logps": ref_logps[n:], "chosen_lengths": len_w, "rejected_lengths": len_l}
    if wpo is not None:
        inter["wpo_pair_weights"] = wpo
    return loss, metrics, gaps, inter


def min_sorted_gap(x):
    s = torch.sort(x).values
    return (s[1:] - s[:-1]).min()


def cpo_case(cfg, pol_model):
    rows, plens = pair_rows()
    n = len(PAIRS)
    pol = Stats(pol_model, rows, plens)
    loss_type = cfg["loss_type"]
    cpo_alpha = cfg["cpo_alpha"]
    if loss_type == "alphapo":  # CPOConfig.__post_init__
        loss_type, cpo_alpha = "simpo", 0.0
    beta, eps, alpha = cfg["beta"], cfg.get("label_smoothing", 0.0), cfg.get("alpha", 0.0)
    average = loss_type in ("ipo", "simpo")
    lp = pol.logps / pol.lens if average else pol.logps
    lpw, lpl = lp[:n], lp[n:]
    if alpha != 0.0:
        uw = (1 - torch.exp(lpw).pow(-alpha)) / alpha
        ul = (1 - torch.exp(lpl).pow(-alpha)) / alpha
        z = uw - ul
        rc, rr = beta * uw.detach(), beta * ul.detach()
    else:
        z = lpw - lpl
        rc, rr = beta * lpw.detach(), beta * lpl.detach()
    if loss_type == "simpo":
        z = z - cfg["simpo_gamma"] / beta
        per = -(1 - eps) * F.logsigmoid(beta * z) - eps * F.logsigmoid(-beta * z)
    elif loss_type == "sigmoid":
        per = -(1 - eps) * F.logsigmoid(beta * z) - eps * F.logsigmoid(-beta * z)
    elif loss_type == "hinge":
        per = torch.relu(1 - beta * z)
    elif loss_type == "ipo":
        per = (z - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(loss_type)
    if cpo_alpha == 0.0:
        nll = torch.zeros((), dtype=pol.logps.dtype)  # TRL skips it and logs 0.0
    else:
        nll = pol.nll(slice(0, n), "completion")
    loss = per.mean() + cpo_alpha * nll
    with torch.no_grad():
        metrics = {
            "rewards/chosen": rc.mean(), "rewards/rejected": rr.mean(),
            "rewards/accuracies": (rc > rr).to(rc.dtype).mean(), "rewards/margins": (rc - rr).mean(),
            "logps/chosen": lpw.mean(), "logps/rejected": lpl.mean(), "nll_loss": nll,
        }
        gaps = {"reward_accuracy_min_gap": (rc - rr).abs().min()}
        if loss_type == "hinge":
            gaps["hinge_kink_min_gap"] = (1 - beta * z).abs().min()
    inter = {"policy_chosen_logps": lpw, "policy_rejected_logps": lpl}
    return loss, metrics, gaps, inter


def log1mexp(x):
    """log(1 - exp(x)) for x < 0 (Maechler's split at -log 2)"""
    return torch.where(x > -math.log(2.0), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def orpo_case(cfg, pol_model):
    rows, plens = pair_rows()
    n = len(PAIRS)
    pol = Stats(pol_model, rows, plens)
    beta = cfg["beta"]
    lp = pol.logps / pol.lens
    lpw, lpl = lp[:n], lp[n:]
    log_odds = (lpw - lpl) - (log1mexp(lpw) - log1mexp(lpl))
    ratio = F.logsigmoid(log_odds)
    if cfg["nll_tokens"] == "prompt_and_completion":
        nll = pol.nll(slice(0, n), "all")
    elif cfg["nll_tokens"] == "completion":
        nll = pol.nll(slice(0, n), "completion")
    else:
        raise ValueError(cfg["nll_tokens"])
    loss = nll - beta * ratio.mean()
    with torch.no_grad():
        rc, rr = beta * lpw, beta * lpl
        metrics = {
            "rewards/chosen": rc.mean(), "rewards/rejected": rr.mean(),
            "rewards/accuracies": (rc > rr).to(rc.dtype).mean(), "rewards/margins": (rc - rr).mean(),
            "logps/chosen": lpw.mean(), "logps/rejected": lpl.mean(), "nll_loss": nll,
            "log_odds_ratio": ratio.mean(), "log_odds_chosen": log_odds.mean(),
        }
        gaps = {"reward_accuracy_min_gap": (rc - rr).abs().min()}
    inter = {"policy_chosen_logps": lpw, "policy_rejected_logps": lpl, "log_odds": log_odds}
    return loss, metrics, gaps, inter


def kto_case(cfg, pol_model, ref_model):
    rows, kl_rows, plens = kto_rows()
    pol = Stats(pol_model, rows, plens)
    with torch.no_grad():
        ref = Stats(ref_model, rows, plens)
        pol_kl = Stats(pol_model, kl_rows, plens)
        ref_kl = Stats(ref_model, kl_rows, plens)
    beta = cfg["beta"]
    labels = torch.tensor([lab for _, _, lab in KTO_EXAMPLES])
    r = pol.logps - ref.logps
    kl_raw = (pol_kl.logps - ref_kl.logps).mean()
    if cfg["loss_type"] == "kto":
        kl = kl_raw.clamp(min=0)
        des = 1 - torch.sigmoid(beta * (r - kl))
        und = 1 - torch.sigmoid(beta * (kl - r))
    elif cfg["loss_type"] == "apo_zero_unpaired":
        kl = torch.zeros((), dtype=r.dtype)
        des = 1 - torch.sigmoid(beta * r)
        und = torch.sigmoid(beta * r)
    else:
        raise ValueError(cfg["loss_type"])
    losses = torch.cat([cfg["desirable_weight"] * des[labels], cfg["undesirable_weight"] * und[~labels]])
    loss = losses.mean()
    with torch.no_grad():
        rew = beta * r
        vocab_mean = pol.logits.mean(-1)  # (B, T') vocab-mean logit at each position
        nc, nr = int(labels.sum()), int((~labels).sum())
        metrics = {
            "kl": kl,
            "rewards/chosen_sum": rew[labels].sum(), "logps/chosen_sum": pol.logps[labels].sum(),
            "count/chosen": torch.tensor(float(nc), dtype=r.dtype),
            "rewards/rejected_sum": rew[~labels].sum(), "logps/rejected_sum": pol.logps[~labels].sum(),
            "count/rejected": torch.tensor(float(nr), dtype=r.dtype),
            "rewards/chosen": rew[labels].sum() / nc, "rewards/rejected": rew[~labels].sum() / nr,
            "logps/chosen": pol.logps[labels].sum() / nc, "logps/rejected": pol.logps[~labels].sum() / nr,
        }
        metrics["rewards/margins"] = metrics["rewards/chosen"] - metrics["rewards/rejected"]
        # kto_trainer.py:1595-1606 (entropy over every row's completion tokens) and :1614-1631 (logits/*)
        metrics["entropy"] = token_weighted_mean(entropy_per_token(pol.logits), pol.comp)
        metrics["logits/chosen"] = token_weighted_mean(vocab_mean[labels], pol.comp[labels])
        metrics["logits/rejected"] = token_weighted_mean(vocab_mean[~labels], pol.comp[~labels])
        gaps = {}
        if cfg["loss_type"] == "kto":
            gaps["kl_clamp_min_gap"] = kl_raw.abs()
    inter = {"policy_logps": pol.logps, "ref_logps": ref.logps, "kl_policy_logps": pol_kl.logps,
             "kl_ref_logps": ref_kl.logps, "kl_mean_unclamped": kl_raw, "lengths": pol.lens}
    return loss, metrics, gaps, inter


# ----------------------------------------------------------------------------- cases

def dpo(loss_type, **kw):
    c = {"trainer": "dpo", "semantics": "trl-v1", "loss_type": loss_type, "loss_weights": None,
         "beta": 0.1, "label_smoothing": 0.0, "f_divergence_type": "reverse_kl",
         "f_alpha_divergence_coef": 0.5, "discopop_tau": 0.05, "use_weighting": False,
         "reference_free": False, "ld_alpha": None, "precompute_ref_log_probs": False}
    c.update(kw)
    return c


def cpo(loss_type, **kw):
    c = {"trainer": "cpo", "loss_type": loss_type, "beta": 0.1, "label_smoothing": 0.0,
         "cpo_alpha": 1.0, "simpo_gamma": 0.5, "alpha": 0.0}
    c.update(kw)
    return c


CASES = {}
for _lt in ["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
            "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm"]:
    CASES["dpo_" + _lt] = dpo([_lt], label_smoothing={"exo_pair": 1e-3, "robust": 0.1}.get(_lt, 0.0))
CASES.update({
    "dpo_cdpo": dpo(["sigmoid"], label_smoothing=0.1, semantics="trl-v0.28"),
    "dpo_reference_free": dpo(["sigmoid"], reference_free=True, semantics="trl-v0.28"),
    "dpo_rpo": dpo(["sigmoid", "sft"], loss_weights=[1.0, 0.5]),
    "dpo_sigmoid_ipo_mix": dpo(["sigmoid", "ipo"], loss_weights=[0.7, 0.3]),
    "dpo_wpo": dpo(["sigmoid"], use_weighting=True),
    "dpo_wpo_rpo": dpo(["sigmoid", "sft"], loss_weights=[1.0, 0.5], use_weighting=True),
    "dpo_ld": dpo(["sigmoid"], ld_alpha=0.5),
    "dpo_ld_precomputed": dpo(["sigmoid"], ld_alpha=0.5, precompute_ref_log_probs=True),
    "dpo_ld_ipo": dpo(["ipo"], ld_alpha=0.25),
    "dpo_alpha_divergence": dpo(["sigmoid"], f_divergence_type="alpha_divergence", f_alpha_divergence_coef=0.5),
    "dpo_js_divergence": dpo(["sigmoid"], f_divergence_type="js_divergence"),
    "dpo_sigmoid_beta05": dpo(["sigmoid"], beta=0.5),
    "cpo_sigmoid": cpo("sigmoid"),
    "cpo_hinge": cpo("hinge"),
    "cpo_ipo": cpo("ipo"),
    "simpo": cpo("simpo", cpo_alpha=0.0),
    "cpo_simpo": cpo("simpo", cpo_alpha=1.0),
    "alphapo": cpo("alphapo", alpha=0.25, cpo_alpha=0.0),
    "orpo": {"trainer": "orpo", "beta": 0.1, "nll_tokens": "prompt_and_completion"},
    "orpo_completion_nll": {"trainer": "orpo", "beta": 0.1, "nll_tokens": "completion"},
    "kto": {"trainer": "kto", "loss_type": "kto", "beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0},
    "kto_weighted": {"trainer": "kto", "loss_type": "kto", "beta": 0.1, "desirable_weight": 1.0,
                     "undesirable_weight": 2.5},
    "kto_apo_zero_unpaired": {"trainer": "kto", "loss_type": "apo_zero_unpaired", "beta": 0.1,
                              "desirable_weight": 1.0, "undesirable_weight": 1.0},
})
NOTES = {
    "dpo_cdpo": "legacy cDPO: sigmoid with label_smoothing, -(1-e)logsig(b d) - e logsig(-b d)",
    "dpo_reference_free": "legacy reference_free: reference log-probs are 0 in the loss AND the rewards",
    "dpo_rpo": "RPO == legacy rpo_alpha 0.5",
    "dpo_wpo": "WPO: per-pair loss times detached w_chosen * w_rejected (intermediates.wpo_pair_weights)",
    "dpo_wpo_rpo": "WPO with RPO: the sft term weighted too, NLL * mean(w_chosen * w_rejected) (TRL v1.x)",
    "dpo_ld": "LD-DPO ld_alpha 0.5: policy and reference desensitised (TRL v1.x); every pair has unequal lengths",
    "dpo_ld_precomputed": "dpo_ld with precompute_ref_log_probs: the same numbers (TRL :1204-1216)",
    "dpo_ld_ipo": "LD-DPO ld_alpha 0.25 with ipo: desensitised sums divided by the plain lengths",
    "dpo_sigmoid_beta05": "the one case with beta 0.5",
    "simpo": "SimPO = loss_type simpo, cpo_alpha 0 (nll_loss logged as 0.0 as TRL does)",
    "cpo_simpo": "CPO-SimPO = simpo with cpo_alpha 1",
    "alphapo": "loss_type alphapo -> simpo with cpo_alpha 0 (CPOConfig.__post_init__); alpha 0.25",
    "orpo": "TRL: nll over prompt + completion tokens of the chosen rows",
    "orpo_completion_nll": "variant: nll over chosen completion tokens only",
    "kto": "3 desirable, 1 undesirable: TRL warns that desirable_weight*n_D / (undesirable_weight*n_U) = 3 "
           "is outside [1, 4/3]; kto_weighted uses a ratio inside it",
    "kto_weighted": "undesirable_weight 2.5: desirable_weight*n_D / (undesirable_weight*n_U) = 1.2",
    "kto_apo_zero_unpaired": "calculate_KL is False: kl logged as 0, no KL rows used",
}


def run_case(name, cfg, pol_sd, ref_sd, dtype):
    pol_model = R.HFModel(POL_CFG, pol_sd, dtype=dtype, requires_grad=True)
    ref_model = R.HFModel(POL_CFG, ref_sd, dtype=dtype, requires_grad=False)
    t = cfg["trainer"]
    if t == "dpo":
        loss, metrics, gaps, inter = dpo_case(cfg, pol_model, ref_model)
    elif t == "cpo":
        loss, metrics, gaps, inter = cpo_case(cfg, pol_model)
    elif t == "orpo":
        loss, metrics, gaps, inter = orpo_case(cfg, pol_model)
    elif t == "kto":
        loss, metrics, gaps, inter = kto_case(cfg, pol_model, ref_model)
    else:
        raise ValueError(t)
    params = [pol_model.params[p] for p in GRAD_PARAMS]
    grads = torch.autograd.grad(loss, params)
    for p in ref_model.params.values():
        assert p.grad is None and not p.requires_grad
    return (float(loss), {k: float(v) for k, v in metrics.items()}, {k: float(v) for k, v in gaps.items()},
            {k: [float(x) for x in v.reshape(-1)] for k, v in inter.items()},
            {p: g.detach() for p, g in zip(GRAD_PARAMS, grads)})


# ----------------------------------------------------------------------------- self-checks

def sigmoid_closed_form(inter, beta):
    """float64 closed form of the plain DPO sigmoid loss from the four summed log-probs"""
    total = 0.0
    for cw, cl_, rw, rl_ in zip(inter["policy_chosen_logps"], inter["policy_rejected_logps"],
                                inter["ref_chosen_logps"], inter["ref_rejected_logps"]):
        x = beta * ((cw - rw) - (cl_ - rl_))
        total += math.log1p(math.exp(-x)) if x >= 0 else -x + math.log1p(math.exp(x))
    return total / len(PAIRS)


def kto_closed_form(inter, cfg):
    """float64 closed form of the KTO losses from the summed log-probs, in plain Python"""
    beta = cfg["beta"]
    sig = lambda x: 1.0 / (1.0 + math.exp(-x))  # noqa: E731
    n = len(KTO_EXAMPLES)
    if cfg["loss_type"] == "kto":
        kl = max(0.0, sum(p - r for p, r in zip(inter["kl_policy_logps"], inter["kl_ref_logps"])) / n)
    else:
        kl = 0.0
    total = 0.0
    for (_, _, desirable), p, r in zip(KTO_EXAMPLES, inter["policy_logps"], inter["ref_logps"]):
        x = p - r
        if cfg["loss_type"] == "kto":
            total += cfg["desirable_weight"] * (1 - sig(beta * (x - kl))) if desirable \
                else cfg["undesirable_weight"] * (1 - sig(beta * (kl - x)))
        else:
            total += cfg["desirable_weight"] * (1 - sig(beta * x)) if desirable \
                else cfg["undesirable_weight"] * sig(beta * x)
    return total / n


def padding_check(model):
    """max |batched - one by one| of the summed completion log-probs (pairs and KTO/KL rows)"""
    worst = 0.0
    rows, plens = pair_rows()
    k_rows, kl_rows, k_plens = kto_rows()
    for rs, ps in ((rows, plens), (k_rows, k_plens), (kl_rows, k_plens)):
        with torch.no_grad():
            batched = Stats(model, rs, ps).logps
            for i, (r, p) in enumerate(zip(rs, ps)):
                alone = Stats(model, [r], [p]).logps[0]
                worst = max(worst, abs(float(batched[i] - alone)))
    return worst


def max_abs(a, b):
    return float((a.double() - b.double()).abs().max())


# ----------------------------------------------------------------------------- main

def main():
    torch.set_num_threads(1)
    global POL_CFG
    with open(os.path.join(POLICY_DIR, "config.json")) as f:
        POL_CFG = json.load(f)
    pol_sd, _ = st.load_file(os.path.join(POLICY_DIR, "model.safetensors"))
    for t in pol_sd.values():
        assert t.dtype == torch.float32
    gen = torch.Generator().manual_seed(REF_SEED)
    ref_sd = {k: (pol_sd[k] + REF_STD * torch.randn(pol_sd[k].shape, generator=gen)).float() for k in sorted(pol_sd)}

    os.makedirs(os.path.join(OUT, "ref"), exist_ok=True)
    shutil.copyfile(os.path.join(POLICY_DIR, "config.json"), os.path.join(OUT, "ref", "config.json"))
    st.save_file(ref_sd, os.path.join(OUT, "ref", "model.safetensors"), {"format": "pt"})
    # re-read so that the golden uses exactly the stored bytes
    ref_sd, _ = st.load_file(os.path.join(OUT, "ref", "model.safetensors"))

    for p, c, r in PAIRS:
        assert 3 <= len(p) <= 7 and 2 <= len(c) <= 9 and 2 <= len(r) <= 9
        assert c[-1] == EOS and r[-1] == EOS and all(0 <= x < 256 for x in p + c[:-1] + r[:-1])

    checks = {}
    for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        checks["logps_batched_vs_alone_max_abs_err_" + tag] = padding_check(
            R.HFModel(POL_CFG, pol_sd, dtype=dtype))

    tensors, cases, table = {}, {}, []
    for name, cfg in CASES.items():
        assert "." not in name
        loss64, met64, gaps, inter, g64 = run_case(name, cfg, pol_sd, ref_sd, torch.float64)
        loss32, met32, _, _, g32 = run_case(name, cfg, pol_sd, ref_sd, torch.float32)
        err_loss = abs(loss64 - loss32)
        err_met = {k: abs(met64[k] - met32[k]) for k in met64}
        err_grad = {p: max_abs(g64[p], g32[p]) for p in GRAD_PARAMS}
        err_norm = {p: abs(float(g64[p].norm()) - float(g32[p].double().norm())) for p in GRAD_PARAMS}
        err_sum = {p: abs(float(g64[p].sum()) - float(g32[p].double().sum())) for p in GRAD_PARAMS}
        for k in ("rewards/accuracies", "mean_token_accuracy", "count/chosen", "count/rejected"):
            if k in met64:
                assert abs(met64[k] - met32[k]) < 1e-6, (name, k)  # same count; f32 division rounds
        for k, v in gaps.items():
            assert v > 1e-3, (name, k, v)
        case_checks = {"loss_f32_vs_f64_abs_err": err_loss,
                       "metrics_f32_vs_f64_abs_err": err_met,
                       "grad_f32_vs_f64_max_abs_err": err_grad}
        case_checks.update(gaps)
        if cfg["trainer"] == "dpo" and cfg["loss_type"] == ["sigmoid"] and cfg["f_divergence_type"] == "reverse_kl" \
                and not cfg["use_weighting"] and not cfg["reference_free"] and cfg["semantics"] == "trl-v1":
            closed = sigmoid_closed_form(inter, cfg["beta"])
            assert abs(closed - loss64) < 1e-12, (name, closed, loss64)
            case_checks["sigmoid_closed_form_abs_err"] = abs(closed - loss64)
        if cfg["trainer"] == "kto":
            closed = kto_closed_form(inter, cfg)
            assert abs(closed - loss64) < 1e-12, (name, closed, loss64)
            case_checks["kto_closed_form_abs_err"] = abs(closed - loss64)
        grad_max = {p: float(g64[p].abs().max()) for p in GRAD_PARAMS}
        tol = {
            "loss": {"atol": max(TOL_SCALAR_FLOOR, TOL_FACTOR * err_loss), "rtol": TOL_SCALAR_RTOL},
            "metrics": {k: {"atol": max(TOL_SCALAR_FLOOR, TOL_FACTOR * e), "rtol": TOL_SCALAR_RTOL}
                        for k, e in err_met.items()},
            "grad": {p: {"atol": max(TOL_GRAD_FLOOR, TOL_FACTOR * err_grad[p]), "rtol": TOL_GRAD_RTOL}
                     for p in GRAD_PARAMS},
            "grad_norms": {p: {"atol": max(TOL_GRAD_FLOOR, TOL_FACTOR * err_norm[p]), "rtol": TOL_GRAD_RTOL}
                           for p in GRAD_PARAMS},
            "grad_sums": {p: {"atol": max(TOL_GRAD_FLOOR, TOL_FACTOR * err_sum[p]), "rtol": TOL_GRAD_RTOL}
                          for p in GRAD_PARAMS},
        }
        config = {k: v for k, v in cfg.items() if k != "trainer"}
        cases[name] = {
            "trainer": cfg["trainer"], "config": config, "loss": loss64, "metrics": met64,
            "grad_norms": {p: float(g64[p].norm()) for p in GRAD_PARAMS},
            "grad_sums": {p: float(g64[p].sum()) for p in GRAD_PARAMS},
            "grad_max_abs": grad_max, "tolerance": tol, "checks": case_checks,
            "intermediates": inter, "notes": NOTES.get(name, ""),
        }
        for p in GRAD_PARAMS:
            rows = torch.tensor(GRAD_ROWS[p])
            tensors["%s.grad.%s" % (name, p)] = g64[p].index_select(0, rows).float().contiguous()
        table.append((name, loss64, met64, grad_max["lm_head.weight"], err_loss, max(err_grad.values())))

    # embed rows that can never get a gradient must be exactly 0
    embed_zero = [PAD, EOS, 0, 200, 257, 319]
    for name in CASES:
        t = tensors["%s.grad.model.embed_tokens.weight" % name]
        for tok in embed_zero:
            assert float(t[GRAD_ROWS["model.embed_tokens.weight"].index(tok)].abs().max()) == 0.0, (name, tok)

    doc = {
        "generator": "tools/golden/make_preference_goldens.py (forward: tools/golden/hf_reference.py)",
        "description": "first training step of the preference trainers: loss, TRL metrics, gradients",
        "policy": "../llama-tiny",
        "reference": "ref",
        "reference_construction": {"from": "../llama-tiny/model.safetensors", "noise_std": REF_STD,
                                   "generator_seed": REF_SEED,
                                   "order": "torch.randn per tensor in sorted-name order, added then stored F32"},
        "pad_token_id": PAD, "eos_token_id": EOS,
        "conventions": {
            "batch": "one right-padded batch, chosen rows first then rejected rows (KTO: the examples in order; "
                     "KL rows as a second batch); attention_mask 1 on real tokens",
            "completion_logp": "sum over completion tokens of log p(token | prompt + earlier completion tokens)",
            "lengths": "completion token counts (eos included)",
            "values": "loss, metrics, intermediates and gradients computed with both models and all loss math in "
                      "float64 from the stored F32 weights; gradients stored rounded to F32",
            "tolerance": "allclose: |x - golden| <= atol + rtol*|golden|; atol = max(floor, 20 * |f32 - f64|) "
                         "measured here (checks), floors %g (scalars) / %g (gradients), rtol %g / %g"
                         % (TOL_SCALAR_FLOOR, TOL_GRAD_FLOOR, TOL_SCALAR_RTOL, TOL_GRAD_RTOL),
            "gradients": "expected.safetensors '<case>.grad.<param>' = rows grad_rows[param] of d loss / d param "
                         "(policy parameters only; the reference never gets gradients); full-gradient "
                         "Frobenius norm and sum in grad_norms / grad_sums",
        },
        "data": {
            "pairs": [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS],
            "kto": {
                "examples": [{"prompt": p, "completion": c, "label": lab} for p, c, lab in KTO_EXAMPLES],
                "kl_completion_source": KL_SOURCE,
                "kl_rows": "KL row i = examples[i].prompt + examples[kl_completion_source[i]].completion "
                           "(TRL _get_kl_dataset: answers rotated right by one)",
            },
        },
        "grad_params": GRAD_PARAMS,
        "grad_rows": GRAD_ROWS,
        "checks": checks,
        "case_order": list(CASES),
        "cases": cases,
    }
    st.save_file(tensors, os.path.join(OUT, "expected.safetensors"),
                 {"format": "pt", "generator": "tools/golden/make_preference_goldens.py"})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(json.dumps(doc, indent=1, sort_keys=False) + "\n")

    print("padding check:", json.dumps(checks))
    print("%-24s %12s %10s %10s %9s %9s %10s %9s %9s" % ("case", "loss", "rew/chos", "rew/rej", "rew/acc",
                                                          "logps/ch", "|g_lm|max", "loss err", "grad err"))
    for name, loss, met, gmax, el, eg in table:
        print("%-24s %12.8f %10.5f %10.5f %9.3f %9.4f %10.3e %9.1e %9.1e" % (
            name, loss, met.get("rewards/chosen", float("nan")), met.get("rewards/rejected", float("nan")),
            met.get("rewards/accuracies", float("nan")), met.get("logps/chosen", float("nan")), gmax, el, eg))
    size = sum(os.path.getsize(os.path.join(OUT, f)) for f in ("expected.json", "expected.safetensors"))
    print("wrote %s (expected.* %d bytes)" % (OUT, size))


if __name__ == "__main__":
    main()
