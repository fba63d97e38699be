#!/usr/bin/env python3
# ===- hf_check.py - llm-compile binaries vs Hugging Face transformers ----=== #
#
# Runs on a GPU machine with torch and transformers (the binaries are built
# elsewhere by test/gpu/build-e2e.sh and carried there):
#
#   hf_check.py BINS OUT [--tokens=32] [--tolerance=2e-2]
#
# BINS/<model>/config.json is a Hugging Face config; BINS/<model>/<plan>/ is
# an llm-compile output (llm-model + manifest.json). For each model the
# script builds a random-init transformers model from the config, gives its
# weights a tame scale (so greedy decoding has clear winners instead of the
# near-uniform logits of a 0.02-std init), saves it with save_pretrained in
# bf16, and runs every plan's binary on that checkpoint (emulated ranks on one
# GPU). References: transformers on the same bf16 weights, greedy, in fp32
# (logits: max |ours - ref| / max |ref| over all steps, along the common
# prefix) and in bf16 (tokens: a bf16 binary is held to the tokens of a bf16
# run, since against fp32 it flips wherever random weights leave a top-2
# margin below bf16 rounding; those flips are listed as notes). A markdown table
# goes to OUT/table.md; exit 1 if any plan fails.
#
# ===----------------------------------------------------------------------=== #
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM


def tame_init(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                std = 1.0 / math.sqrt(p.shape[-1])
                if "lm_head" in name or ("embed_tokens" in name and
                                         model.config.tie_word_embeddings):
                    std *= 3.0  # peaked logits: decisive greedy choices
                p.copy_(std * torch.randn(p.shape, generator=gen))


def make_checkpoint(model_dir, ckpt):
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_config(config)
    tame_init(model, seed=0)
    model = model.to(torch.bfloat16)
    model.save_pretrained(ckpt, safe_serialization=True)
    from safetensors import safe_open
    names = []
    for f in sorted(os.listdir(ckpt)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(ckpt, f), "pt") as st:
                names += list(st.keys())
    return names


def reference(ckpt, prompts, steps, dtype):
    try:
        model = AutoModelForCausalLM.from_pretrained(
            ckpt, dtype=dtype, attn_implementation="eager")
    except TypeError:
        model = AutoModelForCausalLM.from_pretrained(
            ckpt, torch_dtype=dtype, attn_implementation="eager")
    model = model.cuda().eval()
    tokens, logits = [], []
    with torch.no_grad():
        for prompt in prompts:
            seq, steps_logits = list(prompt), []
            for _ in range(steps):
                out = model(torch.tensor([seq], device="cuda")).logits[0, -1]
                steps_logits.append(out.float().cpu().numpy())
                seq.append(int(out.argmax()))
            tokens.append(seq[len(prompt):])
            logits.append(np.stack(steps_logits))
    return tokens, logits


def run_plan(plan_dir, ckpt, prompts, steps, work, tag):
    manifest = json.load(open(os.path.join(plan_dir, "manifest.json")))
    ranks = int(np.prod(manifest["plan"]["shape"])) if manifest["plan"]["shape"] else 1
    dump = os.path.join(work, f"{tag}.npy")
    cmd = [os.path.join(plan_dir, "llm-model"), f"--weights={ckpt}",
           "--prompt=" + ";".join(",".join(map(str, p)) for p in prompts),
           f"--max-new-tokens={steps}", f"--dump-logits={dump}"]
    if ranks > 1:
        cmd.append("--emulate-ranks")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return None, None, (proc.stderr or proc.stdout).strip()[-400:]
    tokens = [[int(t) for t in line.split()[1:]]
              for line in proc.stdout.splitlines() if line.startswith("tokens:")]
    logits = np.load(dump)  # [steps, batch, vocab]
    return tokens, [logits[:, b, :] for b in range(logits.shape[1])], ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bins")
    ap.add_argument("out")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--tolerance", type=float, default=2e-2)
    ap.add_argument("--save-all", action="store_true",
                    help="also write checkpoints and logits to OUT")
    args = ap.parse_args()
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.cuda.get_device_name(0)}", flush=True)
    rng = np.random.default_rng(7)
    work = "/tmp/hf_check"
    os.makedirs(work, exist_ok=True)
    rows, ok, detail = [], True, {}
    saved = {"prompts": {}, "ref": {}, "ours": {}}
    for model in sorted(os.listdir(args.bins)):
        model_dir = os.path.join(args.bins, model)
        if not os.path.isfile(os.path.join(model_dir, "config.json")):
            continue
        vocab = json.load(open(os.path.join(model_dir, "config.json")))["vocab_size"]
        ckpt = os.path.join(work, model + "-ckpt")
        names = make_checkpoint(model_dir, ckpt)
        print(f"{model}: saved {len(names)} tensors, e.g. {names[:2]}", flush=True)
        # Two prompts: expert-parallel plans split the batch over ep.
        prompts = [[int(t) for t in rng.integers(3, vocab, size=16)]
                   for _ in range(2)]
        # Logits are compared with transformers in fp32 (the exact model);
        # greedy tokens with transformers in bf16, the precision the binary
        # runs in: against fp32, a bf16 run flips wherever the top-2 margin is
        # below bf16 rounding, which random weights make common.
        ref_tokens, ref_logits = reference(ckpt, prompts, args.tokens,
                                           torch.float32)
        bf16_tokens, bf16_logits = reference(ckpt, prompts, args.tokens,
                                             torch.bfloat16)
        # transformers' own bf16 error, the yardstick for ours.
        hf_rel = 0.0
        for b in range(len(prompts)):
            agree = next((i for i, (x, y) in
                          enumerate(zip(bf16_tokens[b], ref_tokens[b])) if x != y),
                         len(ref_tokens[b]))
            n = max(1, min(agree + 1, args.tokens))
            hf_rel = max(hf_rel, float(
                np.abs(bf16_logits[b][:n] - ref_logits[b][:n]).max() /
                np.abs(ref_logits[b][:n]).max()))
        print(f"  transformers bf16 vs fp32: max_rel_diff={hf_rel:.3e}", flush=True)
        rows.append((model, "transformers bf16", f"{hf_rel:.2e}", "-",
                     "reference point: transformers' own bf16 error"))
        saved["prompts"][model] = prompts
        for b in range(len(prompts)):
            saved["ref"][f"{model}/{b}"] = ref_logits[b]
        for plan in sorted(os.listdir(model_dir)):
            plan_dir = os.path.join(model_dir, plan)
            if not os.path.isfile(os.path.join(plan_dir, "llm-model")):
                continue
            tokens, logits, err = run_plan(plan_dir, ckpt, prompts, args.tokens,
                                           work, f"{model}-{plan}")
            if tokens is None:
                ok = False
                rows.append((model, plan, "error", "no", err))
                print(f"  {plan}: ERROR {err}", flush=True)
                continue
            for b in range(len(prompts)):
                saved["ours"][f"{model}/{plan}/{b}"] = logits[b]
            worst, match, notes = 0.0, True, []
            for b in range(len(prompts)):
                ours, ref = tokens[b], ref_tokens[b]
                agree = next((i for i, (x, y) in enumerate(zip(ours, ref))
                              if x != y), len(ref))
                agree16 = next((i for i, (x, y) in
                                enumerate(zip(ours, bf16_tokens[b])) if x != y),
                               len(ref))
                # Logits are comparable while both sequences agree.
                n = max(1, min(agree + 1, len(logits[b])))
                per_step = (np.abs(logits[b][:n] - ref_logits[b][:n]).max(axis=1)
                            / np.abs(ref_logits[b][:n]).max())
                worst = max(worst, float(per_step.max()))
                detail[f"{model}/{plan}/{b}"] = [float(x) for x in per_step]
                if ours != bf16_tokens[b]:
                    match = False
                    notes.append(f"prompt {b}: differs from HF bf16 at token "
                                 f"{agree16}")
                if ours != ref:
                    top2 = np.sort(ref_logits[b][agree])[-2:]
                    notes.append(f"prompt {b}: differs from HF fp32 at token "
                                 f"{agree} (fp32 top-2 margin "
                                 f"{top2[1]-top2[0]:.3g})")
            good = match and worst <= args.tolerance
            ok = ok and good
            note = "; ".join(notes)
            rows.append((model, plan, f"{worst:.2e}", "yes" if match else "no", note))
            print(f"  {plan}: max_rel_diff={worst:.3e} tokens_match={'yes' if match else 'no'} {note}", flush=True)
    table = ["| model | plan | max rel diff of logits vs HF fp32 | tokens match HF bf16 | note |",
             "|---|---|---|---|---|"]
    table += [f"| {m} | {p} | {r} | {t} | {n} |" for m, p, r, t, n in rows]
    open(os.path.join(args.out, "table.md"), "w").write("\n".join(table) + "\n")
    json.dump(detail, open(os.path.join(args.out, "per_step.json"), "w"), indent=0)
    if args.save_all:
        # For offline diagnosis: checkpoints, prompts and both sides' logits.
        json.dump(saved["prompts"], open(os.path.join(args.out, "prompts.json"), "w"))
        np.savez_compressed(os.path.join(args.out, "ref_logits.npz"), **saved["ref"])
        np.savez_compressed(os.path.join(args.out, "our_logits.npz"), **saved["ours"])
        subprocess.run(["tar", "czf", os.path.join(args.out, "ckpts.tgz"), "-C", work]
                       + [d for d in os.listdir(work) if d.endswith("-ckpt")], check=True)
    print("\n".join(table))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
