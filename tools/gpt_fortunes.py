#!/usr/bin/python3
"""The GPT example's data, built again in Python (examples/gpt/data.h), so that its
figures can be checked outside C++:

    /usr/bin/python3 tools/gpt_fortunes.py                 # the fortunes split
    /usr/bin/python3 tools/gpt_fortunes.py --data FILE     # any UTF-8 text, 90/10

prints the files, the characters of each split, the vocabulary and the n-gram
baselines (add-k smoothed unigram, bigram and trigram models fit on the training
text, cross-entropy in nats per character on the validation text).

Importable: split_fortunes(), split_text(), Vocabulary and ngram_baselines() are
what a PyTorch reference of the example needs to train on the same characters.
"""
import argparse
import math
import os
import sys
from collections import Counter

FORTUNES_DIR = "/usr/share/games/fortunes"
# Pictures drawn with characters, not English (the file "art" holds jokes and stays).
EXCLUDED_FILES = {"ascii-art"}
UNKNOWN = "\ufffd"
TRAILING_SPACE = " \t\r\v\f"


def read_text(path):
    """The characters of a text file: no NUL byte, strict UTF-8."""
    with open(path, "rb") as f:
        data = f.read()
    nul = data.find(b"\0")
    if nul >= 0:
        sys.exit(f"{path}: byte {nul} is NUL: a binary file, not text")
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        sys.exit(f"{path}: byte {e.start} is not UTF-8: {e.reason}")


def fortune_files(folder=FORTUNES_DIR):
    """The regular files without an extension, sorted, ascii-art left out."""
    if not os.path.isdir(folder):
        sys.exit(f"no folder {folder}: install Debian's fortunes with "
                 "apt-get install fortunes fortunes-min")
    return sorted(name for name in os.listdir(folder)
                  if "." not in name and name not in EXCLUDED_FILES
                  and not os.path.islink(os.path.join(folder, name))
                  and os.path.isfile(os.path.join(folder, name)))


def file_fortunes(text):
    """A file's fortunes: lines between lines holding only "%", each line's trailing
    whitespace and the blank lines at either end removed, then "\\n%\\n"."""
    fortunes, lines = [], []

    def finish():
        while lines and lines[-1] == "":
            lines.pop()
        while lines and lines[0] == "":
            lines.pop(0)
        if lines:
            fortunes.append("\n".join(lines) + "\n%\n")
        lines.clear()

    for line in text.split("\n"):
        line = line.rstrip(TRAILING_SPACE)
        if line == "%":
            finish()
        else:
            lines.append(line)
    finish()
    return fortunes


def read_fortunes(folder=FORTUNES_DIR):
    """(file, fortune) for every fortune of the corpus, in file order."""
    return [(name, fortune) for name in fortune_files(folder)
            for fortune in file_fortunes(read_text(os.path.join(folder, name)))]


def split_fortunes(folder=FORTUNES_DIR):
    """(train, validation) texts: fortune i goes to validation when i % 10 == 9."""
    parts = ([], [])
    for i, (_, fortune) in enumerate(read_fortunes(folder)):
        parts[i % 10 == 9].append(fortune)
    return "".join(parts[0]), "".join(parts[1])


def split_text(path):
    """(train, validation): the first 90 % of the characters, then the rest."""
    text = read_text(path)
    if not text:
        sys.exit(f"{path}: the file is empty")
    cut = len(text) * 9 // 10
    return text[:cut], text[cut:]


class Vocabulary:
    """Characters <-> ids: the symbols sorted by code point; with an unknown symbol,
    every other character maps to it."""

    def __init__(self, symbols, unknown=None):
        self.symbols = sorted(set(symbols))
        self.ids = {c: i for i, c in enumerate(self.symbols)}
        self.unknown_id = self.ids[unknown] if unknown is not None else None

    @staticmethod
    def printable_ascii():
        """tab, newline, ' '..'~' and U+FFFD for everything else: 98 symbols."""
        return Vocabulary(["\t", "\n"] + [chr(c) for c in range(32, 127)] + [UNKNOWN], UNKNOWN)

    def encode(self, text):
        if self.unknown_id is None:
            return [self.ids[c] for c in text]
        return [self.ids.get(c, self.unknown_id) for c in text]

    def decode(self, ids):
        return "".join(self.symbols[i] for i in ids)


def ngram_baselines(train, val, vocab_size, k=0.1):
    """Cross-entropy (nats/char) of `val` under add-k unigram, bigram and trigram
    models of `train`; every validation character is scored, the first by the
    unigram and the second by the bigram where the context is shorter than n - 1."""
    V = vocab_size
    uni = Counter(train)
    bi = Counter(zip(train, train[1:]))
    bi_ctx = Counter(train[:-1])
    tri = Counter(zip(train, train[1:], train[2:]))
    tri_ctx = Counter(zip(train, train[1:-1]))
    n = len(train)

    def nll(count, context):
        return -math.log((count + k) / (context + k * V))

    u = b = t = 0.0
    for i, c in enumerate(val):
        lu = nll(uni[c], n)
        u += lu
        if i == 0:
            b += lu
            t += lu
            continue
        lb = nll(bi[(val[i - 1], c)], bi_ctx[val[i - 1]])
        b += lb
        if i == 1:
            t += lb
            continue
        t += nll(tri[(val[i - 2], val[i - 1], c)], tri_ctx[(val[i - 2], val[i - 1])])
    m = len(val)
    return {"uniform": math.log(V), "unigram": u / m, "bigram": b / m, "trigram": t / m}


def show(c):
    return {"\n": "\\n", "\t": "\\t", " ": "' '"}.get(c, c if " " <= c <= "~" else f"U+{ord(c):04X}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="any UTF-8 text file instead of the fortunes")
    parser.add_argument("--dir", default=FORTUNES_DIR, help="the fortunes folder")
    parser.add_argument("--block", type=int, default=64, help="block length for the windows")
    args = parser.parse_args()

    if args.data:
        train, val = split_text(args.data)
        vocab = Vocabulary(train + val)
        print(f"data: {args.data}, split 90/10 by character")
    else:
        files = fortune_files(args.dir)
        fortunes = read_fortunes(args.dir)
        train, val = split_fortunes(args.dir)
        vocab = Vocabulary.printable_ascii()
        print(f"data: {len(files)} files of {args.dir} ({', '.join(sorted(EXCLUDED_FILES))} "
              f"left out), {len(fortunes)} fortunes, every tenth (i % 10 == 9) held out")
    train_ids, val_ids = vocab.encode(train), vocab.encode(val)
    print(f"characters: train {len(train_ids):,}, validation {len(val_ids):,}")
    if vocab.unknown_id is not None:
        print(f"unknown: train {train_ids.count(vocab.unknown_id)}, "
              f"validation {val_ids.count(vocab.unknown_id)} (as U+FFFD)")
    print(f"vocabulary: {len(vocab.symbols)} symbols: "
          + " ".join(show(c) for c in vocab.symbols))
    windows = (len(val_ids) - 1) // args.block
    print(f"validation windows of {args.block}: {windows:,} ({windows * args.block:,} targets)")
    base = ngram_baselines(train_ids, val_ids, len(vocab.symbols))
    print("baselines (nats/char on validation, add-0.1 smoothing):")
    for name, value in base.items():
        print(f"  {name:8s} {value:.4f}  ({value / math.log(2):.3f} bits/char)")


if __name__ == "__main__":
    main()
