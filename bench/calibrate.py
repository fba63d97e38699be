#!/usr/bin/env python3
"""Refits a hardware.json entry's knobs to measured TPOT and TTFT (issue 18).

Runs here, on the CPU machine, with llm-import and llm-plan built. The
results file has one JSON object per line:

    {"config": "llama-3-8b", "batch": 64, "prompt": 128, "gen": 64,
     "tpot_ms": 6.285, "ttft_ms": 168.2, "device": "h200", "source": "..."}

`config` names test/models/real/<config>.json; `tpot_ms` (mean decode step)
and `ttft_ms` (the prefill of the whole batch) are each optional. Every
row is planned on one GPU (--shard=tp1) with the current entry, and
llm-plan's JSON gives what each phase does (`prefill_work`,
`decode_work`: GEMM groups with their rows, weight bytes and FLOPs, the
other kernels' HBM bytes, attention FLOPs, KV bytes, launches). The time
of docs/planner.md ("Time") is

    sum over GEMM groups of max(w, f) + min(w, f) * R / (rows + R)
    + stream bytes * a_hbm / peak_hbm
    + attention FLOPs * a_attc / peak_flops + KV bytes * a_att / peak_hbm
    + launches * (kernel_launch_us, or eager_launch_us for a prefill)
    + step_overhead_us

with w = weight bytes * a_hbm / peak_hbm, f = FLOPs * a_compute /
peak_flops and a_x = 1 / efficiency.x. For a fixed R
(gemm_overlap_rows) and a fixed choice of the longer of w and f in every
group, the time is linear in the seven other knobs (a_hbm, a_compute,
a_attc, a_att, the two launch costs, the step): they are fitted by
bounded non-negative least squares on the relative errors, the choice
redone with the fitted knobs until it holds, for every R of a short list;
the R with the smallest squared error wins. An efficiency is at most 1
(efficiency.hbm and efficiency.attention at most --hbm-ceiling). Every
row is then planned again with the new entry, so the "after" column is
llm-plan's own figure (and a check of this script's copy of the formula).

    python3 bench/calibrate.py --results bench/calibration/h200.jsonl \\
        --hardware h200 --hbm-ceiling 0.794 [--build build] \\
        [--holdout llama-3.2-1b] [--update lib/plan/hardware.json]

Prints the knobs and each row's measured value and its error before and
after; --holdout CONFIG fits without that config's rows and reports their
error as a generalisation figure; with --update it rewrites the entry's
knobs in place (the rest of the file is kept byte for byte).
"""
import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The linear knobs, in column order: (name in the report, how the fitted
# factor becomes the entry's value).
COLUMNS = ("efficiency.hbm", "efficiency.compute",
           "efficiency.attention_compute", "efficiency.attention",
           "kernel_launch_us", "eager_launch_us", "step_overhead_us")
OVERLAP_ROWS = (0, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def load_entry(path, name):
    with open(path) as f:
        for entry in json.load(f)["hardware"]:
            if entry["name"] == name or name in entry.get("aliases", []):
                return entry
    sys.exit(f"calibrate.py: no entry '{name}' in {path}")


def plan(build, model, row, hardware_file, name):
    cmd = [os.path.join(build, "bin", "llm-plan"), model, "--gpus=1",
           f"--hardware={name}", f"--batch={row['batch']}",
           f"--seq-len={row['prompt']}", f"--output-len={row['gen']}",
           "--format=json", f"--hardware-file={hardware_file}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if not proc.stdout:
        sys.exit(f"calibrate.py: {' '.join(cmd)} failed: {proc.stderr}")
    report = json.loads(proc.stdout)
    for p in report["plans"]:
        if p["spec"] == "":
            if p["decode_ms_per_token"] is None:
                sys.exit(f"calibrate.py: {row['config']} batch {row['batch']}"
                         f" was not planned: {p['reason']}")
            return p
    sys.exit("calibrate.py: llm-plan reported no one-GPU plan")


def observations(rows, predictions):
    """(row, metric, measured ms, predicted ms, work) per figure."""
    out = []
    for row, p in zip(rows, predictions):
        if "tpot_ms" in row:
            out.append((row, "TPOT", row["tpot_ms"], p["decode_ms_per_token"],
                        p["decode_work"]))
        if "ttft_ms" in row:
            out.append((row, "TTFT", row["ttft_ms"], p["prefill_ms"],
                        p["prefill_work"]))
    return out


def solve(a, b):
    """Least squares of a small dense system by the normal equations."""
    n = len(a[0])
    m = [[sum(r[i] * r[j] for r in a) for j in range(n)] +
         [sum(r[i] * y for r, y in zip(a, b))] for i in range(n)]
    for c in range(n):
        pivot = max(range(c, n), key=lambda r: abs(m[r][c]))
        if abs(m[pivot][c]) < 1e-300:
            return None
        m[c], m[pivot] = m[pivot], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def nnls(a, b):
    """Non-negative least squares over every subset of the (few) columns."""
    n = len(a[0])
    best, best_err = [0.0] * n, float("inf")
    for k in range(1, n + 1):
        for cols in itertools.combinations(range(n), k):
            x = solve([[r[c] for c in cols] for r in a], b)
            if x is None or min(x) < 0:
                continue
            full = [0.0] * n
            for c, v in zip(cols, x):
                full[c] = v
            err = sum((sum(r[i] * full[i] for i in range(n)) - y) ** 2
                      for r, y in zip(a, b))
            if err < best_err:
                best, best_err = full, err
    return best


def peaks(entry):
    """Peak HBM bytes/s and bf16 and fp8 FLOP/s of an entry."""
    return (entry["hbm_gb_per_s"] * 1e9, entry["bf16_tflops"] * 1e12,
            (entry["fp8_tflops"] or entry["bf16_tflops"]) * 1e12)


def columns(work, entry, factors, overlap_rows):
    """One figure's time (s) as coefficients of the seven linear knobs.

    `factors` decides, per GEMM group, which of its weight stream and its
    FLOPs is the longer (the other is mostly hidden)."""
    hbm, bf16, fp8 = peaks(entry)
    col = [0.0] * len(COLUMNS)
    for g in work["gemms"]:
        w = g["weight_bytes"] / hbm
        f = g["flops"] / (fp8 if g["fp8"] else bf16)
        exposed = (overlap_rows / (g["rows"] + overlap_rows)
                   if overlap_rows > 0 else 0.0)
        if w * factors[0] >= f * factors[1]:
            col[0] += w
            col[1] += f * exposed
        else:
            col[0] += w * exposed
            col[1] += f
    col[0] += work["stream_bytes"] / hbm
    col[2] += work["attention_flops"] / bf16
    col[3] += work["kv_bytes"] / hbm
    col[5 if work["eager"] else 4] += work["launches"] * 1e-6
    col[6] += 1e-6
    return col


def fit(figures, entry, hbm_ceiling):
    """The knob factors and gemm_overlap_rows of the least squared error."""
    lower = [1 / hbm_ceiling, 1.0, 1.0, 1 / hbm_ceiling, 0.0, 0.0, 0.0]
    best = None
    for overlap_rows in OVERLAP_ROWS:
        factors = lower
        for _ in range(20):
            a = [[c / (measured * 1e-3)
                  for c in columns(work, entry, factors, overlap_rows)]
                 for _, _, measured, _, work in figures]
            # Shift by the lower bounds so that NNLS keeps every factor
            # at or above its bound.
            shifted = [1.0 - sum(r[i] * lower[i] for i in range(len(lower)))
                       for r in a]
            x = [v + lo for v, lo in zip(nnls(a, shifted), lower)]
            if x[:2] == factors[:2]:
                break
            factors = x
        err = sum((sum(r[i] * x[i] for i in range(len(x))) - 1) ** 2
                  for r in a)
        if best is None or err < best[0] - 1e-12:
            best = (err, x, overlap_rows)
    return best[1], best[2]


def model_ms(work, entry):
    """This script's copy of the formula, with the entry's own knobs."""
    eff = entry["efficiency"]
    factors = [1 / eff["hbm"], 1 / eff["compute"],
               1 / eff.get("attention_compute", eff["compute"]),
               1 / eff.get("attention", eff["hbm"]),
               entry.get("kernel_launch_us", 0),
               entry.get("eager_launch_us", entry.get("kernel_launch_us", 0)),
               entry.get("step_overhead_us", 0)]
    col = columns(work, entry, factors, entry.get("gemm_overlap_rows", 0))
    return sum(c * f for c, f in zip(col, factors)) * 1e3


def fitted_entry(entry, x, overlap_rows):
    fitted = json.loads(json.dumps(entry))
    eff = fitted["efficiency"]
    eff["hbm"] = round(1 / x[0], 3)
    eff["compute"] = round(1 / x[1], 3)
    eff["attention_compute"] = round(1 / x[2], 3)
    eff["attention"] = round(1 / x[3], 3)
    fitted["kernel_launch_us"] = round(x[4], 2)
    fitted["eager_launch_us"] = round(x[5], 2)
    fitted["step_overhead_us"] = round(x[6], 1)
    fitted["gemm_overlap_rows"] = overlap_rows
    return fitted


def knob_values(entry):
    eff = entry["efficiency"]
    launch = entry.get("kernel_launch_us", 0)
    return [("efficiency.hbm", eff["hbm"]),
            ("efficiency.compute", eff["compute"]),
            ("efficiency.attention_compute",
             eff.get("attention_compute", eff["compute"])),
            ("efficiency.attention", eff.get("attention", eff["hbm"])),
            ("kernel_launch_us", launch),
            ("eager_launch_us", entry.get("eager_launch_us", launch)),
            ("step_overhead_us", entry.get("step_overhead_us", 0)),
            ("gemm_overlap_rows", entry.get("gemm_overlap_rows", 0))]


def update_file(path, name, entry):
    """Rewrites the knobs of entry `name` in hardware.json, in place."""
    text = open(path).read()
    start = text.index(f'"name": "{name}"')
    end = text.index("}\n", text.index('"efficiency"', start)) + 1
    block = text[start:end]
    eff = entry["efficiency"]
    block = re.sub(r'"efficiency": \{[^}]*\}',
                   '"efficiency": { ' + ", ".join(
                       f'"{k}": {eff[k]:g}' for k in
                       ("compute", "hbm", "attention", "attention_compute",
                        "intra_node", "inter_node") if k in eff) + " }", block)
    for knob in ("kernel_launch_us", "eager_launch_us", "step_overhead_us",
                 "gemm_overlap_rows"):
        text_knob = f'"{knob}": {entry[knob]:g}'
        if f'"{knob}"' in block:
            block = re.sub(f'"{knob}": [0-9.eE+-]+', text_knob, block)
        else:
            block = block.replace('"intra_node"', text_knob +
                                  ',\n      "intra_node"', 1)
    with open(path, "w") as f:
        f.write(text[:start] + block + text[end:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--hardware", required=True)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--database",
                        default=os.path.join(ROOT, "lib", "plan",
                                             "hardware.json"))
    parser.add_argument("--hbm-ceiling", type=float, default=1.0,
                        help="the most efficiency.hbm may reach: the "
                        "measured device-to-device copy bandwidth over the "
                        "peak (no kernel streams faster than a copy)")
    parser.add_argument("--holdout", metavar="CONFIG",
                        help="fit without this config's rows; their error "
                        "after is then a generalisation figure")
    parser.add_argument("--update", metavar="HARDWARE_JSON",
                        help="write the fitted knobs into this file")
    args = parser.parse_args()
    if not 0 < args.hbm_ceiling <= 1:
        sys.exit(f"calibrate.py: --hbm-ceiling must be in (0, 1], got "
                 f"{args.hbm_ceiling}")

    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    entry = load_entry(args.database, args.hardware)
    name = entry["name"]
    with tempfile.TemporaryDirectory() as tmp:
        models = {}
        for row in rows:
            config = row["config"]
            if config not in models:
                models[config] = os.path.join(tmp, config + ".mlir")
                subprocess.run(
                    [os.path.join(args.build, "bin", "llm-import"),
                     os.path.join(ROOT, "test", "models", "real",
                                  config + ".json"), "-o", models[config]],
                    check=True)

        def predict(e):
            path = os.path.join(tmp, "hw.json")
            with open(path, "w") as f:
                json.dump({"hardware": [e]}, f)
            return observations(rows, [plan(args.build, models[r["config"]],
                                            r, path, name) for r in rows])

        before = predict(entry)
        training = [o for o in before if o[0]["config"] != args.holdout]
        if not training:
            sys.exit(f"calibrate.py: --holdout {args.holdout} leaves no row "
                     "to fit")
        x, overlap_rows = fit(training, entry, args.hbm_ceiling)
        fitted = fitted_entry(entry, x, overlap_rows)
        after = predict(fitted)

    print(f"refit of '{name}' on {len(training)} of {len(before)} figures of "
          f"{args.results}" +
          (f" (held out: {args.holdout})" if args.holdout else ""))
    print("knob                            before     after")
    for (knob, old), (_, new) in zip(knob_values(entry), knob_values(fitted)):
        note = ""
        if knob in ("efficiency.hbm", "efficiency.attention") and \
                new >= args.hbm_ceiling - 5e-4:
            note = "   (at the --hbm-ceiling)"
        elif knob.startswith("efficiency.") and new >= 1 - 5e-4:
            note = "   (at 1)"
        print(f"{knob:29} {old:9.3f} {new:9.3f}{note}")
    print()
    print(f"{'config':18} {'batch':>5} {'prompt':>6} {'gen':>4} {'':4} "
          f"{'measured':>9} {'before':>9} {'error':>7} {'after':>9} "
          f"{'error':>7}")
    worst, worst_held, mismatch = 0, 0, 0
    for (row, metric, measured, old, _), (_, _, _, new, work) in zip(
            before, after):
        error = abs(new - measured) / measured
        held = row["config"] == args.holdout
        if held:
            worst_held = max(worst_held, error)
        else:
            worst = max(worst, error)
        mismatch = max(mismatch, abs(model_ms(work, fitted) - new) / new)
        print(f"{row['config']:18} {row['batch']:5} {row['prompt']:6} "
              f"{row['gen']:4} {metric:4} {measured:9.3f} {old:9.3f} "
              f"{(old - measured) / measured:+7.1%} {new:9.3f} "
              f"{(new - measured) / measured:+7.1%}" +
              ("  held out" if held else ""))
    print(f"\nlargest error after the fit: {worst:.1%}" +
          (f" on the fitted rows, {worst_held:.1%} on the held-out rows"
           if args.holdout else ""))
    # llm-plan's figures are rounded to 3-4 digits; beyond that the two
    # copies of the formula disagree.
    if mismatch > 2e-3:
        sys.exit(f"calibrate.py: this script's formula and llm-plan's differ "
                 f"by {mismatch:.2%} on some row; docs/planner.md ('Time') "
                 "and columns() must say the same")
    if args.update:
        if args.holdout:
            sys.exit("calibrate.py: --update with --holdout would write a "
                     "partial fit; drop one of them")
        update_file(args.update, name, fitted)
        print(f"wrote the knobs of '{name}' into {args.update}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
