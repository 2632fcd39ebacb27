#!/usr/bin/env bash
# disk_full_test.sh ENGRAM — a full disk costs writes, never the server or acknowledged data.
#
# The server runs on a small tmpfs in a private mount namespace (root: CI and these machines;
# elsewhere the test is skipped with exit 77), with an 8 MiB free-space margin. Two ways to fill it:
#   A. another process fills the disk while the server runs (what used to abort the server:
#      RocksDB asserts once its log meets ENOSPC);
#   B. the server's own writes fill it to the margin.
# Each time: writes are refused with 507 "no_space", reads and /v1/health keep answering (health
# and metrics say read-only), SIGTERM stops it cleanly, it restarts while the disk is still
# full (read-only), and after space is freed a restart takes writes again with every
# acknowledged row there.
set -euo pipefail
bin=$(realpath "$1")
if [ "${2:-}" != --inner ]; then
  if ! unshare -m --propagation private true 2>/dev/null; then
    echo "disk_full_test: SKIPPED: needs a private mount namespace (run as root)"
    exit 77
  fi
  exec unshare -m --propagation private bash "$0" "$bin" --inner
fi

dir=$(mktemp -d)
pid=
cleanup() {
  local rc=$?
  [ $rc -ne 0 ] && [ -f "$dir/log" ] && { echo "--- server log:"; tail -25 "$dir/log"; }
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  umount "$dir/fs" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/fs"
mount -t tmpfs -o size=48m tmpfs "$dir/fs"
py=/usr/bin/python3

# One insert body: 500 slots of 256-d keys and values in base64 (about 1 MiB of floats), a
# one-slot insert and a query.
"$py" - "$dir" <<'EOF'
import base64, json, random, struct, sys
random.seed(1)
def b64(n):
    return base64.b64encode(struct.pack("<%df" % (n * 256), *[random.random() for _ in range(n * 256)])).decode()
big = b64(500)
json.dump({"keys_b64": big, "values_b64": big}, open(sys.argv[1] + "/insert.json", "w"))
one = b64(1)
json.dump({"keys_b64": one, "values_b64": one}, open(sys.argv[1] + "/one.json", "w"))
json.dump({"queries_b64": one, "k": 3}, open(sys.argv[1] + "/query.json", "w"))
EOF

start() {  # $1: extra serve flags
  : > "$dir/log"
  # shellcheck disable=SC2086
  "$bin" serve --data "$dir/fs/data" --port 0 --threads 2 $1 > "$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 150); do
    grep -q 'listening on' "$dir/log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log")
  [ -n "$port" ] || { cat "$dir/log"; echo "FAIL: the server did not start"; exit 1; }
  E=http://127.0.0.1:$port
}
stop() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=
  [ $rc -eq 0 ] || { tail -20 "$dir/log"; echo "FAIL: exit status $rc after SIGTERM on a full disk"; exit 1; }
}
J='Content-Type: application/json'
fail() { tail -20 "$dir/log"; echo "FAIL: $*"; exit 1; }

slots() { curl -sS "$E/v1/memories/m" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["stats"]["slots"])'; }
expect_read_only() {  # the server is up, reads answer, health and metrics say read-only
  local health
  health=$(curl -sS "$E/v1/health")
  echo "$health" | grep -q '"writable":false' || fail "health does not say read-only: $health"
  # Read whole before grep: grep -q stops at its match, and under pipefail the metrics' writer
  # failing on the closed pipe (curl: (23)) would fail the check.
  metrics=$(curl -sS "$E/v1/metrics")
  grep -q '^engram_storage_writable 0' <<< "$metrics" || fail "metrics do not say read-only"
  local code
  code=$(curl -sS -o "$dir/search.out" -w '%{http_code}' -X POST "$E/v1/memories/m/search" -H "$J" -d @"$dir/query.json")
  [ "$code" = 200 ] || fail "a search on a full disk answered $code: $(cat "$dir/search.out")"
  code=$(curl -sS -o "$dir/refused.out" -w '%{http_code}' -X POST "$E/v1/memories/m/slots" -H "$J" -d @"$dir/insert.json")
  [ "$code" = 507 ] || fail "a write on a full disk answered $code: $(cat "$dir/refused.out")"
  grep -q '"no_space"' "$dir/refused.out" || fail "the 507 does not carry no_space: $(cat "$dir/refused.out")"
}

insert() {  # one big insert; prints the status
  curl -sS -o "$dir/out" -w '%{http_code}' -X POST "$E/v1/memories/m/slots" -H "$J" -d @"$dir/insert.json"
}
fill_disk() { dd if=/dev/zero of="$dir/fs/filler" bs=64k 2>/dev/null || true; }

scenario() {  # $1: name, $2: who fills the disk ("other" or "self")
  echo "== $1"
  rm -rf "$dir/fs/data" "$dir/fs/filler"
  mount -o remount,size=48m "$dir/fs"
  start "$flags"
  curl -sSf -X PUT "$E/v1/memories/m" -H "$J" -d '{"key_dim":256,"value_dim":256,"index":"Flat"}' > /dev/null
  acked=0
  if [ "$2" = other ]; then
    for _ in 1 2 3; do
      code=$(insert)
      [ "$code" = 200 ] || fail "a write with space left answered $code: $(cat "$dir/out")"
      acked=$((acked + 500))
    done
    fill_disk
    code=$(insert)
    [ "$code" = 507 ] || fail "a write on a disk another process filled answered $code: $(cat "$dir/out")"
  else
    for _ in $(seq 100); do
      code=$(insert)
      if [ "$code" = 200 ]; then acked=$((acked + 500)); continue; fi
      [ "$code" = 507 ] || fail "a write on a filling disk answered $code, not 507: $(cat "$dir/out")"
      break
    done
    [ "$code" = 507 ] || fail "the disk never filled"
    fill_disk  # whatever space the margin kept, take it: the disk is now really full
  fi
  echo "acknowledged $acked slots before the disk was full"
  expect_read_only
  [ "$(slots)" = "$acked" ] || fail "$(slots) slots after refusals, $acked acknowledged"
  stop

  start "$flags"  # restarts while the disk is full: read-only, every acknowledged slot readable
  expect_read_only
  [ "$(slots)" = "$acked" ] || fail "$(slots) slots after a restart on a full disk, $acked acknowledged"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
  start "$flags"  # and after a kill -9 on a full disk
  [ "$(slots)" = "$acked" ] || fail "$(slots) slots after kill -9 on a full disk, $acked acknowledged"
  stop

  # Space freed: the filler goes and the volume grows (opening replays the log into tables,
  # which needs room beyond the margin), and writes are taken again.
  rm -f "$dir/fs/filler"
  mount -o remount,size=160m "$dir/fs"
  start "$flags"
  curl -sS "$E/v1/health" | grep -q '"writable":true' || fail "not writable after space was freed"
  # A small write (the big one may still not fit under the margin).
  curl -sSf -X POST "$E/v1/memories/m/slots" -H "$J" -d @"$dir/one.json" > /dev/null \
    || fail "a write after space was freed was refused"
  [ "$(slots)" = "$((acked + 1))" ] || fail "$(slots) slots after freeing space, expected $((acked + 1))"
  stop
}

flags="--min-free-disk-bytes 8388608"
scenario "another process fills the disk" other
scenario "the server's own writes fill the disk to the margin" self
flags="--min-free-disk-bytes 0"
scenario "no margin: RocksDB itself meets ENOSPC" self
echo "disk_full_test: ok"
