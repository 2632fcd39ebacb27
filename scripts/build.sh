#!/usr/bin/env bash
# Installs the dependencies, configures and builds Engram into ./build (or $ENGRAM_BUILD_DIR).
# Extra arguments go to CMake, e.g. scripts/build.sh -DENGRAM_TSAN=ON
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build="${ENGRAM_BUILD_DIR:-build}"
lm=ON
[ "${ENGRAM_NO_LM:-0}" = 1 ] && lm=OFF
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" -DENGRAM_BUILD_LM="$lm" "$@"
cmake --build "$build" -j"${ENGRAM_JOBS:-2}"
