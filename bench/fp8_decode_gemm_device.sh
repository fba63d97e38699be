#!/usr/bin/env bash
# ===- bench/fp8_decode_gemm_device.sh - FP8 decode GEMM: tests, bench -=== #
#
# Runs ON THE GPU MACHINE from the repository root with a prebuilt
# llmc-gpu-kernel-tests (cmake --build build --target llmc-gpu-kernel-tests):
#
#   bash bench/fp8_decode_gemm_device.sh [BIN] [OUT]
#
# BIN defaults to build/bin/llmc-gpu-kernel-tests, OUT to /tmp/out. In order
# of priority, with timeouts totalling 140 s:
#   fp8.txt         --only=fp8: the FP8 projections, and the decode GEMM's
#                   E4M3 instantiation forced on (Fp8DecodeGemmTests.cpp:
#                   8B shapes at 9..128 rows, odd shapes, per-channel and
#                   per-tensor scales, biases, fp32 out, dispatch, split-K
#                   bit-identity); needs no LLMC_FP8_DECODE_GEMM
#   decodegemm.txt  --only=decodeGemm --quick: the bf16 instantiation still
#                   passes (the kernel template is shared)
#   bench.txt       --only=fp8 --bench: the tests again, then the table
#                   "FP8 decode GEMM (W8A16) vs the staged path, bf16 decode
#                   GEMM and bf16 cuBLASLt" (8B shapes, 16/64/128 rows, GB/s
#                   of weight bytes and % of the copy rate of the same run),
#                   then the older FP8 projection bench (cut by the timeout
#                   if need be: the table above prints first)
# ===----------------------------------------------------------------------=== #
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
bin=${1:-build/bin/llmc-gpu-kernel-tests}
out=${2:-/tmp/out}
mkdir -p "$out"
start=$SECONDS
el() { echo "[t+$((SECONDS - start))s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm \
  --format=csv,noheader 2>&1 | tee "$out/env.txt"
unset LLMC_FP8_DECODE_GEMM LLMC_DECODE_GEMM
timeout 45 "$bin" --only=fp8 >"$out/fp8.txt" 2>&1
rc=$?
el "fp8 tests rc=$rc"
grep -E "FAIL|cases,|exception|CUDA context" "$out/fp8.txt" | head -40
echo "fp8 decodeGemm rows passed: $(grep -cE '^fp8 decodeGemm.*PASS' \
  "$out/fp8.txt")"
# A hang or a lost context: the bench would only repeat it.
[[ $rc == 124 ]] && { el "fp8 tests timed out: stopping"; exit 1; }
timeout 35 "$bin" --only=decodeGemm --quick >"$out/decodegemm.txt" 2>&1
el "decodeGemm (bf16) rc=$?"
grep -E "FAIL|cases,|exception" "$out/decodegemm.txt" | head -20
timeout 60 "$bin" --only=fp8 --bench >"$out/bench.txt" 2>&1
el "bench rc=$? (124: cut after the tables it printed)"
sed -n '/^FP8 decode GEMM/,/^$/p' "$out/bench.txt"
grep -E "^D2D" "$out/bench.txt"
el end
