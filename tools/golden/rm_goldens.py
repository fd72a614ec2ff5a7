"""What the reward-model golden generators share (make_reward_goldens.py, make_apo_goldens.py): the tensor
collector with its per-tensor descriptions and tolerances, loading golden/qwen3-tiny-rm, and writing
expected.safetensors (read back and compared) plus expected.json."""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io as st  # noqa: E402

ROOT = os.path.join(HERE, "..", "..", "src", "test", "resources", "golden")
RM = os.path.join(ROOT, "qwen3-tiny-rm")
PAD, EOS = 256, 258
GRAD_NAMES = ["score.weight", "model.layers.0.self_attn.q_proj.weight",
              "model.layers.1.mlp.down_proj.weight", "model.embed_tokens.weight"]


class Expected:
    """Named tensors (float64 stored as float32) with a description and a tolerance each."""

    def __init__(self):
        self.tensors, self.desc = {}, {}

    def add(self, name, t, desc, tol):
        t = t.detach().contiguous()
        if t.dtype == torch.float64:
            t = t.float()
        assert t.dtype in (torch.float32, torch.int64), (name, t.dtype)
        self.tensors[name] = t
        self.desc[name] = {"dtype": "F32" if t.dtype == torch.float32 else "I64", "shape": list(t.shape),
                           "description": desc, "tolerance": tol}


def load_rm():
    """golden/qwen3-tiny-rm's config and weights; it must be a sequence classifier padded with PAD."""
    with open(os.path.join(RM, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["pad_token_id"] == PAD and cfg["architectures"][0].endswith("ForSequenceClassification")
    sd, _ = st.load_file(os.path.join(RM, "model.safetensors"))
    return cfg, sd


def write(out, ex, info, checks):
    """expected.safetensors (read back and compared bit for bit) and expected.json = info + the tensor descriptions."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "expected.safetensors")
    st.save_file(ex.tensors, path, {"format": "pt"})
    back, _ = st.load_file(path)
    for k, t in ex.tensors.items():
        assert back[k].dtype == t.dtype and torch.equal(back[k], t), k
    info = dict(info, torch_version=torch.__version__, model="golden/qwen3-tiny-rm", checks=checks, tensors=ex.desc)
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
    print("wrote", out)
    print(json.dumps(checks, indent=2))
