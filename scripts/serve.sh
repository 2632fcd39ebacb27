#!/usr/bin/env bash
# Sets up, builds and runs the memory server on ./engram-data (the README's first command).
# Extra arguments go to `engram serve`, e.g. scripts/serve.sh --port 9000 --token secret
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec "${ENGRAM_BUILD_DIR:-build}/cli/engram" serve --data ./engram-data "$@"
