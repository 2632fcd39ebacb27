#!/usr/bin/env bash
# cli_help_test.sh ENGRAM [with-lm] — what a user meets first: every option of every command
# has a description and shows its default in words, mistakes are named with the closest valid
# spelling, and failures read "engram: error: …".
set -u
ENGRAM=$1
WITH_LM=${2:-}
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The subcommands, from the top-level --help's "Subcommands:" section.
commands=$("$ENGRAM" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "no subcommands listed in engram --help"
for cmd in $commands; do
  if [ "$WITH_LM" != with-lm ] && "$ENGRAM" --help | grep -q "^  $cmd .*runs engram-lm"; then continue; fi
  "$ENGRAM" "$cmd" --help > "$dir/$cmd.help" 2>&1 || fail "engram $cmd --help exited $?"
  /usr/bin/python3 - "$cmd" "$dir/$cmd.help" <<'PY' || exit 1
import re, sys
cmd, lines = sys.argv[1], open(sys.argv[2]).read().split("\n")
bad = []
label = re.compile(r"^(REQUIRED|\.\.\.|x|[0-9]+|\(Env:\S*\)|[A-Z][A-Z0-9_]*(:\S*)?(=\S*)?)$")
for i, line in enumerate(lines):
    if "{false}" in line or "{true}" in line:
        bad.append("CLI11 default syntax shown: " + line.strip())
    if not line.startswith("  -"):
        continue
    words = line.split()
    j = 1
    while j < len(words) and label.match(words[j]):
        j += 1
    desc = " ".join(words[j:])
    if not desc and i + 1 < len(lines) and re.match(r"^ {20,}\S", lines[i + 1]):
        desc = lines[i + 1].strip()
    if not desc:
        bad.append("no description: " + line.strip())
if bad:
    print("FAIL: engram %s --help:\n  " % cmd + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
done

# Defaults and environment variables are said in words.
"$ENGRAM" serve --help | grep -q -- '--port UINT .*(default: 8420; env ENGRAM_PORT)' ||
  fail "serve --help does not show --port's default and variable in words: $("$ENGRAM" serve --help | grep -- --port)"

# Mistakes: named, with the closest valid one, exit status 2.
"$ENGRAM" serach > /dev/null 2> "$dir/err"; rc=$?
[ "$rc" = 2 ] || fail "engram serach exited $rc"
grep -q "^engram: error: unknown command 'serach' (did you mean search?)" "$dir/err" || fail "engram serach said: $(cat "$dir/err")"
"$ENGRAM" serve --prot 1 > /dev/null 2> "$dir/err"; rc=$?
[ "$rc" = 2 ] || fail "engram serve --prot exited $rc"
grep -q "^engram: error: serve: unknown option '--prot' (did you mean --port?)" "$dir/err" || fail "engram serve --prot said: $(cat "$dir/err")"
"$ENGRAM" info --dtaa x > /dev/null 2> "$dir/err"
grep -q "did you mean --data?" "$dir/err" || fail "engram info --dtaa said: $(cat "$dir/err")"
"$ENGRAM" xyzzy > /dev/null 2> "$dir/err"
grep -q "^engram: error: unknown command 'xyzzy'$" "$dir/err" || fail "engram xyzzy said: $(cat "$dir/err")"

# A failing command: "engram: error: …", no logger name or timestamp.
"$ENGRAM" info --data "$dir/none" > /dev/null 2> "$dir/err"; rc=$?
[ "$rc" = 1 ] || fail "info on a missing folder exited $rc"
head -1 "$dir/err" | grep -q '^engram: error: ' || fail "info on a missing folder said: $(cat "$dir/err")"
grep -q 'engram-stderr' "$dir/err" && fail "the logger's name leaked: $(cat "$dir/err")"

# --log-level is checked like any option.
"$ENGRAM" --log-level loud info --data "$dir" > /dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || fail "--log-level loud exited $rc"
# engram's own options may come before an LM command, which still reaches engram-lm.
if [ "$WITH_LM" = with-lm ]; then
  "$ENGRAM" --log-level warn train --help > "$dir/out" 2>&1 || fail "engram --log-level warn train --help exited $?"
  grep -q -- '--steps' "$dir/out" || fail "engram --log-level warn train --help is not engram-lm's: $(cat "$dir/out")"
fi
echo "cli help: ok"
