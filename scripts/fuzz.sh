#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into ./build-fuzz (ENGRAM_FUZZ=ON: every Engram
# library with ASan, UBSan and coverage) and runs each one in turn, starting from its committed
# seed corpus fuzz/corpus/<target>/. Exits non-zero when a target finds a crash, a leak, a 5xx
# answer or an allocation over the RSS limit; the input that did it is in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh                               # 20 s per target, 60 s in all (the CI run)
#   FUZZ_SECONDS=600 scripts/fuzz.sh              # longer (bench/README.md: the long run)
#   FUZZ_SECONDS=60 scripts/fuzz.sh fuzz_codec    # one target
#
# New inputs the fuzzer finds go to build-fuzz/corpus/<target>/ (not committed); copy an
# interesting one into fuzz/corpus/<target>/ to keep it, and every input that found a bug.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_request fuzz_codec fuzz_ingest)

# Engram's own dependencies, then clang with its fuzzer/sanitizer runtimes and OpenMP.
ENGRAM_NO_LM=1 scripts/install-deps.sh
missing=()
for p in clang-14 libclang-rt-14-dev libomp-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "fuzz: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" \
  -DENGRAM_FUZZ=ON -DENGRAM_BUILD_TESTS=OFF -DENGRAM_BUILD_BENCH=OFF -DENGRAM_BUILD_LM=OFF
cmake --build build-fuzz -j"${ENGRAM_JOBS:-2}" --target "${targets[@]}"

# One OpenMP thread: FAISS's team would only add noise (and threads) to each tiny input.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p build-fuzz/artifacts
failed=()
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "fuzz: $t for ${seconds} s"
  if ! "build-fuzz/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb="$rss_limit_mb" -detect_leaks=1 \
        -timeout=30 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
        "build-fuzz/corpus/$t" "fuzz/corpus/$t"; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in build-fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${seconds} s each, nothing found"
