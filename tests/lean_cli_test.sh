#!/usr/bin/env bash
# The `engram` command links no LibTorch: the database commands start without loading it, and
# the LM commands are handed to engram-lm with the same arguments and exit statuses. `engram
# serve` stays in engram unless --model names a folder holding a model checkpoint, which it hands
# to engram-lm (the server then runs the model: GET /v1/model).
# Usage: lean_cli_test.sh ENGRAM [with-lm] [TRAIN_TEXT]
set -u
ENGRAM=$1
WITH_LM=${2:-}
TRAIN_TEXT=${3:-}
fail() { echo "FAIL: $*" >&2; exit 1; }
D=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$D"' EXIT

# Starts `engram serve --data $D/db-$1 ${@:2}` on a free port; sets pid and url.
serve() {
  local data=$1
  shift
  "$ENGRAM" serve --data "$D/db-$data" --port 0 --threads 1 "$@" > "$D/$data.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$D/$data.log" && break
    sleep 0.1
  done
  url=http://$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$D/$data.log")
  [ "$url" != http:// ] || fail "serve $* did not start: $(cat "$D/$data.log")"
}
# Which program serves (exec keeps the pid), and whether LibTorch is mapped into it.
served_by() { basename "$(readlink /proc/$pid/exe)"; }
has_torch() { grep -Eq 'libtorch|libc10' /proc/$pid/maps; }
stop() { kill $pid; wait $pid 2>/dev/null; pid=; }

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

serve plain
[ "$(served_by)" = engram ] && ! has_torch || fail "engram serve runs in $(served_by), LibTorch mapped: $(has_torch && echo yes)"
stop
mkdir -p "$D/charts"
echo 'step,tokens,lr,train_loss,val_loss,val_loss_nomem,tokens_per_s' > "$D/charts/loss.csv"
serve charts --model "$D/charts"
[ "$(served_by)" = engram ] && ! has_torch || fail "serve --model (a loss.csv only) runs in $(served_by)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/model")" = 404 ] || fail "GET /v1/model without a checkpoint is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/model/loss.csv")" = 200 ] || fail "loss.csv is not served"
stop
if [ "$WITH_LM" = with-lm ] && [ -n "$TRAIN_TEXT" ]; then
  "$ENGRAM" train "$TRAIN_TEXT" --out "$D/model" --vocab-size 300 --layers 2 --heads 2 --width 32 --block-size 16 \
    --segments 2 --batch 2 --steps 2 --warmup 1 --threads 1 --quiet > /dev/null 2>&1 || fail "train failed"
  serve model --model "$D/model"
  [ "$(served_by)" = engram-lm ] || fail "serve --model with a checkpoint runs in $(served_by), not engram-lm"
  curl -sSf "$url/v1/model" | grep -q '"memory_dim":32' || fail "GET /v1/model: $(curl -s "$url/v1/model")"
  stop
fi
echo "lean cli: ok"
