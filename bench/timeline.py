#!/usr/bin/env python3
# ===- bench/timeline.py - where a step's wall time goes, overlaps kept -----=== #
#
# Issue 19's batch-1 and batch-64 targets need to know which kernels a
# decode step's wall time is spent in while kernels overlap (programmatic
# dependent launch starts a kernel's weight loads before its predecessor
# ends). Nsight Compute (bench/ncu_breakdown.py) serialises kernels, so it
# cannot say; bench/timeline/Inject.cpp records every kernel's GPU start
# and end without changing the concurrency. This script reads its CSV:
#
#   CUDA_INJECTION64_PATH=$PWD/.device-carry/tl/libllmc-timeline.so \
#   LLMC_TIMELINE_OUT=$OUT/tl.csv LD_LIBRARY_PATH=.device-carry/tl:... \
#     BIN --weights=random --bench --batch=1 --prompt-len=128 --gen-len=32
#   python3 bench/timeline.py $OUT/tl.csv --batch 1 --prompt-len 128
#
# Forwards are found as bench/ncu_breakdown.py finds them (an
# embeddingKernel to the next argmaxKernel; a decode has B tokens). For
# the last --last decode forwards (or prefills with --phase prefill), in
# launch order, each kernel's wall time is split:
#   idle    = max(0, start - E)       (no kernel running: a launch gap)
#   exposed = max(0, end - max(start, E))
#   overlap = max(0, E - start)       (it started before E: PDL)
# where E is the latest end of the kernels before it. idle + exposed over a
# forward is its wall time (first start to last end): "exposed" is what a
# kernel adds to the step beyond what ran before it. The forward's kernels
# repeat with the layer: the shortest period that covers the most kernels
# gives the layer's slots (the first and last kernels outside it are the
# head and tail), and each slot is a row: its kernel, mean duration,
# exposed, overlap and idle time over layers and forwards. Offline, CPU
# only; test/bench/timeline_test.py checks it on a synthetic CSV.
# ===----------------------------------------------------------------------=== #
import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ncu_breakdown as nb  # noqa: E402


def read(path):
    """The library's CSV as launch dicts (ns times), in start order."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    launches = [{"start": int(r["start_ns"]), "end": int(r["end_ns"]),
                 "stream": r["stream"], "grid_x": int(r["grid_x"]),
                 "name": r["name"]} for r in rows]
    launches.sort(key=lambda l: l["start"])
    return launches


def attribute(kernels):
    """Per kernel (dur, exposed, overlap, idle) in us, launch order; and the
    forward's wall time (us)."""
    out, latest = [], None
    for k in kernels:
        s, e = k["start"], k["end"]
        if latest is None:
            idle, exposed, overlap = 0, e - s, 0
        else:
            idle = max(0, s - latest)
            exposed = max(0, e - max(s, latest))
            overlap = max(0, latest - s)
        out.append(tuple(x / 1e3 for x in (e - s, exposed, overlap, idle)))
        latest = e if latest is None else max(latest, e)
    wall = (latest - kernels[0]["start"]) / 1e3 if kernels else 0.0
    return out, wall


def period(names):
    """(P, s, layers): the period P whose longest run [s, ...) of
    names[i] == names[i + P] covers the most kernels (ties: the shorter
    P); layers = how many whole periods that run holds. (1, 0, 0) when no
    name repeats."""
    best = (0, 1, 0, 0)  # (covered, -P, s, layers)
    for p in range(1, len(names) // 2 + 1):
        run, start = 0, 0
        for i in range(len(names) - p + 1):
            if i + p < len(names) and names[i] == names[i + p]:
                if run == 0:
                    start = i
                run += 1
                continue
            if run >= p:
                layers = run // p + 1
                cand = (layers * p, -p, start, layers)
                if cand > best:
                    best = cand
            run = 0
    covered, neg_p, s, layers = best
    return (-neg_p, s, layers) if layers >= 2 else (1, 0, 0)


def summarize(launches, batch, prompt_len, phase="decode", last=4):
    forwards, launches, _, warnings = nb.split_forwards(launches, batch,
                                                        prompt_len)
    chosen = [f for f in forwards if f["kind"] == phase][-last:]
    if not chosen:
        raise nb.BreakdownError(f"no {phase} forward (batch {batch}, prompt "
                                f"{prompt_len}): {len(forwards)} forwards")
    kernel_lists = [launches[f["start"]:f["end"] + 1] for f in chosen]
    names = [nb.group_of(k["name"]) for k in kernel_lists[-1]]
    p, s, layers = period(names)
    rows, walls = {}, []
    for ks in kernel_lists:
        parts, wall = attribute(ks)
        walls.append(wall)
        these = [nb.group_of(k["name"]) for k in ks]
        if these != names:
            warnings.append("forwards launch different kernels; the slots "
                            "follow the last one")
            continue
        for i, (name, part) in enumerate(zip(names, parts)):
            if s <= i < s + layers * p:
                key = ("layer", (i - s) % p)
            else:
                key = ("head" if i < s else "tail", i)
            r = rows.setdefault(key, {"where": key[0], "slot": key[1],
                                      "kernel": name, "n": 0,
                                      "sums": [0.0] * 4})
            r["n"] += 1
            r["sums"] = [a + b for a, b in zip(r["sums"], part)]
    order = sorted(rows.values(), key=lambda r: (
        {"head": 0, "layer": 1, "tail": 2}[r["where"]], r["slot"]))
    for r in order:
        per = layers if r["where"] == "layer" else 1
        count = r["n"] / per  # forwards that contributed
        r["mean"] = [x / r["n"] for x in r["sums"]]
        r["per_forward"] = [x / count for x in r["sums"]]
    return {"phase": phase, "forwards": len(kernel_lists),
            "wall_us": sum(walls) / len(walls), "period": p,
            "layers": layers, "first_layer_kernel": s, "rows": order,
            "warnings": warnings}


def table(res):
    lines = [f"{res['phase']}: {res['forwards']} forwards, wall "
             f"{res['wall_us']:.1f} us each; {res['layers']} layers of "
             f"{res['period']} kernels from kernel {res['first_layer_kernel']}",
             "",
             "| where | kernel | duration us | exposed us | overlap us "
             "| idle before us | exposed per forward us |",
             "|---|---|---|---|---|---|---|"]
    layer_exposed = 0.0
    for r in res["rows"]:
        dur, exp, ovl, idle = r["mean"]
        where = (f"layer slot {r['slot']}" if r["where"] == "layer"
                 else r["where"])
        lines.append(f"| {where} | {r['kernel']} | {dur:.2f} | {exp:.2f} | "
                     f"{ovl:.2f} | {idle:.2f} | "
                     f"{r['per_forward'][1] + r['per_forward'][3]:.1f} |")
        if r["where"] == "layer":
            layer_exposed += exp + idle
    lines.append("")
    lines.append(f"per layer: {layer_exposed:.2f} us exposed + idle")
    return "\n".join(lines + [f"warning: {w}" for w in res["warnings"]])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("csv")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--prompt-len", type=int, required=True)
    ap.add_argument("--phase", choices=["decode", "prefill"],
                    default="decode")
    ap.add_argument("--last", type=int, default=4,
                    help="forwards of the phase to average (the last ones)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    try:
        res = summarize(read(args.csv), args.batch, args.prompt_len,
                        args.phase, args.last)
    except nb.BreakdownError as e:
        sys.exit(f"timeline: {e}")
    print(table(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
