#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds tests/consumer against it with
# find_package(Engram), and runs it: the path a user who embeds Engram takes.
set -euo pipefail
build=$1 source=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
cmake -S "$source/tests/consumer" -B "$scratch/b" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DEXAMPLE_SOURCE="$source/examples/embed_example.cc" > "$scratch/configure.log"
cmake --build "$scratch/b" > "$scratch/build.log"
"$scratch/b/consumer" "$scratch/data"
