#!/usr/bin/env python3
# ===- bench/torch_decode.py - static-KV-cache Llama decode in plain PyTorch -=== #
#
# The strongest plain-PyTorch baseline of issue 8: a self-contained Llama
# (no transformers modeling code) with random bf16 weights of a Hugging Face
# config's shapes, a static KV cache and greedy decoding, the decode step
# compiled with torch.compile(mode="reduce-overhead", fullgraph=True), i.e.
# replayed as a CUDA graph. Runs on a GPU machine:
#
#   torch_decode.py --config=DIR/config.json --batch=1 --prompt-len=128 --gen-len=128 [--eager] [--fp8]
#
# Prints one line `bench-json: {...}` (keys as llm-model's bench-json where
# they mean the same: ttft_ms, tpot_ms, tokens_per_s, batch, prompt_len,
# gen_len) last on stdout; progress goes to stderr.
#
# The model, as transformers' LlamaForCausalLM computes it in bf16:
#   * weights: embedding [V, H]; per layer fused q|k|v [(nh + 2 nkv) D, H], o
#     [H, nh D], fused gate|up [2 I, H], down [H, I], two RMSNorm weights;
#     final norm; lm_head [V, H] (or the embedding when tie_word_embeddings).
#     Fusing q|k|v and gate|up (two GEMMs fewer per layer) is what a tuned
#     PyTorch decode (gpt-fast style) does; the bytes read are the same.
#   * RMSNorm in fp32, rounded to bf16 before the weight; RoPE (default,
#     linear or llama3 scaling; rope_theta and scaling from rope_parameters
#     (transformers 5) or rope_theta/rope_scaling (4.x)) with bf16 cos/sin
#     tables; SwiGLU; lm_head on the last position only.
#   * KV cache: a static [layers, batch, kv_heads, max_seq, head_dim] cache
#     allocated once, held as one K and one V buffer of [batch, kv_heads,
#     max_seq, head_dim] per layer module (as transformers' StaticCache and
#     gpt-fast do): index_copy_ then mutates a graph input in place, where
#     writing into a view of one 5-D buffer would make functionalization
#     scatter into (and copy back) the whole cache every step. max_seq = prompt + gen rounded up to a multiple of 128
#     (--max-seq to override): decode attends over the whole static cache with
#     a mask by position, as transformers' StaticCache path does.
#   * prefill (not compiled: its time is in cuBLAS GEMMs and flash
#     attention): F.scaled_dot_product_attention(is_causal=True) with GQA,
#     writing the prompt's keys and values into the cache.
#   * decode step: embed one token per sequence, index_copy_ the new k/v into
#     the cache at `pos` (a device tensor, so the graph is reused for every
#     position), SDPA of the group's query heads against their kv head's
#     cache ([B, kv_heads, group, D] queries: no repeat of the cache) under the
#     mask `arange(max_seq) <= pos`, greedy argmax on the device.
#
# --fp8: the torch FP8 peer of issue 19 (vLLM's `--quantization fp8` scheme
# in plain PyTorch): the q|k|v, o, gate|up and down weights held as E4M3
# codes with one fp32 scale per output channel (absmax / 448, as
# llm-compile's --quantize=fp8), every such projection W8A8 through
# torch._scaled_mm with row-wise scales (the activations quantized per
# token and dynamically: absmax / 448, E4M3 by round-to-nearest-even), bf16
# out; embeddings, norms and lm_head stay bf16. The weights stream one byte
# each; the step is otherwise the bf16 one.
#
# CUDA-graph care (reduce-overhead): the caches, cos/sin tables and the
# position index are module buffers and marked static
# (torch._dynamo.mark_static_address), so the graph reads and mutates them in
# place; token and position inputs are fixed-shape device tensors (no Python
# ints reach the graph, no recompilation per position); each step starts with
# torch.compiler.cudagraph_mark_step_begin() and clones its output before the
# next replay overwrites it; after warm-up torch._dynamo.config.error_on_recompile
# is set, so a recompilation during timing fails the run instead of skewing it.
#
# Timing: CUDA events. TTFT = median of --reps prefills (after one warm-up).
# TPOT = the gen_len - 1 decode steps that follow a fresh prefill, after
# --warmup decode steps (compilation and graph recording happen there),
# timed as one region (events at both ends, one synchronize) so host launch
# gaps count as they would in serving; per-step events give the median too.
# gen_len counts the token from prefill, as llm-model's --gen-len does.
#
# ===----------------------------------------------------------------------=== #
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from common import cuda_ms


def log(msg):
    print(f"torch_decode: {msg}", file=sys.stderr, flush=True)


def load_config(path):
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    with open(path) as f:
        return json.load(f)


def rope_settings(cfg):
    """(theta, scaling dict or {}) from transformers 5's rope_parameters or
    4.x's rope_theta + rope_scaling."""
    params = cfg.get("rope_parameters")
    if isinstance(params, dict) and "full_attention" in params:  # per layer type
        params = params["full_attention"]
    if isinstance(params, dict) and params:
        theta = params.get("rope_theta", cfg.get("rope_theta", 10000.0))
        return float(theta), params
    scaling = cfg.get("rope_scaling") or {}
    return float(cfg.get("rope_theta", 10000.0)), scaling


def inv_frequencies(cfg, head_dim):
    theta, sc = rope_settings(cfg)
    rtype = sc.get("rope_type", sc.get("type", "default")) or "default"
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    if rtype == "default":
        return inv
    if rtype == "linear":
        return inv / float(sc["factor"])
    if rtype == "llama3":  # transformers' _compute_llama3_parameters
        factor = float(sc["factor"])
        low = float(sc.get("low_freq_factor", 1.0))
        high = float(sc.get("high_freq_factor", 4.0))
        old = float(sc.get("original_max_position_embeddings", 8192))
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, inv_l)
    sys.exit(f"torch_decode: rope type '{rtype}' is not supported (default, linear, llama3)")


def rms_norm(x, w, eps):
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return w * xf.to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, cos, sin):
    """x [B, T, heads, D]; cos/sin [T, D]."""
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return x * cos + rotate_half(x) * sin


E4M3 = torch.float8_e4m3fn
E4M3_MAX = 448.0


class Fp8Linear(torch.nn.Module):
    """A bf16 weight [N, K] as E4M3 codes and one fp32 scale per output
    channel; forward quantizes the activations per row (token) and runs
    torch._scaled_mm with row-wise scales into bf16."""

    pad16 = None  # whether _scaled_mm needs rows in multiples of 16 (probed)

    def __init__(self, w):
        super().__init__()
        wf = w.float()
        scale = (wf.abs().amax(dim=1, keepdim=True) / E4M3_MAX).clamp(min=1.0 / 229376.0)
        self.codes = torch.nn.Parameter((wf / scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3),
                                        requires_grad=False)
        self.scale = torch.nn.Parameter(scale.t().contiguous(), requires_grad=False)  # [1, N]
        if Fp8Linear.pad16 is None:
            Fp8Linear.pad16 = not self._rows_ok(w.device)

    @staticmethod
    def _rows_ok(device):
        a = torch.ones(1, 32, device=device).to(E4M3)
        b = torch.ones(32, 32, device=device).to(E4M3)
        try:
            torch._scaled_mm(a, b.t(), scale_a=torch.ones(1, 1, device=device),
                             scale_b=torch.ones(1, 32, device=device),
                             out_dtype=torch.bfloat16)
            return True
        except RuntimeError:
            return False

    def forward(self, x):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        m = x2.shape[0]
        if Fp8Linear.pad16 and m % 16:
            x2 = F.pad(x2, (0, 0, 0, 16 - m % 16))
        xf = x2.float()
        sx = (xf.abs().amax(dim=1, keepdim=True) / E4M3_MAX).clamp(min=1e-12)
        xq = (xf / sx).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)
        out = torch._scaled_mm(xq, self.codes.t(), scale_a=sx, scale_b=self.scale,
                               out_dtype=torch.bfloat16)
        return out[:m].reshape(*shape[:-1], out.shape[-1])


def project(x, w):
    """x W^T for a bf16 weight tensor or an Fp8Linear."""
    return w(x) if isinstance(w, Fp8Linear) else F.linear(x, w)


def sdpa_gqa(q, k, v, causal):
    """q [B, nh, T, D], k/v [B, nkv, T, D]."""
    try:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
    except TypeError:  # torch < 2.5
        g = q.shape[1] // k.shape[1]
        return F.scaled_dot_product_attention(
            q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1), is_causal=causal)


class Layer(torch.nn.Module):
    def __init__(self, wqkv, wo, w13, w2, ln1, ln2, cache_shape, fp8=False):
        super().__init__()
        for name, t in (("wqkv", wqkv), ("wo", wo), ("w13", w13), ("w2", w2)):
            setattr(self, name, Fp8Linear(t) if fp8 else
                    torch.nn.Parameter(t, requires_grad=False))
        for name, t in (("ln1", ln1), ("ln2", ln2)):
            setattr(self, name, torch.nn.Parameter(t, requires_grad=False))
        # This layer's slice of the static cache: [batch, kv_heads, max_seq, D].
        self.register_buffer("k_cache", torch.zeros(cache_shape, device=wo.device, dtype=wo.dtype))
        self.register_buffer("v_cache", torch.zeros(cache_shape, device=wo.device, dtype=wo.dtype))


class Llama(torch.nn.Module):
    def __init__(self, cfg, batch, max_seq, device, dtype=torch.bfloat16, seed=0,
                 fp8=False):
        super().__init__()
        H = cfg["hidden_size"]
        I = cfg["intermediate_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads") or self.nh
        self.D = cfg.get("head_dim") or H // self.nh
        self.L = cfg["num_hidden_layers"]
        V = cfg["vocab_size"]
        self.eps = float(cfg.get("rms_norm_eps", 1e-6))
        self.group = self.nh // self.nkv
        self.batch, self.max_seq, self.vocab = batch, max_seq, V
        g = torch.Generator(device=device).manual_seed(seed)

        def rand(*shape, std=0.02):
            return torch.empty(shape, device=device, dtype=dtype).normal_(0.0, std, generator=g)

        def ones(n):
            return torch.ones(n, device=device, dtype=dtype)

        D, nh, nkv = self.D, self.nh, self.nkv
        cache_shape = (batch, nkv, max_seq, D)
        self.embed = torch.nn.Parameter(rand(V, H), requires_grad=False)
        self.layers = torch.nn.ModuleList(
            Layer(rand((nh + 2 * nkv) * D, H), rand(H, nh * D), rand(2 * I, H),
                  rand(H, I), ones(H), ones(H), cache_shape, fp8) for _ in range(self.L))
        self.norm = torch.nn.Parameter(ones(H), requires_grad=False)
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        if not self.tied:
            self.lm_head = torch.nn.Parameter(rand(V, H), requires_grad=False)
        self.q_size, self.kv_size = nh * D, nkv * D

        inv = inv_frequencies(cfg, D).to(device)
        t = torch.arange(max_seq, device=device, dtype=torch.int64).float()
        freqs = torch.outer(t, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos().to(dtype))
        self.register_buffer("sin", emb.sin().to(dtype))
        self.register_buffer("seq_idx", torch.arange(max_seq, device=device, dtype=torch.int64))
        static = [self.cos, self.sin, self.seq_idx]
        for layer in self.layers:
            static += [layer.k_cache, layer.v_cache]
        for b in static:
            try:
                torch._dynamo.mark_static_address(b)
            except Exception:  # older torch: buffers are static anyway
                pass

    def head(self, x):
        """x [B, H] (last position) -> greedy next ids [B, 1]."""
        x = rms_norm(x, self.norm, self.eps)
        w = self.embed if self.tied else self.lm_head
        logits = F.linear(x, w)
        return logits.argmax(dim=-1, keepdim=True)

    def qkv(self, layer, h, cos, sin):
        B, T, _ = h.shape
        qkv = project(h, layer.wqkv)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = apply_rope(q.view(B, T, self.nh, self.D), cos, sin)
        k = apply_rope(k.view(B, T, self.nkv, self.D), cos, sin)
        return q, k, v.view(B, T, self.nkv, self.D)

    def mlp(self, layer, x):
        h = rms_norm(x, layer.ln2, self.eps)
        gate, up = project(h, layer.w13).chunk(2, dim=-1)
        return x + project(F.silu(gate) * up, layer.w2)

    @torch.no_grad()
    def prefill(self, tokens):
        """tokens [B, T] -> next ids [B, 1]; fills cache positions [0, T)."""
        B, T = tokens.shape
        x = F.embedding(tokens, self.embed)
        cos, sin = self.cos[:T], self.sin[:T]
        for layer in self.layers:
            h = rms_norm(x, layer.ln1, self.eps)
            q, k, v = self.qkv(layer, h, cos, sin)
            k, v = k.transpose(1, 2), v.transpose(1, 2)  # [B, nkv, T, D]
            layer.k_cache[:, :, :T].copy_(k)
            layer.v_cache[:, :, :T].copy_(v)
            o = sdpa_gqa(q.transpose(1, 2), k, v, causal=True)  # [B, nh, T, D]
            x = x + project(o.transpose(1, 2).reshape(B, T, self.q_size), layer.wo)
            x = self.mlp(layer, x)
        return self.head(x[:, -1])

    @torch.no_grad()
    def decode(self, tokens, pos):
        """tokens [B, 1] int64, pos [1] int64 (device) -> next ids [B, 1]."""
        B = tokens.shape[0]
        x = F.embedding(tokens, self.embed)  # [B, 1, H]
        cos, sin = self.cos.index_select(0, pos), self.sin.index_select(0, pos)
        mask = (self.seq_idx <= pos).view(1, 1, 1, self.max_seq)
        for layer in self.layers:
            h = rms_norm(x, layer.ln1, self.eps)
            q, k, v = self.qkv(layer, h, cos, sin)
            kc, vc = layer.k_cache, layer.v_cache  # [B, nkv, S, D]
            kc.index_copy_(2, pos, k.transpose(1, 2))
            vc.index_copy_(2, pos, v.transpose(1, 2))
            # query heads h = kv * group + g share kv head `kv`: one [group, D]
            # query block per kv head, the cache read once per group.
            qg = q.reshape(B, self.nkv, self.group, self.D)
            o = F.scaled_dot_product_attention(qg, kc, vc, attn_mask=mask)
            x = x + project(o.reshape(B, 1, self.q_size), layer.wo)
            x = self.mlp(layer, x)
        return self.head(x[:, 0])


def main():
    ap = argparse.ArgumentParser(description="static-KV-cache Llama decode in plain PyTorch")
    ap.add_argument("--config", required=True, help="Hugging Face config.json (or its folder)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=128,
                    help="generated tokens per sequence, the one from prefill included")
    ap.add_argument("--max-seq", type=int, default=0,
                    help="static cache positions (default: prompt + gen rounded up to 128)")
    ap.add_argument("--eager", action="store_true", help="no torch.compile (plain eager decode)")
    ap.add_argument("--fp8", action="store_true",
                    help="FP8 E4M3 projections (per-channel weight scales, per-token "
                         "dynamic activation scales) through torch._scaled_mm")
    ap.add_argument("--warmup", type=int, default=8,
                    help="decode steps before timing (compilation and CUDA-graph recording)")
    ap.add_argument("--reps", type=int, default=3, help="timed prefills (TTFT = median)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.gen_len < 2:
        sys.exit("torch_decode: --gen-len must be >= 2 (TPOT needs a decode step)")

    cfg = load_config(args.config)
    B, P, G = args.batch, args.prompt_len, args.gen_len
    need = P + max(G, args.warmup + 1)
    max_seq = args.max_seq or ((need + 127) // 128) * 128
    if max_seq < need:
        sys.exit(f"torch_decode: --max-seq={max_seq} < prompt + generated tokens ({need})")
    dev = torch.device("cuda")
    torch.manual_seed(args.seed)

    t0 = time.time()
    model = Llama(cfg, B, max_seq, dev, seed=args.seed, fp8=args.fp8).eval()
    torch.cuda.synchronize()
    params = sum(p.numel() for p in model.parameters())
    # Bytes a decode step streams: FP8 codes one byte each (their scales
    # and the bf16 tensors two).
    fp8_codes = sum(p.numel() for p in model.parameters() if p.dtype == E4M3)
    log(f"{params / 1e9:.2f} B parameters, cache {model.L} x 2 x "
        f"{tuple(model.layers[0].k_cache.shape)}, "
        f"init {time.time() - t0:.1f} s")
    gen = torch.Generator(device=dev).manual_seed(args.seed + 1)
    prompt = torch.randint(0, model.vocab, (B, P), device=dev, generator=gen)

    if args.eager:
        step = model.decode
    else:
        step = torch.compile(model.decode, mode="reduce-overhead", fullgraph=True, dynamic=False)

    def decode_step(tok, pos):
        torch.compiler.cudagraph_mark_step_begin()
        return step(tok, pos).clone()

    # Warm-up: prefill (cuBLAS handles and heuristics), then decode steps,
    # which compile and record the CUDA graph.
    first = model.prefill(prompt)
    pos = torch.tensor([P], device=dev, dtype=torch.int64)
    tok = first
    t0 = time.time()
    for _ in range(args.warmup):
        tok = decode_step(tok, pos)
        pos.add_(1)
    torch.cuda.synchronize()
    warm_s = time.time() - t0
    log(f"warm-up ({args.warmup} decode steps{'' if args.eager else ', compile + graph recording'}) "
        f"{warm_s:.1f} s")
    if not args.eager:
        torch._dynamo.config.error_on_recompile = True

    # TTFT: median of reps prefills over the same prompt.
    ttfts = []
    for _ in range(args.reps):
        ms, first = cuda_ms(lambda: model.prefill(prompt))
        ttfts.append(ms)
    ttft = statistics.median(ttfts)

    # TPOT: gen_len - 1 steps after a fresh prefill (stale cache entries past
    # the position are masked and overwritten before they are read).
    first = model.prefill(prompt)
    pos.fill_(P)
    out = torch.empty(B, G, device=dev, dtype=torch.int64)
    out[:, :1] = first
    tok = first
    steps = G - 1
    events = [torch.cuda.Event(enable_timing=True) for _ in range(steps + 1)]
    torch.cuda.synchronize()
    events[0].record()
    for i in range(steps):
        tok = decode_step(tok, pos)
        pos.add_(1)
        out[:, i + 1:i + 2] = tok
        events[i + 1].record()
    torch.cuda.synchronize()
    total = events[0].elapsed_time(events[-1])
    per_step = [events[i].elapsed_time(events[i + 1]) for i in range(steps)]
    tpot = total / steps

    skips = None
    try:
        from torch._dynamo.utils import counters
        skips = int(sum(counters["inductor"].get(k, 0) for k in counters["inductor"]
                        if "cudagraph_skip" in k))
    except Exception:
        pass
    # bytes of the weights one decode step streams (the embedding is looked
    # up by row; tied embeddings are read whole as the lm_head)
    weight_bytes = (params - (0 if model.tied else model.embed.numel())) * 2 - fp8_codes
    result = {
        "impl": ("torch-eager" if args.eager else "torch-compile") + ("-fp8" if args.fp8 else ""),
        "ttft_ms": round(ttft, 4),
        "tpot_ms": round(tpot, 4),
        "tpot_p50_ms": round(statistics.median(per_step), 4),
        "tokens_per_s": round(B * G / ((ttft + steps * tpot) / 1e3), 2),
        "weights_gb_s": round(weight_bytes / (tpot / 1e3) / 1e9, 1),  # weights only, no KV
        "batch": B, "prompt_len": P, "gen_len": G, "max_seq": max_seq,
        "ttft_all_ms": [round(t, 4) for t in ttfts],
        "warmup_s": round(warm_s, 2),
        "cudagraph_skips": skips,
        "last_tokens": out[0, -4:].tolist(),
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
    }
    print("bench-json: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
