#!/usr/bin/env bash
# Installs the Debian 12 packages Engram builds against. Idempotent: when everything is
# already installed it checks and returns in about a second, without touching apt.
set -euo pipefail

packages=(
  g++ make cmake pkg-config ca-certificates curl
  dpkg-dev                              # cpack -G DEB: dpkg-shlibdeps computes the packages' Depends
  libfaiss-dev libopenblas-dev          # FAISS; name OpenBLAS or FAISS falls back to reference BLAS
  librocksdb-dev libxxhash-dev          # the store; XXH3 for index checkpoint checksums
  libgd-dev                             # loss.png of the LM layer (lm/loss_plot.cc)
  libboost-dev                          # Asio and Beast (header-only)
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libhnswlib-dev
  python3                               # scripts/check-fact-leak.py and its test; the LM data script
  libtorch-dev libsentencepiece-dev     # the LM layer (skip with ENGRAM_NO_LM=1)
  pybind11-dev python3-dev python3-numpy python3-pytest  # the Python package (python/) and its tests
  python3-torch python3-faiss           # engram.torch and its tests; bench/python_bench.py's FAISS side
  chromium chromium-driver python3-selenium  # the console's browser test (server/tests/console_test.py)
  python3-yaml                          # docs/openapi.yaml checked against the router (server/tests/openapi_test.py)
)
if [ "${ENGRAM_NO_LM:-0}" = 1 ]; then
  packages=("${packages[@]/libtorch-dev/}")
  packages=("${packages[@]/libsentencepiece-dev/}")
fi

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (for the OpenAPI validator below), unless a Node.js install already brings it.
command -v npm > /dev/null || dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed" || missing+=(npm)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The OpenAPI validator that checks docs/openapi.yaml (test openapi_validates), from npm, into
# a cache folder outside the repository: ${ENGRAM_TOOLS_DIR:-~/.cache/engram-tools}.
tools="${ENGRAM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/engram-tools}"
if [ ! -x "$tools/node_modules/.bin/swagger-cli" ]; then
  echo "install-deps: installing @apidevtools/swagger-cli into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent @apidevtools/swagger-cli@4.0.4 ||
    echo "install-deps: npm could not install the OpenAPI validator; openapi_validates will be skipped"
fi
