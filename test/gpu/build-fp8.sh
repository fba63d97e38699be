#!/usr/bin/env bash
# Builds (on the CPU machine) everything the FP8 GPU checks need, into OUT
# (default .device-carry/fp8, git-ignored), then OUT.tar.xz (the binaries
# share the runtime's bytes; the archive stays far below the device tool's
# 64 MiB carry limit):
#   OUT/acc/<model>/config.json, OUT/acc/<model>/<quant>-<plan>/{llm-model,
#     manifest.json}: test/gpu/fp8_check.py's binaries (quant: bf16, fp8,
#     w8a8, and with the FP8 KV cache bf16kv, fp8kv, w8a8kv, or the
#     NAME:QUANTIZE list FP8_QUANTS; plans FP8_PLANS, default tp1 tp2;
#     models FP8_MODELS, default small-llama3; add small-qwen2 for q/k/v
#     biases, real/llama-3-8b for issue 19's Llama-3-8B-shaped check: a
#     name with a slash is test/models/NAME.json, its acc directory the
#     base name)
#   OUT/bench/{bf16,fp8,w8a8}/: the Llama-3-8B shape, tp1, for bench/fp8.sh
#     (which also runs fp8/ with LLMC_FP8_DECODE_GEMM=1 and =0: the FP8
#     decode GEMM against the staged path at batch 64);
#     OUT/bench/fp8-tp2/: FP8 weights under tp2 (batch 1) (FP8_BENCH=0
#     skips them)
#   OUT/llmc-gpu-kernel-tests: the kernel tests (FP8 cases included)
# FP8_RESIDUAL_F32=1 also builds every accuracy binary with
# --residual=fp32 (OUT/acc/<model>/<quant>-<plan>-r32, which fp8_check.py
# checks as <quant>) and the 8B tp1 bench binaries as OUT/bench/<q>-r32.
# FP8_NVCC=PATH is passed to llm-compile as --nvcc. On the GPU machine, from
# the repository root:
#   tar xJf .device-carry/fp8.tar.xz -C .device-carry
#   .device-carry/fp8/llmc-gpu-kernel-tests --bench
#   python3 test/gpu/fp8_check.py .device-carry/fp8/acc "$OUT"
#   bash bench/fp8.sh .device-carry/fp8/bench
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=${1:-.device-carry/fp8}
bin=build/bin
rm -rf "$out" && mkdir -p "$out/acc" "$out/bench"
jobs=()
compile() { # model.mlir dir plan quantize [flags...]: queued, run below
  jobs+=("$*")
}
run_one() {
  set -- $1
  local mlir=$1 dir=$2 plan=$3 quant=$4; shift 4
  local q=()
  [[ $quant != none ]] && q=(--quantize="$quant")
  "$bin/llm-compile" "$mlir" --shard="$plan" "${q[@]}" --target=h100 "$@" \
    ${FP8_NVCC:+--nvcc="$FP8_NVCC"} -o "$dir" && rm -rf "$dir/src"
}
export -f run_one
export bin FP8_NVCC
for spec in ${FP8_MODELS:-small-llama3}; do
  model=$(basename "$spec")
  json="test/models/small/$spec.json"
  [[ $spec == */* ]] && json="test/models/$spec.json"
  mkdir -p "$out/acc/$model"
  cp "$json" "$out/acc/$model/config.json"
  "$bin/llm-import" "$out/acc/$model/config.json" -o "$out/acc/$model/model.mlir"
  for plan in ${FP8_PLANS:-tp1 tp2}; do
    for quant in ${FP8_QUANTS:-bf16:none fp8:fp8 w8a8:w8a8-fp8 bf16kv:kv-fp8 \
                 fp8kv:fp8,kv-fp8 w8a8kv:w8a8-fp8,kv-fp8}; do
      compile "$out/acc/$model/model.mlir" "$out/acc/$model/${quant%%:*}-$plan" \
        "$plan" "${quant#*:}" --max-batch=8 --max-seq=256
      if [[ ${FP8_RESIDUAL_F32:-0} == 1 ]]; then
        compile "$out/acc/$model/model.mlir" \
          "$out/acc/$model/${quant%%:*}-$plan-r32" "$plan" "${quant#*:}" \
          --max-batch=8 --max-seq=256 --residual=fp32
      fi
    done
  done
done
if [[ ${FP8_BENCH:-1} != 0 ]]; then
  "$bin/llm-import" test/models/real/llama-3-8b.json -o "$out/bench/model.mlir"
  for quant in bf16:none fp8:fp8 w8a8:w8a8-fp8; do
    compile "$out/bench/model.mlir" "$out/bench/${quant%%:*}" tp1 "${quant#*:}" \
      --max-batch=64 --max-seq=2560 --max-tokens-per-step=16384
  done
  if [[ ${FP8_RESIDUAL_F32:-0} == 1 ]]; then
    for quant in bf16:none fp8:fp8; do
      compile "$out/bench/model.mlir" "$out/bench/${quant%%:*}-r32" tp1 \
        "${quant#*:}" --max-batch=64 --max-seq=2560 \
        --max-tokens-per-step=16384 --residual=fp32
    done
  fi
  # FP8 weights under tp2 (both ranks emulated on one GPU; decode batch 1).
  compile "$out/bench/model.mlir" "$out/bench/fp8-tp2" tp2 fp8 \
    --max-batch=1 --max-seq=2560
fi
# Two nvcc builds at a time (the project's limit on shared machines).
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {}
rm -f "$out"/acc/*/model.mlir "$out/bench/model.mlir"
for job in "${jobs[@]}"; do
  set -- $job
  [[ -x $2/llm-model ]] || { echo "build-fp8: $2 was not built" >&2; exit 1; }
done
cp "$bin/llmc-gpu-kernel-tests" "$out/"
du -sh "$out"
# -9: a 64 MiB window, so the binaries' shared runtime bytes compress away.
XZ_OPT=${XZ_OPT:--9} tar cJf "$out.tar.xz" -C "$(dirname "$out")" "$(basename "$out")"
ls -la "$out.tar.xz"
