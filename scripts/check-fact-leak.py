#!/usr/bin/env python3
"""check-fact-leak.py — fails when an evaluation fact could have been learnt in training.

Facts are split by subject: no subject of an evaluation fact may be the subject of a training
fact or appear in the training text. A line's subject is its longest name — a run of
capitalised words (leading "The", "In", "What", ... dropped; "of", "de", "van" ... inside) — and,
for subject<TAB>relation<TAB>object triples, the first column. Subjects are compared whole:
"William Bradford" and "William Bradford Shockley" are different people.

  check-fact-leak.py --train FILE... --eval FILE... [--corpus FILE...]

Exit 0 when clean; 1 (naming the leaks) when an evaluation subject is found in training data;
2 for bad usage or unreadable files.
"""
import argparse
import re
import sys

STOP = {'The', 'In', 'On', 'At', 'What', 'Which', 'Who', 'Whom', 'When', 'Where', 'How', 'Why',
        'A', 'An', 'Of', 'It', 'Its', 'Name', 'Tell', 'For', 'As', 'By', 'Born', 'Death', 'Died'}
RUN = re.compile(r"[A-Z\u00C0-\u00DE][\w'.\-\u00C0-\u024F]*(?:\s+(?:[A-Z\u00C0-\u00DE][\w'.\-\u00C0-\u024F]*|of|the|de|van|von|la|le|du|da))*")


def names(text):
    out = set()
    for m in RUN.finditer(text):
        words = m.group(0).split()
        while words and words[0] in STOP:
            words.pop(0)
        while words and words[-1] in ('of', 'the', 'de', 'van', 'von', 'la', 'le', 'du', 'da'):
            words.pop()
        run = ' '.join(words).rstrip('.')
        if len(run) >= 4:
            out.add(run)
    return out


def subject(text):
    runs = names(text)
    return max(runs, key=len) if runs else None


def eval_subjects(path):
    subjects = {}
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\r\n')
            if not line.strip():
                continue
            cols = line.split('\t')
            # Everything but the answer column(s) names the subject; the answer is not a subject.
            text = cols[0] if len(cols) <= 3 else cols[0] + ' ' + cols[1]
            s = subject(text)
            if s:
                subjects.setdefault(s, '%s:%d' % (path, n))
    return subjects


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--train', action='append', default=[], help='training fact files')
    ap.add_argument('--eval', action='append', default=[], required=True, help='evaluation fact files')
    ap.add_argument('--corpus', action='append', default=[], help='training text files')
    a = ap.parse_args()
    try:
        subjects = {}
        for p in a.eval:
            for s, where in eval_subjects(p).items():
                subjects.setdefault(s, where)
        train_names = set()
        for p in a.train:
            with open(p, encoding='utf-8') as f:
                for line in f:
                    cols = line.rstrip('\r\n').split('\t')
                    if len(cols) == 3 and not cols[0].endswith(('the year', 'is', 'was', 'in')):
                        train_names.add(cols[0])  # a triple: its subject
                    s = subject(cols[0])
                    if s:
                        train_names.add(s)
        corpus = []
        for p in a.corpus:
            with open(p, encoding='utf-8') as f:
                corpus.append(f.read())
    except OSError as e:
        print('check-fact-leak: %s' % e, file=sys.stderr)
        return 2
    corpus_blob = '\n'.join(corpus)
    leaks = []
    for s, where in sorted(subjects.items()):
        pat = re.compile(r'(?<![\w])' + re.escape(s) + r'(?![\w])')
        if s in train_names:
            leaks.append('%s: "%s" is in the training facts' % (where, s))
        elif corpus_blob and pat.search(corpus_blob):
            leaks.append('%s: "%s" is in the training text' % (where, s))
    if leaks:
        print('check-fact-leak: %d evaluation subjects leak into training:' % len(leaks), file=sys.stderr)
        for l in leaks[:20]:
            print('  ' + l, file=sys.stderr)
        return 1
    print('check-fact-leak: %d evaluation subjects, none in %d training fact files or %d text files'
          % (len(subjects), len(a.train), len(a.corpus)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
