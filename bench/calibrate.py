#!/usr/bin/env python3
"""Refits a hardware.json entry's knobs to measured TPOT and TTFT (issue 18).

Runs here, on the CPU machine, with llm-import and llm-plan built. The
results file has one JSON object per line:

    {"config": "llama-3-8b", "batch": 64, "prompt": 128, "gen": 64,
     "tpot_ms": 6.285, "ttft_ms": 168.2, "device": "h200", "source": "..."}

`config` names test/models/real/<config>.json; `tpot_ms` (mean decode step)
and `ttft_ms` (the prefill of the whole batch) are each optional. Every
row is planned on one GPU (--shard=tp1) with the current entry; llm-plan's
JSON gives each prediction as a sum of five terms (docs/planner.md, "Time"):
weights (HBM bytes / hbm rate), gemm (FLOPs / compute rate), attention
(attention FLOPs and KV bytes / attention efficiency), launch (kernels x
kernel_launch_us) and step (step_overhead_us). A prediction is therefore
linear in five scale factors, one per knob; they are fitted by
non-negative least squares on the relative errors, the knobs rescaled
(efficiency.hbm, efficiency.compute, efficiency.attention, kernel_launch_us,
step_overhead_us), and every row planned again with
the new entry, so the "after" column is llm-plan's own figure.

    python3 bench/calibrate.py --results bench/calibration/h200.jsonl \\
        --hardware h200 --hbm-ceiling 0.794 [--build build] \\
        [--update lib/plan/hardware.json]

Prints each row's measured value and its error before and after; with
--update it rewrites the entry's knobs in place (the rest of the file is
kept byte for byte).
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
TERMS = ("weights", "gemm", "attention", "launch", "step")


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
    """(row, metric, measured ms, predicted ms, {term: ms}) per figure."""
    out = []
    for row, p in zip(rows, predictions):
        if "tpot_ms" in row:
            out.append((row, "TPOT", row["tpot_ms"], p["decode_ms_per_token"],
                        p["decode_terms_ms"], p["kernels"]))
        if "ttft_ms" in row:
            out.append((row, "TTFT", row["ttft_ms"], p["prefill_ms"],
                        p["prefill_terms_ms"], p["kernels"]))
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
                       ("compute", "hbm", "attention", "intra_node",
                        "inter_node") if k in eff) + " }", block)
    for knob in ("kernel_launch_us", "step_overhead_us"):
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
    parser.add_argument("--update", metavar="HARDWARE_JSON",
                        help="write the fitted knobs into this file")
    args = parser.parse_args()

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
        # Columns: each term over the measured value (relative errors); the
        # launch column is the kernel count and the step column 1 (in us),
        # so their factors are kernel_launch_us and step_overhead_us.
        a, b = [], []
        for row, _, measured, _, terms, kernels in before:
            a.append([terms[t] / measured for t in TERMS[:3]] +
                     [kernels * 1e-3 / measured, 1e-3 / measured])
            b.append(1.0)
        # An efficiency cannot exceed 1: its term's factor is at least the
        # current efficiency (factor = old / new). Shift by those bounds.
        old_eff = entry["efficiency"]
        lower = [old_eff["hbm"] / args.hbm_ceiling, old_eff["compute"],
                 old_eff.get("attention", old_eff["hbm"]), 0.0, 0.0]
        shifted = [y - sum(r[i] * lower[i] for i in range(len(lower)))
                   for r, y in zip(a, b)]
        scale = [x + lo for x, lo in zip(nnls(a, shifted), lower)]
        fitted = json.loads(json.dumps(entry))
        eff = fitted["efficiency"]
        eff.setdefault("attention", eff["hbm"])
        notes = []
        for knob, factor in zip(("hbm", "compute", "attention"), scale[:3]):
            value = eff[knob] / factor if factor > 0 else 1.0
            if value >= (args.hbm_ceiling if knob == "hbm" else 1) - 1e-9:
                notes.append(f"efficiency.{knob} is at its ceiling")
            eff[knob] = round(value, 3)
        fitted["kernel_launch_us"] = round(scale[3], 2)
        fitted["step_overhead_us"] = round(scale[4], 1)
        after = predict(fitted)

    print(f"refit of '{name}' on {len(rows)} rows of {args.results}")
    print("knob                   before    after")
    old_eff = entry["efficiency"]
    for knob in ("hbm", "compute", "attention"):
        print(f"efficiency.{knob:11} {old_eff.get(knob, old_eff['hbm']):8.3f}"
              f" {eff[knob]:8.3f}")
    for knob in ("kernel_launch_us", "step_overhead_us"):
        print(f"{knob:22} {entry.get(knob, 0):8.2f} {fitted[knob]:8.2f}")
    for note in notes:
        print("note:", note)
    print()
    print(f"{'config':18} {'batch':>5} {'prompt':>6} {'gen':>4} {'':4} "
          f"{'measured':>9} {'before':>9} {'error':>7} {'after':>9} "
          f"{'error':>7}")
    worst = 0
    for (row, metric, measured, old, _, _), (_, _, _, new, _, _) in zip(
            before, after):
        worst = max(worst, abs(new - measured) / measured)
        print(f"{row['config']:18} {row['batch']:5} {row['prompt']:6} "
              f"{row['gen']:4} {metric:4} {measured:9.3f} {old:9.3f} "
              f"{(old - measured) / measured:+7.1%} {new:9.3f} "
              f"{(new - measured) / measured:+7.1%}")
    print(f"\nlargest error after the fit: {worst:.1%}")
    if args.update:
        update_file(args.update, name, fitted)
        print(f"wrote the knobs of '{name}' into {args.update}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
