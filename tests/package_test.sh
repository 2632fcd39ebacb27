#!/usr/bin/env bash
# `cpack -G DEB` writes the engram and libengram-dev packages; unpacked into a scratch root with
# dpkg -x (no root needed, nothing installed on the machine), the engram command runs and
# examples/ builds against libengram-dev with find_package(Engram) and runs.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$scratch/pkgs" > "$scratch/cpack.log" 2>&1 ||
  fail "cpack: $(tail -20 "$scratch/cpack.log")"
runtime=$(ls "$scratch"/pkgs/engram_*.deb) dev=$(ls "$scratch"/pkgs/libengram-dev_*.deb)
[ "$(dpkg-deb -f "$runtime" Package)" = engram ] || fail "runtime package is $(dpkg-deb -f "$runtime" Package)"
[ "$(dpkg-deb -f "$dev" Package)" = libengram-dev ] || fail "dev package is $(dpkg-deb -f "$dev" Package)"
version=$(dpkg-deb -f "$runtime" Version)
dpkg-deb -f "$dev" Depends | grep -qF "engram (= $version)" || fail "libengram-dev does not depend on engram $version"
dpkg-deb -f "$runtime" Depends | grep -q librocksdb || fail "engram's Depends lack RocksDB: $(dpkg-deb -f "$runtime" Depends)"
# What goes where: programs and the shared object in engram, headers and CMake files in -dev.
# (Listings go to files first: grep -q stopping early would break dpkg-deb's pipe.)
dpkg-deb -c "$runtime" > "$scratch/runtime.txt"
dpkg-deb -c "$dev" > "$scratch/dev.txt"
grep -q '\./usr/bin/engram$' "$scratch/runtime.txt" || fail "engram lacks /usr/bin/engram"
grep -q 'usr/include' "$scratch/runtime.txt" && fail "engram holds headers"
grep -q 'usr/include/engram/engram.h' "$scratch/dev.txt" || fail "libengram-dev lacks the headers"
grep -q 'cmake/Engram/EngramConfig.cmake' "$scratch/dev.txt" || fail "libengram-dev lacks EngramConfig.cmake"

root=$scratch/root
dpkg -x "$runtime" "$root"
dpkg -x "$dev" "$root"
LD_LIBRARY_PATH="$root/usr/lib" "$root/usr/bin/engram" --version | grep -q "$version" ||
  fail "the packaged engram --version does not say $version"
cmake -S "$source/tests/consumer" -B "$scratch/b" -DCMAKE_PREFIX_PATH="$root/usr" \
  -DEXAMPLE_SOURCE="$source/examples/embed_example.cc" > "$scratch/configure.log" 2>&1 ||
  fail "find_package(Engram) from the package: $(tail -20 "$scratch/configure.log")"
grep -q "Engram_DIR:PATH=$root/usr/lib/cmake/Engram" "$scratch/b/CMakeCache.txt" ||
  fail "Engram was not found in the unpacked package: $(grep Engram_DIR "$scratch/b/CMakeCache.txt")"
cmake --build "$scratch/b" > "$scratch/build.log" 2>&1 || fail "building examples/: $(tail -20 "$scratch/build.log")"
"$scratch/b/consumer" "$scratch/data" > /dev/null
echo "ok: $(basename "$runtime") $(basename "$dev")"
