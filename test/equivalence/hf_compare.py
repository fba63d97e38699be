#!/usr/bin/env python3
# ===- hf_compare.py - llm-run logits vs Hugging Face transformers ---------=== #
#
# For a machine with torch and transformers (the GPU hosts): checks that the
# CPU reference executor computes what transformers computes.
#
#   hf_compare.py ROOT [--tolerance=1e-4]
#
# ROOT holds one folder per model with
#   ckpt/        a checkpoint (llm-checkpoint CONFIG -o ckpt --dtype=F32)
#   prompt.txt   the --prompt given to llm-run ('ids;ids')
#   run.txt      `llm-run ... --weights=ckpt --print-logits` output
# For each model the script recomputes every step's logits with the HF model
# in fp32 (eager attention, the whole sequence at once, no cache) and greedy
# tokens, and prints max_abs_diff / max_rel_diff per model. Exit 1 on any
# mismatch.
#
# ===----------------------------------------------------------------------=== #
import argparse
import os
import sys

import torch
from transformers import AutoModelForCausalLM


def parse_run(path):
    tokens, logits = [], {}
    with open(path) as f:
        for line in f:
            if line.startswith("tokens:"):
                tokens.append([int(t) for t in line.split()[1:]])
            elif line.startswith("logits step="):
                head, values = line.split(":", 1)
                step = int(head.split("step=")[1].split()[0])
                prompt = int(head.split("prompt=")[1])
                logits[(step, prompt)] = [float(v) for v in values.split()]
    return tokens, logits


def compare(folder, tolerance):
    prompts = [[int(t) for t in p.split(",")]
               for p in open(os.path.join(folder, "prompt.txt")).read().strip().split(";")]
    tokens, logits = parse_run(os.path.join(folder, "run.txt"))
    model = AutoModelForCausalLM.from_pretrained(
        os.path.join(folder, "ckpt"), torch_dtype=torch.float32,
        attn_implementation="eager")
    model.eval()
    max_abs, max_ref, ok = 0.0, 0.0, True
    with torch.no_grad():
        for b, prompt in enumerate(prompts):
            new = tokens[b]
            # Teacher-forced: the logits of every step in one forward pass.
            seq = torch.tensor([prompt + new[:-1]])
            out = model(seq).logits[0]
            for step in range(len(new)):
                ours = torch.tensor(logits[(step, b)])
                ref = out[len(prompt) - 1 + step]
                max_abs = max(max_abs, (ours - ref).abs().max().item())
                max_ref = max(max_ref, ref.abs().max().item())
            # Free-running greedy decoding by HF itself.
            seq = list(prompt)
            for _ in range(len(new)):
                nxt = int(model(torch.tensor([seq])).logits[0, -1].argmax())
                seq.append(nxt)
            hf_tokens = seq[len(prompt):]
            if hf_tokens != new:
                ok = False
                print(f"  prompt {b}: llm-run tokens {new} != HF {hf_tokens}")
    rel = max_abs / max_ref if max_ref else 0.0
    ok = ok and rel <= tolerance
    print(f"{os.path.basename(folder)}: max_abs_diff={max_abs:g} "
          f"max_rel_diff={rel:g} tokens_match={'yes' if ok else 'no'}")
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    ok = True
    for name in sorted(os.listdir(args.root)):
        folder = os.path.join(args.root, name)
        if os.path.isfile(os.path.join(folder, "run.txt")):
            ok = compare(folder, args.tolerance) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
