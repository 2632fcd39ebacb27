#!/usr/bin/env bash
# serve_config_test.sh ENGRAM — where `engram serve` takes its settings (flags, ENGRAM_*
# variables, a --config file, shown by --print-config) and how it logs (--log-level,
# --log-format json, --access-log).
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
setting() { sed -n "s/^$1=//p" "$dir/printed"; }

# 1. A flag beats its variable, which beats the file; TOML with a [serve] section, or INI.
cat > "$dir/engram.toml" <<'TOML'
# the server's settings
port = 9999
max-batch = 77
max-connections = 5
[serve]
host = "0.0.0.0"
access-log = true
TOML
ENGRAM_MAX_CONNECTIONS=12 ENGRAM_TOKEN=sekr1t "$bin" serve --config "$dir/engram.toml" --threads 3 --print-config > "$dir/printed"
[ "$(setting port)" = 9999 ] || fail "port from the file: $(cat "$dir/printed")"
[ "$(setting max-batch)" = 77 ] || fail "max-batch from the file: $(cat "$dir/printed")"
[ "$(setting max-connections)" = 12 ] || fail "the variable did not beat the file: $(cat "$dir/printed")"
[ "$(setting threads)" = 3 ] || fail "the flag: $(cat "$dir/printed")"
[ "$(setting host)" = '"0.0.0.0"' ] || fail "[serve] section: $(cat "$dir/printed")"
[ "$(setting access-log)" = true ] || fail "flag from the file: $(cat "$dir/printed")"
[ "$(setting max-body-bytes)" = 67108864 ] || fail "defaults are shown too: $(cat "$dir/printed")"
grep -q sekr1t "$dir/printed" && fail "--print-config printed the token"
grep -q '^# token is set' "$dir/printed" || fail "--print-config does not say a token is set"
# What --print-config prints is a config file serve reads back to the same settings.
grep -v '^#' "$dir/printed" > "$dir/again.toml"  # (the token is not in it: it was set)
"$bin" serve --config "$dir/again.toml" --print-config | grep -v '^#\|^token=' > "$dir/printed2"
diff "$dir/again.toml" "$dir/printed2" || fail "--print-config's output does not read back the same"
printf 'port=7777\nmax_batch_typo=1\n' > "$dir/bad.ini"
rc=0; "$bin" serve --config "$dir/bad.ini" --print-config > /dev/null 2> "$dir/err" || rc=$?
[ $rc = 2 ] || fail "an unknown key exited $rc"
grep -q "unknown setting 'max_batch_typo'" "$dir/err" || fail "unknown key said: $(cat "$dir/err")"
ENGRAM_PORT=7000 "$bin" serve --print-config | grep -q '^port=7000$' || fail "ENGRAM_PORT ignored"

# 2. JSON logs and the access log: every stderr line a JSON object; one access line per request.
"$bin" serve --data "$dir/data" --port 0 --threads 2 --log-format json --access-log 2> "$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$dir/log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log")
[ -n "$port" ] || { cat "$dir/log"; fail "server did not start"; }
curl -s -o /dev/null "http://127.0.0.1:$port/v1/memories/nope"
curl -s -o /dev/null "http://127.0.0.1:$port/v1/health"
kill -TERM $pid; wait $pid; pid=
/usr/bin/python3 - "$dir/log" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]).read().split("\n") if l]
objs = [json.loads(l) for l in lines]  # fails on a line that is not JSON
access = [o for o in objs if o.get("msg") == "access"]
assert len(access) == 2, lines
a = access[0]
assert a["method"] == "GET" and a["route"] == "/v1/memories/{name}" and a["path"] == "/v1/memories/nope", a
assert a["status"] == 404 and a["bytes"] > 0 and a["duration_s"] >= 0, a
assert a["client"].startswith("127.0.0.1:"), a
assert access[1]["status"] == 200 and access[1]["route"] == "/v1/health", access[1]
assert all(o["level"] in ("info", "warning", "warn") for o in objs if o.get("msg") != "access"), objs
assert any("listening on" in o["msg"] for o in objs), objs
PY

# 3. --log-level (here from ENGRAM_LOG_LEVEL) drops the lines below it; the access log stays.
ENGRAM_LOG_LEVEL=warn "$bin" serve --data "$dir/data" --port 0 --threads 2 --access-log 2> "$dir/log" &
pid=$!
for _ in $(seq 50); do [ -s "$dir/log" ] && break; sleep 0.1; done
sleep 0.5
kill -TERM $pid; wait $pid; pid=
grep -q 'listening on' "$dir/log" && fail "info lines shown at --log-level warn: $(cat "$dir/log")"
echo "serve_config_test: ok"
