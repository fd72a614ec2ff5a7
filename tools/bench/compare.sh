#!/usr/bin/env bash
# Side by side, in one run: align4j's `bench` and PyTorch eager (tools/bench/torch_bench.py on
# Debian's python3-torch with Debian's OpenBLAS) on the same ~25M llama shape, same batch and
# sequence, alternating so that machine noise hits both (the order flips every round). Prints
# each JSON line and a table of medians with the ratios align4j / PyTorch (higher is better for
# align4j).
#   usage: tools/bench/compare.sh [rounds] [modes...]     (needs: apt-get install python3-torch)
#   modes: train forward generate dpo   (default: train forward generate)
#   dpo runs PyTorch twice per round: the bare DPO step, and the same step also computing the
#   metrics TRL's DPOTrainer logs from the logits every step (--trl_metrics), which align4j's
#   trainer always computes.
#   ALIGN4J=/path/to/launcher runs another launcher than ./align4j (e.g. a jar built elsewhere).
#   BENCH_ROWS=file.jsonl keeps the JSON lines in that file (appending) and summarises every line
#   in it: rounds run at different times (when the machine is quiet) add up to one table; there the
#   first round's order alternates with the number of align4j lines already in the file.
#   A4J_ALSO="VAR=value ..." also runs align4j under that environment in every round, right after its own run
#   (e.g. A4J_ALSO="ALIGN4J_ROW_PARALLEL=1": each micro-batch whole), and adds its rows and its ratio to the
#   default align4j to the table.
#   MAX_OTHER_CORES=0.2 leaves out of the medians every run during which other processes kept more
#   than 0.2 cores busy on average (all runs are still listed, marked "dropped").
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-2}"
shift || true
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(train forward generate)
for m in "${modes[@]}"; do
  case "$m" in train|forward|generate|dpo) ;; *) echo "unknown mode '$m': use train, forward, generate or dpo" >&2; exit 2 ;; esac
done
py=/usr/bin/python3
a4j="${ALIGN4J:-./align4j}"
"$py" -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install -y --no-install-recommends python3-torch" >&2; exit 1; }
[ -d "${XDG_CACHE_HOME:-$HOME/.cache}/align4j/openblas-openmp" ] || sh tools/bench/fetch_openblas.sh openmp >/dev/null
"$a4j" --help >/dev/null 2>&1 || true   # builds the jar first if needed
if [ -n "${BENCH_ROWS:-}" ]; then out="$BENCH_ROWS"; touch "$out"
else out="$(mktemp)"; trap 'rm -f "$out"' EXIT; fi

run_align4j() {
  "$a4j" bench --mode "$1" --iters 5 --warmup 2 | tee -a "$out"
  if [ -n "${A4J_ALSO:-}" ]; then
    env $A4J_ALSO "$a4j" bench --mode "$1" --iters 5 --warmup 2 | grep '^{' | sed "s|^{|{\"also\":\"$A4J_ALSO\",|" | tee -a "$out"
  fi
}
run_torch() {
  "$py" tools/bench/torch_bench.py "$1" --threads 2 --iters 5 --warmup 2 | tee -a "$out"
  if [ "$1" = dpo ]; then "$py" tools/bench/torch_bench.py dpo --trl_metrics --threads 2 --iters 5 --warmup 2 | tee -a "$out"; fi
}
start="$(grep '"impl":"align4j"' "$out" | grep -vc '"also"' || true)"
for r in $(seq "$rounds"); do
  for mode in "${modes[@]}"; do
    if [ $(((r + start) % 2)) = 1 ]; then run_align4j "$mode"; run_torch "$mode"
    else run_torch "$mode"; run_align4j "$mode"; fi
  done
done
MAX_OTHER_CORES="${MAX_OTHER_CORES:-}" "$py" - "$out" "${modes[@]}" <<'PY'
import json, os, sys, statistics
every = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
every = [r for r in every if r.get("mode") or r.get("bench")]
modes = sys.argv[2:]
limit = float(os.environ["MAX_OTHER_CORES"]) if os.environ.get("MAX_OTHER_CORES") else None
def kept(r):
    return limit is None or r.get("other_cores") is None or r["other_cores"] <= limit
rows = [r for r in every if kept(r)]
def mode(r):
    return r.get("mode") or r.get("bench")
def key(r):
    m = mode(r)
    return r["decode_tokens_per_s"] if m == "generate" else r["steps_per_s"] if m == "dpo" else r["tokens_per_s"]
lines = []  # (label, metric, align4j rows, torch rows)
for m in modes:
    j = [r for r in rows if mode(r) == m and r.get("impl") == "align4j" and not r.get("also")]
    also = [r for r in rows if mode(r) == m and r.get("impl") == "align4j" and r.get("also")]
    p = [r for r in rows if mode(r) == m and r.get("impl") != "align4j" and not r.get("trl_metrics")]
    if m == "generate":
        lines.append(("generate (decode)", "tokens/s", j, p))
    elif m == "dpo":
        pt = [r for r in rows if mode(r) == m and r.get("impl") != "align4j" and r.get("trl_metrics")]
        lines.append(("dpo step vs bare PyTorch DPO step", "steps/s", j, p))
        lines.append(("dpo step vs PyTorch + TRL's logged metrics", "steps/s", j, pt))
    else:
        lines.append((m, "tokens/s", j, p))
    if also:  # the default against align4j under A4J_ALSO (that column then holds align4j's figures)
        lines.append((f"{m}: align4j vs align4j with {also[0]['also']}", "steps/s" if m == "dpo" else "tokens/s", j, also))
print("\n| what | metric | align4j | PyTorch eager | ratio | rounds |")
print("|---|---|---|---|---|---|")
for label, metric, j, p in lines:
    if j and p:
        a, b = statistics.median(key(r) for r in j), statistics.median(key(r) for r in p)
        fmt = "%.4f" if metric == "steps/s" else "%.1f"
        print(f"| {label} | {metric} | {fmt % a} | {fmt % b} | {a / b:.2f}x | {min(len(j), len(p))} |")
        if metric == "steps/s":
            ta = statistics.median(r["tokens_per_s"] for r in j)
            tb = statistics.median(r["tokens_per_s"] for r in p)
            print(f"| {label} | tokens/s | {ta:.1f} | {tb:.1f} | {ta / tb:.2f}x | {min(len(j), len(p))} |")
# every run in order, with the cores other processes kept busy meanwhile (0 = a quiet machine;
# a run with other_cores near 1 or more was slowed by someone else and says little)
print("\n| run | impl | mode | value | other_cores |")
print("|---|---|---|---|---|")
for i, r in enumerate(every, 1):
    impl = ("align4j" + (f" {r['also']}" if r.get("also") else "") if r.get("impl") == "align4j"
            else "pytorch" + (" +trl_metrics" if r.get("trl_metrics") else ""))
    oc = r.get("other_cores")
    print(f"| {i} | {impl} | {mode(r)} | {key(r)} | {'-' if oc is None else oc}{'' if kept(r) else ' (dropped)'} |")
PY
