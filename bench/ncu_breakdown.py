#!/usr/bin/env python3
# ===- bench/ncu_breakdown.py - where a step's time goes, per kernel (ncu) -=== #
#
# Issue 18 ("the ones missed say why, with an ncu breakdown") and issue 19
# (W8A8 prefill): profiles one llm-model --bench run under Nsight Compute and
# prints, for the last decode step and for the timed prefill, one row per
# kernel group: launches, total us, % of the phase's summed kernel time,
# DRAM bytes read+written, achieved GB/s and % of a reference copy
# bandwidth; then the summed kernel time against the binary's own TPOT /
# TTFT from a separate run without ncu (the gap is launch gaps and idle
# time, which ncu hides: it serialises kernels). Runs ON THE GPU MACHINE
# from the repository root:
#
#   python3 bench/ncu_breakdown.py --bin .device-carry/matrix/8b/decode/llm-model \
#       --batch 64 --prompt-len 128 --out $OUT/ncu-8b-b64
#   python3 bench/ncu_breakdown.py --bin .device-carry/fp8/bench/w8a8/llm-model \
#       --batch 1 --prompt-len 2048 --phase prefill --out $OUT/ncu-w8a8-prefill
#   python3 bench/ncu_breakdown.py --from-csv OUT/measure.csv --batch 64 \
#       --prompt-len 128 [--ref-json OUT/reference.json] [--copy-gbs 3000]
#       (offline: the same tables from a saved CSV; no GPU, no torch)
#
# What it runs (live mode), each child under --timeout seconds (default 240;
# on expiry ncu gets SIGINT, then SIGKILL 30 s later, and whatever it
# printed is still parsed):
#  1. reference: BIN --weights=random --bench --batch=B --prompt-len=P
#     --gen-len=--ref-gen-len (16) [--extra-args], no ncu: its bench-json
#     gives TTFT, TPOT and the binary's own copy rate (copy_gb_s).
#  2. copy bandwidth: a 1 GiB device-to-device copy with torch in this
#     process (median of 7 after 2 warm-ups; read+write bytes, as
#     runtime/generate/Bench.cpp counts them), unless --copy-gbs is given;
#     without torch the reference run's copy_gb_s is used.
#  3. scan: ncu with gpu__time_duration.sum only and --launch-count
#     --scan-cap, over BIN ... --gen-len=G (2) --no-cuda-graphs: every
#     launch of the run up to the cap, to find where each forward starts.
#  4. measure: ncu with the DRAM metrics, --launch-skip/--launch-count
#     covering exactly the chosen forwards (from the scan), same command.
# The ncu options relied on (Nsight Compute CLI): --csv --page raw
# --print-units base (time in ns, bytes in bytes) --print-kernel-base
# demangled (full signatures; shortened here) --metrics --launch-skip
# --launch-count --clock-control none (the GPU's own clocks, as the
# reference run has) --cache-control none (no L2 flush between kernels: the
# previous kernel's output stays in L2 as in the real run; the default
# metrics need one pass, so no replay disturbs the cache) --log-file (ncu's
# report apart from the binary's output) and --target-processes all.
#
# Splitting the kernel stream into forwards (runtime/generate/Generate.cpp,
# the generated llmc_forward of passes/lowering/LowerToEmitC.cpp): with
# --bench the binary runs min(3, G) untimed warm-up forwards (a prefill,
# then decodes), then the timed prefill and G-1 timed decodes, all eagerly
# under --no-cuda-graphs; after the run, Bench.cpp launches its own kernels
# (fillRandomKernel, cuBLASLt GEMMs; its copy is not a kernel). Each
# llmc_forward launches rt::embedding (embeddingKernel, grid.x = the step's
# tokens: B*P for a prefill, B for a decode) first and rt::argmax
# (argmaxKernel) last; nothing launches a kernel between a forward's argmax
# and the next embedding (the ids, positions and next-id copies are
# memcpys). So: a forward is the launches from an embeddingKernel to the
# first argmaxKernel after it (or up to the next embeddingKernel when an
# argmax is missing: a warning); launches outside every forward (random
# weights, Bench.cpp's kernels) are counted apart and left out. A forward is
# a prefill when its embedding grid.x is B*P, a decode when it is B. The
# phases: "prefill" is the last prefill forward (the timed one), "decode"
# the last decode forward (the last timed step). With emulated ranks (one
# stream per rank) only the stream of the first embedding is kept.
#
# Kernel groups: ours (namespace llmc) by function name without namespace,
# template arguments or parameters (void llmc::rt::gemvKernel<4, ..>(GemvArgs)
# -> gemvKernel; --group-by template keeps the template arguments); others
# by their own name, "cublasLt:" for GEMM-like ones (sm90_xmma_*, nvjet_*,
# cutlass, splitKreduce, *gemm*) and "lib:" for the rest (NCCL), cut to 96
# characters.
#
# Output: the tables on stdout; with --out DIR also DIR/scan.csv,
# DIR/measure.csv (the raw ncu CSVs, for --from-csv), DIR/reference.json,
# DIR/breakdown.json (every row and total) and DIR/breakdown.md.
# ===----------------------------------------------------------------------=== #
import argparse
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

TIME_METRIC = "gpu__time_duration.sum"
READ_METRIC = "dram__bytes_read.sum"
WRITE_METRIC = "dram__bytes_write.sum"
SOL_METRICS = ["sm__throughput.avg.pct_of_peak_sustained_elapsed",
               "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed"]
EMBED = "embeddingKernel"
ARGMAX = "argmaxKernel"
# cuBLASLt's kernels (labelled "cublasLt:"; other libraries' "lib:").
GEMM_PREFIXES = ("sm90_", "sm80_", "sm100_", "xmma", "nvjet", "cutlass",
                 "splitkreduce", "cublas", "ampere_", "gemv")
NAME_WIDTH = 96

TIME_UNITS = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0,
              "ms": 1e3, "msecond": 1e3, "s": 1e6, "second": 1e6}
BYTE_UNITS = {"byte": 1, "kbyte": 1e3, "mbyte": 1e6, "gbyte": 1e9,
              "tbyte": 1e12, "kibyte": 1024, "mibyte": 1024 ** 2,
              "gibyte": 1024 ** 3, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9}


class BreakdownError(Exception):
    """Bad input or a run that gave nothing usable: one message, exit 1."""


# --------------------------------------------------------------------------
# Parsing ncu's CSV (--csv --page raw)
# --------------------------------------------------------------------------

def _number(text):
    t = text.strip().replace(",", "")
    if t in ("", "n/a", "N/A", "nan"):
        return None
    try:
        return float(t)
    except ValueError:
        return None


def _scale(metric, unit):
    """Factor to microseconds (time) or bytes (DRAM); 1 for percentages."""
    u = unit.strip().lower()
    if metric == TIME_METRIC:
        if u not in TIME_UNITS:
            raise BreakdownError(f"{metric}: unknown time unit '{unit}' "
                                 f"(known: {', '.join(TIME_UNITS)})")
        return TIME_UNITS[u]
    if metric in (READ_METRIC, WRITE_METRIC):
        if u not in BYTE_UNITS:
            raise BreakdownError(f"{metric}: unknown byte unit '{unit}' "
                                 f"(known: {', '.join(BYTE_UNITS)})")
        return BYTE_UNITS[u]
    return 1.0


def _grid_x(text):
    m = re.match(r"\s*\(?\s*(\d+)", text or "")
    return int(m.group(1)) if m else None


def parse_ncu_csv(text):
    """Launches of ncu's raw CSV page, in launch order.

    Each launch: {"index", "name", "stream", "grid_x", "us", "read", "write",
    and any percentage metric by its name}; time in us, DRAM in bytes. The
    header row starts with "ID"; a units row may follow (ncu writes one under
    --page raw). Lines before the header (==PROF== lines, the binary's output)
    are ignored."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith('"ID",')), None)
    if start is None:
        raise BreakdownError("no ncu CSV header (a line starting with "
                             "\"ID\",) in the ncu output")
    rows = list(csv.reader(io.StringIO("\n".join(
        l for l in lines[start:] if l.startswith('"')))))
    header = rows[0]
    for need in ("Kernel Name", TIME_METRIC):
        if need not in header:
            raise BreakdownError(f"the ncu CSV has no '{need}' column "
                                 f"(columns: {', '.join(header)})")
    col = {name: i for i, name in enumerate(header)}
    units = {}
    body = rows[1:]
    # The units row: no ID, a unit under the time metric.
    if body and body[0][col["ID"]].strip() == "":
        units = {name: body[0][i] for name, i in col.items() if i < len(body[0])}
        body = body[1:]
    metrics = [m for m in (TIME_METRIC, READ_METRIC, WRITE_METRIC, *SOL_METRICS)
               if m in col]
    scale = {m: _scale(m, units.get(m, "ns" if m == TIME_METRIC else "byte"))
             for m in metrics}
    key = {TIME_METRIC: "us", READ_METRIC: "read", WRITE_METRIC: "write"}
    out = []
    for row in body:
        if len(row) < len(header):
            continue  # a line cut by a timeout
        launch = {"index": len(out), "name": row[col["Kernel Name"]],
                  "stream": row[col["Stream"]] if "Stream" in col else "",
                  "grid_x": _grid_x(row[col["Grid Size"]]) if "Grid Size" in col
                  else None}
        for m in metrics:
            v = _number(row[col[m]])
            launch[key.get(m, m)] = None if v is None else v * scale[m]
        out.append(launch)
    return out


# --------------------------------------------------------------------------
# Kernel names and groups
# --------------------------------------------------------------------------

def function_name(demangled, keep_template=False):
    """The kernel's function name: no return type, namespace or parameters
    (and, unless keep_template, no template arguments)."""
    s = demangled.strip().replace("(anonymous namespace)", "anon")
    depth, cut, name_at = 0, len(s), 0
    for i, ch in enumerate(s):
        if ch == "(" and depth == 0:
            cut = i  # the parameter list
            break
        if ch in "<(":
            depth += 1
        elif ch in ">)" and depth:
            depth -= 1
        elif depth == 0 and ch == " ":
            name_at = i + 1  # after the return type
        elif depth == 0 and ch == ":" and s[i - 1:i] == ":":
            name_at = i + 1  # after a namespace or class
    name = s[name_at:cut].strip()
    return name if keep_template else name.split("<", 1)[0]


def is_library(demangled):
    """Not one of ours: ours live in namespace llmc (a demangled name says
    so); a bare name (ncu's function base) is ours when it ends in Kernel."""
    if "llmc::" in demangled:
        return False
    if "::" in demangled or "(" in demangled:
        return True
    return not re.search(r"Kernel\w*$", demangled.strip())


def group_of(demangled, keep_template=False):
    name = function_name(demangled, keep_template)
    if is_library(demangled):
        # cutlass::Kernel<cutlass_80_...>: the name is in the template.
        if name in ("Kernel", "Kernel2", "device_kernel"):
            name = function_name(demangled, True)
        gemm = name.lower().startswith(GEMM_PREFIXES) or "gemm" in name.lower()
        name = ("cublasLt:" if gemm else "lib:") + name
    if len(name) > NAME_WIDTH:
        name = name[:NAME_WIDTH - 1] + "~"
    return name


# --------------------------------------------------------------------------
# Forwards and phases
# --------------------------------------------------------------------------

def _is(launch, kernel):
    return function_name(launch["name"]) == kernel


def split_forwards(launches, batch, prompt_len):
    """Forwards of a launch list (the rule in the header).

    Returns (forwards, outside, warnings): each forward {"start", "end"
    (inclusive, indices into launches), "tokens", "kind"}; outside the count
    of launches in no forward."""
    if prompt_len < 2:
        raise BreakdownError(f"--prompt-len {prompt_len}: a prefill and a "
                             "decode would launch the same token count; the "
                             "split needs --prompt-len >= 2")
    warnings = []
    embeds = [i for i, l in enumerate(launches) if _is(l, EMBED)]
    if not embeds:
        raise BreakdownError(f"no {EMBED} launch: nothing marks a forward "
                             f"(the first kernels: "
                             f"{', '.join(function_name(l['name']) for l in launches[:5]) or 'none'})")
    streams = {launches[i]["stream"] for i in embeds}
    if len(streams) > 1:
        keep = launches[embeds[0]]["stream"]
        warnings.append(f"embeddings on {len(streams)} streams (emulated "
                        f"ranks?): only stream {keep} is analysed")
        launches = [l for l in launches if l["stream"] == keep]
        embeds = [i for i, l in enumerate(launches) if _is(l, EMBED)]
    forwards = []
    for k, s in enumerate(embeds):
        limit = embeds[k + 1] if k + 1 < len(embeds) else len(launches)
        end = next((i for i in range(s, limit) if _is(launches[i], ARGMAX)),
                   None)
        if end is None:
            end = limit - 1
            warnings.append(f"forward {k} (launch {s}) has no {ARGMAX} "
                            f"before launch {limit}; it ends at {end}")
        tokens = launches[s]["grid_x"]
        if tokens == batch * prompt_len:
            kind = "prefill"
        elif tokens == batch:
            kind = "decode"
        else:
            kind = "unknown"
            warnings.append(f"forward {k} (launch {s}): {EMBED} grid.x "
                            f"{tokens} is neither B*P = {batch * prompt_len} "
                            f"nor B = {batch}")
        forwards.append({"start": s, "end": end, "tokens": tokens,
                         "kind": kind})
    inside = sum(f["end"] - f["start"] + 1 for f in forwards)
    return forwards, launches, len(launches) - inside, warnings


def pick(forwards, phase):
    """The forward of a phase: the last one of its kind, or None."""
    found = [f for f in forwards if f["kind"] == phase]
    return found[-1] if found else None


# --------------------------------------------------------------------------
# The breakdown
# --------------------------------------------------------------------------

def breakdown(launches, copy_gbs, keep_template=False):
    """Rows per kernel group (largest time first) and the phase's totals."""
    groups = {}
    for l in launches:
        g = groups.setdefault(group_of(l["name"], keep_template), {
            "group": group_of(l["name"], keep_template),
            "library": is_library(l["name"]),
            "launches": 0, "us": 0.0, "read": 0.0, "write": 0.0,
            "dram_known": True, "sol": {}})
        g["launches"] += 1
        g["us"] += l.get("us") or 0.0
        if l.get("read") is None or l.get("write") is None:
            g["dram_known"] = False
        g["read"] += l.get("read") or 0.0
        g["write"] += l.get("write") or 0.0
        for m in SOL_METRICS:
            if l.get(m) is not None:
                acc = g["sol"].setdefault(m, [0.0, 0.0])
                acc[0] += l[m] * (l.get("us") or 0.0)
                acc[1] += l.get("us") or 0.0
    total_us = sum(g["us"] for g in groups.values())
    rows = []
    for g in sorted(groups.values(), key=lambda g: -g["us"]):
        bytes_ = g["read"] + g["write"] if g["dram_known"] else None
        gbs = bytes_ / (g["us"] * 1e-6) / 1e9 if bytes_ is not None and g["us"] else None
        row = {"group": g["group"], "library": g["library"],
               "launches": g["launches"], "us": g["us"],
               "pct_time": 100.0 * g["us"] / total_us if total_us else None,
               "dram_read_bytes": g["read"] if g["dram_known"] else None,
               "dram_write_bytes": g["write"] if g["dram_known"] else None,
               "gb_s": gbs,
               "pct_copy": 100.0 * gbs / copy_gbs if gbs is not None and copy_gbs else None}
        for m, (weighted, us) in g["sol"].items():
            row[m] = weighted / us if us else None
        rows.append(row)
    known = all(r["dram_read_bytes"] is not None for r in rows)
    total_bytes = (sum(r["dram_read_bytes"] + r["dram_write_bytes"] for r in rows)
                   if known else None)
    total_gbs = (total_bytes / (total_us * 1e-6) / 1e9
                 if total_bytes is not None and total_us else None)
    totals = {"launches": len(launches), "kernel_us": total_us,
              "dram_bytes": total_bytes, "gb_s": total_gbs,
              "pct_copy": 100.0 * total_gbs / copy_gbs
              if total_gbs is not None and copy_gbs else None}
    return rows, totals


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows, totals, sol):
    head = ["kernel group", "launches", "total us", "% time", "DRAM MB",
            "GB/s", "% copy"]
    if sol:
        head += ["% SM peak", "% mem peak"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        mb = (None if r["dram_read_bytes"] is None
              else (r["dram_read_bytes"] + r["dram_write_bytes"]) / 1e6)
        cells = [r["group"], str(r["launches"]), _fmt(r["us"], ".1f"),
                 _fmt(r["pct_time"], ".1f"), _fmt(mb, ".1f"),
                 _fmt(r["gb_s"], ".0f"), _fmt(r["pct_copy"], ".1f")]
        if sol:
            cells += [_fmt(r.get(m), ".1f") for m in SOL_METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    mb = None if totals["dram_bytes"] is None else totals["dram_bytes"] / 1e6
    cells = ["**all kernels**", str(totals["launches"]),
             _fmt(totals["kernel_us"], ".1f"), "100.0", _fmt(mb, ".1f"),
             _fmt(totals["gb_s"], ".0f"), _fmt(totals["pct_copy"], ".1f")]
    if sol:
        cells += ["", ""]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def against_reference(phase, totals, ref):
    """The binary's own step time (no ncu) against the summed kernel time."""
    if not ref:
        return {}
    key = "tpot_ms" if phase == "decode" else "ttft_ms"
    step = ref.get(key)
    if step is None:
        return {}
    kernel_ms = totals["kernel_us"] / 1e3
    out = {"reference_key": key, "reference_ms": step, "kernel_ms": kernel_ms,
           "gap_ms": step - kernel_ms,
           "gap_pct": 100.0 * (step - kernel_ms) / step if step else None}
    if phase == "prefill" and ref.get("prefill_flops"):
        out["kernel_tflops"] = ref["prefill_flops"] / (kernel_ms * 1e-3) / 1e12
        out["gemm_peak_tflops"] = ref.get("gemm_peak_tflops")
    if phase == "decode" and ref.get("decode_bytes_per_step") is not None:
        out["model_bytes_per_step"] = ref["decode_bytes_per_step"]
    return out


def analyse(launches, args, copy_gbs, ref):
    """Per phase: the table, the totals and the comparison; a report dict."""
    forwards, launches, outside, warnings = split_forwards(
        launches, args.batch, args.prompt_len)
    report = {"batch": args.batch, "prompt_len": args.prompt_len,
              "copy_gbs": copy_gbs, "forwards": forwards,
              "launches_outside_forwards": outside, "warnings": warnings,
              "phases": {}}
    for w in warnings:
        print(f"ncu_breakdown: warning: {w}", file=sys.stderr)
    print(f"ncu_breakdown: {len(forwards)} forwards "
          f"({', '.join(f['kind'] for f in forwards)}), {outside} launches "
          f"outside them")
    for phase in phases_of(args.phase):
        f = pick(forwards, phase)
        if f is None:
            raise BreakdownError(f"no {phase} forward among the "
                                 f"{len(forwards)} found (kinds: "
                                 f"{', '.join(x['kind'] for x in forwards)})")
        rows, totals = breakdown(launches[f["start"]:f["end"] + 1], copy_gbs,
                                 args.group_by == "template")
        cmp = against_reference(phase, totals, ref)
        report["phases"][phase] = {"forward": f, "rows": rows,
                                   "totals": totals, "reference": cmp}
    return report


def render(report, sol):
    out = []
    copy = report["copy_gbs"]
    out.append(f"copy bandwidth reference: {_fmt(copy, '.0f')} GB/s "
               f"({report.get('copy_source', 'given')})")
    for phase, p in report["phases"].items():
        label = ("last decode step" if phase == "decode"
                 else "prefill (the timed one)")
        out.append(f"\n### {label}: batch {report['batch']}, prompt "
                   f"{report['prompt_len']}, {p['totals']['launches']} launches\n")
        out.append(table(p["rows"], p["totals"], sol))
        c = p["reference"]
        if c:
            what = "TPOT" if phase == "decode" else "TTFT"
            out.append(f"\nsum of kernel times {c['kernel_ms']:.3f} ms (under "
                       f"ncu, serialised) vs {what} {c['reference_ms']:.3f} ms "
                       f"without ncu: gap {c['gap_ms']:.3f} ms "
                       f"({_fmt(c['gap_pct'], '.1f')}%: launch gaps, idle, "
                       "copies)")
            if "kernel_tflops" in c:
                out.append(f"prefill FLOPs over the kernel time: "
                           f"{c['kernel_tflops']:.1f} TFLOP/s (the binary's "
                           f"cuBLASLt rate on the model's shapes: "
                           f"{_fmt(c.get('gemm_peak_tflops'), '.1f')})")
            if "model_bytes_per_step" in c and p["totals"]["dram_bytes"]:
                out.append(f"DRAM bytes measured {p['totals']['dram_bytes'] / 1e9:.3f} GB "
                           f"vs the cost model's bytes per step "
                           f"{c['model_bytes_per_step'] / 1e9:.3f} GB")
    return "\n".join(out)


def phases_of(phase):
    return ["prefill", "decode"] if phase == "both" else [phase]


# --------------------------------------------------------------------------
# Live mode: the runs on the GPU machine
# --------------------------------------------------------------------------

def run_bounded(cmd, timeout, log_path=None):
    """Runs cmd in its own process group; SIGINT at the timeout, SIGKILL 30 s
    later. Returns (rc, stdout+stderr, timed_out)."""
    print(f"ncu_breakdown: $ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace", start_new_session=True)
    timed_out = False
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
    print(f"ncu_breakdown: rc={p.returncode} in {time.time() - t0:.0f} s"
          f"{' (timed out)' if timed_out else ''}", flush=True)
    if log_path:
        with open(log_path, "w") as f:
            f.write(out)
    return p.returncode, out, timed_out


def model_cmd(args, gen_len, eager):
    cmd = [args.bin, "--weights=random", "--bench", f"--batch={args.batch}",
           f"--prompt-len={args.prompt_len}", f"--gen-len={gen_len}"]
    if eager:
        cmd.append("--no-cuda-graphs")
    return cmd + args.extra_args.split()


def ncu_cmd(args, metrics, log, skip=None, count=None):
    cmd = [args.ncu, "--csv", "--page", "raw", "--print-units", "base",
           "--print-kernel-base", "demangled", "--clock-control", "none",
           "--cache-control", "none", "--target-processes", "all",
           "--metrics", ",".join(metrics), "--log-file", log]
    if skip:
        cmd += ["--launch-skip", str(skip)]
    if count:
        cmd += ["--launch-count", str(count)]
    return cmd + model_cmd(args, args.gen_len, not args.graphs)


def profile(args, metrics, name, skip=None, count=None):
    """One ncu run; its launches (whatever was written, even when cut)."""
    log = os.path.join(args.out, f"{name}.csv")
    if os.path.exists(log):
        os.remove(log)
    rc, text, timed_out = run_bounded(
        ncu_cmd(args, metrics, log, skip, count), args.timeout,
        os.path.join(args.out, f"{name}.log"))
    csv_text = read_text(log) if os.path.exists(log) else ""
    if '"ID",' not in csv_text:  # a report printed with the binary's output
        csv_text = text
    if rc != 0 or timed_out:
        print(f"ncu_breakdown: warning: ncu ({name}) exited with {rc}"
              f"{' after the timeout' if timed_out else ''}; parsing what it "
              f"wrote (tail of its output below)\n{text[-2000:]}", file=sys.stderr)
    try:
        return parse_ncu_csv(csv_text)
    except BreakdownError as e:
        raise BreakdownError(f"ncu ({name}): {e}; its output ends with:\n"
                             f"{text[-2000:]}")


def measure_copy_gbs(bytes_=1 << 30):
    """Read+write GB/s of a device-to-device copy with torch (median of 7)."""
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import cuda_ms
    src = torch.empty(bytes_, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    src.fill_(1)
    for _ in range(2):
        dst.copy_(src)
    ms = sorted(cuda_ms(lambda: dst.copy_(src))[0] for _ in range(7))
    del src, dst
    torch.cuda.empty_cache()
    return 2.0 * bytes_ / (ms[len(ms) // 2] * 1e-3) / 1e9


def reference_run(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from matrix import parse_json_line
    rc, text, _ = run_bounded(model_cmd(args, args.ref_gen_len, False),
                              args.timeout,
                              os.path.join(args.out, "reference.log"))
    ref = parse_json_line(text)
    if ref is None:
        print(f"ncu_breakdown: warning: the reference run (rc={rc}) printed "
              f"no bench-json; no TTFT/TPOT to compare with", file=sys.stderr)
    return ref


def launch_range(forwards, phases):
    """(skip, count) covering the chosen phases' forwards of a scan."""
    chosen = [pick(forwards, p) for p in phases]
    missing = [p for p, f in zip(phases, chosen) if f is None]
    if missing:
        raise BreakdownError(
            f"the scan found no {' or '.join(missing)} forward (kinds: "
            f"{', '.join(f['kind'] for f in forwards) or 'none'}); raise "
            "--scan-cap or --timeout")
    start = min(f["start"] for f in chosen)
    end = max(f["end"] for f in chosen)
    return start, end - start + 1


def live(args):
    os.makedirs(args.out, exist_ok=True)
    if not os.access(args.bin, os.X_OK):
        raise BreakdownError(f"--bin {args.bin}: not an executable file")
    ref = reference_run(args) if args.ref_gen_len > 0 else None
    if ref is not None:
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump(ref, f, indent=1)
    copy_gbs, source = args.copy_gbs, "--copy-gbs"
    if copy_gbs is None:
        try:
            copy_gbs, source = measure_copy_gbs(), "torch 1 GiB D2D copy"
        except Exception as e:  # no torch or no GPU for it: say which
            print(f"ncu_breakdown: warning: torch copy benchmark failed ({e})",
                  file=sys.stderr)
            if ref and ref.get("copy_gb_s"):
                copy_gbs, source = ref["copy_gb_s"], "the reference run's copy_gb_s"
    print(f"ncu_breakdown: copy bandwidth {_fmt(copy_gbs, '.0f')} GB/s "
          f"({source}); the binary's own: "
          f"{_fmt(ref.get('copy_gb_s') if ref else None, '.0f')} GB/s", flush=True)
    # The scan's launch indices are valid as the measure pass's skip because
    # the run is deterministic; the measure pass checks its ends anyway.
    scan = profile(args, [TIME_METRIC], "scan", count=args.scan_cap)
    forwards, stream_launches, _, warnings = split_forwards(
        scan, args.batch, args.prompt_len)
    if len(stream_launches) != len(scan):
        raise BreakdownError("several streams launch embeddings (emulated "
                             "ranks): --launch-skip counts every stream's "
                             "launches; profile a tp1 binary")
    for w in warnings:
        print(f"ncu_breakdown: warning (scan): {w}", file=sys.stderr)
    skip, count = launch_range(forwards, phases_of(args.phase))
    print(f"ncu_breakdown: scan: {len(scan)} launches, forwards "
          f"{[(f['kind'], f['start'], f['end']) for f in forwards]}; measuring "
          f"launches {skip}..{skip + count - 1}", flush=True)
    metrics = [TIME_METRIC, READ_METRIC, WRITE_METRIC] + (SOL_METRICS if args.sol else [])
    measured = profile(args, metrics, "measure", skip=skip, count=count)
    if len(measured) != count or not measured or not _is(measured[0], EMBED) \
            or not _is(measured[-1], ARGMAX):
        print(f"ncu_breakdown: warning: the measure pass got {len(measured)} "
              f"of {count} launches, from "
              f"{function_name(measured[0]['name']) if measured else '-'} to "
              f"{function_name(measured[-1]['name']) if measured else '-'} "
              f"(expected {EMBED} .. {ARGMAX})", file=sys.stderr)
    report = analyse(measured, args, copy_gbs, ref)
    report["copy_source"] = source
    report["binary_copy_gbs"] = ref.get("copy_gb_s") if ref else None
    report["command"] = model_cmd(args, args.gen_len, not args.graphs)
    return report


# --------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Per-kernel-group time and DRAM traffic of llm-model's "
        "decode step and prefill under Nsight Compute (see the file header).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bin", help="the compiled llm-model")
    src.add_argument("--from-csv", help="a saved ncu raw CSV (offline)")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--prompt-len", type=int, required=True)
    p.add_argument("--gen-len", type=int, default=2,
                   help="generated tokens of the profiled run (default 2: "
                   "the timed prefill and one timed decode are adjacent)")
    p.add_argument("--phase", choices=["decode", "prefill", "both"],
                   default="both")
    p.add_argument("--out", help="folder for the CSVs, logs and "
                   "breakdown.json/.md (required with --bin)")
    p.add_argument("--copy-gbs", type=float,
                   help="reference copy bandwidth, GB/s read+write (default: "
                   "measured with torch)")
    p.add_argument("--ref-json", help="offline: a bench-json object (or a "
                   "log holding a 'bench-json:' line) for TTFT/TPOT")
    p.add_argument("--ref-gen-len", type=int, default=16,
                   help="gen-len of the reference run without ncu (0: none)")
    p.add_argument("--ncu", default="ncu")
    p.add_argument("--timeout", type=int, default=240,
                   help="seconds for each child run (default 240)")
    p.add_argument("--scan-cap", type=int, default=8000,
                   help="launches the scan profiles at most (default 8000)")
    p.add_argument("--group-by", choices=["function", "template"],
                   default="function")
    p.add_argument("--sol", action="store_true",
                   help="also SM and memory %% of peak (may add ncu passes)")
    p.add_argument("--graphs", action="store_true",
                   help="profile with CUDA graphs (default --no-cuda-graphs)")
    p.add_argument("--extra-args", default="",
                   help="more llm-model flags, one string")
    args = p.parse_args(argv)
    for name in ("batch", "prompt_len", "gen_len", "timeout", "scan_cap"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got "
                    f"{getattr(args, name)}")
    if args.phase in ("decode", "both") and args.gen_len < 2:
        p.error(f"--phase {args.phase} needs --gen-len >= 2 (a decode step), "
                f"got {args.gen_len}")
    if args.bin and not args.out:
        p.error("--bin needs --out (the ncu CSVs and logs go there)")
    if args.copy_gbs is not None and args.copy_gbs <= 0:
        p.error(f"--copy-gbs must be > 0, got {args.copy_gbs}")
    return args


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def load_ref(path):
    text = read_text(path)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from matrix import parse_json_line
    ref = parse_json_line(text)
    if ref is None:
        try:
            ref = json.loads(text)
        except json.JSONDecodeError:
            raise BreakdownError(f"--ref-json {path}: neither a JSON object "
                                 "nor a log with a 'bench-json:' line")
    return ref


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.from_csv:
            if not os.path.isfile(args.from_csv):
                raise BreakdownError(f"--from-csv {args.from_csv}: no such file")
            ref = load_ref(args.ref_json) if args.ref_json else None
            copy = args.copy_gbs or (ref or {}).get("copy_gb_s")
            report = analyse(parse_ncu_csv(read_text(args.from_csv)), args,
                             copy, ref)
            report["copy_source"] = ("--copy-gbs" if args.copy_gbs else
                                     "--ref-json copy_gb_s" if copy else "none")
        else:
            report = live(args)
    except BreakdownError as e:
        print(f"ncu_breakdown: error: {e}", file=sys.stderr)
        return 1
    text = render(report, args.sol)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "breakdown.json"), "w") as f:
            json.dump(report, f, indent=1)
        with open(os.path.join(args.out, "breakdown.md"), "w") as f:
            f.write(text + "\n")
        print(f"ncu_breakdown: wrote {args.out}/breakdown.json and breakdown.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
