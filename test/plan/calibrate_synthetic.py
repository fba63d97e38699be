#!/usr/bin/env python3
"""bench/calibrate.py recovers known knobs from rows they generated.

A hardware entry with known knobs (the truth) prices a bench-like matrix
with llm-plan (the ~1B and 8B Llama shapes: TPOT at batches 1-128, TTFT of
128- and 2048-token prompts); calibrate.py then refits an entry that starts
from the h100-sxm defaults to those figures and must give the truth back
(every knob within 2%, gemm_overlap_rows exactly) with every row within
0.5%. CPU only, a few seconds.

    python3 test/plan/calibrate_synthetic.py --build build
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TRUTH = {"efficiency": {"hbm": 0.85, "compute": 0.75, "attention": 0.5,
                        "attention_compute": 0.2},
         "kernel_launch_us": 2.5, "eager_launch_us": 4.0,
         "step_overhead_us": 50.0, "gemm_overlap_rows": 32}
ROWS = ([{"config": c, "batch": b, "prompt": 128, "gen": 32}
         for c in ("llama-3.2-1b", "llama-3-8b") for b in (1, 8, 32, 128)] +
        [{"config": c, "batch": 1, "prompt": 2048, "gen": 2}
         for c in ("llama-3.2-1b", "llama-3-8b")])


def entry_with(base, knobs):
    entry = json.loads(json.dumps(base))
    for key, value in knobs.items():
        if key == "efficiency":
            entry["efficiency"].update(value)
        else:
            entry[key] = value
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True)
    args = parser.parse_args()
    plan = os.path.join(args.build, "bin", "llm-plan")
    with open(os.path.join(ROOT, "lib", "plan", "hardware.json")) as f:
        database = json.load(f)
    start = next(e for e in database["hardware"] if e["name"] == "h100-sxm")
    # The defaults of an uncalibrated entry.
    start = {k: v for k, v in start.items()
             if k not in ("kernel_launch_us", "eager_launch_us",
                          "step_overhead_us", "gemm_overlap_rows")}
    start["efficiency"] = {"compute": 0.6, "hbm": 0.8, "intra_node": 0.75,
                           "inter_node": 0.8}
    truth = entry_with(start, TRUTH)
    with tempfile.TemporaryDirectory() as tmp:
        truth_file = os.path.join(tmp, "truth.json")
        with open(truth_file, "w") as f:
            json.dump({"hardware": [truth]}, f)
        results = os.path.join(tmp, "results.jsonl")
        with open(results, "w") as out:
            for config in sorted({r["config"] for r in ROWS}):
                subprocess.run(
                    [os.path.join(args.build, "bin", "llm-import"),
                     os.path.join(ROOT, "test", "models", "real",
                                  config + ".json"),
                     "-o", os.path.join(tmp, config + ".mlir")], check=True)
            for row in ROWS:
                report = json.loads(subprocess.run(
                    [plan, os.path.join(tmp, row["config"] + ".mlir"),
                     "--gpus=1", "--hardware=h100-sxm",
                     f"--hardware-file={truth_file}",
                     f"--batch={row['batch']}", f"--seq-len={row['prompt']}",
                     f"--output-len={row['gen']}", "--format=json"],
                    check=True, capture_output=True, text=True).stdout)
                p = next(p for p in report["plans"] if p["spec"] == "")
                row = dict(row, tpot_ms=p["decode_ms_per_token"],
                           ttft_ms=p["prefill_ms"])
                out.write(json.dumps(row) + "\n")
        start_file = os.path.join(tmp, "start.json")
        with open(start_file, "w") as f:
            json.dump({"hardware": [start]}, f, indent=2)
            f.write("\n")
        proc = subprocess.run(
            [sys.executable, os.path.join(ROOT, "bench", "calibrate.py"),
             "--results", results, "--hardware", "h100", "--build",
             args.build, "--database", start_file, "--hbm-ceiling", "0.9",
             "--update", start_file], capture_output=True, text=True)
        print(proc.stdout, proc.stderr)
        if proc.returncode != 0:
            return f"calibrate.py failed with exit code {proc.returncode}"
        with open(start_file) as f:
            fitted = json.load(f)["hardware"][0]
    failures = []

    def check(name, got, want, tolerance):
        if abs(got - want) > tolerance * abs(want):
            failures.append(f"{name}: fitted {got}, truth {want}")

    for knob, want in TRUTH["efficiency"].items():
        check(f"efficiency.{knob}", fitted["efficiency"][knob], want, 0.02)
    for knob in ("kernel_launch_us", "eager_launch_us", "step_overhead_us"):
        check(knob, fitted[knob], TRUTH[knob], 0.02)
    check("gemm_overlap_rows", fitted["gemm_overlap_rows"],
          TRUTH["gemm_overlap_rows"], 0)
    worst = [line for line in proc.stdout.splitlines()
             if line.startswith("largest error after the fit:")]
    if not worst or float(worst[0].split(":")[1].strip(" %")) > 0.5:
        failures.append(f"rows after the fit: {worst}")
    if failures:
        return "calibrate_synthetic: " + "; ".join(failures)
    print("calibrate_synthetic: every knob recovered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
