#!/usr/bin/env python3
# ===- fp8_check.py - FP8 llm-compile binaries vs transformers -----------=== #
#
# Issue 19, item 6. Runs on a GPU machine with torch and transformers; the
# binaries come from test/gpu/build-fp8.sh:
#
#   fp8_check.py BINS OUT [--tokens=16] [--tolerance=2e-2]
#
# BINS/<model>/config.json is a Hugging Face config; BINS/<model>/<q>-<plan>/
# an llm-compile output, q = bf16 (no --quantize), fp8 (--quantize=fp8:
# FP8 weights, one scale per output channel) or w8a8 (--quantize=w8a8-fp8),
# each optionally with the FP8 KV cache: bf16kv (--quantize=kv-fp8), fp8kv
# (fp8,kv-fp8), w8a8kv (w8a8-fp8,kv-fp8).
# As test/gpu/hf_check.py does, the script saves a tamely initialised
# random model in bf16 and runs every binary on that checkpoint (FP8
# binaries quantize it while loading, runtime/weights/Fp8Weights.h). Two
# references, transformers in fp32, greedy:
#   * "deq": the bf16 weights of every quantized linear (q/k/v/o/gate/up/
#     down) replaced by their FP8 round trip code * scale, computed here
#     with the rule of docs/quantization.md (s = max(absmax / 448, 2^-17.8)
#     per output row, codes = E4M3(w / s) with torch's RNE cast): the exact
#     model an FP8-weights binary computes;
#   * "bf16": the checkpoint as saved;
#   * "deqkv", "bf16kv": the same with every attention layer's RoPE'd keys
#     and values replaced by their FP8 round trip, one scale per token and
#     kv head (the FP8 KV cache's rule, docs/quantization.md), applied to
#     the eager attention's inputs: the exact model an FP8-KV binary runs.
# Accuracy (pass/fail): fp8-* binaries against "deq", bf16-* against
# "bf16", teacher-forced on the reference's greedy tokens: max rel diff of
# logits (max |ours - ref| / max |ref|) <= tolerance, and every argmax equal
# unless the two choices are within the tolerance (hf_check.py's rule).
# fp8kv-* against "deqkv" and bf16kv-* against "bf16kv" are reported beside
# their bf16-activation floor, not gated (GATED says why).
# Diagnostics (reported): each reference model (the FP8-KV ones included)
# run with its activations rounded to bf16 after every linear, norm,
# activation, attention, MLP and layer, and before o_proj and down_proj,
# with bf16 RoPE'd q/k/v (a bf16 dataflow, exact weights), against its fp32 run
# (the "bf16-activation floor" a bf16-dataflow binary of that model starts
# from) and against each binary.
# Quantization error (reported): every binary, and "deq" itself, against
# the "bf16" reference; w8a8 also against "deq" (it adds per-token FP8
# activations, which no transformers model has); "deqkv" against "deq" and
# "bf16kv" against "bf16" (the KV cache's quantization error alone), and
# every *kv binary also against its reference without the FP8 KV cache.
# --floor-probabilities (reported): the bf16 and deq floors once more with
# the attention probabilities rounded to bf16 before the P x V product
# and normalised by their fp32 sum, as the binaries' attention does
# (RoundedProbabilities): whether that rounding, which the plain floor
# leaves out, is what separates a binary from its floor.
# Path variants (reported, never gated): --variant NAME:VAR=V[,VAR=V...]
# (repeatable) runs every quantized binary once more with those runtime
# variables (e.g. staged:LLMC_FP8_DECODE_GEMM=0, or gemv:LLMC_FP8_GEMV_ROWS=8:
# which kernel family a distance comes from), as rows "<plan> [NAME]".
# --save writes OUT/<model>-logits.npz (prompts, every reference's greedy
# tokens and teacher-forced logits, every floor's and binary's logits) and
# OUT/<model>-ckpt.tar (the checkpoint) for test/gpu/fp8_cpu_check.py,
# which runs llm-run's CPU executor on them on the build machine: whether
# the references here are the models llmc computes.
# Every binary's and floor's row also gives its median step (the typical
# distance beside the worst one). A markdown table goes to
# OUT/fp8-table.md and each binary's per-step max rel diff (per prompt) to
# OUT/fp8-per-step.json; exit 1 if an accuracy row fails.
#
# ===----------------------------------------------------------------------=== #
import argparse
import json
import os
import re
import sys
import tarfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_check import (compare, forced_logits, greedy, load,  # noqa: E402
                      make_checkpoint, run_plan, step_rel)

QUANTIZED = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
             "down_proj")
MIN_SCALE = 1.0 / 229376.0  # runtime/weights/Fp8.h kFp8MinScale
# (binary, reference) pairs with a pass/fail verdict: each binary against
# the exact model it computes.
# The FP8-KV binaries are reported against their FP8-KV references, not
# gated: quantizing activations (K and V here, as W8A8's inputs) turns the
# bf16 dataflow's tiny differences into whole E4M3 steps wherever a value
# lies near a rounding boundary, so no bf16-activation binary can sit
# within 2e-2 of the fp32 FP8-KV model; the bf16-activation floor of that
# model shows it (5.3-5.7e-2 on small-llama3, the binaries at their floor;
# docs/quantization.md).
GATED = {("bf16", "bf16"), ("fp8", "deq")}


def fp8_scale(absmax):
    """max(absmax / 448, MIN_SCALE) for an fp32 tensor, the quotient
    correctly rounded to fp32 as runtime/weights/Fp8.h divides. Not
    `absmax / 448.0`: on CUDA torch divides by a Python number as a
    multiplication by its fp32 reciprocal, one ulp off for some rows, and
    since a bf16 weight over its row's bf16 absmax often lands exactly on
    an E4M3 tie, that one ulp moves many codes a whole step (small-llama3:
    1.4e-2 of the logits, more than the binaries' own distance; "Seventeenth
    session", docs/quantization.md). The quotient in fp64 rounded to fp32 is
    the fp32 quotient (53 >= 2 * 24 + 2 bits)."""
    return torch.clamp((absmax.double() / 448.0).float(), min=MIN_SCALE)


def fp8_round_trip(w):
    """code * scale of an fp32 copy of bf16 `w` [out, in], per output row."""
    w = w.float()
    scale = fp8_scale(w.abs().amax(dim=1, keepdim=True))
    codes = (w / scale).to(torch.float8_e4m3fn)
    return codes.float() * scale


def bf16_activations(model, residual_fp32=False):
    """Forward hooks rounding to bf16 (kept in fp32) the outputs of every
    linear but lm_head, norm, activation, attention, MLP and decoder layer,
    and the inputs of o_proj (the attention's output) and down_proj (the
    SwiGLU product) and the residual stream after attention, which a bf16
    binary also holds in bf16: transformers' bf16 dataflow with the model's
    exact weights. With residual_fp32 the residual stream (the decoder
    layers' outputs and the sum after attention) stays fp32: what an engine
    that keeps it in fp32 would start from. Returns the hook handles
    (remove them to restore fp32)."""
    def hook(_module, _inputs, out):
        if isinstance(out, torch.Tensor):
            return out.to(torch.bfloat16).float()
        if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor):
            return (out[0].to(torch.bfloat16).float(),) + tuple(out[1:])
        return None

    def pre_hook(_module, args):
        return (args[0].to(torch.bfloat16).float(),) + tuple(args[1:])
    handles = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        if name.endswith("lm_head"):
            continue
        if (isinstance(module, torch.nn.Linear) or name.endswith("act_fn")
                or kind.endswith(("RMSNorm", "Attention", "MLP"))
                or (kind.endswith("DecoderLayer") and not residual_fp32)):
            handles.append(module.register_forward_hook(hook))
        if name.endswith(("o_proj", "down_proj")):
            handles.append(module.register_forward_pre_hook(pre_hook))
    # The residual stream after attention: transformers adds the attention
    # output to the layer's input in fp32 and keeps it; a bf16 binary keeps
    # bf16(input + attention). The attention's hook returns that sum less
    # the input (exact in fp32 for two bf16 values of similar size), so the
    # layer's own add gives the bf16 sum.
    inputs = {}

    def layer_input(module, args, kwargs):
        inputs[id(module)] = (args[0] if args else kwargs["hidden_states"])

    def fold(layer):
        def hook(_module, _inputs, out):
            r = inputs[id(layer)]
            o = out[0] if isinstance(out, tuple) else out
            o = (r + o).to(torch.bfloat16).float() - r
            return (o,) + tuple(out[1:]) if isinstance(out, tuple) else o
        return hook
    for name, module in model.named_modules():
        if type(module).__name__.endswith("DecoderLayer") and not residual_fp32:
            handles.append(module.register_forward_pre_hook(
                layer_input, with_kwargs=True))
            handles.append(module.self_attn.register_forward_hook(fold(module)))
    return handles


def floor(model, prompts, ref, tol, residual_fp32=False):
    """The bf16-activation floor of `model`: its teacher-forced logits with
    bf16_activations and bf16 RoPE'd queries and keys (as the binaries'
    attention reads them) against its own fp32 run `ref` (tokens, logits).
    Inside an Fp8KV context, the keys and values are rounded to bf16 first
    and then go through the FP8 round trip, the binaries' order."""
    handles = bf16_activations(model, residual_fp32)
    try:
        with AttentionInputs(model, lambda *qkv: tuple(
                x.to(torch.bfloat16).to(x.dtype) for x in qkv)):
            lg = forced(model, prompts, ref[0])
    finally:
        for h in handles:
            h.remove()
    return worst([[int(x) for x in l.argmax(axis=1)] for l in lg], lg,
                 *ref, tol), lg


def kv_round_trip(x):
    """The FP8 KV cache's view of keys or values [batch, kv heads, seq,
    head_dim]: each (token, kv head) vector's E4M3 round trip with its own
    scale max(absmax / 448, MIN_SCALE)."""
    xf = x.float()
    scale = fp8_scale(xf.abs().amax(dim=-1, keepdim=True))
    return ((xf / scale).to(torch.float8_e4m3fn).float() * scale).to(x.dtype)


class AttentionInputs:
    """While active, `model`'s eager attention (looked up by name at every
    call) gets its RoPE'd (query, key, value) through `fn`, then whatever
    an enclosing AttentionInputs does: contexts nest, inner first."""

    def __init__(self, model, fn):
        self.module = sys.modules[type(model.model.layers[0].self_attn).__module__]
        self.fn = fn

    def __enter__(self):
        self.eager = eager = self.module.eager_attention_forward
        fn = self.fn

        def wrapped(module, query, key, value, *args, **kwargs):
            return eager(module, *fn(query, key, value), *args, **kwargs)
        self.module.eager_attention_forward = wrapped
        return self

    def __exit__(self, *exc):
        self.module.eager_attention_forward = self.eager


def Fp8KV(model):
    """The FP8 KV cache's view: keys and values, the current tokens' own
    included, through kv_round_trip, as the cache stores them."""
    return AttentionInputs(model, lambda q, k, v: (q, kv_round_trip(k),
                                                   kv_round_trip(v)))


class RoundedProbabilities:
    """While active, softmax (which transformers' eager attention calls
    as nn.functional.softmax) returns bf16(exp(x - max)) / sum(exp(x -
    max)): the unnormalised probabilities rounded to bf16 as the binaries'
    attention feeds them to its P x V tensor-core product, normalised in
    fp32 by the unrounded sum. `calls` counts the softmaxes it replaced (0:
    this transformers' attention does not call it, and the row says so)."""

    def __enter__(self):
        self.calls = 0
        self.orig = torch.nn.functional.softmax

        def rounded(x, dim=None, dtype=None, **_kw):
            self.calls += 1
            xf = x.float()
            p = torch.exp(xf - xf.amax(dim=dim, keepdim=True))
            out = p.to(torch.bfloat16).float() / p.sum(dim=dim, keepdim=True)
            return out.to(dtype if dtype is not None else x.dtype)
        torch.nn.functional.softmax = rounded
        return self

    def __exit__(self, *exc):
        torch.nn.functional.softmax = self.orig


def forced(model, prompts, tokens):
    return [forced_logits(model, p, t) for p, t in zip(prompts, tokens)]


def steps_per_prompt(logits, ref_logits):
    """Each prompt's per-step max rel diff (step_rel), for fp8-per-step.json."""
    return [[round(float(x), 5) for x in step_rel(lg, ref)]
            for lg, ref in zip(logits, ref_logits)]


def median_step(steps):
    """The median of steps_per_prompt's per-step distances, all prompts."""
    return float(np.median([x for p in steps for x in p]))


def worst(ours_tokens, ours_logits, ref_tokens, ref_logits, tol):
    rel, agree, hard, total = 0.0, 0, 0, 0
    for b in range(len(ref_tokens)):
        r, differ, h = compare(ours_tokens[b], ours_logits[b], ref_tokens[b],
                               ref_logits[b], tol)
        rel = max(rel, r)
        total += len(ref_tokens[b])
        agree += len(ref_tokens[b]) - len(differ)
        hard += len(h)
    return rel, agree, total, hard


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bins")
    ap.add_argument("out")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--prompts", type=int, default=2,
                    help="random prompts of 16 tokens per model (at most "
                    "the binaries' max batch)")
    ap.add_argument("--tolerance", type=float, default=2e-2)
    ap.add_argument("--gated-only", action="store_true",
                    help="only the pass/fail comparisons (quicker)")
    ap.add_argument("--floor-probabilities", action="store_true",
                    help="also report each floor with the attention "
                    "probabilities rounded to bf16 as the binaries round "
                    "them (diagnostic)")
    ap.add_argument("--variant", action="append", default=[],
                    metavar="NAME:VAR=V[,VAR=V...]",
                    help="also run every quantized binary with these "
                    "runtime variables (reported, not gated)")
    ap.add_argument("--save", action="store_true",
                    help="also write OUT/<model>-logits.npz (prompts, every "
                    "reference's tokens and logits, every floor's and "
                    "binary's logits) and OUT/<model>-ckpt.tar (the "
                    "checkpoint) for test/gpu/fp8_cpu_check.py")
    args = ap.parse_args()
    variants = [(None, None)]
    for v in args.variant:
        name, _, assigns = v.partition(":")
        pairs = [a.partition("=") for a in assigns.split(",") if a]
        if (not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not pairs
                or any(not k or not eq for k, eq, _ in pairs)):
            ap.error(f"--variant '{v}': expected NAME:VAR=V[,VAR=V...], "
                     "NAME of letters, digits, '_', '.' or '-' (it names "
                     "the logits files)")
        variants.append((name, {**os.environ, **{k: val for k, _, val in pairs}}))
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    rng = np.random.default_rng(7)
    work = "/tmp/fp8_check"
    os.makedirs(work, exist_ok=True)
    rows, ok = [], True
    per_step = {}  # "model plan vs ref" -> per prompt, each step's rel diff
    for model_name in sorted(os.listdir(args.bins)):
        model_dir = os.path.join(args.bins, model_name)
        if not os.path.isfile(os.path.join(model_dir, "config.json")):
            continue
        vocab = json.load(open(os.path.join(model_dir, "config.json")))["vocab_size"]
        ckpt = os.path.join(work, model_name + "-ckpt")
        make_checkpoint(model_dir, ckpt)
        prompts = [[int(t) for t in rng.integers(3, vocab, size=16)]
                   for _ in range(args.prompts)]
        model = load(ckpt, torch.float32)
        fp8_kv = Fp8KV(model)
        kv_bins = any(p.split("-")[0].endswith("kv")
                      for p in os.listdir(model_dir))
        exact = []  # (what, reference, forced logits of `what`)
        refs = {"bf16": greedy(model, prompts, args.tokens)}
        floors = {"bf16": floor(model, prompts, refs["bf16"], args.tolerance)}
        prob_floors = {}  # the floors with bf16 attention probabilities

        def prob_floor(name):
            if args.floor_probabilities:
                with RoundedProbabilities() as rp:
                    f = floor(model, prompts, refs[name], args.tolerance)
                prob_floors[name] = (f, rp.calls)
        prob_floor("bf16")
        floor_r32_bf16 = floor(model, prompts, refs["bf16"], args.tolerance,
                               True)
        if kv_bins:
            with fp8_kv:
                refs["bf16kv"] = greedy(model, prompts, args.tokens)
                floors["bf16kv"] = floor(model, prompts, refs["bf16kv"],
                                         args.tolerance)
                exact.append(("transformers fp32, FP8 KV cache", "bf16",
                              forced(model, prompts, refs["bf16"][0]),
                              "the KV cache quantization error alone"))
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith(".weight") and any(q in name for q in QUANTIZED):
                    p.copy_(fp8_round_trip(p.data))
        refs["deq"] = greedy(model, prompts, args.tokens)
        floors["deq"] = floor(model, prompts, refs["deq"], args.tolerance)
        prob_floor("deq")
        # The same dataflow with an fp32 residual stream: how much of each
        # floor the bf16 residual is (reported, no binary runs it).
        for name, ((rel, agree, total, _), lg) in (
                ("bf16", floor_r32_bf16),
                ("deq", floor(model, prompts, refs["deq"], args.tolerance,
                              True))):
            per_step[f"{model_name} floor fp32-residual vs {name}"] = \
                steps_per_prompt(lg, refs[name][1])
            rows.append((model_name, "transformers fp32 with bf16-rounded "
                         "activations, fp32 residual stream", name,
                         f"{rel:.2e}", f"{agree}/{total}", "-",
                         "how much of the floor the bf16 residual is"))
            print(f"{model_name}: bf16-activation floor, fp32 residual, vs "
                  f"{name} max_rel_diff={rel:.3e} argmax={agree}/{total}",
                  flush=True)
        # The quantization itself, in exact arithmetic: deq vs bf16.
        exact.insert(0, ("transformers fp32, FP8 round-trip weights", "bf16",
                         forced(model, prompts, refs["bf16"][0]),
                         "the weight quantization error alone"))
        if kv_bins:
            with fp8_kv:
                refs["deqkv"] = greedy(model, prompts, args.tokens)
                floors["deqkv"] = floor(model, prompts, refs["deqkv"],
                                        args.tolerance)
                exact.append(("transformers fp32, FP8 weights + FP8 KV cache",
                              "deq", forced(model, prompts, refs["deq"][0]),
                              "the KV cache quantization error on FP8 weights"))
                exact.append(("transformers fp32, FP8 weights + FP8 KV cache",
                              "bf16", forced(model, prompts, refs["bf16"][0]),
                              "weights and KV cache quantization error"))
        # How far bf16 activations alone take each model from its fp32 run:
        # the floor a bf16-activation binary of that model starts from.
        emulated = {name: lg for name, (_, lg) in floors.items()}
        # Each floor's per-step distance beside the binaries' (is a
        # binary's worst position where its bf16 dataflow is worst too?).
        for name, lg in emulated.items():
            per_step[f"{model_name} floor vs {name}"] = steps_per_prompt(
                lg, refs[name][1])
        for ref_name, ((rel, agree, total, _), _) in floors.items():
            median = median_step(per_step[f"{model_name} floor vs {ref_name}"])
            rows.append((model_name,
                         "transformers fp32 with bf16-rounded activations",
                         ref_name, f"{rel:.2e}", f"{agree}/{total}", "-",
                         "the bf16-activation floor of this model; median "
                         f"step {median:.2e}"))
            print(f"{model_name}: bf16-activation floor vs {ref_name} "
                  f"max_rel_diff={rel:.3e} median={median:.3e} "
                  f"argmax={agree}/{total}", flush=True)
        for ref_name, (((rel, agree, total, _), lg), calls) in prob_floors.items():
            steps = steps_per_prompt(lg, refs[ref_name][1])
            per_step[f"{model_name} floor bf16-probabilities vs {ref_name}"] = steps
            median = median_step(steps)
            rows.append((model_name, "transformers fp32 with bf16-rounded "
                         "activations and attention probabilities", ref_name,
                         f"{rel:.2e}", f"{agree}/{total}", "-",
                         f"median step {median:.2e}" if calls else
                         "not applied: the attention called no softmax"))
            print(f"{model_name}: floor with bf16 probabilities vs {ref_name} "
                  f"max_rel_diff={rel:.3e} median={median:.3e} "
                  f"argmax={agree}/{total} softmax calls={calls}", flush=True)
        del model
        torch.cuda.empty_cache()
        saved = {"prompts": np.array(prompts)}
        for name, (toks, lg) in refs.items():
            saved[f"ref {name} tokens"] = np.array(toks)
            saved[f"ref {name}"] = np.stack(lg)
        for name, (_, lg) in floors.items():
            saved[f"floor {name}"] = np.stack(lg)
        for what, ref_name, logits, note in exact:
            rel, agree, total, _ = worst(
                [[int(x) for x in lg.argmax(axis=1)] for lg in logits],
                logits, *refs[ref_name], args.tolerance)
            rows.append((model_name, what, ref_name, f"{rel:.2e}",
                         f"{agree}/{total}", "-", note))
            print(f"{model_name}: {what} vs {ref_name} max_rel_diff={rel:.3e} "
                  f"argmax={agree}/{total}", flush=True)
        for plan in sorted(os.listdir(model_dir)):
            plan_dir = os.path.join(model_dir, plan)
            if not os.path.isfile(os.path.join(plan_dir, "llm-model")):
                continue
            quant = plan.split("-")[0]
            checks = {"bf16": ["bf16"], "fp8": ["deq", "bf16"],
                      "w8a8": ["bf16", "deq"], "bf16kv": ["bf16kv", "bf16"],
                      "fp8kv": ["deqkv", "deq", "bf16"],
                      "w8a8kv": ["bf16", "deqkv"]}[quant]
            if args.gated_only:
                checks = [c for c in checks if (quant, c) in GATED]
            for variant, env in variants:
                if variant and quant in ("bf16", "bf16kv"):
                    continue
                run = f"{plan} [{variant}]" if variant else plan
                for ref_name in checks:
                    ref_tokens, ref_logits = refs[ref_name]
                    force = "--force-tokens=" + ";".join(
                        ",".join(map(str, t[:-1])) for t in ref_tokens)
                    tokens, logits, err = run_plan(
                        plan_dir, ckpt, prompts, args.tokens, work,
                        f"{model_name}-{plan}-{ref_name}-{variant or ''}",
                        [force], env)
                    gated = not variant and (quant, ref_name) in GATED
                    if err:
                        ok = False
                        rows.append((model_name, run, ref_name, "error", "-",
                                     "FAIL", err))
                        print(f"  {run} vs {ref_name}: ERROR {err}", flush=True)
                        continue
                    rel, agree, total, hard = worst(tokens, logits, ref_tokens,
                                                    ref_logits, args.tolerance)
                    steps = steps_per_prompt(logits, ref_logits)
                    per_step[f"{model_name} {run} vs {ref_name}"] = steps
                    saved[f"run {run} vs {ref_name}"] = np.stack(logits)
                    # The typical step beside the worst: a binary whose
                    # median sits far above its floor's has an error of
                    # its own, not one unlucky position.
                    median = median_step(steps)
                    verdict = "-"
                    if gated:
                        good = rel <= args.tolerance and hard == 0
                        ok = ok and good
                        verdict = "PASS" if good else "FAIL"
                    rows.append((model_name, run, ref_name, f"{rel:.2e}",
                                 f"{agree}/{total}", verdict,
                                 f"median step {median:.2e}" +
                                 (f"; {hard} argmax differences beyond "
                                  "near-ties" if hard else "")))
                    print(f"  {run} vs {ref_name}: max_rel_diff={rel:.3e} "
                          f"median={median:.3e} argmax={agree}/{total} "
                          f"hard={hard} {verdict}", flush=True)
                    # Against the same model with bf16-rounded activations:
                    # how much of the distance is the bf16 dataflow itself.
                    erel, eagree, etotal, _ = worst(tokens, logits, ref_tokens,
                                                    emulated[ref_name],
                                                    args.tolerance)
                    rows.append((model_name, run,
                                 ref_name + ", bf16-rounded activations",
                                 f"{erel:.2e}", f"{eagree}/{etotal}", "-", ""))
                    print(f"  {run} vs {ref_name} with bf16 activations: "
                          f"max_rel_diff={erel:.3e} argmax={eagree}/{etotal}",
                          flush=True)
        if args.save:
            np.savez_compressed(os.path.join(args.out,
                                             f"{model_name}-logits.npz"),
                                **saved)
            with tarfile.open(os.path.join(args.out, f"{model_name}-ckpt.tar"),
                              "w") as tar:
                tar.add(ckpt, arcname=model_name + "-ckpt")
    table = ["| model | run | reference (transformers fp32) | max rel diff of "
             "logits (teacher-forced) | argmax = reference | accuracy | note |",
             "|---|---|---|---|---|---|---|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    open(os.path.join(args.out, "fp8-table.md"), "w").write("\n".join(table) + "\n")
    json.dump(per_step, open(os.path.join(args.out, "fp8-per-step.json"), "w"),
              indent=0)
    print("\n".join(table))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
