#!/usr/bin/env python3
# ===- bench/table.py - the benchmark's job list, records and table -------=== #
#
# Stdlib only (runs on the GPU machine and here). Three commands:
#
#   table.py jobs [--only=PATTERNS]
#       the jobs of bench/configs.json, one per line:
#       "CONFIG IMPL BATCH PROMPT_LEN GEN_LEN" (PATTERNS: space or comma
#       separated globs over CONFIG/IMPL, e.g. "*/ours-* a/torch-compile")
#   table.py record --config=C --impl=I --rc=RC --log=FILE [--timeout=S] [--wall=S] [--cmd=...]
#       one results.jsonl line from a job's log: the last `bench-json: {...}`
#       line (or a bare JSON object line, or llm-model's older
#       `bench: key=value ...` line), or the error (timeout, exit status,
#       the log's last error lines)
#   table.py table --results=F [F ...] --predictions=P [--env=FILE] [-o OUT.md]
#       the markdown report: the main table (ours / torch.compile / torch
#       eager / HF eager, ratios, roofline, planner prediction and error,
#       issue 8's targets), our binary's same-run reference figures, the
#       planner's predictions and every run. Later results files override
#       earlier ones job by job, so runs split over several device calls
#       merge.
# ===----------------------------------------------------------------------=== #
import argparse
import fnmatch
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
IMPLS = ["ours-tp1", "ours-tp2", "torch-compile", "torch-eager", "hf-eager"]
IMPL_TITLES = {
    "ours-tp1": "ours (tp1)",
    "ours-tp2": "ours (tp2, emulated)",
    "torch-compile": "torch.compile",
    "torch-eager": "torch eager",
    "hf-eager": "HF eager",
}


def load_configs(path=None):
    with open(path or os.path.join(HERE, "configs.json")) as f:
        return json.load(f)


# ---------------------------------------------------------------- jobs ----

def cmd_jobs(args):
    c = load_configs(args.configs)
    pats = [p for p in re.split(r"[,\s]+", args.only or "") if p]
    for cfg, impl in c["jobs"]:
        if pats and not any(fnmatch.fnmatch(f"{cfg}/{impl}", p) for p in pats):
            continue
        w = c["configs"][cfg]
        print(cfg, impl, w["batch"], w["prompt_len"], w["gen_len"])


# -------------------------------------------------------------- record ----

def parse_number(text):
    try:
        v = float(text)
    except ValueError:
        return text
    return int(v) if re.fullmatch(r"-?\d+", text) else v


def parse_log(text):
    """The result object of a log, or None."""
    found = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("bench-json:"):
            try:
                found = json.loads(s[len("bench-json:"):].strip())
            except json.JSONDecodeError:
                pass
        elif s.startswith("{") and s.endswith("}") and found is None:
            try:
                found = json.loads(s)
            except json.JSONDecodeError:
                pass
    if found is not None:
        return found
    for line in reversed(text.splitlines()):  # llm-model's older line
        if line.startswith("bench:"):
            return {k: parse_number(v) for k, v in re.findall(r"(\w+)=(\S+)", line)}
    return None


def error_of(text, rc, timeout):
    if rc in (124, 137) and timeout:
        why = f"timed out after {timeout} s"
    elif rc is None:
        why = "did not run"
    else:
        why = f"exit status {rc}"
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errs = [l for l in lines if re.search(r"error|Error|Killed|out of memory", l)
            and not l.startswith("Traceback")]
    tail = (errs[-2:] if errs else lines[-2:])
    detail = " | ".join(tail)
    if len(detail) > 400:
        detail = detail[:400] + "…"
    return why + (": " + detail if detail else "")


def cmd_record(args):
    c = load_configs(args.configs)
    w = c["configs"][args.config]
    text = ""
    if args.log and os.path.exists(args.log):
        with open(args.log, errors="replace") as f:
            text = f.read()
    rec = {"config": args.config, "impl": args.impl, "batch": w["batch"],
           "prompt_len": w["prompt_len"], "gen_len": w["gen_len"],
           "rc": args.rc, "wall_s": args.wall, "cmd": args.command_line}
    result = parse_log(text) if args.rc == 0 else None
    if args.skipped:
        rec.update(ok=False, error=args.skipped)
    elif result is None or "tpot_ms" not in result:
        rec.update(ok=False, error=error_of(text, args.rc, args.timeout)
                   if args.rc != 0 else "no bench-json line in the output: "
                   + error_of(text, args.rc, args.timeout))
    else:
        rec.update(ok=True, result=result)
    print(json.dumps(rec), flush=True)


# --------------------------------------------------------------- table ----

def fmt(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    a = abs(v)
    if float(v).is_integer() and a < 1000:
        return str(int(v))
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    return f"{v:.{digits}f}"


def pct(v):
    return "–" if v is None else f"{100 * v:.0f}%"


def times(v):
    return "–" if v is None else f"{v:.2f}×"


def num(d, *keys):
    for k in keys:
        v = d.get(k) if d else None
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def decode_flops(cfg, batch, prompt_len, gen_len):
    """FLOPs of one decode step (GEMMs + attention over the mean context)."""
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    D = cfg.get("head_dim") or H // nh
    L, V = cfg["num_hidden_layers"], cfg["vocab_size"]
    per_layer = H * (nh + 2 * nkv) * D + nh * D * H + 3 * H * I
    gemm = 2 * batch * (L * per_layer + V * H)
    ctx = prompt_len + (gen_len + 1) / 2
    attn = 4 * batch * ctx * nh * D * L
    return gemm + attn


def cmd_table(args):
    c = load_configs(args.configs)
    runs = {}
    order = []
    for path in args.results:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                key = (r["config"], r["impl"])
                if key not in runs:
                    order.append(key)
                runs[key] = r
    preds = {}
    pred_doc = {}
    if args.predictions and os.path.exists(args.predictions):
        with open(args.predictions) as f:
            pred_doc = json.load(f)
        preds = pred_doc.get("predictions", {})
    model_cfg = None
    if args.model_config and os.path.exists(args.model_config):
        with open(args.model_config) as f:
            model_cfg = json.load(f)

    def res(cfg, impl):
        r = runs.get((cfg, impl))
        return r.get("result") if r and r.get("ok") else None

    def cell(cfg, impl, key):
        r = runs.get((cfg, impl))
        if r is None:
            return "not run"
        if not r.get("ok"):
            return "failed"
        return fmt(num(r["result"], key))

    def val(cfg, impl, key):
        return num(res(cfg, impl), key)

    def pred(cfg, variant, key):
        e = preds.get(cfg, {}).get(variant)
        if not e or "error" in e:
            return None
        return num(e, key)

    def err(p, m):
        return None if p is None or not m else (p - m) / m

    out = []
    w = out.append
    w("# llmc benchmark: Llama-3-8B shape, bf16, random weights, one GPU\n")
    env = ""
    if args.env and os.path.exists(args.env):
        with open(args.env, errors="replace") as f:
            env = f.read().strip()
    if env:
        w("```\n" + env + "\n```\n")
    hw = pred_doc.get("hardware", "?")
    w("Times in ms (lower is better). *ours vs X* = X's time / ours (above 1× "
      "means ours is faster). *roofline* = the lower bound on the time from our "
      "binary's same-run reference figures: decode = bytes read per step / "
      "measured device-to-device copy bandwidth (or FLOPs / cuBLASLt GEMM peak "
      "when larger), prefill = FLOPs / cuBLASLt GEMM peak for the model's "
      "shapes; *% of roofline* = roofline / time. *planner* = `llm-plan "
      f"--hardware={hw}` for the same batch, prompt and generation "
      "(tp2 emulated: the derived entry of bench/predict.py); error = "
      "(predicted − measured) / measured.\n")

    cols = ["ours", "torch.compile", "torch eager", "HF eager",
            "ours vs torch.compile", "ours vs HF eager", "roofline",
            "ours % of roofline", "planner", "planner error", "issue 8 target"]
    w("| configuration | metric | " + " | ".join(cols) + " |")
    w("|---|---|" + "---|" * len(cols))

    def roofline(cfg, metric):
        """(roofline ms, how) for ours-tp1's run of cfg."""
        r = res(cfg, "ours-tp1")
        if not r:
            return None, None
        gbs, copy, t = num(r, "decode_gb_s"), num(r, "copy_gb_s"), num(r, "tpot_ms")
        # bytes of a decode step / copy BW: the binary's own figure if it
        # prints one, else derived from its rates
        bw = num(r, "roofline_tpot_ms")
        if bw is None and gbs and copy and t:
            bw = gbs * t / copy
        if metric == "ttft":
            # GEMM-bound for long prompts; a short prompt still reads every
            # weight once (about the bytes of a decode step).
            tflops, peak, t1 = num(r, "prefill_tflops"), num(r, "gemm_peak_tflops"), num(r, "ttft_ms")
            comp = tflops * t1 / peak if tflops and peak and t1 else None
            if comp is None and bw is None:
                return None, None
            if comp is not None and (bw is None or comp >= bw):
                return comp, "GEMM"
            return bw, "bandwidth"
        comp = None
        peak = num(r, "gemm_peak_tflops")
        if model_cfg and peak:
            wk = c["configs"][cfg]
            comp = decode_flops(model_cfg, wk["batch"], wk["prompt_len"], wk["gen_len"]) / (peak * 1e9)
        if bw is None and comp is None:
            return None, None
        if comp is not None and (bw is None or comp > bw):
            return comp, "GEMM"
        return bw, "bandwidth"

    rows = []
    for cfg, wk in c["configs"].items():
        label = f"{cfg}: {wk['label']} (batch {wk['batch']}, prompt {wk['prompt_len']}, gen {wk['gen_len']})"
        metrics = [("tpot", "TPOT ms"), ("ttft", "TTFT ms")]
        if wk["gen_len"] <= 16:  # a prefill configuration: TTFT first
            metrics.reverse()
        for m, mlabel in metrics:
            rows.append((cfg, label, m, mlabel))

    for cfg, label, m, mlabel in rows:
        key = f"{m}_ms"
        ours = val(cfg, "ours-tp1", key)
        tc, hf = val(cfg, "torch-compile", key), val(cfg, "hf-eager", key)
        rl, how = roofline(cfg, m)
        ratio = rl / ours if rl and ours else None
        p = pred(cfg, "tp1", "decode_ms_per_token" if m == "tpot" else "prefill_ms")
        wk = c["configs"][cfg]
        target = ""
        if m == "tpot" and wk["batch"] == 1 and wk["gen_len"] > 16:
            r = res(cfg, "ours-tp1")
            bwr = num(r, "decode_bw_ratio")
            bits = [f"≥ 88% of copy BW: {pct(bwr)} {'met' if bwr and bwr >= 0.88 else 'missed'}" if bwr is not None else "≥ 88% of copy BW: –"]
            if ours and tc:
                bits.append(f"< torch.compile: {'met' if ours < tc else 'missed'}")
            if ours and hf:
                bits.append(f"≥ 10× HF: {'met' if hf / ours >= 10 else 'missed'}")
            target = "; ".join(bits)
        elif m == "ttft" and wk["prompt_len"] >= 1024:
            r = res(cfg, "ours-tp1")
            g = num(r, "prefill_gemm_ratio")
            target = f"≥ 75% of GEMM peak: {pct(g)} {'met' if g and g >= 0.75 else 'missed'}" if g is not None else "≥ 75% of GEMM peak: –"
        elif m == "tpot" and wk["batch"] > 1:
            target = f"≥ 80% of roofline: {pct(ratio)} {'met' if ratio and ratio >= 0.8 else 'missed'}" if ratio is not None else "≥ 80% of roofline: –"
        w(f"| {label} | {mlabel} | {cell(cfg, 'ours-tp1', key)} | {cell(cfg, 'torch-compile', key)} | "
          f"{cell(cfg, 'torch-eager', key)} | {cell(cfg, 'hf-eager', key)} | "
          f"{times(tc / ours) if tc and ours else '–'} | {times(hf / ours) if hf and ours else '–'} | "
          f"{fmt(rl) + ' (' + how + ')' if rl else '–'} | {pct(ratio)} | {fmt(p)} | {pct(err(p, ours)) if p and ours else '–'} | {target} |")
        # emulated tp2 beside tp1
        if (cfg, "ours-tp2") in runs and m == "tpot":
            t2 = val(cfg, "ours-tp2", key)
            p2 = pred(cfg, "tp2-emulated", "decode_ms_per_token")
            slow = t2 / ours - 1 if t2 and ours else None
            tgt = (f"≤ 15% slower than tp1: {100 * slow:+.1f}% {'met' if slow <= 0.15 else 'missed'}"
                   if slow is not None else "≤ 15% slower than tp1: –")
            w(f"| {cfg}: tp2 emulated on one GPU | TPOT ms | {cell(cfg, 'ours-tp2', key)} | | | | | | | | "
              f"{fmt(p2)} | {pct(err(p2, t2)) if p2 and t2 else '–'} | {tgt} |")
        if (cfg, "ours-tp2") in runs and m == "ttft":
            t2 = val(cfg, "ours-tp2", key)
            p2 = pred(cfg, "tp2-emulated", "prefill_ms")
            w(f"| {cfg}: tp2 emulated on one GPU | TTFT ms | {cell(cfg, 'ours-tp2', key)} | | | | | | | | "
              f"{fmt(p2)} | {pct(err(p2, t2)) if p2 and t2 else '–'} | |")
    w("")

    # Throughput
    w("## Tokens per second (batch × generated tokens / (TTFT + (gen − 1) × TPOT))\n")
    w("| configuration | " + " | ".join(IMPL_TITLES[i] for i in IMPLS) + " |")
    w("|---|" + "---|" * len(IMPLS))
    for cfg, wk in c["configs"].items():
        w(f"| {cfg}: {wk['label']} | " + " | ".join(
            cell(cfg, i, "tokens_per_s") if (cfg, i) in runs else "" for i in IMPLS) + " |")
    w("")

    # Reference figures
    w("## Our binary's same-run figures\n")
    keys = ["ttft_ms", "tpot_ms", "tokens_per_s", "decode_gb_s", "copy_gb_s",
            "decode_bw_ratio", "prefill_tflops", "gemm_peak_tflops",
            "prefill_gemm_ratio", "ranks"]
    w("| run | " + " | ".join(keys) + " |")
    w("|---|" + "---|" * len(keys))
    for (cfg, impl) in order:
        if not impl.startswith("ours"):
            continue
        r = runs[(cfg, impl)]
        if not r.get("ok"):
            w(f"| {cfg}/{impl} | " + " | ".join(["–"] * len(keys)) + " |")
            continue
        w(f"| {cfg}/{impl} | " + " | ".join(
            pct(num(r['result'], k)) if k.endswith("_ratio") else fmt(num(r["result"], k))
            for k in keys) + " |")
    w("")

    # Predictions
    if preds:
        w(f"## llm-plan's predictions ({hw})\n")
        w("| configuration | plan | GPUs | prefill ms | decode ms/token | weights GB/GPU | KV GB/GPU | comm MB/token |")
        w("|---|---|---|---|---|---|---|---|")
        for cfg, per in preds.items():
            for variant, e in per.items():
                if "error" in e:
                    w(f"| {cfg} | {variant} | {e.get('gpus')} | {e['error']} | | | | |")
                    continue
                w(f"| {cfg} | {variant} | {e.get('gpus')} | {fmt(num(e, 'prefill_ms'))} | "
                  f"{fmt(num(e, 'decode_ms_per_token'))} | {fmt((num(e, 'weights_bytes_per_gpu') or 0) / 1e9)} | "
                  f"{fmt((num(e, 'kv_cache_bytes_per_gpu') or 0) / 1e9)} | {fmt((num(e, 'comm_bytes_per_token') or 0) / 1e6)} |")
        w("")

    # Every run
    w("## Every run\n")
    w("| job | status | TTFT ms | TPOT ms | TPOT p50 ms | tokens/s | wall s | note |")
    w("|---|---|---|---|---|---|---|---|")
    for key in order:
        r = runs[key]
        res_ = r.get("result") or {}
        note = r.get("error", "") if not r.get("ok") else ", ".join(
            f"{k}={res_[k]}" for k in ("plan", "emulated", "graph", "method", "warmup_s",
                                       "cudagraph_skips", "max_seq")
            if k in res_ and res_[k] is not None)
        note = note.replace("|", "\\|").replace("\n", " ")
        w(f"| {key[0]}/{key[1]} | {'ok' if r.get('ok') else 'FAILED'} | {fmt(num(res_, 'ttft_ms'))} | "
          f"{fmt(num(res_, 'tpot_ms'))} | {fmt(num(res_, 'tpot_p50_ms'))} | {fmt(num(res_, 'tokens_per_s'))} | "
          f"{fmt(r.get('wall_s'))} | {note} |")
    w("")
    text = "\n".join(out) + "\n"
    if args.o and args.o != "-":
        with open(args.o, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def main():
    ap = argparse.ArgumentParser(description="benchmark job list, records and table")
    ap.add_argument("--configs", default=None, help="default: bench/configs.json")
    sub = ap.add_subparsers(dest="sub", required=True)
    j = sub.add_parser("jobs")
    j.add_argument("--only", default="")
    r = sub.add_parser("record")
    r.add_argument("--config", required=True)
    r.add_argument("--impl", required=True)
    r.add_argument("--rc", type=int, default=None)
    r.add_argument("--log", default=None)
    r.add_argument("--timeout", type=int, default=None)
    r.add_argument("--wall", type=float, default=None)
    r.add_argument("--cmd", dest="command_line", default=None)
    r.add_argument("--skipped", default=None, help="record the job as skipped, with this reason")
    t = sub.add_parser("table")
    t.add_argument("--results", nargs="+", required=True)
    t.add_argument("--predictions", default=None)
    t.add_argument("--model-config", default=None, help="config.json, for decode FLOPs")
    t.add_argument("--env", default=None)
    t.add_argument("-o", default="-")
    args = ap.parse_args()
    {"jobs": cmd_jobs, "record": cmd_record, "table": cmd_table}[args.sub](args)


if __name__ == "__main__":
    main()
