#!/usr/bin/env bash
# The LM commands through the `engram` executable: train → ingest --text → generate, on the
# tiny sample. Usage: cli_test.sh ENGRAM_BINARY TESTDATA_DIR
set -euo pipefail
ENGRAM=$1
DATA=$2
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE

# train: a tiny kNN model; the checkpoint, loss curve and plot are written.
out=$("$ENGRAM" train "$DATA/austen-sample.txt" --out "$D/m" --vocab-size 400 --layers 2 --heads 4 \
  --width 48 --block-size 32 --segments 2 --batch 4 --steps 30 --warmup 5 --knn --threads 1 --quiet \
  --drill-facts "$DATA/facts-sample.tsv" 2> "$D/train.err")
echo "$out" | grep -q '"steps":30' || fail "train did not report 30 steps: $out"
# Its last line is JSON (no --valid: the validation losses are null, not nan), and SentencePiece's
# banner stays out of a --quiet run.
echo "$out" | tail -1 | /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); assert r["val_loss"] is None, r' ||
  fail "train's last line is not the JSON expected: $out"
grep -Eqi 'sentencepiece|Running command|trainer_interface' "$D/train.err" && fail "SentencePiece logged: $(head -3 "$D/train.err")"
for f in config.json model.pt optimizer.pt tokenizer.model loss.csv loss.png; do
  [ -s "$D/m/$f" ] || fail "train wrote no $f"
done
# Training on from the checkpoint without --quiet, stderr not a terminal: the --log-every lines
# and a progress line per 10 % with rate and ETA, the last at 100 % of this run's 10 steps.
cp -r "$D/m" "$D/m2"
"$ENGRAM" train "$DATA/austen-sample.txt" --out "$D/m2" --resume --steps 40 --log-every 5 --threads 1 \
  >/dev/null 2> "$D/train2.err" || fail "train --resume failed: $(tail -5 "$D/train2.err")"
grep -q '^step 35/40  loss ' "$D/train2.err" || fail "train printed no --log-every line: $(cat "$D/train2.err")"
[ "$(grep -c '^train: ' "$D/train2.err")" = 10 ] || fail "train's progress is not a line per 10 %: $(cat "$D/train2.err")"
grep '^train: ' "$D/train2.err" | tail -1 | grep -Eq '100.0% 10/10 steps .* steps/s  ETA 0:00  loss ' ||
  fail "train's last progress line: $(cat "$D/train2.err")"

# ingest --text goes to the LM path; --text without --model is a usage error (exit 2).
set +e
"$ENGRAM" ingest --data "$D/db" --memory facts --text "$DATA/austen-sample.txt" 2>/dev/null
rc=$?
set -e
[ "$rc" = 2 ] || fail "ingest --text without --model exited $rc, not 2"
cut -f1,2 --output-delimiter=' ' "$DATA/facts-sample.tsv" | sed 's/$/./' > "$D/facts.txt"
out=$("$ENGRAM" ingest --data "$D/db" --memory facts --text "$D/facts.txt" --model "$D/m" --threads 1 2> "$D/ingest.err")
echo "$out" | grep -q '"documents":1' || fail "ingest --text: $out"
# Not a terminal: plain progress lines (a line per 10 %) with rate and ETA, the last at 100 %.
grep -q '^ingest: .* segments/s  ETA ' "$D/ingest.err" || fail "ingest --text showed no progress lines: $(cat "$D/ingest.err")"
grep '^ingest: ' "$D/ingest.err" | tail -1 | grep -q '100.0%' || fail "ingest --text progress did not end at 100 %: $(cat "$D/ingest.err")"
grep -q $'\r' "$D/ingest.err" && fail "ingest --text drew a bar into a file"
slots=$(echo "$out" | grep memory_slots | sed 's/.*"memory_slots":\([0-9]*\).*/\1/')
[ "$slots" -gt 40 ] || fail "ingest --text stored only $slots slots"
"$ENGRAM" info --data "$D/db" | grep -q facts || fail "engram info does not list the memory"

# generate: same seed, same text; sampling with another seed is allowed to differ.
g1=$("$ENGRAM" generate --model "$D/m" --data "$D/db" --memory facts --prompt "Orvel Tamsin was born in the year" \
  -n 6 --temperature 0.8 --seed 3 --threads 1)
g2=$("$ENGRAM" generate --model "$D/m" --data "$D/db" --memory facts --prompt "Orvel Tamsin was born in the year" \
  -n 6 --temperature 0.8 --seed 3 --threads 1)
[ "$g1" = "$g2" ] || fail "generate is not deterministic: '$g1' vs '$g2'"
case "$g1" in "Orvel Tamsin was born in the year"*) ;; *) fail "generate did not echo the prompt: $g1" ;; esac

# tune-readout: picks k, sharpness and λ on dev facts and validation text and writes them to a
# copy of the model's config.json (the grid here: k 4 or 8).
cp -r "$D/m" "$D/t"
out=$("$ENGRAM" tune-readout --model "$D/t" --facts "$DATA/facts-sample.tsv" --text "$DATA/austen-sample.txt" \
  --valid "$DATA/austen-sample.txt" --distractor-slots 3000 --max-facts 10 --ppl-tokens 600 --k 4 8 --copy-match 2 \
  --threads 1 2>/dev/null)
echo "$out" | grep -q '"chosen"' || fail "tune-readout printed no choice: $out"
grep -Eq '"memory_k": (4|8),' "$D/t/config.json" || fail "tune-readout did not write k 4 or 8: $(grep memory_k "$D/t/config.json")"
grep -Eq '"knn_scale": [1-9]' "$D/t/config.json" || fail "tune-readout did not write a sharpness"
grep -q '"copy_match": 2,' "$D/t/config.json" || fail "tune-readout --copy-match 2 was not stored"
grep -Eq '"memory_k": 32,' "$D/m/config.json" || fail "tune-readout changed the original model"
# Both kNN key choices were tried; the one kept is the one written.
echo "$out" | grep -q '"hidden":{' && echo "$out" | grep -q '"projected":{' || fail "tune-readout did not try both keys: $out"
kept=$(echo "$out" | grep -o '"knn_keys":"[a-z]*"' | cut -d'"' -f4)
[ "$kept" = hidden ] && want=true || want=false
grep -q "\"knn_key_hidden\": $want" "$D/t/config.json" || fail "kept $kept keys but config.json says $(grep knn_key_hidden "$D/t/config.json")"
"$ENGRAM" tune-readout --model "$D/t" --facts "$DATA/facts-sample.tsv" --text "$DATA/austen-sample.txt" \
  --valid "$DATA/austen-sample.txt" --distractor-slots 3000 --max-facts 10 --ppl-tokens 600 --k 4 --knn-keys projected \
  --threads 1 >/dev/null 2>&1 || fail "tune-readout --knn-keys projected failed"
grep -q '"knn_key_hidden": false' "$D/t/config.json" || fail "--knn-keys projected did not store projected keys"
# A k outside 1..4096 is a clear error (exit 1) and leaves the config as it was.
cp "$D/t/config.json" "$D/config.before"
set +e
err=$("$ENGRAM" tune-readout --model "$D/t" --facts "$DATA/facts-sample.tsv" --valid "$DATA/austen-sample.txt" \
  --k 0 8 --threads 1 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "tune-readout --k 0 exited $rc, not 1"
echo "$err" | grep -q "every k must be in 1..4096" || fail "tune-readout --k 0 said: $err"
cmp -s "$D/config.before" "$D/t/config.json" || fail "a failed tune-readout changed config.json"

# A sharp fixed read-out (what tune-readout stores in config.json): the exact key of the
# ingested sentence decides every answer token, even for this barely trained model.
sed -i -e 's/"knn_scale": 0.0/"knn_scale": 100000.0/' -e 's/"knn_lambda_slope": 0.0/"knn_lambda_slope": 2000.0/' \
  -e 's/"knn_lambda_center": 0.0/"knn_lambda_center": 0.995/' "$D/m/config.json"
grep -q '"knn_scale": 100000.0' "$D/m/config.json" || fail "could not set the read-out"
for q in "Orvel Tamsin was born in the year:1734" "Hedda Virkkunen died in the year:1968" "Ansel Quarry was born in the year:1650"; do
  prompt=${q%:*}
  answer=${q##*:}
  g=$("$ENGRAM" generate --model "$D/m" --data "$D/db" --memory facts --prompt "$prompt" -n 6 --threads 1)
  case "$g" in "$prompt $answer"*) ;; *) fail "with the memory, '$prompt' gave '$g' (want $answer)" ;; esac
done

# A missing model is an error (exit 1), not a crash.
set +e
"$ENGRAM" generate --model "$D/nope" --prompt x 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "generate with a missing model exited $rc, not 1"
echo "ok"
