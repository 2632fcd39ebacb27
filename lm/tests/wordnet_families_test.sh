#!/usr/bin/env bash
# scripts/wordnet-families.py on a miniature WordNet in WordNet's own file formats: derivational
# links join across parts of speech in both directions, "be_X" lemmas count as X, a lemma's
# first-sense synonyms join it (a later sense's do not), and irregular forms are listed.
# Usage: wordnet_families_test.sh FAMILIES_SCRIPT
set -euo pipefail
SCRIPT=$1
PY=${PYTHON:-/usr/bin/python3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

W="$D/wn"
mkdir -p "$W"
# data.POS: offset lex_filenum ss_type w_cnt(hex) {word lex_id} p_cnt {symbol offset pos src/tgt} | gloss
cat > "$W/data.verb" <<'WN'
  1 This software and database is being provided to you, the LICENSEE, by Princeton University
00000001 30 v 02 die 0 decease 0 001 + 00000011 n 0101 | stop living
00000002 29 v 01 be_born 0 001 + 00000021 n 0101 | come into existence through birth
00000003 30 v 01 die 0 000 | a later sense of die: to cease, as an engine
00000004 30 v 02 stall 0 die 0 000 | lose power
WN
cat > "$W/data.noun" <<'WN'
00000011 26 n 01 death 0 001 + 00000001 v 0101 | the event of dying
00000021 26 n 01 birth 0 001 + 00000002 v 0101 | the event of being born
WN
# index.POS: lemma pos synset_cnt p_cnt {symbol} sense_cnt tagsense_cnt {offset}, senses most frequent first
cat > "$W/index.verb" <<'WN'
  1 This software and database is being provided to you, the LICENSEE, by Princeton University
be_born v 1 1 + 1 0 00000002
decease v 1 1 + 1 0 00000001
die v 3 1 + 3 0 00000001 00000003 00000004
stall v 1 0 1 0 00000004
WN
printf 'birth n 1 1 + 1 0 00000021\ndeath n 1 1 + 1 0 00000011\n' > "$W/index.noun"
: > "$W/data.adj"; : > "$W/data.adv"; : > "$W/index.adj"; : > "$W/index.adv"
printf 'born bear\nbade bid\n' > "$W/verb.exc"
printf 'men man\n' > "$W/noun.exc"
: > "$W/adj.exc"; : > "$W/adv.exc"

"$PY" "$SCRIPT" "$W" "$D/families.tsv" > "$D/out" || fail "the script failed: $(cat "$D/out")"
[ "$(head -1 "$D/families.tsv")" = "engram-word-families 1" ] || fail "no header: $(head -1 "$D/families.tsv")"
line() { grep -P "^$1\t$2\t" "$D/families.tsv" | cut -f3; }
[ "$(line F die)" = "death decease" ] || fail "die: '$(line F die)' (stall is a later sense's synonym)"
[ "$(line F death)" = "die" ] || fail "death: '$(line F death)'"
[ "$(line F born)" = "birth" ] || fail "born (be_born): '$(line F born)'"
[ "$(line F birth)" = "born" ] || fail "birth: '$(line F birth)'"
[ "$(line F stall)" = "die" ] || fail "stall: '$(line F stall)'"
[ "$(line X born)" = "bear" ] || fail "irregular born: '$(line X born)'"
[ "$(line X men)" = "man" ] || fail "irregular men: '$(line X men)'"
grep -q "be_born" "$D/families.tsv" && fail "a two-word lemma was written"
echo "ok"
