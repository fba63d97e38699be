#!/usr/bin/env python3
"""Writes 1 MB (10^6 bytes or a little more) of text for the tokenizer
benchmark.

make-corpus.py OUT [BYTES] [mixed|unique]

mixed: the valid-UTF-8 items of test/text/reference/corpus.json (English,
code, numbers, Chinese, Japanese, Korean, other scripts, emoji, combining
marks, markdown, special-token text), one line per source line, repeated in
order until the size is reached: realistic word repetition, so word caches
help as they do on real text.
unique: words made of random syllables from several scripts (a fixed-seed
generator), nearly all distinct: the cold-cache worst case of BPE."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
corpus = json.load(open(os.path.join(here, "..", "..", "test", "text",
                                     "reference", "corpus.json")))
lines = []
for item in corpus["items"]:
    if "text" in item and item["text"].strip():
        lines += [l for l in item["text"].split("\n") if l]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
mode = sys.argv[3] if len(sys.argv) > 3 else "mixed"
syllables = ("ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no "
             "ran vel dor mis tak quo pre zhu xen bri lo ut "
             "\u4e2d \u6587 \u5b57 \u8bcd \u3042 \u3044 \u30ab \u30ad "
             "\u043f\u0440\u0438 \u0432\u0435\u0442 \u03b1\u03bb "
             "\U0001f600 7 42 314").split()
state = 12345
def rand(n):
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
    return (state >> 33) % n
out, size, i = [], 0, 0
while size < target:
    if mode == "mixed":
        line = lines[i % len(lines)]
    else:
        words = []
        for _ in range(12):
            words.append("".join(syllables[rand(len(syllables))]
                                 for _ in range(2 + rand(4))))
        line = " ".join(words) + ("," if rand(3) == 0 else ".")
    out.append(line)
    size += len(line.encode()) + 1
    i += 1
with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(out) + "\n")
