#!/usr/bin/env python3
"""Soak test of `llm-model serve` (issue 17): sustained load with random
client disconnects, for a bounded time, on the GPU machine.

    python3 test/gpu/serve/soak.py DIR/big-tp1/llm-model --duration 540
    python3 test/gpu/serve/soak.py --base-url http://127.0.0.1:8000 --duration 60
    python3 test/gpu/serve/soak.py build/bin/llmc-serve-stub --stub \
        --server-flag=--fake-step-ms=1 --duration 5 --concurrency 8 \
        --vocab-high 255 --max-input 64 --max-output 16     (ctest serve-soak-smoke)

It starts `BINARY serve --weights=random --port=0` on 127.0.0.1 (or uses a
running server with --base-url), then keeps --concurrency clients busy for
--duration seconds: each sends a streaming /v1/completions request (random
token ids, --min-input..--max-input tokens, --min-output..--max-output new
tokens, ignore_eos) and, with probability --cancel-fraction, closes its
connection after a random number of streamed chunks (a client disconnect,
which must cancel the request and free its blocks). GPU memory is sampled
with nvidia-smi every --sample-seconds.

Checks (exit status 1 if one fails):
  * every request the clients sent was answered: a completed stream ends
    with a finish reason and `data: [DONE]`, with exactly max_tokens tokens;
    a disconnected one needs nothing more;
  * no HTTP error, no broken stream, no connection refused;
  * the server's llmc:request_success_total over all reasons equals the
    requests sent (each ended exactly once), its "cancelled" count is at
    most the disconnects and "error" is 0; at the end nothing runs or
    waits and no KV block is held;
  * GPU memory after the first sample past --warmup-seconds stays within
    --memory-tolerance-mib of that sample (flat);
  * SIGTERM drains and the server exits 0 (when this script started it).

One device call runs at most 600 s, start, weights and drain included,
so a 10-minute soak spans two calls on the same (warm) machine: the first
starts `setsid nohup python3 test/gpu/serve/soak.py ... --duration 600
>/tmp/soak.txt 2>&1 </dev/null &` and waits ~540 s, the next waits for it
to end and prints /tmp/soak.txt (docs/performance.md, "Poisson arrivals
and the 10-minute soak"). Only the Python standard library is used; the
summary is printed as text and one `soak-json:` line.
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench"))
from check_serve import start_server  # noqa: E402
from serve_load import sse_events  # noqa: E402


def gpu_memory_mib():
    """Used memory of the first GPU, or None without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used",
                              "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30)
        return int(out.stdout.split()[0]) if out.returncode == 0 else None
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def metrics(base):
    text = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        m = re.match(r'(llmc:[a-z_]+)(\{.*\})?$', name)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        key = m.group(1)
        if "finished_reason" in labels:
            key += ":" + labels["finished_reason"]
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = self.completed = self.disconnected = 0
        self.tokens = 0
        self.errors = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                if k == "error":
                    self.errors.append(v)
                else:
                    setattr(self, k, getattr(self, k) + v)


def one_request(url, rng, a, stats):
    n_in = rng.randint(a.min_input, a.max_input)
    n_out = rng.randint(a.min_output, a.max_output)
    prompt = [rng.randint(a.vocab_low, a.vocab_high) for _ in range(n_in)]
    cut = rng.randint(1, n_out) if rng.random() < a.cancel_fraction else None
    body = json.dumps({"prompt": prompt, "max_tokens": n_out,
                       "temperature": 0, "ignore_eos": True, "stream": True,
                       "stream_options": {"include_usage": True}})
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=a.timeout)
    stats.add(sent=1)
    try:
        conn.request("POST", "/v1/completions", body,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            stats.add(error="HTTP %d: %s" % (resp.status, resp.read()[:200]))
            return
        chunks = tokens = 0
        finish, done = None, False
        for event in sse_events(resp):
            if event is None:
                done = True
                break
            if "error" in event:
                stats.add(error="stream error: %s" % event["error"])
                return
            for choice in event.get("choices", []):
                finish = choice.get("finish_reason") or finish
            if event.get("usage"):
                tokens = event["usage"].get("completion_tokens", 0)
            chunks += 1
            if cut is not None and chunks >= cut:
                stats.add(disconnected=1)
                return  # the finally closes the socket mid-stream
        if not done or finish != "length" or tokens != n_out:
            stats.add(error="stream ended early: done %s finish %s tokens "
                      "%d of %d" % (done, finish, tokens, n_out))
            return
        stats.add(completed=1, tokens=tokens)
    except (OSError, http.client.HTTPException, ValueError) as e:
        stats.add(error="%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("binary", nargs="?", help="llm-model to start")
    ap.add_argument("--base-url", help="use this running server instead")
    ap.add_argument("--server-flag", action="append", default=[],
                    help="extra flag for `serve` (repeatable)")
    ap.add_argument("--stub", action="store_true",
                    help="BINARY is llmc-serve-stub (CPU smoke test): start "
                    "it without `serve --weights=random`")
    ap.add_argument("--duration", type=float, default=540,
                    help="seconds of load (default 540: 9 minutes)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--cancel-fraction", type=float, default=0.2)
    ap.add_argument("--min-input", type=int, default=16)
    ap.add_argument("--max-input", type=int, default=512)
    ap.add_argument("--min-output", type=int, default=8)
    ap.add_argument("--max-output", type=int, default=128)
    ap.add_argument("--vocab-low", type=int, default=10)
    ap.add_argument("--vocab-high", type=int, default=120000)
    ap.add_argument("--sample-seconds", type=float, default=10)
    ap.add_argument("--warmup-seconds", type=float, default=30)
    ap.add_argument("--memory-tolerance-mib", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=300,
                    help="per-request socket timeout")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if not a.binary and not a.base_url:
        ap.error("give the llm-model binary or --base-url")
    if a.duration <= 0 or a.concurrency <= 0 or not 0 <= a.cancel_fraction <= 1:
        ap.error("--duration and --concurrency must be > 0 and "
                 "--cancel-fraction in [0, 1]")

    proc = None
    if a.base_url:
        base = a.base_url.rstrip("/")
    else:
        cmd = [a.binary] if a.stub else [a.binary, "serve", "--weights=random"]
        proc, base, _ = start_server(cmd + a.server_flag, timeout=600)
    url = urllib.parse.urlparse(base)
    fails = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            fails.append(what)

    before = metrics(base)
    stats = Stats()
    stop_at = time.time() + a.duration
    start = time.time()

    def client(k):
        rng = random.Random(a.seed * 1000003 + k)
        while time.time() < stop_at:
            one_request(url, rng, a, stats)

    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in range(a.concurrency)]
    for t in threads:
        t.start()
    samples = []  # (seconds since start, MiB)
    next_report = time.time() + 60
    while any(t.is_alive() for t in threads):
        mib = gpu_memory_mib()
        if mib is not None:
            samples.append((time.time() - start, mib))
        if time.time() >= next_report:
            next_report += 60
            print("  %4.0f s: %d sent, %d completed, %d disconnected, %d "
                  "errors, GPU %s MiB" % (time.time() - start, stats.sent,
                                          stats.completed, stats.disconnected,
                                          len(stats.errors), mib), flush=True)
        time.sleep(a.sample_seconds)
    for t in threads:
        t.join(timeout=a.timeout)
    elapsed = time.time() - start

    # The engine frees a cancelled request before its next step; give the
    # last disconnects a moment to be noticed.
    after = {}
    for _ in range(60):
        after = metrics(base)
        if (after.get("llmc:num_requests_running", 1) == 0 and
                after.get("llmc:num_requests_waiting", 1) == 0):
            break
        time.sleep(0.5)

    def delta(key):
        return after.get(key, 0.0) - before.get(key, 0.0)

    ended = {r: delta("llmc:request_success_total:" + r)
             for r in ("stop", "length", "cancelled", "error")}
    check(not stats.errors, "no client error (%d; first: %s)" %
          (len(stats.errors), stats.errors[:3]))
    check(stats.completed + stats.disconnected + len(stats.errors) ==
          stats.sent, "every request answered or disconnected: %d sent, %d "
          "completed, %d disconnected" % (stats.sent, stats.completed,
                                          stats.disconnected))
    check(sum(ended.values()) == stats.sent, "the server ended each request "
          "once: %s, %d sent" % (ended, stats.sent))
    check(ended["cancelled"] <= stats.disconnected and ended["error"] == 0,
          "cancelled %d <= disconnected %d, no error finish" %
          (ended["cancelled"], stats.disconnected))
    check(ended["length"] >= stats.completed, "completed streams %d counted "
          "as length by the server (%d)" % (stats.completed, ended["length"]))
    check(after.get("llmc:num_requests_running") == 0 and
          after.get("llmc:num_requests_waiting") == 0 and
          after.get("llmc:kv_blocks_used") == 0,
          "idle at the end: running %s waiting %s blocks used %s" %
          (after.get("llmc:num_requests_running"),
           after.get("llmc:num_requests_waiting"),
           after.get("llmc:kv_blocks_used")))
    steady = [m for s, m in samples if s >= a.warmup_seconds]
    if steady:
        spread = max(steady) - steady[0]
        check(abs(min(steady) - steady[0]) <= a.memory_tolerance_mib and
              spread <= a.memory_tolerance_mib,
              "GPU memory flat: %d samples after %.0f s, %d..%d MiB (first "
              "%d)" % (len(steady), a.warmup_seconds, min(steady),
                       max(steady), steady[0]))
    else:
        print("note: no GPU memory samples past the warm-up (nvidia-smi "
              "missing or the run too short)")
    rc = None
    if proc:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        check(rc == 0, "SIGTERM drains, exit status %s" % rc)
    summary = {
        "duration_s": round(elapsed, 1), "concurrency": a.concurrency,
        "sent": stats.sent, "completed": stats.completed,
        "disconnected": stats.disconnected, "client_errors": len(stats.errors),
        "server_finished": ended, "output_tokens": stats.tokens,
        "output_tokens_per_s": round(stats.tokens / elapsed, 1),
        "gpu_mib_first": steady[0] if steady else None,
        "gpu_mib_min": min(steady) if steady else None,
        "gpu_mib_max": max(steady) if steady else None,
        "preemptions": delta("llmc:num_preemptions_total"),
        "exit_status": rc, "failed_checks": len(fails)}
    print("soak: %.0f s at concurrency %d: %d requests, %d completed, %d "
          "disconnected, %d errors, %.0f output tokens/s, GPU memory %s..%s "
          "MiB" % (elapsed, a.concurrency, stats.sent, stats.completed,
                   stats.disconnected, len(stats.errors),
                   summary["output_tokens_per_s"], summary["gpu_mib_min"],
                   summary["gpu_mib_max"]))
    print("soak-json:" + json.dumps(summary), flush=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
