#!/usr/bin/env python3
"""wordnet-families.py — word families from WordNet, for the passage memory's lexical keys.

    wordnet-families.py WORDNET_DIR OUT.tsv

A question often names a relation with another form of the word its statement used: "the death
of X" / "X died", "the birth of X" / "X was born", "the founding of X" / "X was established".
Character trigrams do not join such pairs. WordNet does: its derivational links join "death" and
"die", "birth" and "be born", "found" and "foundation"; the first (most frequent) sense of a word
names its closest synonyms ("found": establish, launch). For each single-word lemma the table
lists that family (one hop: derivations of any sense, synonyms of the first sense), and the
irregular forms (*.exc: "born" → "bear", "men" → "man"); regular inflections are undone at
lookup time by WordNet's own suffix rules (lm/word_families.h).

Output (UTF-8, tab-separated, after the header line "engram-word-families 1"):
    F <lemma> <member> <member> ...     a lemma's family (not the lemma itself)
    X <form> <lemma> <lemma> ...        an irregular form's lemmas
"""
import collections
import os
import sys

POS_FILES = {'n': 'noun', 'v': 'verb', 'a': 'adj', 'r': 'adv'}


def single_word(lemma):
    """A lemma as one word, or None. WordNet writes passive states as "be_X" ("be_born")."""
    parts = lemma.lower().split('_')
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2 and parts[0] == 'be':
        return parts[1]
    return None


def read_synsets(wn):
    words, pointers = {}, {}
    for pos, name in POS_FILES.items():
        with open(os.path.join(wn, 'data.' + name), encoding='latin-1') as f:
            for line in f:
                if line.startswith('  '):
                    continue  # the licence header
                f_ = line.split('|')[0].split()
                offset, count = f_[0], int(f_[3], 16)
                # An adjective's lemma may carry its syntactic marker: "galore(ip)".
                words[(pos, offset)] = [f_[4 + 2 * i].split('(')[0] for i in range(count)]
                i = 4 + 2 * count
                n = int(f_[i])
                ptrs = []
                for k in range(n):
                    sym, toff, tpos, st = f_[i + 1 + 4 * k:i + 5 + 4 * k]
                    ptrs.append((sym, toff, 'a' if tpos == 's' else tpos, int(st[:2], 16), int(st[2:], 16)))
                pointers[(pos, offset)] = ptrs
    return words, pointers


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: wordnet-families.py WORDNET_DIR OUT.tsv')
    wn, out = sys.argv[1], sys.argv[2]
    words, pointers = read_synsets(wn)
    family = collections.defaultdict(set)
    # Derivational links ("+") join two lemmas, of any sense; kept symmetric.
    for (pos, offset), ptrs in pointers.items():
        for sym, toff, tpos, source, target in ptrs:
            if sym != '+' or source == 0:
                continue
            a = single_word(words[(pos, offset)][source - 1])
            b = single_word(words[(tpos, toff)][target - 1])
            if a and b and a != b:
                family[a].add(b)
                family[b].add(a)
    # Synonyms of a lemma's first sense (index files list a lemma's senses most frequent first).
    for pos, name in POS_FILES.items():
        with open(os.path.join(wn, 'index.' + name), encoding='latin-1') as f:
            for line in f:
                if line.startswith('  '):
                    continue
                f_ = line.split()
                lemma = single_word(f_[0])
                if not lemma:
                    continue
                first_sense = f_[4 + int(f_[3]) + 2]
                for w in words[(pos, first_sense)]:
                    s = single_word(w)
                    if s and s != lemma:
                        family[lemma].add(s)
    irregular = collections.defaultdict(set)
    for name in POS_FILES.values():
        with open(os.path.join(wn, name + '.exc'), encoding='latin-1') as f:
            for line in f:
                f_ = line.split()
                if len(f_) >= 2 and '_' not in f_[0]:
                    irregular[f_[0].lower()].update(s for s in map(single_word, f_[1:]) if s)
    with open(out, 'w', encoding='utf-8') as f:
        f.write('engram-word-families 1\n')
        for lemma in sorted(family):
            f.write('F\t%s\t%s\n' % (lemma, ' '.join(sorted(family[lemma]))))
        for form in sorted(irregular):
            if irregular[form]:
                f.write('X\t%s\t%s\n' % (form, ' '.join(sorted(irregular[form]))))
    print('%s: %d word families, %d irregular forms' % (out, len(family), len(irregular)))


if __name__ == '__main__':
    main()
