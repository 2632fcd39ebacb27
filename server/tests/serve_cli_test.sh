#!/usr/bin/env bash
# serve_cli_test.sh ENGRAM — `engram serve` as a process: it starts, serves, exits 0 on SIGTERM
# and on SIGINT, and a restart finds what was written.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT

start() {  # starts the server on a free port; sets pid and E
  : > "$dir/log"
  "$bin" serve --data "$dir/data" --port 0 --threads 2 --token t0k > "$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$dir/log" && break
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log")
  [ -n "$port" ] || { cat "$dir/log"; echo "server did not start"; exit 1; }
  E=http://127.0.0.1:$port
}
stop() {  # sends signal $1 and checks the exit status is 0
  kill -"$1" $pid
  local rc=0
  wait $pid || rc=$?
  pid=
  [ $rc -eq 0 ] || { cat "$dir/log"; echo "exit status $rc after SIG$1"; exit 1; }
  grep -q 'database closed' "$dir/log" || { cat "$dir/log"; echo "no clean stop logged"; exit 1; }
}
A='Authorization: Bearer t0k'
J='Content-Type: application/json'

start
[ "$(curl -s -o /dev/null -w '%{http_code}' "$E/v1/memories")" = 401 ]
curl -sSf -X PUT "$E/v1/memories/m" -H "$A" -H "$J" -d '{"key_dim":2,"value_dim":1,"index":"HNSW32"}' > /dev/null
curl -sSf -X POST "$E/v1/memories/m/slots" -H "$A" -H "$J" -d '{"keys":[[1,0],[0,1]],"values":[[1],[2]]}' > /dev/null
stop TERM

start
curl -sSf "$E/v1/memories/m" -H "$A" | grep -q '"slots":2'
stop INT
echo "serve_cli_test: ok"
