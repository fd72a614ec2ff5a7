"""Minimal safetensors reader/writer for torch tensors (no `safetensors` package needed).

Format: 8-byte little-endian u64 header length N, N bytes of JSON header, then the raw
little-endian tensor data.  Like the official writer (huggingface/safetensors, Rust):
  * the header is compact JSON with "__metadata__" first, padded with spaces to a
    multiple of 8 so that the data section starts 8-byte aligned;
  * tensors are laid out by descending element size, then by name (for a file with a
    single dtype this is plain name order), so every tensor starts aligned to its size;
  * data_offsets are [begin, end) relative to the start of the data section.
"""

import json
import struct

import numpy as np
import torch

_TO_ST = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_FROM_ST = {v: k for k, v in _TO_ST.items()}


def tensor_to_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def nbytes(t):
    return t.numel() * t.element_size()


def save_file(tensors, path, metadata=None):
    if metadata is None:
        metadata = {"format": "pt"}
    order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs = []
    off = 0
    for name in order:
        t = tensors[name]
        if t.dtype not in _TO_ST:
            raise ValueError("%s: dtype %s not supported" % (name, t.dtype))
        b = tensor_to_bytes(t)
        header[name] = {"dtype": _TO_ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def load_file(path):
    """-> (dict name -> tensor, metadata dict)"""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        s, e = info["data_offsets"]
        raw = data[base + s: base + e]
        dt = _FROM_ST[info["dtype"]]
        if dt == torch.bfloat16:
            arr = np.frombuffer(raw, dtype="<i2").copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        else:
            np_dt = torch.empty(0, dtype=dt).numpy().dtype.newbyteorder("<")
            t = torch.from_numpy(np.frombuffer(raw, dtype=np_dt).astype(np_dt.newbyteorder("=")).copy())
        out[name] = t.reshape(info["shape"])
    return out, meta
