#!/usr/bin/env bash
# Side-by-side training throughput: engram-lm (LibTorch, memory in an engram database) vs the same
# architecture in Python PyTorch (lm/bench/pytorch_reference.py), with and without the memory.
#   lm/bench/compare_throughput.sh BUILD_DIR [extra shape flags, e.g. --width 128 --layers 2]
# Prints one JSON line per run: libtorch / pytorch, with and without memory, then libtorch --knn.
set -euo pipefail
BUILD=${1:-build-lm}; shift || true
SHAPE=${*:---width 256 --layers 4 --heads 4 --block-size 128 --batch 16 --memory-k 32 --steps 16}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-/usr/bin/python3}
for mem in "" "--no-memory"; do
  "$BUILD/lm/engram-lm" bench $SHAPE $mem --threads 2
  "$PY" "$HERE/pytorch_reference.py" $SHAPE $mem --threads 2
done
# The kNN-LM read-out (--knn) has no Python twin here: its with-memory figure is compared with
# the no-memory figures above. KNN=0 skips it.
if [ "${KNN:-1}" = 1 ]; then "$BUILD/lm/engram-lm" bench $SHAPE --knn --threads 2; fi
