#!/usr/bin/env bash
# scripts/check-fact-leak.py: clean splits pass, a planted leak fails naming the subject, and a
# name that only shares words with a training subject is not a leak.
# Usage: leak_check_test.sh CHECK_SCRIPT
set -euo pipefail
CHECK=$1
PY=${PYTHON:-/usr/bin/python3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'Jean Genet\tborn\t1910\nWilliam Bradford Shockley\tdied\t1989\n' > "$D/train-triples.tsv"
printf 'Jean Genet was born in the year\t1910\tborn\n' > "$D/train.tsv"
printf 'It is a truth universally acknowledged.\n' > "$D/corpus.txt"
printf 'William Bradford was born in the year\t1590\tborn\nThe year of the death of Ada Lovelace was\t1852\tdied\n' > "$D/eval.tsv"
printf 'In 1852, Ada Lovelace died.\tAda Lovelace died in the year\t1852\tdied\n' > "$D/inverted.tsv"

"$PY" "$CHECK" --train "$D/train-triples.tsv" --train "$D/train.tsv" --corpus "$D/corpus.txt" \
  --eval "$D/eval.tsv" --eval "$D/inverted.tsv" > "$D/out" || fail "a clean split failed: $(cat "$D/out")"

# A planted leak: an eval subject among the training facts.
printf 'Ada Lovelace\tborn\t1815\n' >> "$D/train-triples.tsv"
set +e
"$PY" "$CHECK" --train "$D/train-triples.tsv" --eval "$D/eval.tsv" 2> "$D/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a planted leak exited $rc, not 1"
grep -q '"Ada Lovelace" is in the training facts' "$D/err" || fail "the leak was not named: $(cat "$D/err")"

# A leak through the training text.
printf 'Ada Lovelace wrote notes.\n' > "$D/corpus2.txt"
set +e
"$PY" "$CHECK" --train "$D/train.tsv" --corpus "$D/corpus2.txt" --eval "$D/inverted.tsv" 2> "$D/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a subject in the training text exited $rc, not 1"
grep -q 'in the training text' "$D/err" || fail "the text leak was not named: $(cat "$D/err")"
echo ok
