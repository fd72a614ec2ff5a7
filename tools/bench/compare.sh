#!/usr/bin/env bash
# Side by side, in one run: align4j's `bench` and PyTorch eager (tools/bench/torch_bench.py on
# Debian's python3-torch with Debian's OpenBLAS) on the same ~25M llama shape, same batch and
# sequence, alternating so that machine noise hits both. Prints each JSON line and the ratios
# align4j / PyTorch of tokens/s (higher is better for align4j).
#   usage: tools/bench/compare.sh [rounds]     (needs: apt-get install python3-torch)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-2}"
py=/usr/bin/python3
"$py" -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install -y --no-install-recommends python3-torch" >&2; exit 1; }
[ -d "${XDG_CACHE_HOME:-$HOME/.cache}/align4j/openblas-openmp" ] || sh tools/bench/fetch_openblas.sh openmp >/dev/null
./align4j --help >/dev/null 2>&1 || true   # builds the jar first if needed
out="$(mktemp)"
for r in $(seq "$rounds"); do
  for mode in train forward generate; do
    ./align4j bench --mode "$mode" --iters 5 --warmup 2 | tee -a "$out"
    "$py" tools/bench/torch_bench.py "$mode" --threads 2 --iters 5 --warmup 2 | tee -a "$out"
  done
done
"$py" - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def key(r):
    return r.get("decode_tokens_per_s") if (r.get("mode") or r.get("bench")) == "generate" else r["tokens_per_s"]
print("\n| mode | align4j tokens/s | PyTorch eager tokens/s | ratio |")
print("|---|---|---|---|")
for mode in ("train", "forward", "generate"):
    j = [key(r) for r in rows if (r.get("mode") or r.get("bench")) == mode and r.get("impl") == "align4j"]
    p = [key(r) for r in rows if (r.get("mode") or r.get("bench")) == mode and r.get("impl") != "align4j"]
    if j and p:
        a, b = statistics.median(j), statistics.median(p)
        print(f"| {mode}{' (decode)' if mode == 'generate' else ''} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
PY
