#!/usr/bin/env python3
"""The peer server of issue 17's benchmark: `transformers serve` with
continuous batching, on a random-weight checkpoint of the Llama-3-8B shape
(test/models/real/llama-3-8b.json), loaded by bench/serve_load.py at the
concurrency levels of our own table (1, 8, 64; 512 in / 128 out).

    python3 test/gpu/serve/peer_transformers.py [--concurrency 1,8,64]
        [--input-len 512] [--output-len 128] [--budget 540] [--dir /tmp/peer]

Runs on the GPU machine from the repo root (it needs torch, transformers
and tokenizers, which that machine has; nothing is downloaded):

1. `transformers serve --help` must exist and offer --continuous-batching;
   if not (an older transformers), it prints why and exits 0.
   `transformers serve` also needs FastAPI and Uvicorn (transformers[serving]);
   where they are missing (the GPU machine of this project has none and
   cannot install them), it says so and runs the server's engine instead:
   step 4.
2. It writes the checkpoint: LlamaForCausalLM of that config with random
   bf16 weights (made on the GPU), and a word-level tokenizer of the same
   vocabulary (bench/serve_load.py's text prompts are words of that
   vocabulary, one token each) with a plain chat template, since the
   machine is offline and a random model needs no real tokenizer.
3. It starts `transformers serve --continuous-batching` on 127.0.0.1,
   sends one warm-up request (the server loads the model on first use),
   then runs bench/serve_load.py --endpoint chat --prompt-format text at
   each level, and prints its table. `transformers serve` has no
   /v1/completions and no ignore_eos: requests are chat completions and
   may end early at the (random) EOS, which the table's output tokens show.

4. Engine fallback (or --engine): the same checkpoint, in process, through
   `model.generate_batch`, the ContinuousBatchingManager behind `transformers
   serve --continuous-batching` (paged KV cache, its CUDA graphs), no HTTP.
   Each level runs waves of `c` requests of random token ids (exactly
   --input-len; EOS disabled, so exactly --output-len tokens each) after an
   untimed warm-up wave on a persistent manager; printed per level: output
   tokens/s over the waves' wall time, TTFT and TPOT p50/p99 from the
   engine's per-token timestamps. A wave is a burst of `c` clients that
   all start together, not a closed loop, so at c >= 8 it is a little
   kinder to TTFT p99 and harder on throughput than serve_load.py's
   clients are.

Everything is bounded by --budget seconds (default 540, inside one 600 s
device call); exit 1 only when the server exists but fails.
"""
import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def say(msg):
    print("peer: " + msg, flush=True)


def serve_command():
    """The `transformers` CLI as a command list, or None."""
    exe = shutil.which("transformers")
    if exe:
        return [exe]
    try:
        import transformers.cli.transformers  # noqa: F401 (v4.56+ layout)
        return [sys.executable, "-m", "transformers.cli.transformers"]
    except ImportError:
        return None


def write_checkpoint(path, config_file):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (AutoConfig, AutoModelForCausalLM,
                              PreTrainedTokenizerFast)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from serve_load import WORDS

    config = AutoConfig.from_pretrained(config_file)
    config.torch_dtype = torch.bfloat16
    t0 = time.time()
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config,
                                                 torch_dtype=torch.bfloat16)
    model.save_pretrained(path, safe_serialization=True)
    del model
    torch.cuda.empty_cache()
    say("random %s checkpoint written in %.0f s" %
        (os.path.basename(config_file), time.time() - t0))

    vocab = {}
    for w in ["[UNK]"] + sorted(set(WORDS)):
        vocab.setdefault(w, len(vocab))
    while len(vocab) < config.vocab_size:
        vocab["t%d" % len(vocab)] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    inv = {i: w for w, i in vocab.items()}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]",
        bos_token=inv[config.bos_token_id], eos_token=inv[config.eos_token_id])
    fast.chat_template = ("{% for m in messages %}{{ m['content'] }} "
                          "{% endfor %}")
    fast.save_pretrained(path)


def port_free():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, timeout):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def run_engine(a, levels, deadline):
    """Step 4: `transformers serve --continuous-batching`'s engine in
    process (generate_batch on a persistent ContinuousBatchingManager).
    Returns 0, or 1 when the engine fails."""
    import random
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from serve_load import percentile

    model = AutoModelForCausalLM.from_pretrained(
        a.dir, dtype=torch.bfloat16, device_map="cuda",
        **({"attn_implementation": a.attn_implementation}
           if a.attn_implementation else {}))
    vocab = model.config.vocab_size
    # eos_token_id None: the engine disables EOS (-1); every request then
    # makes exactly max_new_tokens, as serve_load.py's ignore_eos does.
    gc = GenerationConfig(max_new_tokens=a.output_len, do_sample=False,
                          eos_token_id=None, pad_token_id=0)
    rng = random.Random(0)

    def prompts(n):
        return [[rng.randrange(3, vocab) for _ in range(a.input_len)]
                for _ in range(n)]

    def wave(inputs):
        t0 = time.perf_counter()
        out = model.generate_batch(inputs=inputs, generation_config=gc,
                                   record_timestamps=True, progress_bar=False,
                                   persistent_manager=True)
        return time.perf_counter() - t0, list(out.values())

    t0 = time.time()
    dt, outs = wave(prompts(max(levels)))
    say("engine warm-up wave of %d requests (CUDA graphs, model %s) took "
        "%.0f s; attention %s" % (max(levels), type(model).__name__,
                                  time.time() - t0,
                                  model.config._attn_implementation))
    # The warm-up wave has the most requests (and the graph captures): no
    # level's wave takes longer, so it bounds what a level needs.
    rows, longest = [], dt
    for c in levels:
        waves = a.num_prompts // c if a.num_prompts else 2
        need = max(1, waves) * longest
        if deadline - time.time() < max(30, need):
            say("budget left (%.0f s) too short for concurrency %d (about "
                "%.0f s)" % (deadline - time.time(), c, need))
            break
        wall, toks, ttft, tpot, failed = 0.0, 0, [], [], 0
        for _ in range(max(1, waves)):
            dt, outs = wave(prompts(c))
            wall += dt
            for o in outs:
                n = len(o.generated_tokens)
                toks += n
                if o.error or n == 0:
                    failed += 1
                    continue
                ts = o.timestamps or []
                if ts:
                    ttft.append(ts[0] - o.created_time)
                if len(ts) > 1:
                    tpot.append((ts[-1] - ts[0]) / (len(ts) - 1))
        row = {"workload": "transformers CB engine, concurrency %d" % c,
               "requests": max(1, waves) * c, "failed": failed,
               "output_tokens": toks, "duration_s": round(wall, 3),
               "output_tok_s": round(toks / wall, 1),
               "ttft_p50_ms": round(1e3 * percentile(ttft, 50), 1),
               "ttft_p99_ms": round(1e3 * percentile(ttft, 99), 1),
               "tpot_p50_ms": round(1e3 * percentile(tpot, 50), 2),
               "tpot_p99_ms": round(1e3 * percentile(tpot, 99), 2)}
        rows.append(row)
        longest = max(longest, wall / max(1, waves))
        print("peer-json: " + json.dumps(row), flush=True)
    model.destroy_cached_continuous_batching_manager()
    return 0 if rows and all(r["failed"] == 0 for r in rows) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--input-len", type=int, default=512)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--num-prompts", type=int, default=0,
                    help="per level (default: max(4, 2 x level), 64 at 64)")
    ap.add_argument("--budget", type=float, default=540)
    ap.add_argument("--dir", default="/tmp/llmc-peer-llama-3-8b")
    ap.add_argument("--config",
                    default=os.path.join(ROOT, "test/models/real/"
                                         "llama-3-8b.json"))
    ap.add_argument("--attn-implementation", default="",
                    help="passed to transformers serve when given")
    ap.add_argument("--engine", action="store_true",
                    help="run the engine in process (step 4) without "
                         "trying the server")
    a = ap.parse_args()
    deadline = time.time() + a.budget

    try:
        import transformers
    except ImportError as e:
        say("transformers is not installed (%s); no peer to run" % e)
        return 0
    say("transformers %s" % transformers.__version__)
    cmd = serve_command()
    if not cmd:
        say("this transformers has no `transformers` CLI (serve arrived in "
            "4.5x); no peer to run")
        return 0
    try:
        help_text = subprocess.run(cmd + ["serve", "--help"],
                                   capture_output=True, text=True,
                                   timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        say("`transformers serve --help` failed (%s); no peer to run" % e)
        return 0
    text = help_text.stdout + help_text.stderr
    if help_text.returncode != 0 or "continuous" not in text.replace("_", "-"):
        say("`transformers serve` is missing or has no continuous batching "
            "in this version (exit %d): %s" % (help_text.returncode,
                                               text.strip()[-400:]))
        return 0

    if not os.path.exists(os.path.join(a.dir, "config.json")):
        os.makedirs(a.dir, exist_ok=True)
        write_checkpoint(a.dir, a.config)
    levels = [int(x) for x in a.concurrency.split(",") if x]
    missing = [m for m in ("fastapi", "uvicorn")
               if importlib.util.find_spec(m) is None]
    if missing or a.engine:
        if missing:
            say("`transformers serve` cannot start here: it needs %s "
                "(pip install transformers[serving]) and this machine has "
                "no package index; running its continuous-batching engine "
                "in process instead" % " and ".join(missing))
        try:
            return run_engine(a, levels, deadline)
        except Exception as e:  # report, do not hide, an engine failure
            say("engine failed: %r" % e)
            return 1
    port = port_free()
    flags = ["serve", "--continuous-batching", "--host", "127.0.0.1",
             "--port", str(port)]
    if a.attn_implementation:
        flags += ["--attn-implementation", a.attn_implementation]
    say("starting: " + " ".join(cmd + flags))
    log = open(os.path.join(a.dir, "serve.log"), "w")
    proc = subprocess.Popen(cmd + flags, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = "http://127.0.0.1:%d" % port
    status = 0
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("transformers serve exited %d" %
                                   proc.returncode)
            try:
                urllib.request.urlopen(base + "/v1/models", timeout=5).read()
                break
            except OSError:
                time.sleep(2)
        t0 = time.time()
        post(base + "/v1/chat/completions",
             {"model": a.dir, "max_tokens": 4, "stream": False,
              "messages": [{"role": "user", "content": "time person year"}]},
             timeout=max(30, deadline - time.time()))
        say("warm-up request (model load) took %.0f s" % (time.time() - t0))
        for c in levels:
            left = deadline - time.time()
            if left < 30:
                say("budget spent before concurrency %d" % c)
                break
            n = a.num_prompts or (max(4, 2 * c) if c < 64 else c)
            r = subprocess.run(
                [sys.executable, os.path.join(ROOT, "bench/serve_load.py"),
                 "--base-url", base, "--endpoint", "chat", "--prompt-format",
                 "text", "--model", a.dir, "--concurrency", str(c),
                 "--num-prompts", str(n), "--input-len", str(a.input_len),
                 "--output-len", str(a.output_len), "--warmup", "1",
                 "--workload", "transformers serve, concurrency %d" % c,
                 "--timeout", str(max(10, left - 10))],
                capture_output=True, text=True, timeout=left)
            print(r.stdout[-3000:], r.stderr[-1500:], flush=True)
            if r.returncode != 0:
                status = 1
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        say("failed: %s" % e)
        status = 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        with open(os.path.join(a.dir, "serve.log")) as f:
            tail = f.read()[-2000:]
        if status:
            print(tail)
    return status


if __name__ == "__main__":
    sys.exit(main())
