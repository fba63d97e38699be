#!/usr/bin/env python3
# ===- bench/hf_eager.py - Hugging Face transformers eager baseline -------=== #
#
# transformers' own LlamaForCausalLM, eager (no torch.compile, no CUDA
# graphs), SDPA attention, bf16, random init on the GPU from a config.json.
# Runs on a GPU machine:
#
#   hf_eager.py --config=DIR --batch=1 --prompt-len=128 --gen-len=128 [--method=loop|generate]
#
# Prints one line `bench-json: {...}` (ttft_ms, tpot_ms, tokens_per_s, batch,
# prompt_len, gen_len, ...) last on stdout; progress goes to stderr.
#
# Method (default --method=loop): a manual greedy loop over the model's
# forward with the DynamicCache it returns, which is what generate() runs
# per step minus its own bookkeeping (logits processors, stopping criteria,
# input preparation): the closest exact measure of transformers' eager
# model, and slightly in its favour.
#   TTFT = median of --reps prefill forwards (logits of the last position
#          only, as generate asks for) + argmax, after one warm-up.
#   TPOT = gen_len - 1 decode forwards that follow a fresh prefill (after
#          --warmup decode steps), timed as one region with CUDA events,
#          divided by gen_len - 1; the next token stays on the device (no
#          host synchronisation inside the loop).
# --method=generate times model.generate (greedy, min_new_tokens =
# max_new_tokens so EOS never stops it): TTFT = median time of
# generate(max_new_tokens=1), TPOT = (time(gen_len) - time(1)) / (gen_len - 1).
#
# The random init is transformers' own (_init_weights) run on the GPU under
# torch.device("cuda"); weight values do not change the time of a dense
# model. Prompt ids are random (seeded).
# ===----------------------------------------------------------------------=== #
import argparse
import inspect
import json
import os
import statistics
import sys
import time

import torch

from common import cuda_ms


def log(msg):
    print(f"hf_eager: {msg}", file=sys.stderr, flush=True)


def build_model(config_dir):
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM
    config = AutoConfig.from_pretrained(config_dir)
    kwargs = {"attn_implementation": "sdpa"}
    with torch.device("cuda"):
        try:  # transformers 5
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, **kwargs)
        except TypeError:  # transformers 4.x
            model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16, **kwargs)
    if next(model.parameters()).dtype != torch.bfloat16:
        model = model.to(torch.bfloat16)
    if next(model.parameters()).device.type != "cuda":
        model = model.cuda()
    model.eval()
    return model, transformers.__version__


def main():
    ap = argparse.ArgumentParser(description="Hugging Face transformers eager baseline")
    ap.add_argument("--config", required=True, help="folder with config.json (or the file)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=128,
                    help="generated tokens per sequence, the one from prefill included")
    ap.add_argument("--method", choices=["loop", "generate"], default="loop")
    ap.add_argument("--warmup", type=int, default=3, help="decode steps before timing")
    ap.add_argument("--reps", type=int, default=3, help="timed prefills (TTFT = median)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.gen_len < 2:
        sys.exit("hf_eager: --gen-len must be >= 2 (TPOT needs a decode step)")
    config_dir = args.config
    if os.path.isfile(config_dir):
        config_dir = os.path.dirname(os.path.abspath(config_dir))

    torch.manual_seed(args.seed)
    t0 = time.time()
    model, tf_version = build_model(config_dir)
    torch.cuda.synchronize()
    params = sum(p.numel() for p in model.parameters())
    log(f"transformers {tf_version}, {params / 1e9:.2f} B parameters, "
        f"attn {getattr(model.config, '_attn_implementation', '?')}, init {time.time() - t0:.1f} s")
    B, P, G = args.batch, args.prompt_len, args.gen_len
    V = model.config.vocab_size
    gen = torch.Generator(device="cuda").manual_seed(args.seed + 1)
    prompt = torch.randint(0, V, (B, P), device="cuda", generator=gen)

    fwd_kwargs = {}
    params_sig = inspect.signature(model.forward).parameters
    if "logits_to_keep" in params_sig:
        fwd_kwargs["logits_to_keep"] = 1
    elif "num_logits_to_keep" in params_sig:
        fwd_kwargs["num_logits_to_keep"] = 1

    @torch.no_grad()
    def prefill():
        out = model(input_ids=prompt, use_cache=True, **fwd_kwargs)
        return out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)

    @torch.no_grad()
    def decode(cache, tok):
        out = model(input_ids=tok, past_key_values=cache, use_cache=True, **fwd_kwargs)
        return out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)

    @torch.no_grad()
    def generate(n):
        return model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                              do_sample=False, max_new_tokens=n, min_new_tokens=n,
                              pad_token_id=0)

    extra = {}
    if args.method == "loop":
        cache, tok = prefill()  # warm-up
        for _ in range(args.warmup):
            cache, tok = decode(cache, tok)
        del cache
        torch.cuda.synchronize()
        ttfts = []
        for _ in range(args.reps):
            ms, (cache, tok) = cuda_ms(prefill)
            del cache
            ttfts.append(ms)
        ttft = statistics.median(ttfts)
        cache, tok = prefill()
        steps = G - 1
        events = [torch.cuda.Event(enable_timing=True) for _ in range(steps + 1)]
        torch.cuda.synchronize()
        events[0].record()
        for i in range(steps):
            cache, tok = decode(cache, tok)
            events[i + 1].record()
        torch.cuda.synchronize()
        total = events[0].elapsed_time(events[-1])
        tpot = total / steps
        extra["tpot_p50_ms"] = round(statistics.median(
            events[i].elapsed_time(events[i + 1]) for i in range(steps)), 4)
        extra["cache"] = type(cache).__name__
        extra["last_tokens"] = tok[0].tolist()
    else:
        generate(2)  # warm-up
        ttfts = [cuda_ms(lambda: generate(1))[0] for _ in range(args.reps)]
        ttft = statistics.median(ttfts)
        full, out = cuda_ms(lambda: generate(G))
        if out.shape[1] != P + G:
            sys.exit(f"hf_eager: generate returned {out.shape[1] - P} tokens, not {G}")
        tpot = (full - ttft) / (G - 1)
        extra["generate_ms"] = round(full, 3)

    result = {
        "impl": "hf-eager",
        "method": args.method,
        "ttft_ms": round(ttft, 4),
        "tpot_ms": round(tpot, 4),
        "tokens_per_s": round(B * G / ((ttft + (G - 1) * tpot) / 1e3), 2),
        "batch": B, "prompt_len": P, "gen_len": G,
        "ttft_all_ms": [round(t, 4) for t in ttfts],
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "transformers": tf_version,
        **extra,
    }
    print("bench-json: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
