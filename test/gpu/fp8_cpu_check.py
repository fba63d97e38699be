#!/usr/bin/env python3
# ===- fp8_cpu_check.py - fp8_check.py's references vs llm-run's CPU executor -=== #
#
# Issue 19, item 6: are the transformers references of test/gpu/fp8_check.py
# the models llmc computes? Runs on the BUILD machine (numpy, build/bin;
# no GPU, no torch) over what `fp8_check.py BINS OUT --save` brought back:
#
#   fp8_cpu_check.py OUT MODEL [--bin build/bin] [--tolerance 1e-4]
#
# OUT/MODEL-ckpt.tar is the checkpoint the GPU run made, OUT/MODEL-logits.npz
# its prompts, each reference's greedy tokens and teacher-forced logits, and
# each binary's logits. For every reference of a model llmc runs (bf16: no
# --quantize; deq: fp8; bf16kv: kv-fp8; deqkv: fp8,kv-fp8) this imports the
# checkpoint, runs `llm-run --print-logits` (the CPU executor: fp32
# activations, FP8 weights and cache entries rounded as the GPU rounds them
# and dequantized in fp32) teacher-forced on the reference's tokens, and
# prints the max rel diff of the logits (max |cpu - ref| / max |ref| per
# prompt, as fp8_check.py); a reference farther than --tolerance from the
# CPU executor is not the model the binaries compute (exit 1). Each
# binary's logits are also reported against the CPU executor of its model.
#
# This is the check that found fp8_check.py's FP8 scales one ulp off
# (docs/quantization.md, "Seventeenth session").
#
# Then the quantization error itself, model against model (reported, never
# gated): llm-run's exact models — FP8 weights, W8A8, the FP8 KV cache,
# and each weights mode with it — teacher-forced on the bf16 reference's
# greedy tokens, each against the bf16-weights model and against the model
# it adds one quantization to (W8A8 vs FP8 weights: the activations' FP8
# alone; +kv vs without: the cache's alone). No bf16 dataflow enters these
# figures: both sides are fp32 executions of llmc's programs.
#
# test/gpu/fp8_cpu_check_test.py (ctest fp8-cpu-check-synthetic) runs this
# script on data it writes itself, no GPU run needed.
# ===----------------------------------------------------------------------=== #
import argparse
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

from logit_metrics import compare, step_rel

# Each exact model's --quantize list, and the models it is compared with
# in the quantization error: the bf16-weights one, then the one it adds a
# single quantization to.
MODELS = {
    "bf16": ("none", []),
    "fp8": ("fp8", ["bf16"]),
    "w8a8": ("w8a8-fp8", ["bf16", "fp8"]),
    "bf16kv": ("kv-fp8", ["bf16"]),
    "fp8kv": ("fp8,kv-fp8", ["bf16", "fp8"]),
    "w8a8kv": ("w8a8-fp8,kv-fp8", ["bf16", "w8a8"]),
}
# fp8_check.py's references and the exact model each one should be.
REFERENCES = {"bf16": "bf16", "deq": "fp8", "bf16kv": "bf16kv",
              "deqkv": "fp8kv"}


def against(ours, ref, tolerance):
    """fp8_check.py's row for logits `ours` against `ref` [prompts, steps,
    vocab], with the argmax of each as its tokens (hf_check's compare):
    (max rel diff, median step, argmax agreements, steps, differences
    beyond near-ties)."""
    worst, agree, hard, per = 0.0, 0, 0, []
    for o, r in zip(ours, ref):
        rel, differ, h = compare(list(o.argmax(axis=1)), o,
                                 list(r.argmax(axis=1)), r, tolerance)
        worst = max(worst, rel)
        agree += len(r) - len(differ)
        hard += len(h)
        per.extend(step_rel(o, r))
    return worst, float(np.median(per)), agree, len(per), hard


def cpu_logits(bin_dir, mlir, ckpt, quant, prompts, tokens):
    """The CPU executor's teacher-forced logits [prompts, steps, vocab]:
    step k from prompt + tokens[:k], every prompt of a step in one batch."""
    steps = tokens.shape[1]
    out = None
    for k in range(steps):
        seqs = [list(p) + list(t[:k]) for p, t in zip(prompts, tokens)]
        cmd = [os.path.join(bin_dir, "llm-run"), mlir, f"--weights={ckpt}",
               "--prompt=" + ";".join(",".join(map(str, s)) for s in seqs),
               "--max-new-tokens=1", "--print-logits", f"--quantize={quant}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"fp8_cpu_check: {' '.join(cmd[:4])} ...: "
                     f"{proc.stderr.strip()[-400:]}")
        for line in proc.stdout.splitlines():
            if not line.startswith("logits step=0 prompt="):
                continue
            head, values = line.split(":", 1)
            b = int(head.rsplit("=", 1)[1])
            row = np.array([float(x) for x in values.split()])
            if out is None:
                out = np.zeros((len(prompts), steps, row.size))
            out[b, k] = row
    return out


def quantization_error(args, mlir, ckpt, saved, known):
    """Every quantized exact model against the bf16 one and against the
    model it adds one quantization to, on the bf16 reference's tokens;
    `known`: models whose logits on those tokens are already computed."""
    tokens = saved["ref bf16 tokens"]
    logits = {name: known[name] if name in known else
              cpu_logits(args.bin, mlir, ckpt, quant, saved["prompts"],
                         tokens)
              for name, (quant, _) in MODELS.items()}
    print(f"{args.model}: quantization error, llm-run's exact models "
          f"teacher-forced on the bf16 reference's tokens "
          f"({tokens.shape[0]} prompts x {tokens.shape[1]} steps):")
    print("| model | against | max rel diff | median step | argmax |")
    print("|---|---|---|---|---|")
    for name, (quant, bases) in MODELS.items():
        for base in bases:
            worst, median, agree, steps, _ = against(logits[name],
                                                     logits[base], args.gate)
            print(f"| {name} (`{quant}`) | {base} | {worst:.3e} | "
                  f"{median:.3e} | {agree}/{steps} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", help="fp8_check.py's OUT (run with --save)")
    ap.add_argument("model", help="the model's folder name in BINS")
    ap.add_argument("--bin", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin"))
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="largest distance of a reference from llm-run")
    ap.add_argument("--gate", type=float, default=2e-2,
                    help="fp8_check.py's tolerance, for the binaries' rows "
                    "against llm-run (reported)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fp8_cpu_check.") as work:
        ok = check(args, work)
    sys.exit(0 if ok else 1)


def check(args, work):
    """The checks of main in the scratch folder `work`; whether every
    reference is llmc's model."""
    saved = np.load(os.path.join(args.out, f"{args.model}-logits.npz"))
    with tarfile.open(os.path.join(args.out, f"{args.model}-ckpt.tar")) as tar:
        tar.extractall(work)
    ckpt = os.path.join(work, f"{args.model}-ckpt")
    mlir = os.path.join(work, "model.mlir")
    subprocess.run([os.path.join(args.bin, "llm-import"), ckpt, "-o", mlir],
                   check=True)
    ok = True
    # The CPU logits already run on the bf16 reference's tokens, which the
    # quantization error below reuses.
    known = {}
    for ref_name, model in REFERENCES.items():
        if f"ref {ref_name}" not in saved.files:
            continue
        ref = saved[f"ref {ref_name}"]
        quant = MODELS[model][0]
        tokens = saved[f"ref {ref_name} tokens"]
        cpu = cpu_logits(args.bin, mlir, ckpt, quant, saved["prompts"],
                         tokens)
        if ("ref bf16 tokens" in saved.files and
                np.array_equal(tokens, saved["ref bf16 tokens"])):
            known[model] = cpu
        d = against(cpu, ref, args.gate)[0]
        good = d <= args.tolerance
        ok = ok and good
        print(f"{args.model}: llm-run --quantize={quant} vs reference "
              f"{ref_name}: max_rel_diff={d:.3e} "
              f"{'same model' if good else 'DIFFERENT MODEL'}", flush=True)
        for key in saved.files:
            if key.startswith("run ") and key.endswith(f" vs {ref_name}"):
                worst, median, agree, steps, hard = against(saved[key], cpu,
                                                            args.gate)
                print(f"  {key[4:]}: binary vs llm-run max_rel_diff="
                      f"{worst:.3e} median={median:.3e} argmax={agree}/"
                      f"{steps} hard={hard}; vs the reference "
                      f"{against(saved[key], ref, args.gate)[0]:.3e}",
                      flush=True)
    if "ref bf16 tokens" in saved.files:
        quantization_error(args, mlir, ckpt, saved, known)
    return ok


if __name__ == "__main__":
    main()
