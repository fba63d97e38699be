#!/usr/bin/env python3
"""Load generator for an OpenAI-compatible server (issue 17).

In the style of vLLM's benchmark_serving: it sends streaming requests to
/v1/completions (or /v1/chat/completions) and measures, per request, the
time to the first generated text (TTFT), the gaps between streamed chunks
(ITL), the time per output token after the first (TPOT) and the output
token count (from the final usage chunk); then, per run, request
throughput, output tokens/s, and p50/p99 of TTFT, TPOT and ITL.

Runs: one per --concurrency level (that many requests in flight, each
client sending its next request when its previous one ends) and one per
--request-rate (Poisson arrivals at that rate, "inf" for all at once).
Prompts are random token ids (--prompt-format=tokens, the default: exact
input lengths) or random words (text; about one token per word with a
real tokenizer); --shared-prefix-len=P prepends the same P tokens (or
words) to every prompt, the prefix-caching workload. Requests ask for
exactly --output-len tokens (ignore_eos, temperature 0).

Only the Python standard library is used: the GPU machine has python3 and
nothing can be installed there.

    python3 bench/serve_load.py --base-url http://127.0.0.1:8000 \\
        --concurrency 1,8,32,64,128 --input-len 512 --output-len 128
    python3 bench/serve_load.py --request-rate 4,16 --num-prompts 400
    python3 bench/serve_load.py --shared-prefix-len 1000 --input-len 24 \\
        --concurrency 16
    python3 bench/serve_load.py --self-test --stub build/bin/llmc-serve-stub
"""

import argparse
import http.client
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

WORDS = ("time person year way day thing man world life hand part child eye "
         "woman place work week case point government company number group "
         "problem fact river stone light water green house music paper city "
         "north table window garden river question answer story system").split()


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class Target:
    """Where requests go and how they are shaped."""

    def __init__(self, base_url, api_key, model, endpoint, timeout):
        url = urllib.parse.urlparse(base_url)
        if url.scheme != "http" or not url.hostname:
            sys.exit("serve_load: --base-url must look like http://HOST:PORT, "
                     "got %r" % base_url)
        self.host = url.hostname
        self.port = url.port or 80
        self.api_key = api_key
        self.model = model
        self.endpoint = endpoint
        self.timeout = timeout

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.timeout)

    def headers(self):
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = "Bearer " + self.api_key
        return h

    def get(self, path):
        c = self.connection()
        try:
            c.request("GET", path, headers=self.headers())
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def body(self, prompt, output_len):
        b = {"max_tokens": output_len, "temperature": 0, "ignore_eos": True,
             "stream": True, "stream_options": {"include_usage": True}}
        if self.model:
            b["model"] = self.model
        if self.endpoint == "chat":
            text = prompt if isinstance(prompt, str) else " ".join(
                map(str, prompt))
            b["messages"] = [{"role": "user", "content": text}]
        else:
            b["prompt"] = prompt
        return json.dumps(b)


def sse_events(resp):
    """The `data:` events of a streamed response: each parsed JSON object,
    then None for `data: [DONE]` (nothing after a stream cut short)."""
    while True:
        line = resp.readline()
        if not line:
            return
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        if line[6:] == b"[DONE]":
            yield None
            return
        yield json.loads(line[6:])


def one_request(target, prompt, output_len):
    """Sends one streaming request; returns its measurements."""
    path = ("/v1/chat/completions" if target.endpoint == "chat"
            else "/v1/completions")
    out = {"ok": False, "ttft": None, "itl": [], "e2e": None,
           "output_tokens": 0, "prompt_tokens": 0, "error": ""}
    start = time.perf_counter()
    conn = target.connection()
    try:
        conn.request("POST", path, body=target.body(prompt, output_len),
                     headers=target.headers())
        resp = conn.getresponse()
        if resp.status != 200:
            out["error"] = "HTTP %d: %s" % (
                resp.status, resp.read().decode("utf-8", "replace")[:200])
            return out
        last = None
        chunks = 0
        for event in sse_events(resp):
            if event is None:
                out["ok"] = True
                break
            if "error" in event:
                out["error"] = event["error"].get("message", "error event")
                break
            if event.get("usage"):
                out["output_tokens"] = event["usage"]["completion_tokens"]
                out["prompt_tokens"] = event["usage"]["prompt_tokens"]
            for choice in event.get("choices", []):
                text = choice.get("text")
                if text is None:
                    text = choice.get("delta", {}).get("content")
                if not text:
                    continue
                now = time.perf_counter()
                if last is None:
                    out["ttft"] = now - start
                else:
                    out["itl"].append(now - last)
                last = now
                chunks += 1
        out["e2e"] = time.perf_counter() - start
        if out["ok"] and out["output_tokens"] == 0:
            out["output_tokens"] = chunks  # a server without usage chunks
        if out["ok"] and out["ttft"] is None:
            out["ok"] = False
            out["error"] = "no text was streamed"
    except (OSError, http.client.HTTPException, ValueError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    return out


def make_prompts(args, rng):
    """--num-prompts prompts: token-id lists or strings."""
    def piece(n):
        if args.prompt_format == "tokens":
            return [rng.randrange(args.vocab_low, args.vocab_high)
                    for _ in range(n)]
        return " ".join(rng.choice(WORDS) for _ in range(n))

    prefix = piece(args.shared_prefix_len) if args.shared_prefix_len else None
    prompts = []
    for _ in range(args.num_prompts):
        p = piece(args.input_len)
        if prefix is not None:
            p = prefix + p if args.prompt_format == "tokens" else (
                prefix + " " + p)
        prompts.append(p)
    return prompts


def run_concurrency(target, prompts, output_len, level):
    jobs = queue.Queue()
    for p in prompts:
        jobs.put(p)
    results = []
    lock = threading.Lock()

    def worker():
        while True:
            try:
                p = jobs.get_nowait()
            except queue.Empty:
                return
            r = one_request(target, p, output_len)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(level)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - start


def run_rate(target, prompts, output_len, rate, rng, max_concurrency):
    results = []
    lock = threading.Lock()
    gate = threading.BoundedSemaphore(max_concurrency) if max_concurrency \
        else None

    def send(p):
        try:
            r = one_request(target, p, output_len)
            with lock:
                results.append(r)
        finally:
            if gate:
                gate.release()

    threads = []
    start = time.perf_counter()
    for p in prompts:
        if gate:
            gate.acquire()
        t = threading.Thread(target=send, args=(p,))
        t.start()
        threads.append(t)
        if rate != float("inf"):
            time.sleep(rng.expovariate(rate))
    for t in threads:
        t.join()
    return results, time.perf_counter() - start


def summarize(name, mode, results, duration):
    ok = [r for r in results if r["ok"]]
    ttft = [r["ttft"] for r in ok]
    tpot = [(r["e2e"] - r["ttft"]) / (r["output_tokens"] - 1)
            for r in ok if r["output_tokens"] > 1]
    itl = [g for r in ok for g in r["itl"]]
    out_tokens = sum(r["output_tokens"] for r in ok)
    in_tokens = sum(r["prompt_tokens"] for r in ok)
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    return {
        "workload": name, "mode": mode, "requests": len(results),
        "completed": len(ok), "failed": len(results) - len(ok),
        "errors": sorted({r["error"] for r in results if r["error"]})[:3],
        "duration_s": round(duration, 3),
        "request_throughput": round(len(ok) / duration, 3) if duration else 0,
        "output_tokens": out_tokens, "prompt_tokens": in_tokens,
        "output_tokens_per_s": round(out_tokens / duration, 1)
        if duration else 0,
        "total_tokens_per_s": round((in_tokens + out_tokens) / duration, 1)
        if duration else 0,
        "ttft_ms_mean": ms(sum(ttft) / len(ttft)) if ttft else None,
        "ttft_ms_p50": ms(percentile(ttft, 50)) if ttft else None,
        "ttft_ms_p99": ms(percentile(ttft, 99)) if ttft else None,
        "tpot_ms_mean": ms(sum(tpot) / len(tpot)) if tpot else None,
        "tpot_ms_p50": ms(percentile(tpot, 50)) if tpot else None,
        "tpot_ms_p99": ms(percentile(tpot, 99)) if tpot else None,
        "itl_ms_mean": ms(sum(itl) / len(itl)) if itl else None,
        "itl_ms_p50": ms(percentile(itl, 50)) if itl else None,
        "itl_ms_p99": ms(percentile(itl, 99)) if itl else None,
        "e2e_ms_p50": ms(percentile([r["e2e"] for r in ok], 50))
        if ok else None,
    }


COLUMNS = [("workload", "workload"), ("mode", "load"), ("completed", "ok"),
           ("failed", "failed"), ("request_throughput", "req/s"),
           ("output_tokens_per_s", "out tok/s"),
           ("ttft_ms_p50", "TTFT p50 ms"), ("ttft_ms_p99", "TTFT p99 ms"),
           ("tpot_ms_p50", "TPOT p50 ms"), ("tpot_ms_p99", "TPOT p99 ms"),
           ("itl_ms_p50", "ITL p50 ms"), ("itl_ms_p99", "ITL p99 ms")]


def table(rows):
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(
            "-" if r[k] is None else str(r[k]) for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def prefix_hits(target):
    """llmc:prefix_cache_hits_total from /metrics (None if absent)."""
    try:
        status, page = target.get("/metrics")
    except OSError:
        return None
    m = re.search(r"^llmc:prefix_cache_hits_total\{[^}]*\} (\S+)$", page,
                  re.M)
    return float(m.group(1)) if status == 200 and m else None


def benchmark(args):
    target = Target(args.base_url, args.api_key, args.model, args.endpoint,
                    args.timeout)
    rng = random.Random(args.seed)
    name = args.workload or ("in%d-out%d%s" % (
        args.input_len, args.output_len,
        "-prefix%d" % args.shared_prefix_len if args.shared_prefix_len
        else ""))
    rows = []
    if args.warmup:
        for p in make_prompts(argparse.Namespace(
                **{**vars(args), "num_prompts": args.warmup}), rng):
            one_request(target, p, args.output_len)
    for level in args.concurrency:
        hits0 = prefix_hits(target)
        results, duration = run_concurrency(
            target, make_prompts(args, rng), args.output_len, level)
        row = summarize(name, "concurrency %d" % level, results, duration)
        hits1 = prefix_hits(target)
        row["prefix_hit_tokens"] = (hits1 - hits0 if None not in (hits0, hits1)
                                    else None)
        rows.append(row)
        print(json.dumps(row), flush=True)
    for rate in args.request_rate:
        hits0 = prefix_hits(target)
        results, duration = run_rate(target, make_prompts(args, rng),
                                     args.output_len, rate, rng,
                                     args.max_concurrency)
        row = summarize(name, "rate %s/s" % rate, results, duration)
        hits1 = prefix_hits(target)
        row["prefix_hit_tokens"] = (hits1 - hits0 if None not in (hits0, hits1)
                                    else None)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def parse_list(kind):
    def parse(text):
        out = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            v = float("inf") if item == "inf" else kind(item)
            if v <= 0:
                raise argparse.ArgumentTypeError("%r must be > 0" % item)
            out.append(v)
        return out
    return parse


def self_test(args):
    """Starts llmc-serve-stub, runs small workloads, checks every figure."""
    stub = subprocess.Popen(
        [args.stub, "--port=0", "--fake-step-ms=1", "--max-num-seqs=8",
         "--max-queued-requests=64"],
        stdout=subprocess.PIPE, text=True)
    failures = []
    try:
        line = stub.stdout.readline()
        m = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if not m:
            sys.exit("serve_load self-test: the stub printed %r" % line)
        if "ready" not in stub.stdout.readline():
            sys.exit("serve_load self-test: the stub did not get ready")
        base = vars(args).copy()
        base.update(base_url=m.group(1), api_key="", model="", timeout=30,
                    seed=1, warmup=1, workload="")
        runs = [
            dict(endpoint="completions", prompt_format="tokens", input_len=32,
                 output_len=8, num_prompts=12, concurrency=[1, 4],
                 request_rate=[50.0], shared_prefix_len=0, vocab_low=1,
                 vocab_high=255, max_concurrency=0),
            dict(endpoint="chat", prompt_format="text", input_len=4,
                 output_len=6, num_prompts=10, concurrency=[3],
                 request_rate=[], shared_prefix_len=64, vocab_low=1,
                 vocab_high=255, max_concurrency=0),
        ]
        rows = []
        for run in runs:
            a = argparse.Namespace(**{**base, **run})
            for row in benchmark(a):
                rows.append(row)
                want = run["num_prompts"]
                if row["completed"] != want or row["failed"]:
                    failures.append("%s: %d of %d completed: %s" % (
                        row["mode"], row["completed"], want, row["errors"]))
                if row["output_tokens"] != want * run["output_len"]:
                    failures.append("%s: %d output tokens, expected %d" % (
                        row["mode"], row["output_tokens"],
                        want * run["output_len"]))
                for key in ("ttft_ms_p50", "ttft_ms_p99", "tpot_ms_p50",
                            "tpot_ms_p99", "itl_ms_p50", "itl_ms_p99",
                            "request_throughput", "output_tokens_per_s"):
                    if not row[key] or row[key] <= 0:
                        failures.append("%s: %s is %r" % (row["mode"], key,
                                                          row[key]))
                if run["shared_prefix_len"] and not row["prefix_hit_tokens"]:
                    failures.append("%s: the shared prefix was never found "
                                    "in the prefix cache" % row["mode"])
        print(table(rows))
    finally:
        stub.send_signal(signal.SIGTERM)
        try:
            code = stub.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stub.kill()
            code = "timeout"
        if code != 0:
            failures.append("the stub exited with %s after SIGTERM" % code)
    if failures:
        print("serve_load self-test FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("serve_load self-test passed")
    return 0


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", default="http://127.0.0.1:8000")
    p.add_argument("--api-key", default=os.environ.get("LLMC_API_KEY", ""))
    p.add_argument("--model", default="",
                   help="the request's model field (default: none sent)")
    p.add_argument("--endpoint", choices=["completions", "chat"],
                   default="completions")
    p.add_argument("--concurrency", type=parse_list(int), default=[],
                   help="comma list of in-flight request counts, e.g. "
                        "1,8,32,64,128")
    p.add_argument("--request-rate", type=parse_list(float), default=[],
                   help="comma list of Poisson arrival rates (requests/s; "
                        "inf: all at once)")
    p.add_argument("--max-concurrency", type=int, default=0,
                   help="with --request-rate: at most this many in flight")
    p.add_argument("--num-prompts", type=int, default=200,
                   help="requests per run (default 200)")
    p.add_argument("--input-len", type=int, default=512)
    p.add_argument("--output-len", type=int, default=128)
    p.add_argument("--shared-prefix-len", type=int, default=0,
                   help="tokens (or words) every prompt starts with")
    p.add_argument("--prompt-format", choices=["tokens", "text"],
                   default="tokens")
    p.add_argument("--vocab-low", type=int, default=100,
                   help="random token ids are in [vocab-low, vocab-high)")
    p.add_argument("--vocab-high", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2,
                   help="requests sent before the measured runs")
    p.add_argument("--timeout", type=float, default=600,
                   help="socket timeout per request, seconds")
    p.add_argument("--workload", default="", help="name in the table")
    p.add_argument("--json", default="", help="write the rows to this file")
    p.add_argument("--self-test", action="store_true",
                   help="run small workloads against --stub and check them")
    p.add_argument("--stub", default="build/bin/llmc-serve-stub")
    args = p.parse_args()
    if args.self_test:
        return self_test(args)
    if not args.concurrency and not args.request_rate:
        args.concurrency = [1, 8, 32, 64, 128]
    for name in ("num_prompts", "input_len", "output_len"):
        if getattr(args, name) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    if not 0 <= args.vocab_low < args.vocab_high:
        p.error("--vocab-low must be >= 0 and below --vocab-high")
    rows = benchmark(args)
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["failed"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
