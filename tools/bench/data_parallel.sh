#!/usr/bin/env bash
# Data parallel against one process, side by side in one run (issue 14's measurement): the same DPO step on the
# ~25M llama shape (--batch pairs per step, prompt seq/2 + completion seq/2 tokens, the real DpoTrainer), once as
# 1 worker x 2 threads and once as 2 workers x 1 thread (`./align4j --nproc_per_node 2 bench`, each worker
# training half of the pairs, gradients all-reduced on Gloo), alternating the order every round so that machine
# noise hits both. Prints each JSON line, then the median tokens/s of each and their ratio, and the share of the
# 2-worker step that rank 0 spent inside collectives (gradient all-reduce, metric sums, waiting for its peer).
#   usage: tools/bench/data_parallel.sh [rounds] [extra bench options...]   (default: 3 rounds, --batch 4 --seq 256)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
shift || true
a4j="${ALIGN4J:-./align4j}"
cores="$(nproc)"
opts=(--mode dpo --batch 4 --seq 256 --iters 5 --warmup 2 "$@")
"$a4j" --help >/dev/null 2>&1 || true   # builds the jar first if needed
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
one() { OMP_NUM_THREADS="$cores" "$a4j" bench "${opts[@]}" | grep '^{' | tee -a "$out"; }
two() {
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')"
  # the launcher gives each worker cores / 2 threads
  env -u OMP_NUM_THREADS "$a4j" --nproc_per_node 2 --master_port "$port" bench "${opts[@]}" \
    | sed -n 's/^\[rank 0\] //p' | grep '^{' | tee -a "$out"
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then one; two; else two; one; fi
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {1: [], 2: []}
for r in rows: by[r["workers"]].append(r)
med = lambda rs, k: statistics.median(r[k] for r in rs)
one, two = med(by[1], "tokens_per_s"), med(by[2], "tokens_per_s")
print(f"1 worker x {by[1][0]['threads']} threads: {one:.0f} tokens/s (median of {len(by[1])})")
print(f"2 workers x {by[2][0]['threads']} thread(s): {two:.0f} tokens/s (median of {len(by[2])}),"
      f" collective share {med(by[2], 'collective_share'):.3f}")
print(f"ratio 2 workers / 1 worker: {two / one:.3f}  (goal >= 0.9)")
PY
