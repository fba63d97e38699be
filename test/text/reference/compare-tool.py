#!/usr/bin/env python3
"""Drives llm-tokenize over the reference corpus and conversations and
compares with what reference.mjs wrote (the library-level comparison is
llmc-text-reference-tests; this one checks the tool end to end).

compare-tool.py LLM_TOKENIZE REFERENCE_DIR SOURCE_DIR

Per family: every corpus item without a newline byte is encoded as a raw
stdin line (invalid UTF-8 included); every item is encoded as a --jsonl
line; the ids are decoded back with --decode --jsonl; every conversation is
rendered with --chat. Prints one agreement line per family; exits 1 on any
difference."""
import json
import os
import subprocess
import sys
import tempfile

tool, ref_dir, src_dir = sys.argv[1:4]
corpus = json.load(open(os.path.join(src_dir, "reference", "corpus.json")))["items"]
chats = {c["name"]: c for c in
         json.load(open(os.path.join(src_dir, "reference", "chats.json")))["chats"]}
families = json.load(open(os.path.join(src_dir, "reference", "families.json")))["families"]


def item_bytes(it):
    if "hex" in it:
        return bytes.fromhex("".join(it["hex"].split()))
    if "repeat" in it:
        return (it["repeat"] * it["times"]).encode()
    return it["text"].encode()


def run(args, data):
    p = subprocess.run([tool] + args, input=data, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"compare-tool: {' '.join([tool] + args)} failed:\n"
                 + p.stderr.decode(errors="replace"))
    return p.stdout


failures = 0
for fam in families:
    name = fam["name"]
    d = os.path.join(ref_dir, name)
    ref = json.load(open(os.path.join(d, "reference.json")))
    items = ref["items"]
    ok = total = 0

    def check(what, got, want):
        global failures
        nonlocal_ok = got == want
        if not nonlocal_ok:
            failures += 1
            print(f"compare-tool: {name}: {what} differs\n  llm-tokenize: "
                  f"{str(got)[:300]}\n  reference:    {str(want)[:300]}")
        return nonlocal_ok

    raw = [(i, item_bytes(c)) for i, c in enumerate(corpus) if b"\n" not in item_bytes(c)]
    lines = run([d], b"".join(b + b"\n" for _, b in raw)).decode().split("\n")
    for (i, _), line in zip(raw, lines):
        total += 1
        ok += check(f"raw line {items[i]['name']}",
                    [int(x) for x in line.split()], items[i]["ids"])
    texts = [item_bytes(c).decode("utf-8", "replace") for c in corpus]
    jl = "".join(json.dumps(t) + "\n" for t in texts).encode()
    lines = run([d, "--jsonl"], jl).decode().split("\n")
    for i, line in enumerate(lines[:len(items)]):
        total += 1
        ok += check(f"jsonl {items[i]['name']}",
                    [int(x) for x in line.split()], items[i]["ids"])
    dl = "".join(" ".join(map(str, it["ids"])) + "\n" for it in items).encode()
    lines = run([d, "--decode", "--jsonl"], dl).decode().split("\n")
    for i, line in enumerate(lines[:len(items)]):
        total += 1
        ok += check(f"decode {items[i]['name']}", json.loads(line), items[i]["decoded"])
    renders = 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in ref["chats"]:
            c = chats[r["name"]]
            req = dict(c.get("extra", {}))
            req["messages"] = c["messages"]
            if "tools" in c:
                req["tools"] = c["tools"]
            f = os.path.join(tmp, "chat.json")
            with open(f, "w") as out:
                json.dump(req, out, ensure_ascii=False)
            args = [d, "--chat", f] + (["--add-generation-prompt"] if r["add_generation_prompt"] else [])
            p = subprocess.run([tool] + args, capture_output=True)
            total += 1
            renders += 1
            if "error" in r:
                ok += check(f"chat {r['name']} fails", p.returncode != 0, True)
            else:
                ok += check(f"chat {r['name']}", p.stdout.decode(), r["rendered"])
    print(f"compare-tool: {name}: llm-tokenize agrees on {ok}/{total} "
          f"(raw lines, JSON lines, decodes, {renders} chat renderings)")
sys.exit(1 if failures else 0)
