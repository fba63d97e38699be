#!/usr/bin/env python3
"""The real-tokenizer comparison against Python's `tokenizers` and
`transformers` (issue 16), for the GPU machine where they are installed.

hf_check.py CARRY_DIR OUT_DIR

CARRY_DIR/families.tgz comes from test/gpu/text/pack.sh: per family the
tokenizer files and reference.json (the ids, decodes and chat renderings
llmc produces, checked equal to tokenizers.js and @huggingface/jinja in CI).
For every corpus item and conversation this script computes the same with
transformers.AutoTokenizer (ids with and without special tokens, decode with
and without skip_special_tokens, apply_chat_template(tokenize=False)) and
with tokenizers.Tokenizer.from_file (ids and decode), and writes
OUT_DIR/text-hf.txt with one agreement line per family and every difference.
Invalid UTF-8 in the corpus is decoded with errors="replace", as llmc does.
Exits 1 on any difference, except where transformers' tokenizer class does not
follow its own tokenizer.json (transformers 5.17's LlamaTokenizerFast on the
Llama-2 family's spaces and on DeepSeek-V3's byte-level file: its ids or
decode differ from tokenizers' on the same file): those are listed as notes,
since llmc follows the file as tokenizers does."""
import json
import os
import sys
import tarfile
import tempfile

carry, out_dir = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "..", "..", "text", "reference")
corpus = json.load(open(os.path.join(src, "corpus.json")))["items"]
chats = {c["name"]: c for c in json.load(open(os.path.join(src, "chats.json")))["chats"]}

import tokenizers  # noqa: E402
import transformers  # noqa: E402

lines = [f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}"]
notes = []
failures = 0


def item_text(it):
    if "hex" in it:
        data = bytes.fromhex("".join(it["hex"].split()))
    elif "repeat" in it:
        data = (it["repeat"] * it["times"]).encode()
    else:
        data = it["text"].encode()
    return data.decode("utf-8", "replace")


with tempfile.TemporaryDirectory() as tmp:
    tarfile.open(os.path.join(carry, "families.tgz")).extractall(tmp)
    root = os.path.join(tmp, "reference")
    for fam in sorted(os.listdir(root)):
        d = os.path.join(root, fam)
        ref = json.load(open(os.path.join(d, "reference.json")))
        auto = transformers.AutoTokenizer.from_pretrained(d)
        raw = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        ok = total = fam_notes = 0

        def check(what, got, want):
            global failures
            if got == want:
                return 1
            failures += 1
            lines.append(f"  {fam}: {what}: transformers/tokenizers {str(got)[:200]!r} "
                         f"!= llmc {str(want)[:200]!r}")
            return 0

        for it, r in zip(corpus, ref["items"]):
            text = item_text(it)
            raw_ids = raw.encode(text, add_special_tokens=False).ids
            auto_ids = auto(text, add_special_tokens=False)["input_ids"]
            # Where transformers' tokenizer class does not follow its own
            # tokenizer.json (its ids differ from tokenizers' for the same
            # file, or its decode from tokenizers' decode of the same ids),
            # llmc follows the file: such differences are reported as notes.
            own = auto_ids == raw_ids
            decodes = {}  # name -> (transformers, tokenizers) of the same ids
            for what, key, skip in [("decoded", "ids", False),
                                    ("decoded_skip", "ids", True),
                                    ("decoded_special", "ids_special", False)]:
                decodes[what] = (auto.decode(r[key], skip_special_tokens=skip),
                                 raw.decode(r[key], skip_special_tokens=skip))
            checks = [
                ("ids", auto_ids, r["ids"], own),
                ("ids (tokenizers)", raw_ids, r["ids"], None),
                ("ids_special", auto(text, add_special_tokens=True)["input_ids"], r["ids_special"], own),
                ("decoded (tokenizers)", decodes["decoded"][1], r["decoded"], None),
            ] + [(what, hf, r[what], hf == tk) for what, (hf, tk) in decodes.items()]
            for what, got, want, follows in checks:
                total += 1
                if follows is False and got != want:
                    notes.append(f"  {fam}: {r['name']} {what}: transformers' class differs from "
                                 f"tokenizers on this file: {str(got)[:120]!r} (llmc {str(want)[:120]!r})")
                    fam_notes += 1
                    continue
                ok += check(f"{r['name']} {what}", got, want)
        renders = 0
        for r in ref["chats"]:
            c = chats[r["name"]]
            kwargs = dict(c.get("extra", {}))
            if "tools" in c:
                kwargs["tools"] = c["tools"]
            total += 1
            renders += 1
            try:
                got = auto.apply_chat_template(c["messages"], tokenize=False,
                                               add_generation_prompt=r["add_generation_prompt"],
                                               **kwargs)
                ok += check(f"chat {r['name']}", got, r.get("rendered", "(llmc raised: " + r.get("error", "") + ")"))
            except Exception as e:  # a template that raises
                ok += check(f"chat {r['name']} raises", "error" in r, True)
                if "error" in r and r["error"] not in str(e) and "raise" in str(type(e)).lower():
                    lines.append(f"  {fam}: chat {r['name']}: message {e!s:.200}")
        lines.append(f"{fam}: {ok}/{total} agree ({len(corpus)} corpus items x 7 checks, {renders} chat "
                     f"renderings); {fam_notes} where transformers departs from the file (notes)")

os.makedirs(out_dir, exist_ok=True)
report = "\n".join(lines + ["notes (transformers' tokenizer class vs its tokenizer.json; "
                              "llmc follows the file):"] + notes) + "\n"
open(os.path.join(out_dir, "text-hf.txt"), "w").write(report)
print(report)
sys.exit(1 if failures else 0)
