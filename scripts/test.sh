#!/usr/bin/env bash
# Sets up, builds and runs every test (the README's second command, and what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
build="${ENGRAM_BUILD_DIR:-build}"
# Passive OpenMP waiting: spinning FAISS threads slow everything on a loaded 2-core machine.
export OMP_WAIT_POLICY=PASSIVE
ctest --test-dir "$build" -j2 --output-on-failure --timeout 900
