#!/usr/bin/env bash
# A busy machine, side by side in one run (issue 15, goal 4): the same step of align4j (`bench`) and of PyTorch
# eager (torch_bench.py, Debian's python3-torch on OpenBLAS' OpenMP build) with 0, 1 and 2 other CPU-bound
# processes on the cores. The busy processes are shell loops started here and killed by PID (also on exit or
# Ctrl-C). Each impl runs with 2 threads; the order of the two flips every run. Prints every JSON line, then per
# impl the median step time at each load, the slowdown against its own quiet time (lower is better), the CPU time
# a step and the fair-share slowdown.
#   usage: tools/bench/contention.sh [rounds] [mode]   (default 2 rounds of `train`; mode: train or dpo)
#   needs: apt-get install python3-torch (the PyTorch side); A4J_ENV="VAR=value ..." runs align4j with that
#   environment (an experiment: e.g. A4J_ENV="OPENBLAS_NUM_THREADS=1").
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-2}"
mode="${2:-train}"
py=/usr/bin/python3
a4j="${ALIGN4J:-./align4j}"
"$py" -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install -y --no-install-recommends python3-torch" >&2; exit 1; }
[ -d "${XDG_CACHE_HOME:-$HOME/.cache}/align4j/openblas-openmp" ] || sh tools/bench/fetch_openblas.sh openmp >/dev/null
"$a4j" --help >/dev/null 2>&1 || true   # builds the jar first if needed
out="$(mktemp)"
hogs=()
stop_hogs() { for p in "${hogs[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; hogs=(); }
trap 'stop_hogs; rm -f "$out"' EXIT INT TERM
start_hogs() { for _ in $(seq "$1"); do (while :; do :; done) & hogs+=("$!"); done; }
tag() { sed "s/^{/{\"busy\":$1,/"; }
run_align4j() { env ${A4J_ENV:-} "$a4j" bench --mode "$mode" --iters 5 --warmup 2 | grep '^{' | tag "$1" | tee -a "$out"; }
run_torch() { "$py" tools/bench/torch_bench.py "$mode" --threads 2 --iters 5 --warmup 2 | grep '^{' | tag "$1" | tee -a "$out"; }
n=0
for r in $(seq "$rounds"); do
  for busy in 0 1 2; do
    start_hogs "$busy"
    if [ $((n % 2)) = 0 ]; then run_align4j "$busy"; run_torch "$busy"; else run_torch "$busy"; run_align4j "$busy"; fi
    stop_hogs
    n=$((n + 1))
  done
done
"$py" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ms_of = lambda r: r.get("ms_median", r.get("ms_per_step"))  # align4j's and torch_bench.py's names
# CPU ms/step: this process's CPU time a step (the work it did; it stays flat while the step itself only waits for
# its share of the cores). fair share: the slowdown a process with `threads` busy threads would see if the kernel
# split the cores evenly among them and the busy processes' threads: (threads + busy) / cores, at least 1 (what a
# quiet step that kept every core busy can at best do; a quiet step that left cores idle can do better)
import os
cores = os.cpu_count()
print(f"{'impl':8} {'busy':>4} {'ms/step':>9} {'slowdown':>9} {'CPU ms/step':>12} {'fair share':>11}")
for impl in ("align4j", "pytorch"):
    mine = [r for r in rows if r["impl"].startswith(impl)]
    quiet = statistics.median(ms_of(r) for r in mine if r["busy"] == 0)
    for busy in (0, 1, 2):
        at = [r for r in mine if r["busy"] == busy]
        ms = statistics.median(ms_of(r) for r in at)
        cpu = [r["cpu_ms_per_step"] for r in at if "cpu_ms_per_step" in r]
        cpu_s = f"{statistics.median(cpu):12.0f}" if cpu else f"{'-':>12}"
        threads = at[0].get("threads", cores)
        fair = max(1.0, (threads + busy) / cores)
        print(f"{impl:8} {busy:>4} {ms:>9.1f} {ms / quiet:>8.2f}x {cpu_s} {fair:>10.2f}x")
PY
