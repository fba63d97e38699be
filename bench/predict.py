#!/usr/bin/env python3
# ===- bench/predict.py - llm-plan's predictions for the benchmark matrix -=== #
#
# Runs on the CPU machine (called by bench/build.sh; stdlib only):
#
#   predict.py --llm-plan=build/bin/llm-plan --model=MODEL.mlir --out=DIR
#
# For every configuration of bench/configs.json it asks llm-plan for
#   tp1           one GPU of the benchmark's hardware (configs.json "hardware")
#   tp2           two real GPUs of that kind (NVLink), for reference
#   tp2-emulated  the tp2 plan with both ranks on ONE GPU (llm-model
#                 --emulate-ranks): a derived hardware entry
#                 "<hw>-emulated-tp2" with half the GPU's HBM bandwidth,
#                 TFLOP/s and memory per rank (the two ranks share the GPU
#                 concurrently) and the in-process communicator as the
#                 "intra-node link" (a reduction kernel on the same HBM; its
#                 latency the graph's cross-stream edges; calibrated
#                 below).
# and writes DIR/predictions.json, DIR/hardware-emulated.json and the text
# reports DIR/plan/<config>-<plan>.txt (the per-stage, per-collective
# breakdown). bench/table.py puts the predictions beside the measurements.
#
# ===----------------------------------------------------------------------=== #
import argparse
import copy
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# In-process communicator on one GPU, as an "intra-node link": an all-reduce
# of M bytes over 2 ranks reads both members' buffers and writes both (about
# 4M bytes through the one HBM). With the decode step replayed as one CUDA
# graph of both ranks, a collective costs a reduction kernel and the event
# edges between the ranks' streams, no host rendezvous: 5.5 us, calibrated
# on the H200 run of 2026-12-03 (ours-tp2 4.974 ms vs ours-tp1 4.598 ms per
# token over 65 collectives; docs/performance.md).
EMULATED_LATENCY_US = 5.5
EMULATED_LINK_FRACTION_OF_HBM = 0.25


def emulated_entry(base, ranks):
    e = copy.deepcopy(base)
    e["name"] = f"{base['name']}-emulated-tp{ranks}"
    e["aliases"] = []
    e["description"] = (f"{ranks} ranks as threads on one {base['name']} "
                        "(llm-model --emulate-ranks): each rank gets 1/"
                        f"{ranks} of the GPU; the in-process communicator is "
                        "the link")
    e["memory_gib"] = round(base["memory_gib"] / ranks, 3)
    e["hbm_gb_per_s"] = base["hbm_gb_per_s"] / ranks
    e["bf16_tflops"] = base["bf16_tflops"] / ranks
    e["fp8_tflops"] = base["fp8_tflops"] / ranks
    e["intra_node"] = {
        "link": "in-process communicator (same GPU)",
        "gb_per_s": round(base["hbm_gb_per_s"] * EMULATED_LINK_FRACTION_OF_HBM, 1),
        "latency_us": EMULATED_LATENCY_US,
    }
    return e


def run_plan(llm_plan, model, gpus, hardware, cfg, hw_file=None, detail=None,
             fmt="json"):
    cmd = [llm_plan, model, f"--gpus={gpus}", f"--hardware={hardware}",
           f"--batch={cfg['batch']}", f"--seq-len={cfg['prompt_len']}",
           f"--output-len={cfg['gen_len']}", f"--format={fmt}"]
    if hw_file:
        cmd.append(f"--hardware-file={hw_file}")
    if detail is not None and fmt == "text":
        cmd.append(f"--detail={detail}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return cmd, proc


def pick(report, spec):
    for p in report.get("plans", []):
        if p.get("spec") == spec:
            return p
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--llm-plan", required=True)
    ap.add_argument("--model", required=True, help="llm-import output (.mlir)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--configs", default=os.path.join(HERE, "configs.json"))
    ap.add_argument("--hardware-db",
                    default=os.path.join(ROOT, "lib", "plan", "hardware.json"))
    ap.add_argument("--hardware", default=None,
                    help="override configs.json 'hardware'")
    args = ap.parse_args()

    configs = json.load(open(args.configs))
    hw_name = args.hardware or configs["hardware"]
    db = json.load(open(args.hardware_db))
    base = None
    for e in db["hardware"]:
        if hw_name.lower() in [e["name"].lower()] + [a.lower() for a in e.get("aliases", [])]:
            base = e
    if base is None:
        sys.exit(f"predict.py: hardware '{hw_name}' is not in {args.hardware_db}")
    emu = emulated_entry(base, 2)
    os.makedirs(os.path.join(args.out, "plan"), exist_ok=True)
    emu_file = os.path.join(args.out, "hardware-emulated.json")
    with open(emu_file, "w") as f:
        json.dump({"doc": ["Derived by bench/predict.py: tp2 emulated on one "
                           + base["name"] + "."], "hardware": [emu]}, f, indent=2)
        f.write("\n")

    variants = [  # name, gpus, hardware, hardware file, spec in the report
        ("tp1", 1, base["name"], None, ""),
        ("tp2", 2, base["name"], None, "tp2"),
        ("tp2-emulated", 2, emu["name"], emu_file, "tp2"),
    ]
    out = {
        "generated_by": "bench/build.sh -> bench/predict.py",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                                     capture_output=True, text=True).stdout.strip(),
        "hardware": base["name"],
        "hardware_entry": base,
        "emulated_hardware_entry": emu,
        "notes": [
            "prefill_ms: the whole prompt (all sequences) through the model, lm_head on the last position: compare with TTFT.",
            "decode_ms_per_token: one decode step (one token for every sequence), averaged over the generation (context S + (O+1)/2): compare with TPOT.",
            "tp2 = two real GPUs (NVLink); tp2-emulated = both ranks on one GPU, the row to compare with ours-tp2 (--emulate-ranks).",
        ],
        "commands": {},
        "predictions": {},
    }
    failures = 0
    for name, cfg in configs["configs"].items():
        out["predictions"][name] = {}
        for variant, gpus, hw, hw_file, spec in variants:
            cmd, proc = run_plan(args.llm_plan, args.model, gpus, hw, cfg, hw_file)
            key = f"{name}/{variant}"
            out["commands"][key] = " ".join(cmd)
            entry = {"gpus": gpus, "hardware": hw, "batch": cfg["batch"],
                     "prompt_len": cfg["prompt_len"], "gen_len": cfg["gen_len"]}
            try:
                report = json.loads(proc.stdout)
                plan = pick(report, spec)
                if plan is None:
                    raise ValueError(f"no plan '{spec}' in the report")
                entry.update(plan)
                if not plan.get("fits", False):
                    entry["error"] = plan.get("reason") or "does not fit"
            except (ValueError, json.JSONDecodeError) as e:
                entry["error"] = (f"llm-plan exit {proc.returncode}: {e}; "
                                  + proc.stderr.strip()[-500:])
                failures += 1
            out["predictions"][name][variant] = entry
            tcmd, text = run_plan(args.llm_plan, args.model, gpus, hw, cfg,
                                  hw_file, detail=spec if spec else None,
                                  fmt="text")
            with open(os.path.join(args.out, "plan", f"{name}-{variant}.txt"), "w") as f:
                f.write("$ " + " ".join(tcmd) + "\n")
                f.write(text.stdout + text.stderr)
    with open(os.path.join(args.out, "predictions.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    for name, per in out["predictions"].items():
        for variant, e in per.items():
            if "error" in e:
                print(f"predict.py: {name}/{variant}: {e['error']}", file=sys.stderr)
            else:
                print(f"predict.py: {name}/{variant}: prefill {e['prefill_ms']} ms, "
                      f"decode {e['decode_ms_per_token']} ms/token")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
