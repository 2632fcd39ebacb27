#!/usr/bin/env bash
# fetch-lm-data.sh — fetch real English prose and real facts from Debian packages and prepare
# them for the LM layer (lm/). Output goes to ./data/lm (never committed).
#
#   scripts/fetch-lm-data.sh [OUT_DIR]        # default: ./data/lm
#
# Sources (see lm/README.md for licences):
#   r-cran-janeaustenr  six Austen novels (public domain text, MIT-licensed R wrapper). The text
#                       sits in R's .rdb/.rdx serialisation; a small reader below extracts it
#                       without R.
#   wordnet-base        WordNet 3.0 (WordNet licence, Princeton notice kept in OUT/facts/LICENSE):
#                       people whose gloss ends "(1879-1955)" give birth and death years.
#
# Produces:
#   OUT/corpus/train.txt      five novels' chapters, one document per chapter, documents
#                             separated by a line "<|endofdoc|>"
#   OUT/corpus/valid.txt      every 20th chapter (offset 7), for validation during training
#   OUT/corpus/test.txt       every 20th chapter (offset 13), for held-out perplexity
#   OUT/facts/train.tsv       prompt<TAB>answer facts for training drills (disjoint people)
#   OUT/facts/eval.tsv        >= 1,000 facts about people never used in training
#   OUT/facts/eval-rephrased.tsv  the same facts, asked another way
#   OUT/facts/eval-inverted.tsv   the same facts stated object first, asked subject first
#   OUT/facts/train-triples.tsv   subject<TAB>relation<TAB>object of the training people (reader drills)
#   OUT/word-families.tsv     WordNet's word families for the passage keys (train --word-families;
#                             scripts/wordnet-families.py)
# Fact files carry the relation in a last column. check-fact-leak.py then verifies that no
# evaluation subject is in the training facts or the training text.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

OUT=${1:-data/lm}
mkdir -p "$OUT/corpus" "$OUT/facts" "$OUT/debs"
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}

cd "$OUT/debs"
for pkg in r-cran-janeaustenr wordnet-base; do
  if ! ls ${pkg}_*.deb >/dev/null 2>&1; then
    apt-get download "$pkg"
  fi
done
rm -rf x && mkdir x
for deb in *.deb; do dpkg -x "$deb" x; done

"$PY" - "$OUT" <<'PYEOF'
import gzip, random, re, struct, sys, zlib, os

out = sys.argv[1]
root = os.path.join(out, 'debs', 'x')

# ---- a minimal reader for R's XDR serialisation (enough for character vectors and lists) ----
class RReader:
    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []
    def int(self):
        v = struct.unpack('>i', self.b[self.p:self.p + 4])[0]; self.p += 4; return v
    def raw(self, n):
        v = self.b[self.p:self.p + n]; self.p += n; return v
    def top(self):
        assert self.raw(2) == b'X\n', 'only the XDR format is supported'
        version = self.int(); self.int(); self.int()
        if version == 3:
            self.raw(self.int())  # native encoding name
        return self.item()
    def item(self):
        flags = self.int(); t = flags & 0xff
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if t in (242, 251, 253, 254):      # empty env, missing arg, global env, NULL
            return None
        if t == 255:                       # reference to an earlier symbol / environment
            return self.refs[(flags >> 8) - 1]
        if t == 1:                         # symbol
            v = self.item(); self.refs.append(v); return v
        if t == 9:                         # CHARSXP
            n = self.int()
            return None if n == -1 else self.raw(n).decode('utf-8', 'replace')
        if t in (2, 5, 6, 17):             # pairlist-like: [attr] [tag] car cdr
            if has_attr: self.item()
            tag = self.item() if has_tag else None
            car = self.item(); cdr = self.item()
            return [(tag, car)] + (cdr if isinstance(cdr, list) else [])
        if t == 4:                         # environment
            self.int(); env = {}; self.refs.append(env)
            for _ in range(4): self.item()
            return env
        if t in (16, 19, 20):
            v = [self.item() for _ in range(self.int())]
        elif t in (10, 13):
            n = self.int(); v = list(struct.unpack('>%di' % n, self.raw(4 * n)))
        elif t == 14:
            n = self.int(); v = list(struct.unpack('>%dd' % n, self.raw(8 * n)))
        elif t == 24:
            v = self.raw(self.int())
        else:
            raise ValueError('unsupported R type %d' % t)
        if has_attr:
            attrs = dict(self.item())
            if t == 19 and attrs.get('names'):
                return dict(zip(attrs['names'], v))
        return v

def load_rdb(prefix):
    rdx = open(prefix + '.rdx', 'rb').read()
    rdx = gzip.decompress(rdx) if rdx[:2] == b'\x1f\x8b' else zlib.decompress(rdx[4:])
    index = RReader(rdx).top()
    rdb = open(prefix + '.rdb', 'rb').read()
    objs = {}
    for name, (off, length) in index['variables'].items():
        blob = rdb[int(off):int(off) + int(length)]
        objs[name] = RReader(zlib.decompress(blob[4:])).top()
    return objs

# ---- Austen: one document per chapter --------------------------------------------------------
books = load_rdb(os.path.join(root, 'usr/lib/R/site-library/janeaustenr/data/Rdata'))
chapter_re = re.compile(r'^\s*(CHAPTER|Chapter)\s+[IVXLC0-9]+', re.I)
train, valid, test = [], [], []
for name in sorted(books):
    lines = [l if l is not None else '' for l in books[name]]
    chapters, cur = [], []
    for l in lines:
        if chapter_re.match(l):
            if cur: chapters.append(cur)
            cur = []
            continue
        cur.append(l)
    if cur: chapters.append(cur)
    chapters = chapters[1:] if len(chapters) > 1 else chapters  # drop title page
    for i, ch in enumerate(chapters):
        # Re-flow the hard-wrapped lines into paragraphs.
        paras, p = [], []
        for l in ch:
            if l.strip(): p.append(l.strip())
            elif p: paras.append(' '.join(p)); p = []
        if p: paras.append(' '.join(p))
        text = '\n'.join(paras).replace('_', '')
        if len(text) < 200: continue
        (valid if i % 20 == 7 else test if i % 20 == 13 else train).append(text)
for fname, docs in (('train', train), ('valid', valid), ('test', test)):
    with open(os.path.join(out, 'corpus', fname + '.txt'), 'w') as f:
        f.write('\n<|endofdoc|>\n'.join(docs) + '\n')
    print('corpus/%s.txt: %d documents, %d characters' % (fname, len(docs), sum(map(len, docs))))
corpus_text = ' '.join(train + valid + test)

# ---- WordNet: people with (birth-death) years --------------------------------------------------
people = {}
pat = re.compile(r'\((\d{3,4})-(\d{3,4})\)\s*$')
for line in open(os.path.join(root, 'usr/share/wordnet/data.noun'), encoding='latin-1'):
    if line.startswith('  '): continue
    head, _, gloss = line.partition('|')
    f = head.split()
    if len(f) < 5 or f[1] != '18': continue      # lexicographer file 18: noun.person
    m = pat.search(gloss.strip())
    if not m: continue
    n = int(f[3], 16)
    lemmas = [f[4 + 2 * i].replace('_', ' ') for i in range(n)]
    lemmas = [re.sub(r'\(.*\)$', '', l).strip() for l in lemmas]
    # The longest lemma is the full name ("Albert Einstein" rather than "Einstein").
    name = max(lemmas, key=len)
    if not re.fullmatch(r"[A-Za-z][A-Za-z .'-]+", name): continue
    born, died = m.group(1), m.group(2)
    if int(died) <= int(born): continue
    people.setdefault(name, (born, died))
# A fair test: the person's name must not occur in the prose the model trains on.
names = sorted(n for n in people if n not in corpus_text)
rng = random.Random(1234)
rng.shuffle(names)
n_eval = min(600, len(names) // 2)
eval_names, train_names = names[:n_eval], names[n_eval:]
def facts(ns):
    rows = []
    for n in ns:
        b, d = people[n]
        rows.append((n, 'born', b)); rows.append((n, 'died', d))
    return rows
def canon(n, rel): return '%s was born in the year' % n if rel == 'born' else '%s died in the year' % n
def rephr(n, rel): return 'The year of the birth of %s was' % n if rel == 'born' else 'The year of the death of %s was' % n
def inverted(n, rel, y):  # stated object first when ingested, asked subject first
    return ('In %s, %s was born.' % (y, n) if rel == 'born' else 'In %s, %s died.' % (y, n)), canon(n, rel)
with open(os.path.join(out, 'facts', 'train.tsv'), 'w') as f, \
     open(os.path.join(out, 'facts', 'train-triples.tsv'), 'w') as t:
    for n, rel, y in facts(train_names):
        f.write('%s\t%s\t%s\n' % (canon(n, rel), y, rel))
        t.write('%s\t%s\t%s\n' % (n, rel, y))
with open(os.path.join(out, 'facts', 'eval.tsv'), 'w') as f, \
     open(os.path.join(out, 'facts', 'eval-rephrased.tsv'), 'w') as g, \
     open(os.path.join(out, 'facts', 'eval-inverted.tsv'), 'w') as h:
    for n, rel, y in facts(eval_names):
        f.write('%s\t%s\t%s\n' % (canon(n, rel), y, rel))
        g.write('%s\t%s\t%s\n' % (rephr(n, rel), y, rel))
        st, q = inverted(n, rel, y)
        h.write('%s\t%s\t%s\t%s\n' % (st, q, y, rel))
print('facts: %d people (%d kept after removing names found in the prose); train %d facts, eval %d facts'
      % (len(people), len(names), 2 * len(train_names), 2 * len(eval_names)))
PYEOF

# Evaluation facts must not reach training: subjects disjoint, no eval subject in the prose.
"$PY" "$HERE/check-fact-leak.py" --train "$OUT/facts/train-triples.tsv" --train "$OUT/facts/train.tsv" \
  --corpus "$OUT/corpus/train.txt" --corpus "$OUT/corpus/valid.txt" \
  --eval "$OUT/facts/eval.tsv" --eval "$OUT/facts/eval-rephrased.tsv" --eval "$OUT/facts/eval-inverted.tsv"

"$PY" "$HERE/wordnet-families.py" "$OUT/debs/x/usr/share/wordnet" "$OUT/word-families.tsv"

cp "$OUT/debs/x/usr/share/doc/wordnet-base/copyright" "$OUT/facts/LICENSE-wordnet"
cp "$OUT/debs/x/usr/share/doc/r-cran-janeaustenr/copyright" "$OUT/corpus/LICENSE-janeaustenr"
rm -rf "$OUT/debs/x"
echo "prepared $OUT"
