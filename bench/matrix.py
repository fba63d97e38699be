#!/usr/bin/env python3
# ===- bench/matrix.py - decode matrix: shapes x batches vs torch.compile -=== #
#
# Issue 18's benchmark: a ~1B Llama-3 shape (16 layers, hidden 2048,
# head_dim 64, tied embeddings), Llama-3-8B and Mistral-Nemo-12B (head_dim
# 128 != hidden / heads) at batches 1, 8, 32, 64, 128, ours against
# torch.compile (bench/torch_decode.py), with % of roofline and TTFT for 128-
# and 2048-token prompts.
#
#   python3 bench/matrix.py build [--out .device-carry/matrix] [--shapes 1b,8b,12b]
#       (CPU machine, after the project is built: two binaries per shape,
#       "decode" for batches up to 128 and "prefill" for one 2048-token prompt,
#       so the KV cache of neither is sized for both)
#   python3 bench/matrix.py jobs [--shapes ...]      # the job names
#   python3 bench/matrix.py run --dir D --out OUT --jobs 8b/ours,8b/torch-b64 [--budget S]
#       (GPU machine; one device call is at most 600 s, so split the jobs
#       over calls; results.jsonl accumulates in OUT, the table is printed last)
#   python3 bench/matrix.py table OUT1/results.jsonl OUT2/results.jsonl ...
#
# Jobs: SHAPE/ours runs our decode binary at every batch (prompt 128, 32
# generated tokens) and the prefill binary for TTFT at 128 and 2048 tokens,
# with --tune-gemms (cuBLASLt's answers timed per GEMM shape in the untimed
# warm-up; --no-tune-gemms for the heuristic's first answers);
# SHAPE/torch-bB runs torch.compile at batch B (each batch is its own
# compile: ~40-50 s of warm-up, the reason for one job per batch);
# SHAPE/torch-ttft runs the uncompiled prefills (SDPA flash attention and
# cuBLAS; no compile, so seconds).
# ===----------------------------------------------------------------------=== #
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

SHAPES = {
    "1b": "test/models/real/llama-3.2-1b.json",
    "8b": "test/models/real/llama-3-8b.json",
    "12b": "test/models/real/mistral-nemo-12b.json",
}
BATCHES = [1, 8, 32, 64, 128]
PROMPT, GEN = 128, 32
TTFT_PROMPTS = [128, 2048]
# llm-compile limits of the two binaries per shape.
DECODE_FLAGS = ["--max-batch=128", "--max-seq=256", "--max-tokens-per-step=16384"]
PREFILL_FLAGS = ["--max-batch=1", "--max-seq=2176", "--max-tokens-per-step=2048"]


def shapes_arg(text):
    names = [s for s in text.split(",") if s]
    for n in names:
        if n not in SHAPES:
            sys.exit(f"matrix.py: unknown shape '{n}' (known: {', '.join(SHAPES)})")
    return names


def all_jobs(shapes):
    jobs = []
    for s in shapes:
        jobs.append(f"{s}/ours")
        jobs += [f"{s}/torch-b{b}" for b in BATCHES]
        jobs.append(f"{s}/torch-ttft")
    return jobs


def build(args):
    bin_dir = args.bin
    out = args.out
    os.makedirs(out, exist_ok=True)
    for s in shapes_arg(args.shapes):
        d = os.path.join(out, s)
        os.makedirs(d, exist_ok=True)
        shutil.copy(SHAPES[s], os.path.join(d, "config.json"))
        mlir = os.path.join(d, "model.mlir")
        subprocess.run([f"{bin_dir}/llm-import", SHAPES[s], "-o", mlir], check=True)
        for kind, flags in (("decode", DECODE_FLAGS), ("prefill", PREFILL_FLAGS)):
            t0 = time.time()
            target = os.path.join(d, kind)
            subprocess.run([f"{bin_dir}/llm-compile", mlir, "--shard=tp1",
                            f"--target={args.target}", *flags, *args.compile_args.split(),
                            "-o", target], check=True)
            shutil.rmtree(os.path.join(target, "src"), ignore_errors=True)
            print(f"matrix.py: {s}/{kind} built in {time.time() - t0:.0f} s", flush=True)
        os.remove(mlir)
    print(f"matrix.py: done; carry {out} and run: python3 bench/matrix.py run --dir {out} "
          f"--out $OUT --jobs {','.join(all_jobs(shapes_arg(args.shapes))[:2])}")


def parse_json_line(text):
    for line in reversed(text.splitlines()):
        if line.startswith("bench-json:"):
            return json.loads(line.split(":", 1)[1])
    return None


def run_one(cmd, timeout, log):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        text, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        def s(x):
            return x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
        text, rc = s(e.stdout) + s(e.stderr), 124
    log.write(f"== {' '.join(cmd)}\n{text}\n== rc={rc} {time.time() - t0:.1f}s\n")
    log.flush()
    return rc, parse_json_line(text)


def run(args):
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    left = lambda: args.budget - (time.time() - start)
    results = open(os.path.join(args.out, "results.jsonl"), "a")
    log = open(os.path.join(args.out, "logs.txt"), "a")

    def record(shape, impl, metric, batch, prompt, rc, data):
        row = {"shape": shape, "impl": impl, "metric": metric, "batch": batch,
               "prompt_len": prompt, "rc": rc, **(data or {})}
        if impl == "ours":
            row["tune_gemms"] = bool(tune)
        results.write(json.dumps(row) + "\n")
        results.flush()
        print(f"matrix.py: {shape} {impl} {metric} b{batch} p{prompt}: rc={rc} "
              f"tpot={row.get('tpot_ms')} ttft={row.get('ttft_ms')}", flush=True)

    tune = [] if args.no_tune_gemms else ["--tune-gemms"]
    for job in [j for j in args.jobs.split(",") if j]:
        shape, _, what = job.partition("/")
        if shape not in SHAPES:
            sys.exit(f"matrix.py: unknown job '{job}' (jobs: {', '.join(all_jobs(SHAPES))})")
        d = os.path.join(args.dir, shape)
        config = os.path.join(d, "config.json")
        if what == "ours":
            for b in BATCHES:
                if left() < 30:
                    record(shape, "ours", "decode", b, PROMPT, "skipped", None)
                    continue
                rc, data = run_one([os.path.join(d, "decode", "llm-model"), "--weights=random",
                                    "--bench", f"--batch={b}", f"--prompt-len={PROMPT}",
                                    f"--gen-len={GEN}", *tune], min(120, left()), log)
                record(shape, "ours", "decode", b, PROMPT, rc, data)
            for p in TTFT_PROMPTS:
                if left() < 30:
                    record(shape, "ours", "ttft", 1, p, "skipped", None)
                    continue
                rc, data = run_one([os.path.join(d, "prefill", "llm-model"), "--weights=random",
                                    "--bench", "--batch=1", f"--prompt-len={p}", "--gen-len=2",
                                    *tune], min(120, left()), log)
                record(shape, "ours", "ttft", 1, p, rc, data)
        elif what.startswith("torch-b"):
            b = int(what[len("torch-b"):])
            if left() < 75:
                record(shape, "torch-compile", "decode", b, PROMPT, "skipped", None)
                continue
            rc, data = run_one([sys.executable, "bench/torch_decode.py", f"--config={config}",
                                f"--batch={b}", f"--prompt-len={PROMPT}", f"--gen-len={GEN}",
                                "--warmup=3", "--reps=1"], min(240, left()), log)
            record(shape, "torch-compile", "decode", b, PROMPT, rc, data)
        elif what == "torch-ttft":
            for p in TTFT_PROMPTS:
                if left() < 30:
                    record(shape, "torch", "ttft", 1, p, "skipped", None)
                    continue
                rc, data = run_one([sys.executable, "bench/torch_decode.py", f"--config={config}",
                                    "--batch=1", f"--prompt-len={p}", "--gen-len=2", "--eager",
                                    "--warmup=1"], min(120, left()), log)
                record(shape, "torch", "ttft", 1, p, rc, data)
        else:
            sys.exit(f"matrix.py: unknown job '{job}'")
    results.close()
    table_from([os.path.join(args.out, "results.jsonl")])


def fmt(x, digits=3):
    if x is None:
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def table_from(paths):
    rows = {}
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            if r.get("rc") != 0:
                continue
            rows[(r["shape"], r["impl"], r["metric"], r["batch"], r["prompt_len"])] = r
    print("\n| shape | batch | ours TPOT ms | torch.compile TPOT ms | ours vs torch.compile | "
          "ours % of roofline |")
    print("|---|---|---|---|---|---|")
    for s in SHAPES:
        for b in BATCHES:
            o = rows.get((s, "ours", "decode", b, PROMPT))
            t = rows.get((s, "torch-compile", "decode", b, PROMPT))
            if not o and not t:
                continue
            ot = o.get("tpot_ms") if o else None
            tt = t.get("tpot_ms") if t else None
            ratio = f"{tt / ot:.2f}×" if ot and tt else "–"
            roof = o.get("tpot_roofline_ratio") if o else None
            print(f"| {s} | {b} | {fmt(ot)} | {fmt(tt)} | {ratio} | "
                  f"{f'{100 * roof:.0f}%' if roof else '–'} |")
    print("\n| shape | prompt | ours TTFT ms | torch TTFT ms | ours % of GEMM peak |")
    print("|---|---|---|---|---|")
    for s in SHAPES:
        for p in TTFT_PROMPTS:
            o = rows.get((s, "ours", "ttft", 1, p))
            t = rows.get((s, "torch", "ttft", 1, p))
            if not o and not t:
                continue
            g = o.get("prefill_gemm_ratio") if o else None
            print(f"| {s} | {p} | {fmt(o.get('ttft_ms') if o else None)} | "
                  f"{fmt(t.get('ttft_ms') if t else None)} | {f'{100 * g:.0f}%' if g else '–'} |")


def main():
    ap = argparse.ArgumentParser(description="decode matrix: shapes x batches vs torch.compile")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", default=".device-carry/matrix")
    b.add_argument("--shapes", default=",".join(SHAPES))
    b.add_argument("--bin", default="build/bin")
    b.add_argument("--target", default="h100")
    b.add_argument("--compile-args", default="",
                   help="more llm-compile flags, e.g. --qkv-views=false for an A/B")
    j = sub.add_parser("jobs")
    j.add_argument("--shapes", default=",".join(SHAPES))
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--jobs", required=True)
    r.add_argument("--budget", type=float, default=540.0, help="seconds for all jobs")
    r.add_argument("--no-tune-gemms", action="store_true",
                   help="run ours with cuBLASLt's first heuristic answers (no --tune-gemms)")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    args = ap.parse_args()
    if args.cmd == "build":
        build(args)
    elif args.cmd == "jobs":
        print("\n".join(all_jobs(shapes_arg(args.shapes))))
    elif args.cmd == "run":
        run(args)
    else:
        table_from(args.results)


if __name__ == "__main__":
    main()
