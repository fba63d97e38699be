#!/usr/bin/env bash
# Runs ON THE GPU MACHINE, from the repository root, every FP8 check of
# issue 19 on what test/gpu/build-fp8.sh archived, most important first
# (a run cut short keeps what finished), writing into OUT:
#   kernels.txt   llmc-gpu-kernel-tests --only=fp8 (and its FP8 vs bf16
#                 projection bench: single shapes and the grouped q|k|v and
#                 gate|up+SwiGLU decode launches)
#   kernels-fp8kv.txt  llmc-gpu-kernel-tests --only=fp8kv (the FP8 KV cache)
#   kernels-wgmma-prefill.txt, kernels-fast-accum.txt  --only=wgmmaPrefill,
#                 and --only=fp8 under LLMC_FP8_FAST_ACCUM=1 (the switches
#                 the bench's -wg / -fa runs turn on)
#   kernels-rmsnorm.txt  --only=rmsNorm (the norms, and the fp32 residual
#                 stream's kernels of --residual=fp32)
#   accuracy.txt, fp8-table.md   test/gpu/fp8_check.py (with each model's
#                 bf16-activation floor)
#   bench-<workload>.txt, bench-<workload>/fp8-bench.md   bench/fp8.sh
#                 (Llama-3-8B shape), one workload at a time
#   env.txt       GPU and driver
#
#   LD_LIBRARY_PATH=DIR_OF_LIBCPP_HTTPLIB \
#     bash test/gpu/run-fp8.sh .device-carry/fp8.tar.xz "$OUT"
#
# FP8_TIMEOUTS="kernels accuracy" (seconds, default "150 200") and
# FP8_BENCH="workload seconds binaries...; ..." (default: b1 with bf16, fp8,
# fp8-ps (LLMC_FP8_GEMV_PRESCALE=1) twice alternating (each run's line is
# in bench-b1.txt; the table keeps the last), w8a8, fp8-tp2; prefill with
# bf16, w8a8, fp8 and the switches' runs
# bf16-wg, w8a8-wg, w8a8-fa, w8a8-wgfa (LLMC_WGMMA_PREFILL=1,
# LLMC_FP8_FAST_ACCUM=1, both); b64 with bf16, fp8-staged, fp8-dg, w8a8,
# w8a8-fa: fp8-dg / fp8-staged are the FP8 binary with
# LLMC_FP8_DECODE_GEMM=1 / 0; b16 with bf16, fp8, w8a8, w8a8-lt: W8A8 on
# cuBLASLt beyond the GEMV; bench/fp8.sh)
# fit a tight device budget; FP8_ACC_FLAGS (e.g. --gated-only) goes to
# fp8_check.py. If a W8A8 kernel case fails, the end-to-end runs stage
# W8A8 (LLMC_FP8_SCALED_GEMM=0, the path of earlier measurements) and
# env.txt says so.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
archive=${1:?usage: run-fp8.sh ARCHIVE OUT}
out=${2:?usage: run-fp8.sh ARCHIVE OUT}
mkdir -p "$out"
start=$SECONDS
tar xJf "$archive" -C "$(dirname "$archive")"
d="${archive%.tar.xz}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/env.txt" 2>&1
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' >>"$out/env.txt" 2>&1
read -r t_kernels t_acc <<<"${FP8_TIMEOUTS:-150 200}"
timeout "$t_kernels" "$d/llmc-gpu-kernel-tests" --only=fp8 --bench >"$out/kernels.txt" 2>&1
echo "kernel tests: exit $? at $((SECONDS - start)) s" | tee -a "$out/kernels.txt"
grep -E "FAIL|cases,|exception" "$out/kernels.txt" | head -20
if grep -E "^fp8 linear W8A8.*FAIL" "$out/kernels.txt" >/dev/null; then
  export LLMC_FP8_SCALED_GEMM=0
  echo "a W8A8 kernel case failed: LLMC_FP8_SCALED_GEMM=0 below" | tee -a "$out/env.txt"
fi
# The fp32 residual stream's kernels (--residual=fp32), seconds.
timeout 60 "$d/llmc-gpu-kernel-tests" --only=rmsNorm >"$out/kernels-rmsnorm.txt" 2>&1
echo "rmsNorm kernel tests: exit $? at $((SECONDS - start)) s" |
  tee -a "$out/kernels-rmsnorm.txt"
grep -E "FAIL|cases,|exception" "$out/kernels-rmsnorm.txt" | head -20
timeout 60 "$d/llmc-gpu-kernel-tests" --only=fp8kv >"$out/kernels-fp8kv.txt" 2>&1
echo "FP8 KV cache kernel tests: exit $? at $((SECONDS - start)) s" |
  tee -a "$out/kernels-fp8kv.txt"
grep -E "FAIL|cases,|exception" "$out/kernels-fp8kv.txt" | head -20
# The off-by-default switches' kernels: the wgmma prefill attention, and
# the W8A8 GEMMs under fast accumulation (bounds 2e-2 there: a8Bound).
timeout 90 "$d/llmc-gpu-kernel-tests" --only=wgmmaPrefill \
  >"$out/kernels-wgmma-prefill.txt" 2>&1
echo "wgmma prefill kernel tests: exit $? at $((SECONDS - start)) s" |
  tee -a "$out/kernels-wgmma-prefill.txt"
grep -E "FAIL|cases,|exception" "$out/kernels-wgmma-prefill.txt" | head -20
LLMC_FP8_FAST_ACCUM=1 timeout 120 "$d/llmc-gpu-kernel-tests" --only=fp8 \
  >"$out/kernels-fast-accum.txt" 2>&1
echo "fast-accumulation FP8 kernel tests: exit $? at $((SECONDS - start)) s" |
  tee -a "$out/kernels-fast-accum.txt"
grep -E "FAIL|cases,|exception" "$out/kernels-fast-accum.txt" | head -20
# shellcheck disable=SC2086
timeout "$t_acc" python3 test/gpu/fp8_check.py "$d/acc" "$out" ${FP8_ACC_FLAGS:-} \
  >"$out/accuracy.txt" 2>&1
echo "fp8_check: exit $? at $((SECONDS - start)) s" | tee -a "$out/accuracy.txt"
grep -E "floor|max_rel_diff" "$out/accuracy.txt" | head -30
IFS=';' read -ra groups <<<"${FP8_BENCH:-b1 200 bf16 fp8 fp8-ps fp8 fp8-ps w8a8 fp8-tp2; prefill 200 bf16 bf16-wg w8a8 w8a8-wg w8a8-fa w8a8-wgfa fp8; b64 200 bf16 fp8-staged fp8-dg w8a8 w8a8-fa; b16 100 bf16 fp8 w8a8 w8a8-lt}"
for g in "${groups[@]}"; do
  # shellcheck disable=SC2086
  set -- $g
  (($# >= 3)) || continue
  work=$1 t=$2
  shift 2
  mkdir -p "$out/bench-$work"
  FP8_BENCH_ONLY=$work FP8_BENCH_QUANTS="$*" timeout "$t" \
    bash bench/fp8.sh "$d/bench" "$out/bench-$work" >"$out/bench-$work.txt" 2>&1
  echo "bench $work: exit $? at $((SECONDS - start)) s" | tee -a "$out/bench-$work.txt"
  tail -7 "$out/bench-$work.txt"
done
