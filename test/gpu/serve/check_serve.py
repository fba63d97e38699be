#!/usr/bin/env python3
"""GPU checks of `llm-model serve` (issue 17), run from the repo root on the
GPU machine with prebuilt binaries (test/gpu/serve/build.sh makes them):

  DIR/small-{tp1,tp2,pp2,dp2}                   small Llama-3 (head_dim 64,
                                                vocab 512), max-batch 8
  DIR/mixtral-{tp1,ep2}                         small Mixtral, max-batch 8
  DIR/big-tp1                                   Llama-3-8B shape, random
                                                weights, max-batch 64

For each small plan (all but tp1 as --emulate-ranks threads on one GPU) it
starts the server on 127.0.0.1 with random weights and checks:
  * greedy completions sent one at a time equal the static generation of
    the same binary (`llm-model --prompt=...`), token for token;
  * the same prompts sent concurrently (mixed prefill and decode steps,
    different batch shapes): agreement with the static tokens is reported
    (bf16 kernels differ by batch size, so near-ties may flip);
  * a seeded sampled request (temperature, top_p, top_k) repeats exactly,
    also when sent amid other traffic; logprobs come back;
  * a repeated prompt reports cached prompt tokens (prefix cache);
  * with LLM_RUN=path/to/llm-run and MODEL_MLIR (CPU reference `llm-run
    serve` present): the greedy tokens of the CPU reference server,
    agreement reported;
  * SIGTERM drains and the process exits 0.
Then, unless --no-bench, on big-tp1: the static --bench figures at batch 1
and 64 (prompt 512, 128 new tokens), bench/serve_load.py at concurrency
1, 8 and 64 with the same lengths and a longer concurrency-64 run, and the
shared-prefix workload (1,000 common + 24 tokens, 16 out; the binary's
context is 2048) with and without prefix caching, and their TTFT ratio. Exit status 1 on a failed
check. Only the Python standard library is used.
"""
import argparse
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "bench"))
from serve_load import parse_list  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def start_server(cmd, timeout=600):
    """Starts a server on a free port; returns (process, base url)."""
    proc = subprocess.Popen(cmd + ["--port=0", "--host=127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    base = None
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        print("  | " + line.rstrip(), flush=True)
        m = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if m:
            base = m.group(1)
        if "llmc serve: ready" in line:
            # Keep draining the output so the server never blocks on it.
            threading.Thread(target=lambda: [None for _ in proc.stdout],
                             daemon=True).start()
            return proc, base, lines
    proc.kill()
    raise RuntimeError("server did not become ready: " + "".join(lines[-20:]))


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None


def post(base, path, body, timeout=600):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def complete(base, prompt, n, **extra):
    body = {"prompt": prompt, "max_tokens": n, "temperature": 0,
            "ignore_eos": True}
    body.update(extra)
    out = post(base, "/v1/completions", body)
    text = out["choices"][0]["text"]
    return [int(t) for t in text.split()], out


def replicas(binary):
    """Batch replicas of the binary's plan (its batch must divide by them)."""
    with open(os.path.join(os.path.dirname(binary), "manifest.json")) as f:
        plan = json.load(f)["plan"]
    out = 1
    for axis in plan["batch_axes"]:
        out *= plan["shape"][plan["axes"].index(axis)]
    return out


def static_tokens(binary, prompt, n, emulate):
    """The static generation's tokens for `prompt` (repeated once per batch
    replica, as the plan needs; row 0 is returned)."""
    row = ",".join(map(str, prompt))
    cmd = [binary, "--weights=random",
           "--prompt=" + ";".join([row] * replicas(binary)),
           "--max-new-tokens=%d" % n] + (["--emulate-ranks"] if emulate else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(" ".join(cmd) + ": " + out.stderr[-2000:])
    line = [l for l in out.stdout.splitlines() if l.startswith("tokens:")][0]
    return [int(t) for t in line.split()[1:]]


def small_checks(d, plan, prompts, n):
    """`plan` names a folder of DIR: small-tp1, small-dp2, mixtral-ep2, ..."""
    binary = os.path.join(d, plan, "llm-model")
    emulate = not plan.endswith("tp1")
    print("== %s%s" % (plan, " (emulated ranks)" if emulate else ""),
          flush=True)
    static = [static_tokens(binary, p, n, emulate) for p in prompts]
    cmd = [binary, "serve", "--weights=random"] + (
        ["--emulate-ranks"] if emulate else [])
    proc, base, _ = start_server(cmd)
    try:
        for i, p in enumerate(prompts):
            got, _ = complete(base, p, n)
            check(got == static[i], "%s: greedy prompt %d (%d tokens) equals "
                  "static generation" % (plan, i, len(p)))
            if got != static[i]:
                print("    server %s\n    static %s" % (got, static[i]))
        # Concurrent traffic: the same prompts, 4 times over, at once.
        results = {}

        def worker(k):
            results[k] = complete(base, prompts[k % len(prompts)], n)[0]
        threads = [threading.Thread(target=worker, args=(k,))
                   for k in range(4 * len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        same = sum(results[k] == static[k % len(prompts)] for k in results)
        tokens_same = sum(a == b for k in results
                          for a, b in zip(results[k], static[k % len(prompts)]))
        check(len(results) == len(threads), "%s: %d concurrent requests "
              "answered" % (plan, len(threads)))
        print("info %s: concurrent greedy: %d/%d requests, %d/%d tokens equal "
              "static" % (plan, same, len(results), tokens_same,
                          len(results) * n), flush=True)
        # Seeded sampling repeats, alone and amid traffic.
        kw = dict(temperature=0.9, top_p=0.9, top_k=50, seed=1234, logprobs=2)
        a, out_a = complete(base, prompts[1], n, **kw)
        bg = [threading.Thread(target=complete, args=(base, prompts[2], n))
              for _ in range(3)]
        for t in bg:
            t.start()
        b, _ = complete(base, prompts[1], n, **kw)
        for t in bg:
            t.join()
        check(a == b and len(a) == n, "%s: seeded sampling repeats (%s)" %
              (plan, a[:8]))
        lp = out_a["choices"][0].get("logprobs") or {}
        check(len(lp.get("token_logprobs", [])) == n and
              all(len(x) == 2 for x in lp.get("top_logprobs", [])),
              "%s: logprobs and top-2 per token" % plan)
        # Prefix cache: the long prompt again.
        _, out = complete(base, prompts[-1], 2)
        cached = ((out.get("usage") or {}).get("prompt_tokens_details") or
                  {}).get("cached_tokens", 0)
        check(cached > 0, "%s: repeated prompt of %d tokens: %d cached" %
              (plan, len(prompts[-1]), cached))
        cpu_serve(plan, prompts, static, n)
    finally:
        rc = stop_server(proc)
    check(rc == 0, "%s: SIGTERM drains, exit status %s" % (plan, rc))


def cpu_serve(plan, prompts, static, n):
    """Greedy tokens of the CPU reference server (llm-run serve), if any."""
    llm_run, mlir = os.environ.get("LLM_RUN"), os.environ.get("MODEL_MLIR")
    if not llm_run or not mlir:
        print("info %s: no LLM_RUN/MODEL_MLIR: CPU reference server skipped"
              % plan)
        return
    shard = [] if plan.endswith("tp1") else ["--shard=" + plan.split("-")[-1]]
    try:
        proc, base, _ = start_server([llm_run, "serve", mlir,
                                      "--weights=random"] + shard, 300)
    except Exception as e:  # an llm-run without serve
        print("info %s: CPU reference server did not start: %s" % (plan, e))
        return
    try:
        for i, p in enumerate(prompts):
            got, _ = complete(base, p, n)
            same = sum(a == b for a, b in zip(got, static[i]))
            print("info %s: CPU llm-run serve prompt %d: %d/%d tokens equal "
                  "the GPU's" % (plan, i, same, n), flush=True)
    finally:
        stop_server(proc)


def bench_json(binary, batch, prompt_len, gen_len):
    out = subprocess.run([binary, "--weights=random", "--bench",
                          "--batch=%d" % batch, "--prompt-len=%d" % prompt_len,
                          "--gen-len=%d" % gen_len],
                         capture_output=True, text=True, timeout=900)
    line = [l for l in out.stdout.splitlines() if l.startswith("bench-json:")]
    if out.returncode != 0 or not line:
        raise RuntimeError("--bench failed: " + out.stderr[-2000:])
    return json.loads(line[0][len("bench-json:"):])


LOAD_SEEDS = itertools.count(1)


def load(base, what, *args):
    """One bench/serve_load.py run; returns its JSON result lines. Each run
    has its own --seed: serve_load.py's prompts are a function of the seed,
    so runs sharing one would find the earlier runs' prompts in the prefix
    cache (a concurrency-64 run of 64 requests then prefills nothing)."""
    r = subprocess.run([sys.executable, "bench/serve_load.py", "--base-url",
                        base, "--vocab-low", "10", "--vocab-high", "120000",
                        "--warmup", "1", "--seed", str(next(LOAD_SEEDS))]
                       + [str(a) for a in args],
                       capture_output=True, text=True, timeout=900)
    print(r.stdout[-3000:], r.stderr[-1500:], flush=True)
    check(r.returncode == 0, "serve_load.py " + what)
    out = []
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def random_load(base, what, *args):
    """A throughput run of random prompts: `load`, checked to have found
    nothing in the prefix cache (serve_load.py's `prefix_hit_tokens` of
    each measured run; a hit would mean repeated prompts, whose prefill the
    run then skips and whose tokens/s it overstates)."""
    res = load(base, what, *args)
    for row in res:
        hits = row.get("prefix_hit_tokens")
        if hits is not None:
            check(hits == 0, "%s (%s): no prompt token from the prefix cache "
                  "(%d found)" % (what, row.get("mode"), hits))
    return res


def big_bench(d, in_len, out_len, levels, steady, prefix, static=True,
              rates=()):
    binary = os.path.join(d, "big-tp1", "llm-model")
    print("== Llama-3-8B shape, tp1, random weights", flush=True)
    stat = {}
    for b in ((1, 64) if static else ()):
        f = bench_json(binary, b, in_len, out_len)
        stat[b] = f
        print("static batch %d: ttft_ms %.1f tpot_ms %.2f tokens_per_s %.0f "
              "(decode alone %.0f) graph %s" %
              (b, f["ttft_ms"], f["tpot_ms"] or 0, f["tokens_per_s"] or 0,
               b * 1000.0 / f["tpot_ms"] if f["tpot_ms"] else 0, f["graph"]),
              flush=True)
    ttft, served = {}, {}
    for caching in (True, False):
        flags = [] if caching else ["--no-enable-prefix-caching"]
        proc, base, lines = start_server([binary, "serve",
                                          "--weights=random"] + flags)
        try:
            if caching:
                for c in levels:
                    num = max(4, 2 * c) if c < 64 else c
                    res = random_load(base, "concurrency %d" % c,
                                      "--concurrency", c, "--num-prompts", num,
                                      "--input-len", in_len,
                                      "--output-len", out_len)
                    if res:
                        served[c] = res[-1]
                if steady:
                    res = random_load(base,
                                      "concurrency 64, %d requests" % steady,
                                      "--concurrency", 64, "--num-prompts",
                                      steady, "--input-len", in_len,
                                      "--output-len", out_len)
                    if res:
                        served["steady"] = res[-1]
                for rate in rates:
                    # Poisson arrivals (issue 17 item 6), up to 256 in
                    # flight: latency at a load below and near capacity.
                    random_load(base, "Poisson %g requests/s" % rate,
                                "--request-rate", rate, "--max-concurrency",
                                256, "--num-prompts", max(64, int(8 * rate)),
                                "--input-len", in_len, "--output-len", out_len)
            # Shared-prefix workload: a common system prompt of `prefix`
            # tokens (issue 17: 1,000; the binary's context is 2048).
            res = load(base, "shared prefix, caching %s" % caching,
                       "--concurrency", 16, "--num-prompts", 64,
                       "--shared-prefix-len", prefix, "--input-len", 24,
                       "--output-len", 16)
            if res:
                ttft[caching] = res[-1].get("ttft_ms_p50")
            try:
                text = urllib.request.urlopen(base + "/metrics",
                                              timeout=30).read().decode()
                print("\n".join(l for l in text.splitlines()
                                if l.startswith(("llmc:kv_blocks_total",
                                                 "llmc:prefix_cache_hits",
                                                 "llmc:num_preemptions",
                                                 "llmc:engine_steps"))))
            except Exception as e:
                print("metrics: %s" % e)
        finally:
            rc = stop_server(proc)
        check(rc == 0, "big (caching %s): SIGTERM drains, exit status %s" %
              (caching, rc))
    # The targets, as ratios of this run's figures.
    if 1 in stat and 1 in served and served[1].get("tpot_ms_p50"):
        print("target c=1: TPOT p50 %.2f ms vs static batch 1 %.2f ms: %+.1f%%"
              % (served[1]["tpot_ms_p50"], stat[1]["tpot_ms"],
                 100.0 * (served[1]["tpot_ms_p50"] / stat[1]["tpot_ms"] - 1)))
    if 64 in stat and stat[64].get("tpot_ms"):
        decode = 64 * 1000.0 / stat[64]["tpot_ms"]
        for key in (64, "steady"):
            if key in served:
                tps = served[key]["output_tokens_per_s"]
                print("target c=64 (%s): %.0f out tok/s vs static batch-64 "
                      "decode %.0f: %.1f%%" % (
                          "64 requests" if key == 64 else "steady", tps,
                          decode, 100.0 * tps / decode))
    if ttft.get(True) and ttft.get(False):
        print("target shared prefix %d + 24: TTFT p50 %.1f ms with prefix "
              "caching, %.1f ms without: %.1fx" %
              (prefix, ttft[True], ttft[False], ttft[False] / ttft[True]))


def trace_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def trace_summary(path, skip):
    """bench/step_trace.py over the lines of `path` after the first `skip`
    (the warm-up's steps)."""
    if "bench" not in sys.path:
        sys.path.insert(0, "bench")
    import step_trace
    with open(path) as f:
        lines = f.readlines()[skip:]
    out = step_trace.summarize(step_trace.parse(lines, path))
    print(step_trace.render(out), flush=True)
    return out


def budget_sweep(d, in_len, out_len, steady, budgets, extra, warm=0,
                 trace_dir=None, concurrency=64):
    """`concurrency` (64) over `steady` requests for each budget of the
    steps that carry decode tokens (--decode-step-tokens; 0: the full
    --max-num-batched-tokens), against the static batch-64 decode of the
    same binary in the same run; `extra` adds server flags; `warm`
    requests run first on each server, unmeasured (CUDA graphs captured,
    GEMM plans made: a warm server's figures); with `trace_dir` each server
    writes a --step-trace there and the measured requests' steps are
    summarized."""
    binary = os.path.join(d, "big-tp1", "llm-model")
    f = bench_json(binary, 64, in_len, out_len)
    decode = 64 * 1000.0 / f["tpot_ms"]
    print("static batch 64: tpot_ms %.2f decode %.0f tok/s" %
          (f["tpot_ms"], decode), flush=True)
    for b in budgets:
        flags = ["--decode-step-tokens=%d" % b] + extra
        trace = None
        if trace_dir:
            os.makedirs(trace_dir, exist_ok=True)
            trace = os.path.join(trace_dir, "budget-%d.jsonl" % b)
            flags.append("--step-trace=" + trace)
        proc, base, _ = start_server([binary, "serve", "--weights=random"] +
                                     flags)
        skip = 0
        try:
            if warm:
                load(base, "warm-up", "--concurrency", concurrency,
                     "--num-prompts", warm, "--input-len", in_len,
                     "--output-len", out_len)
            if trace:
                skip = trace_lines(trace)
            res = load(base, "budget %d" % b, "--concurrency",
                       concurrency, "--num-prompts", steady, "--input-len",
                       in_len, "--output-len", out_len)
        finally:
            stop_server(proc)
        if trace:
            trace_summary(trace, skip)
        if res:
            r = res[-1]
            print("c=%d decode-step-tokens %d %s%s: %.0f out tok/s = %.1f%% of "
                  "static decode; "
                  "TTFT p50 %.1f ms, TPOT p50 %.2f ms, ITL p99 %.1f ms" % (
                      concurrency, b, " ".join(extra),
                      " (after %d warm-up requests)" % warm if warm else "",
                      r["output_tokens_per_s"],
                      100.0 * r["output_tokens_per_s"] / decode,
                      r.get("ttft_ms_p50") or 0, r.get("tpot_ms_p50") or 0,
                      r.get("itl_ms_p99") or 0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dir", nargs="?", default=".device-carry/serve")
    ap.add_argument("--plans", default="small-tp1,small-tp2,small-pp2,"
                    "small-dp2,mixtral-tp1,mixtral-ep2",
                    help="folders of DIR to check (small models)")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--input-len", type=int, default=512)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--prefix", type=int, default=1000,
                    help="shared-prefix tokens (prompt = prefix + 24)")
    ap.add_argument("--no-static", action="store_true",
                    help="skip the static --bench baselines")
    ap.add_argument("--rates", type=parse_list(float), default="8,32",
                    help="Poisson arrival rates (requests/s) run after the "
                    "concurrency levels on the 8B server ('' for none)")
    ap.add_argument("--steady", type=int, default=256,
                    help="requests of a longer concurrency-64 run (0: none)")
    ap.add_argument("--budgets", default="",
                    help="only a concurrency-64 sweep over these "
                    "--decode-step-tokens values (0: the full budget)")
    ap.add_argument("--server-flags", default="",
                    help="extra flags of the sweep's servers")
    ap.add_argument("--warm", type=int, default=0,
                    help="unmeasured requests first on each sweep server")
    ap.add_argument("--trace-dir", default="",
                    help="sweep servers write --step-trace files here; "
                    "each measured run's steps are summarized "
                    "(bench/step_trace.py)")
    ap.add_argument("--sweep-concurrency", type=int, default=64,
                    help="the sweep's concurrency")
    a = ap.parse_args()
    if a.budgets:
        budget_sweep(a.dir, a.input_len, a.output_len, a.steady or 256,
                     [int(b) for b in a.budgets.split(",")],
                     a.server_flags.split(), a.warm, a.trace_dir or None,
                     a.sweep_concurrency)
        return 0
    rng = random.Random(17)
    prompts = [[rng.randrange(3, 512) for _ in range(k)] for k in (5, 37, 100)]
    n = 24
    for plan in a.plans.split(","):
        if plan:
            try:
                small_checks(a.dir, plan, prompts, n)
            except Exception as e:
                check(False, "%s: %s" % (plan, e))
    if not a.no_bench:
        try:
            big_bench(a.dir, a.input_len, a.output_len,
                      [int(c) for c in a.concurrency.split(",") if c],
                      a.steady, a.prefix, not a.no_static,
                      a.rates)
        except Exception as e:
            check(False, "big: %s" % e)
    print("%d failed check(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
