#!/usr/bin/env bash
# Reading passages through the `engram` executable, on the tiny sample: a model trained with
# reader drills, `ingest --text` filling NAME.passages, `generate --memory --show-retrieved`,
# and `eval` with --rephrased, --inverted and --out (per-fact JSON naming the retrieved
# payloads), plus its errors for bad fact files. A model this small does not answer well; what
# is checked is the plumbing and what is retrieved.
# Usage: reader_cli_test.sh ENGRAM_BINARY TESTDATA_DIR
set -euo pipefail
ENGRAM=$1
DATA=$2
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_error WHAT MESSAGE COMMAND...: the command exits 1 and says MESSAGE.
expect_error() {
  local what=$1 msg=$2 err rc
  shift 2
  set +e
  err=$("$@" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 1 ] || fail "$what exited $rc, not 1"
  echo "$err" | grep -q -- "$msg" || fail "$what said: $err"
}
export OMP_WAIT_POLICY=PASSIVE

printf 'Orvel Tamsin\tborn\t1734\nOrvel Tamsin\tdied\t1801\n' > "$D/triples.tsv"
out=$("$ENGRAM" train "$DATA/austen-sample.txt" --out "$D/m" --vocab-size 400 --layers 2 --heads 4 \
  --width 48 --block-size 96 --segments 2 --batch 4 --steps 20 --warmup 5 --knn --threads 1 --quiet \
  --reader-ratio 0.5 --reader-facts "$D/triples.tsv" --read-passages 3 --word-families "$DATA/word-families-sample.tsv")
echo "$out" | grep -q '"steps":20' || fail "train did not report 20 steps: $out"
[ -s "$D/m/passage_keys.tsv" ] || fail "train wrote no passage_keys.tsv"
grep -q '"read_passages": 3' "$D/m/config.json" || fail "config.json does not say the model reads 3 passages"
cmp -s "$D/m/word_families.tsv" "$DATA/word-families-sample.tsv" || fail "train did not store the word families"

# ingest --text: token slots in 'kb', the sentences in 'kb.passages'.
printf 'It rained all week in the valley. The Zorvan Institute was founded in 1871. Mrs. Bennet sat down.\n' > "$D/notes.txt"
out=$("$ENGRAM" ingest --data "$D/db" --memory kb --text "$D/notes.txt" "$DATA/austen-sample.txt" --model "$D/m" --threads 1 -q)
echo "$out" | grep -q '"passage_slots":[1-9]' || fail "ingest --text stored no passages: $out"

# generate --memory: the passage about the subject is read, asked in other words.
err=$("$ENGRAM" generate --model "$D/m" --data "$D/db" --memory kb --prompt "In which year was the Zorvan Institute founded?" \
  -n 4 --threads 1 --show-retrieved 2>&1 >/dev/null)
first=$(echo "$err" | grep '^retrieved' | head -1)
case "$first" in *"The Zorvan Institute was founded in 1871."*) ;; *) fail "the best passage was not the fact: $err" ;; esac

# The model's word families rank the statement of the relation asked about first: "death"
# meets "died", not the subject's birth (shorter, so first by the words alone).
printf 'Ada Vorn was born in 1850. Ada Vorn died at Kelmar in 1908.\n' > "$D/vorn.txt"
"$ENGRAM" ingest --data "$D/db" --memory vorn --text "$D/vorn.txt" --model "$D/m" --threads 1 -q >/dev/null
err=$("$ENGRAM" generate --model "$D/m" --data "$D/db" --memory vorn --prompt "The death of Ada Vorn came in the year" \
  -n 2 --threads 1 --show-retrieved 2>&1 >/dev/null)
first=$(echo "$err" | grep '^retrieved' | head -1)
case "$first" in *"Ada Vorn died at Kelmar"*) ;; *) fail "asked about the death, the first passage was not it: $err" ;; esac

# eval: exact, rephrased and inverted sets, per relation, per fact.
cut -f1-3 "$DATA/facts-sample.tsv" | awk -F'\t' '{r = ($1 ~ /born/) ? "born" : "died"; print $1 "\t" $2 "\t" r}' > "$D/facts.tsv"
sed -e 's/^\(.*\) was born in the year\t/The year of the birth of \1 was\t/' \
    -e 's/^\(.*\) died in the year\t/The year of the death of \1 was\t/' "$D/facts.tsv" > "$D/rephrased.tsv"
awk -F'\t' '{split($1, w, / (was born|died) in the year/); v = ($3 == "born") ? "was born" : "died";
             print "In " $2 ", " w[1] " " v ".\t" $1 "\t" $2 "\t" $3}' "$D/facts.tsv" > "$D/inverted.tsv"
out=$("$ENGRAM" eval --model "$D/m" --facts "$D/facts.tsv" --rephrased "$D/rephrased.tsv" --inverted "$D/inverted.tsv" \
  --text "$DATA/austen-sample.txt" --distractor-slots 2000 --threads 1 --out "$D/results.jsonl" 2>/dev/null)
echo "$out" | grep '^{' | grep -q '"rephrased_with_memory"' || fail "eval printed no rephrased recall: $out"
echo "$out" | grep '^{' | grep -q '"inverted_with_memory"' || fail "eval printed no inverted recall: $out"
echo "$out" | grep '^{' | grep -q '"relations":{"born"' || fail "eval printed no per-relation figures: $out"
[ "$(wc -l < "$D/results.jsonl")" = 24 ] || fail "results.jsonl has $(wc -l < "$D/results.jsonl") lines, not 3 x 8"
grep '"set":"rephrased"' "$D/results.jsonl" | grep 'The year of the birth of Orvel Tamsin' \
  | grep -q '"payload":"Orvel Tamsin was born in the year 1734."' || fail "the per-fact output does not name the retrieved fact"
grep '"set":"inverted"' "$D/results.jsonl" | grep 'Orvel Tamsin was born' \
  | grep -q '"payload":"In 1734, Orvel Tamsin was born."' || fail "the inverted statement was not retrieved"

# --distractor-facts: facts about other people join the passages; an asked fact cannot be one.
printf 'Pell Avrin was born in the year\t1750\nPell Avrin died in the year\t1801\n' > "$D/others.tsv"
more=$("$ENGRAM" eval --model "$D/m" --facts "$D/facts.tsv" --text "$DATA/austen-sample.txt" --distractor-slots 2000 \
  --distractor-facts "$D/others.tsv" --threads 1 2>/dev/null)
before=$(echo "$out" | grep '^{' | grep -o '"other_slots":[0-9]*' | cut -d: -f2)
after=$(echo "$more" | grep '^{' | grep -o '"other_slots":[0-9]*' | cut -d: -f2)
[ "$after" = "$((before + 2))" ] || fail "--distractor-facts: $before other slots, then $after (not 2 more)"
head -1 "$D/facts.tsv" > "$D/asked.tsv"
expect_error "an asked fact as a distractor" "is asked" \
  "$ENGRAM" eval --model "$D/m" --facts "$D/facts.tsv" --distractor-facts "$D/asked.tsv" --threads 1

# Bad fact files are clear errors (exit 1) naming the line.
printf 'Orvel Tamsin was born in the year\n' > "$D/noanswer.tsv"
expect_error "a missing answer column" "noanswer.tsv:1: expected prompt<TAB>answer" \
  "$ENGRAM" eval --model "$D/m" --facts "$D/noanswer.tsv" --threads 1
printf 'In 1734, Orvel Tamsin was born.\tOrvel Tamsin was born in the year\n' > "$D/badinv.tsv"
expect_error "a bad --inverted file" "badinv.tsv:1: expected statement<TAB>prompt<TAB>answer" \
  "$ENGRAM" eval --model "$D/m" --facts "$D/facts.tsv" --inverted "$D/badinv.tsv" --threads 1
printf 'In 1735, Orvel Tamsin was born.\tOrvel Tamsin was born in the year\t1734\n' > "$D/badinv2.tsv"
expect_error "an --inverted statement without its answer" "does not contain the answer" \
  "$ENGRAM" eval --model "$D/m" --facts "$D/facts.tsv" --inverted "$D/badinv2.tsv" --threads 1
echo "ok"
