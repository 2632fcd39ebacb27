#!/usr/bin/env bash
# Side-by-side training throughput: engram-lm (LibTorch, memory in an engram database) vs the same
# architecture in Python PyTorch (lm/bench/pytorch_reference.py), with and without the memory.
#   lm/bench/compare_throughput.sh BUILD_DIR [extra shape flags, e.g. --width 128 --layers 2]
# Prints one JSON line per run (libtorch / pytorch, with and without memory, libtorch --knn),
# REPS rounds (default 3) with the programs interleaved, then the median of each and the ratios:
# a shared machine's load drifts by ±10 % within a minute, so one pair of runs proves little.
set -euo pipefail
BUILD=${1:-build-lm}; shift || true
SHAPE=${*:---width 256 --layers 4 --heads 4 --block-size 128 --batch 16 --memory-k 32 --steps 16}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-/usr/bin/python3}
REPS=${REPS:-3}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
for _ in $(seq "$REPS"); do
  for mem in "--no-memory" ""; do
    "$BUILD/lm/engram-lm" bench $SHAPE $mem --threads 2 | tee -a "$LOG"
    "$PY" "$HERE/pytorch_reference.py" $SHAPE $mem --threads 2 | tee -a "$LOG"
  done
  # The kNN-LM read-out (--knn) has no Python twin here: its with-memory figure is compared
  # with the no-memory figures. KNN=0 skips it.
  if [ "${KNN:-1}" = 1 ]; then
    "$BUILD/lm/engram-lm" bench $SHAPE --knn --threads 2 | sed 's/"memory":true/"memory":"knn"/' | tee -a "$LOG"
  fi
done
"$PY" - "$LOG" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue  # a log line
    r = json.loads(line)
    runs.setdefault((r['impl'], str(r['memory']).lower()), []).append(r['tokens_per_s'])
med = {k: statistics.median(v) for k, v in runs.items()}
for (impl, mem), v in sorted(med.items()):
    print(json.dumps({'median': True, 'impl': impl, 'memory': mem, 'tokens_per_s': v, 'runs': len(runs[(impl, mem)])}))
base = med[('libtorch', 'false')]
out = {'libtorch_vs_pytorch_no_memory': round(base / med[('pytorch', 'false')], 3),
       'memory_attention_vs_no_memory': round(med[('libtorch', 'true')] / base, 3),
       'pytorch_memory_vs_no_memory': round(med[('pytorch', 'true')] / med[('pytorch', 'false')], 3)}
if ('libtorch', 'knn') in med:
    out['knn_vs_no_memory'] = round(med[('libtorch', 'knn')] / base, 3)
print(json.dumps(out))
EOF
