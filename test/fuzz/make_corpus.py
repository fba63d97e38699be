#!/usr/bin/env python3
"""Regenerates the seed corpora under test/fuzz/corpus/.

    python3 test/fuzz/make_corpus.py BUILD_DIR

BUILD_DIR holds bin/llm-import, bin/llm-opt and bin/llm-compile (any build,
e.g. build/); they turn small configs into IR and manifest seeds. Config,
spec, dialect and safetensors seeds need no build. Every seed is small (a
few KB) so the fuzzers start from many valid inputs and mutate them fast.
Re-run after a format change and commit the result; files are named after
their content's origin so a diff shows what changed.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
MODELS = os.path.join(ROOT, "test", "models")


def reset(name):
    path = os.path.join(CORPUS, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def model_configs():
    for sub in ("tiny", "real"):
        folder = os.path.join(MODELS, sub)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                yield name[:-5], os.path.join(folder, name)


def with_layers(path, layers, **extra):
    with open(path) as f:
        config = json.load(f)
    config["num_hidden_layers"] = layers
    config.update(extra)
    return json.dumps(config, indent=1) + "\n"


# --- shard specs ------------------------------------------------------------

SPECS = ["tp2", "tp4,pp2", "pp2,tp4", "dp2", "ep8", "sp4", "tp2,pp2,dp2",
         "ep4,tp2", "sp2,pp2", "tp1", "dp1,pp1,ep1,sp1,tp1", " tp8 ", "auto",
         "tp65536", "tp0", "TP2", "tp2,,pp2", "tp2,tp4", "tp-1", "tp2.5",
         "auto,tp2", "xp2", "tp 2", "dp99999999999999999999"]


def make_specs():
    out = reset("shard-spec")
    for i, spec in enumerate(SPECS):
        write(os.path.join(out, "spec-%02d" % i), spec)


# --- config.json ------------------------------------------------------------

def make_configs():
    out = reset("config")
    for name, path in model_configs():
        shutil.copy(path, os.path.join(out, name + ".json"))
    tiny = os.path.join(MODELS, "tiny")
    # Variants reaching the optional branches: Qwen2 sliding windows,
    # Qwen2-MoE mlp_only_layers and sparse steps, linear RoPE, biases.
    write(os.path.join(out, "qwen2-window.json"),
          with_layers(os.path.join(tiny, "tiny-qwen2.json"), 3,
                      use_sliding_window=True, sliding_window=16,
                      max_window_layers=1))
    write(os.path.join(out, "qwen2-moe-dense.json"),
          with_layers(os.path.join(tiny, "tiny-qwen2-moe.json"), 3,
                      mlp_only_layers=[0], decoder_sparse_step=2,
                      intermediate_size=96))
    # FP8 checkpoints' quantization_config (docs/quantization.md).
    fp8_args = lambda strategy, dynamic: {
        "num_bits": 8, "type": "float", "symmetric": True,
        "strategy": strategy, "dynamic": dynamic}
    write(os.path.join(out, "mixtral-fp8-dynamic.json"),
          with_layers(os.path.join(tiny, "tiny-mixtral.json"), 1,
                      quantization_config={
                          "quant_method": "compressed-tensors",
                          "format": "float-quantized",
                          "config_groups": {"group_0": {
                              "targets": ["Linear"],
                              "weights": fp8_args("channel", False),
                              "input_activations": fp8_args("token", True)}},
                          "ignore": ["lm_head", "re:.*block_sparse_moe.gate$"],
                          "kv_cache_scheme": fp8_args("tensor", False)}))
    write(os.path.join(out, "qwen2-fp8-static.json"),
          with_layers(os.path.join(tiny, "tiny-qwen2.json"), 1,
                      quantization_config={
                          "quant_method": "fp8", "activation_scheme": "static",
                          "ignored_layers": ["lm_head"]}))
    write(os.path.join(out, "llama-linear-bias.json"),
          with_layers(os.path.join(tiny, "tiny-llama2.json"), 1,
                      rope_scaling={"type": "linear", "factor": 2.0},
                      attention_bias=True, mlp_bias=True, head_dim=16,
                      eos_token_id=[1, 2], torch_dtype="float16"))


# --- llm dialect ------------------------------------------------------------

def split_mlir(text):
    """The pieces of a -split-input-file test, comment-only lines dropped."""
    for piece in text.split("// -----"):
        lines = [l for l in piece.splitlines()
                 if l.strip() and not l.strip().startswith("//")]
        if lines:
            yield "\n".join(lines) + "\n"


def make_dialect(build):
    out = reset("dialect")
    for area in ("dialect", "sharding", "pipeline", "quantize"):
        folder = os.path.join(ROOT, "test", area)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".mlir"):
                continue
            with open(os.path.join(folder, name)) as f:
                for i, piece in enumerate(split_mlir(f.read())):
                    write(os.path.join(out, "%s-%s-%02d.mlir" %
                                       (area, name[:-5], i)), piece)
    if not build:
        return
    # Whole small models, unsharded and sharded (shard and dist ops).
    tiny = os.path.join(MODELS, "tiny")
    cases = [("llama3", "tiny-llama3.json", 2, ["", "tp2", "pp2", "tp2,pp2",
                                               "sp2", "dp2", "fp8-tp2"]),
             ("qwen2", "tiny-qwen2.json", 1, ["", "tp2"]),
             ("mistral", "tiny-mistral.json", 1, [""]),
             ("mixtral", "tiny-mixtral.json", 1, ["", "ep2", "ep2,tp2",
                                                 "fp8-ep2,tp2"]),
             ("qwen2-moe", "tiny-qwen2-moe.json", 1, ["", "ep2"])]
    with tempfile.TemporaryDirectory() as tmp:
        for tag, config, layers, specs in cases:
            cfg = os.path.join(tmp, tag + ".json")
            write(cfg, with_layers(os.path.join(tiny, config), layers))
            ir = subprocess.run([os.path.join(build, "bin", "llm-import"), cfg],
                                check=True, capture_output=True,
                                text=True).stdout
            for spec in specs:
                text = ir
                # "fp8-SPEC": W8A8 with an FP8 KV cache, then SPEC.
                quantize = spec.startswith("fp8-")
                if spec:
                    args = [os.path.join(build, "bin", "llm-opt"), "-",
                            "--shard=" + spec[4:] if quantize else
                            "--shard=" + spec]
                    if quantize:
                        args.append("--quantize=w8a8-fp8,kv-fp8")
                    text = subprocess.run(args, input=ir, check=True,
                                          capture_output=True,
                                          text=True).stdout
                write(os.path.join(out, "model-%s-%s.mlir" %
                                   (tag, spec.replace(",", "-") or "whole")),
                      text)


# --- safetensors ------------------------------------------------------------

DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1,
          "F8_E5M2": 1, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
          "BOOL": 1}


def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape)]; data bytes count up from 1."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = DTYPES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + n]}
        data += bytes((len(data) + i + 1) % 251 for i in range(n))
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def make_safetensors():
    out = reset("safetensors")
    write(os.path.join(out, "f32.safetensors"),
          safetensors([("w", "F32", [2, 3]), ("b", "F32", [3])]))
    write(os.path.join(out, "bf16-metadata.safetensors"),
          safetensors([("model.embed_tokens.weight", "BF16", [4, 2]),
                       ("model.norm.weight", "BF16", [2])],
                      metadata={"format": "pt"}))
    write(os.path.join(out, "every-dtype.safetensors"),
          safetensors([("t_" + d.lower(), d, [2]) for d in DTYPES]))
    write(os.path.join(out, "empty.safetensors"), safetensors([]))
    write(os.path.join(out, "zero-size.safetensors"),
          safetensors([("z", "F32", [0, 4]), ("s", "F16", []),
                       ("e", "I8", [3, 0])]))
    write(os.path.join(out, "unpadded-3d.safetensors"),
          safetensors([("x", "F16", [2, 2, 3]), ("y", "F64", [1])],
                      pad=False))

    out = reset("safetensors-index")
    sep = b"\n----\n"
    a = safetensors([("a.weight", "F32", [2, 2]), ("a.bias", "F32", [2])],
                    metadata={"format": "pt"})
    b = safetensors([("b.weight", "BF16", [3, 2])], metadata={"format": "pt"})
    index = json.dumps({"metadata": {"total_size": 36},
                        "weight_map": {"a.weight": "model-1.safetensors",
                                       "a.bias": "model-1.safetensors",
                                       "b.weight": "model-2.safetensors"}},
                       indent=2).encode()
    write(os.path.join(out, "index-two-shards"), index + sep + a + sep + b)
    one = json.dumps({"weight_map": {"a.weight": "model-1.safetensors"}}
                     ).encode()
    write(os.path.join(out, "index-subset"), one + sep + a)
    write(os.path.join(out, "no-index-two-files"), sep + a + sep + b)
    write(os.path.join(out, "no-index-duplicate"), sep + a + sep + a)


# --- manifest.json ----------------------------------------------------------

def step_plan(seqs, kind=0, step=1):
    """encodeStepPlan's bytes (docs/serving.md, "Wire format")."""
    out = b"LLMCSTP1" + struct.pack("<BQI", kind, step, len(seqs))
    for (seq, replica, start, sample, temp, top_p, top_k, seed, logprobs,
         draw, tokens, blocks) in seqs:
        out += struct.pack("<QiqBffiQiQ", seq, replica, start, sample, temp,
                           top_p, top_k, seed, logprobs, draw)
        out += struct.pack("<I%di" % len(tokens), len(tokens), *tokens)
        out += struct.pack("<I%di" % len(blocks), len(blocks), *blocks)
    return out


def make_step_plans():
    out = reset("step-plan")
    write(os.path.join(out, "empty"), step_plan([]))
    write(os.path.join(out, "shutdown"), step_plan([], kind=1, step=9))
    prefill = (1, 0, 0, 1, 0.0, 1.0, 0, 0, -1, 0, [1, 2, 3, 4, 5], [0, 1])
    decode = (2, 1, 7, 1, 0.8, 0.9, 40, 12345, 3, 2, [9], [3, 4])
    chunk = (3, 0, 8, 0, 1.0, 1.0, 0, 7, 0, 0, [6, 7, 8, 9], [5, 6, 2])
    write(os.path.join(out, "prefill"), step_plan([prefill]))
    write(os.path.join(out, "mixed"), step_plan([prefill, decode, chunk]))
    write(os.path.join(out, "truncated"), step_plan([decode])[:-3])


def make_api_requests():
    """First byte: 'c' completions, anything else chat; then the body."""
    out = reset("api-request")
    bodies = {
        "completion": ("c", {"prompt": "hello", "max_tokens": 4,
                             "logprobs": 2, "stop": ["x"]}),
        "completion-ids": ("c", {"prompt": [1, 2, 3], "temperature": 0.5,
                                 "top_p": 0.9, "top_k": 5, "seed": 3,
                                 "stream": True, "stream_options":
                                 {"include_usage": True}}),
        "chat": ("h", {"messages": [{"role": "user", "content": "hi"}],
                       "max_completion_tokens": 5, "logprobs": True,
                       "top_logprobs": 3}),
        "chat-parts": ("h", {"messages": [
            {"role": "system", "content": [{"type": "text", "text": "s"}]},
            {"role": "user", "content": "u"}], "stop_token_ids": [7],
            "ignore_eos": True, "model": "m"}),
        "bad-n": ("c", {"prompt": "x", "n": 2}),
    }
    for name, (endpoint, body) in bodies.items():
        write(os.path.join(out, name), endpoint + json.dumps(body))


def make_manifests(build):
    out = reset("manifest")
    if not build:
        return
    tiny = os.path.join(MODELS, "tiny")
    cases = [("llama3", "tiny-llama3.json", 2, ["tp1", "tp2", "pp2", "tp2,pp2",
                                               "dp2"]),
             ("mixtral", "tiny-mixtral.json", 1, ["ep2", "ep2,tp2"]),
             ("qwen2", "tiny-qwen2.json", 1, ["tp2"])]
    with tempfile.TemporaryDirectory() as tmp:
        for tag, config, layers, specs in cases:
            cfg = os.path.join(tmp, tag + ".json")
            write(cfg, with_layers(os.path.join(tiny, config), layers))
            ir = os.path.join(tmp, tag + ".mlir")
            subprocess.run([os.path.join(build, "bin", "llm-import"), cfg,
                            "-o", ir], check=True)
            for spec in specs:
                dest = os.path.join(tmp, tag + "-" + spec)
                subprocess.run([os.path.join(build, "bin", "llm-compile"), ir,
                                "--shard=" + spec, "--target=h100",
                                "--max-batch=2", "--max-seq=64", "--no-build",
                                "-o", dest], check=True)
                shutil.copy(os.path.join(dest, "manifest.json"),
                            os.path.join(out, "%s-%s.json" %
                                         (tag, spec.replace(",", "-"))))


def main():
    build = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
    make_specs()
    make_configs()
    make_dialect(build)
    make_safetensors()
    make_manifests(build)
    make_step_plans()
    make_api_requests()


if __name__ == "__main__":
    main()
