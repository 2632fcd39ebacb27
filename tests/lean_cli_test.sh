#!/usr/bin/env bash
# The `engram` command links no LibTorch: the database commands start without loading it, and
# the LM commands are handed to engram-lm with the same arguments and exit statuses.
# Usage: lean_cli_test.sh ENGRAM [with-lm]
set -u
ENGRAM=$1
WITH_LM=${2:-}
fail() { echo "FAIL: $*" >&2; exit 1; }

if ldd "$ENGRAM" | grep -Eq 'libtorch|libc10'; then fail "engram links LibTorch: $(ldd "$ENGRAM" | grep -E 'torch|c10')"; fi

help=$("$ENGRAM" --help) || fail "engram --help exited $?"
echo "$help" | grep -q 'ingest' || fail "--help does not list ingest"
version=$("$ENGRAM" --version) || fail "engram --version exited $?"
echo "$version" | grep -Eq '^engram [0-9]+\.[0-9]+\.[0-9]+ \((unknown|[0-9a-f]{12}(-dirty)?), simd (scalar|avx2|avx512)\)$' ||
  fail "engram --version said: $version"
# ENGRAM_SIMD asks for a narrower level; an unknown one leaves the widest the CPU has.
scalar=$(ENGRAM_SIMD=scalar "$ENGRAM" --version)
echo "$scalar" | grep -q ', simd scalar)$' || fail "ENGRAM_SIMD=scalar gave: $scalar"
other=$(ENGRAM_SIMD=sse9 "$ENGRAM" --version)
[ "$other" = "$version" ] || fail "ENGRAM_SIMD=sse9 gave: $other (without it: $version)"

if [ "$WITH_LM" = with-lm ]; then
  echo "$help" | grep -q 'train' || fail "--help does not list the LM commands"
  out=$("$ENGRAM" train --help) || fail "engram train --help exited $?"
  echo "$out" | grep -q -- '--steps' || fail "engram train --help is not engram-lm's: $out"
  # A usage error in an LM command is exit 2, as for every other command.
  "$ENGRAM" generate --prompt x 2>/dev/null
  rc=$?
  [ "$rc" = 2 ] || fail "generate without --model exited $rc, not 2"
fi
echo "lean cli: ok"
