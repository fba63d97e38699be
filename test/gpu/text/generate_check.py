#!/usr/bin/env python3
# ===- generate_check.py - llm-model --text/--chat vs transformers -------=== #
#
# Runs on a GPU machine with torch and transformers, on what
# test/gpu/text/build-generate.sh packs (its run.sh unpacks and calls this):
#
#   generate_check.py DIR OUT [--tokens=24] [--tolerance=2e-2]
#
# DIR/model/ is an llm-compile output (llm-model, manifest.json) of a
# Llama-3-shaped model with the real 128256-token vocabulary, compiled with
# --tokenizer=<the real Llama-3.1 tokenizer files>, so tokenizer.json and
# tokenizer_config.json sit beside the binary (its default --tokenizer);
# DIR/model/config.json is its Hugging Face config; DIR/bin/llm-tokenize
# is the tokenizer tool of the same library. The weights are made here
# (hf_check.py's make_checkpoint: a tame random init saved by transformers
# in bf16), and both sides read the same safetensors. Checks:
#   * prompt ids: llm-tokenize's ids of the --text prompt (with BOS) and of
#     the --chat messages (chat template, generation prompt) equal
#     transformers' AutoTokenizer / apply_chat_template on the same files,
#     exactly; the binary's "[N prompt tokens, ...]" count equals them too;
#   * generation: `llm-model --text/--chat --max-new-tokens=N` (greedy)
#     prints text; transformers (fp32, greedy, the same stop ids) generates
#     N tokens from the same ids, decoded with skip_special_tokens. The
#     token ids of the binary come from its token-id mode on the same
#     prompt ids (`--prompt=`); the agreeing prefix is reported, and a
#     divergence must be a near-tie (hf_check.py's rule: the binary's
#     choice within the tolerance of transformers' best fp32 logit). How
#     far the --text/--chat text agrees with the decode of those ids (the
#     paged engine and the static loop may flip a near-tie differently)
#     and with transformers' text is reported;
#   * seeded sampling: --temperature=0.8 --seed=3 twice gives one text;
#   * `llm-model serve` (tokenizer found beside the binary): a chat
#     completion, streaming and not, and a text completion equal the
#     binary's --chat / --text output; a seeded sampled chat completion
#     equals the sampled --chat run; SIGTERM exits 0.
# Writes OUT/text-gpu.txt; exits 1 on a failed check.
#
# ===----------------------------------------------------------------------=== #
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

# Beside this script in the packed folder; in the repository, test/gpu,
# test/gpu/serve and bench.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, ".."), os.path.join(HERE, "..", "serve"),
                os.path.join(HERE, "..", "..", "..", "bench")]
from check_serve import start_server  # noqa: E402
from serve_load import sse_events  # noqa: E402

TEXT = ("The quick brown fox jumps over the lazy dog. In 2024, the café "
        "served 12345 crêpes 🍓 and")
CHAT = [{"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Name three prime numbers, then say 你好."}]

LINES = []
FAILS = []


def say(line):
    print(line, flush=True)
    LINES.append(line)


def check(cond, what):
    say(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def run(cmd, stdin=None, timeout=600):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def prefix_len(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def cut_at_stop(ids, stops):
    for i, t in enumerate(ids):
        if t in stops:
            return ids[:i + 1]
    return ids


def model_text(binary, ckpt, flag, n, *extra):
    """--text/--chat output (the trailing newline dropped) and the prompt
    token count of the summary line."""
    rc, out, err = run([binary, "--weights=" + ckpt, flag,
                        "--max-new-tokens=%d" % n, *extra])
    if rc != 0:
        return None, None, err.strip()[-600:]
    m = re.search(r"\[(\d+) prompt tokens, (\d+) generated, finish: (\w+)\]",
                  err)
    return (out[:-1] if out.endswith("\n") else out,
            int(m.group(1)) if m else None, err.strip().splitlines()[-1])


def llmc_prompt_ids(tool, model_dir):
    """llm-tokenize's ids of the --text prompt (with BOS) and of the chat
    rendered with the generation prompt (an error text where it failed)."""
    rc, out, err = run([tool, model_dir, "--add-special-tokens", "--jsonl"],
                       stdin=json.dumps(TEXT) + "\n")
    text = [int(t) for t in out.split()] if rc == 0 else err
    chat_file = "/tmp/text-gpu-chat.json"
    json.dump(CHAT, open(chat_file, "w"), ensure_ascii=False)
    rc, out, err = run([tool, model_dir, "--chat", chat_file,
                        "--add-generation-prompt", "--ids"])
    chat = [int(t) for t in out.split()] if rc == 0 else err
    return {"text": text, "chat": chat}


def post(base, path, body, stream=False):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        if not stream:
            return json.loads(r.read())
        return [e for e in sse_events(r) if e is not None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("--tokens", type=int, default=24)
    ap.add_argument("--tolerance", type=float, default=2e-2)
    ap.add_argument("--write-llmc-ids", action="store_true",
                    help="on the CPU machine (build-generate.sh): write "
                         "llm-tokenize's prompt ids to DIR/llmc-ids.json and "
                         "exit; the GPU machine then needs neither the tool "
                         "nor its libLLVM")
    args = ap.parse_args()
    ids_file = os.path.join(args.dir, "llmc-ids.json")
    if args.write_llmc_ids:
        ids = llmc_prompt_ids(os.path.join(args.dir, "bin", "llm-tokenize"),
                              os.path.join(args.dir, "model"))
        if not all(isinstance(v, list) for v in ids.values()):
            sys.exit(f"generate_check: llm-tokenize failed: {ids}")
        json.dump(ids, open(ids_file, "w"))
        return 0
    # The GPU machine's packages (the CPU machine has neither).
    import torch
    from hf_check import load, make_checkpoint, near_tie
    os.makedirs(args.out, exist_ok=True)
    import transformers
    from transformers import AutoTokenizer
    say(f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{torch.cuda.get_device_name(0)}")
    model_dir = os.path.join(args.dir, "model")
    binary = os.path.join(model_dir, "llm-model")
    tool = os.path.join(args.dir, "bin", "llm-tokenize")
    n = args.tokens
    ckpt = "/tmp/text-gpu-ckpt"
    make_checkpoint(model_dir, ckpt)
    config = json.load(open(os.path.join(model_dir, "config.json")))
    stops = set(config["eos_token_id"])

    # Prompt ids: llmc's tokenizer library (llm-tokenize) vs transformers.
    tok = AutoTokenizer.from_pretrained(model_dir)
    hf_text = list(tok(TEXT)["input_ids"])
    hf_chat = tok.apply_chat_template(CHAT, add_generation_prompt=True,
                                      tokenize=True)
    if not isinstance(hf_chat, list):
        hf_chat = hf_chat["input_ids"]
    hf_chat = [int(t) for t in hf_chat]
    ours = (json.load(open(ids_file)) if os.path.exists(ids_file)
            else llmc_prompt_ids(tool, model_dir))
    ours_text, ours_chat = ours["text"], ours["chat"]
    check(ours_text == hf_text,
          f"--text prompt ids: llmc {len(hf_text) if ours_text == hf_text else ours_text} "
          f"== transformers ({len(hf_text)} ids, first {hf_text[:6]})")
    check(ours_chat == hf_chat,
          f"--chat prompt ids (chat template + generation prompt): llmc == "
          f"transformers ({len(hf_chat)} ids)"
          + ("" if ours_chat == hf_chat else f"; llmc {str(ours_chat)[:300]}"))

    # transformers, fp32, greedy, the reference of every generation below.
    ref = load(ckpt, torch.float32).cuda().eval()
    chat_json = json.dumps(CHAT, ensure_ascii=False)
    texts = {}
    for name, ids, flag in [("text", hf_text, "--text=" + TEXT),
                            ("chat", hf_chat, "--chat=" + chat_json)]:
        with torch.no_grad():
            g = ref.generate(torch.tensor([ids]).cuda(), max_new_tokens=n,
                             do_sample=False, eos_token_id=sorted(stops),
                             pad_token_id=sorted(stops)[0],
                             return_dict_in_generate=True, output_logits=True)
        hf_ids = g.sequences[0, len(ids):].tolist()
        hf_logits = [l[0].float().cpu().numpy() for l in g.logits]
        hf_str = tok.decode(hf_ids, skip_special_tokens=True)
        # The binary's ids: its token-id mode on the same prompt ids.
        rc, out, err = run([binary, "--weights=" + ckpt,
                            "--prompt=" + ",".join(map(str, ids)),
                            "--max-new-tokens=%d" % n])
        if rc != 0:
            check(False, f"{name}: llm-model --prompt failed: {err[-400:]}")
            continue
        ours_ids = cut_at_stop([int(t) for t in out.split("tokens:")[1].split()],
                               stops)
        k = prefix_len(ours_ids, hf_ids)
        if k == min(len(ours_ids), len(hf_ids)) and len(ours_ids) == len(hf_ids):
            check(True, f"{name}: greedy ids equal transformers' ({k} of {k})")
        else:
            tie = k < len(hf_logits) and near_tie(hf_logits[k], ours_ids[k],
                                                  args.tolerance)
            check(tie, f"{name}: greedy ids agree for {k} of {len(hf_ids)} "
                       f"tokens; at {k} llmc {ours_ids[k:k+1]} vs transformers "
                       f"{hf_ids[k:k+1]}: " +
                       ("a near-tie" if tie else "NOT a near-tie"))
        # The text path: --text/--chat, tokenizer from the binary's folder.
        got, prompt_n, summary = model_text(binary, ckpt, flag, n)
        if got is None:
            check(False, f"{name}: llm-model {flag[:7]} failed: {summary}")
            continue
        texts[name] = got
        check(prompt_n == len(ids),
              f"{name}: llm-model reports {prompt_n} prompt tokens, "
              f"transformers encodes {len(ids)} ({summary})")
        # The engine (paged cache) and the static loop are different
        # kernels: a near-tie may flip between them, so this is reported.
        ours_str = tok.decode(ours_ids, skip_special_tokens=True)
        say(f"note {name}: --{name} text agrees with the decode of the "
            f"token-id run for {prefix_len(got, ours_str)} of "
            f"{len(ours_str)} characters" +
            ("" if got == ours_str else f": {got!r} vs {ours_str!r}"))
        c = prefix_len(got, hf_str)
        say(f"note {name}: --{name} text agrees with transformers' for {c} "
            f"of {len(hf_str)} characters (transformers: {hf_str!r})")
        with open(os.path.join(args.out, f"{name}.txt"), "w") as f:
            f.write(f"llm-model --{name}:\n{got}\n\ntransformers:\n{hf_str}\n")

    # Seeded sampling reproduces.
    sampled = [model_text(binary, ckpt, "--chat=" + chat_json, n,
                          "--temperature=0.8", "--seed=3")[0] for _ in range(2)]
    check(sampled[0] is not None and sampled[0] == sampled[1],
          f"--chat --temperature=0.8 --seed=3 twice: one text {sampled[0]!r}")

    # The server, with the tokenizer found beside the binary.
    # Without prefix caching: a cached prompt prefills fewer rows, other
    # kernel shapes, and a near-tie could flip between the requests.
    proc, base, log = start_server([binary, "serve", "--weights=" + ckpt,
                                    "--no-enable-prefix-caching"])
    try:
        check("through the tokenizer in" in "".join(log),
              "serve found the tokenizer beside the binary")
        r = post(base, "/v1/chat/completions",
                 {"messages": CHAT, "max_tokens": n, "temperature": 0})
        content = r["choices"][0]["message"]["content"]
        check(content == texts.get("chat"),
              f"serve chat completion == llm-model --chat: {content!r}")
        events = post(base, "/v1/chat/completions",
                      {"messages": CHAT, "max_tokens": n, "temperature": 0,
                       "stream": True}, stream=True)
        streamed = "".join(e["choices"][0]["delta"].get("content") or ""
                           for e in events if e.get("choices"))
        check(streamed == content,
              f"streamed chat ({len(events)} events) == non-streamed")
        r = post(base, "/v1/completions",
                 {"prompt": TEXT, "max_tokens": n, "temperature": 0})
        check(r["choices"][0]["text"] == texts.get("text"),
              "serve text completion == llm-model --text")
        check(r["usage"]["prompt_tokens"] == len(hf_text),
              f"serve counts {r['usage']['prompt_tokens']} prompt tokens, "
              f"transformers {len(hf_text)}")
        r = post(base, "/v1/chat/completions",
                 {"messages": CHAT, "max_tokens": n, "temperature": 0.8,
                  "seed": 3})
        check(r["choices"][0]["message"]["content"] == sampled[0],
              "serve seeded sampled chat == llm-model --chat --temperature "
              "--seed")
    except Exception as e:  # noqa: BLE001
        check(False, f"serve: {e!r}")
    finally:
        rc = None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        check(rc == 0, f"serve exits 0 on SIGTERM (got {rc})")

    say(f"{len(FAILS)} failed check(s)")
    with open(os.path.join(args.out, "text-gpu.txt"), "w") as f:
        f.write("\n".join(LINES) + "\n")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
