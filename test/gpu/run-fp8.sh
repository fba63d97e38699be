#!/usr/bin/env bash
# Runs ON THE GPU MACHINE, from the repository root, every FP8 check of
# issue 19 on what test/gpu/build-fp8.sh archived, most important first
# (a run cut short keeps what finished), writing into OUT:
#   kernels.txt   llmc-gpu-kernel-tests --only=fp8 (and its FP8 vs bf16
#                 projection bench)
#   accuracy.txt, fp8-table.md   test/gpu/fp8_check.py
#   bench.txt, fp8-bench.md      bench/fp8.sh (Llama-3-8B shape)
#   env.txt       GPU and driver
#
#   bash test/gpu/run-fp8.sh .device-carry/fp8.tar.xz "$OUT"
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
archive=${1:?usage: run-fp8.sh ARCHIVE OUT}
out=${2:?usage: run-fp8.sh ARCHIVE OUT}
mkdir -p "$out"
tar xJf "$archive" -C "$(dirname "$archive")"
d="${archive%.tar.xz}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/env.txt" 2>&1
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' >>"$out/env.txt" 2>&1
# Timeouts (seconds) for a tight device budget: FP8_TIMEOUTS="kernels
# accuracy bench".
read -r t_kernels t_acc t_bench <<<"${FP8_TIMEOUTS:-150 200 300}"
timeout "$t_kernels" "$d/llmc-gpu-kernel-tests" --only=fp8 --bench >"$out/kernels.txt" 2>&1
echo "kernel tests: exit $?" | tee -a "$out/kernels.txt"
grep -E "FAIL|cases,|exception" "$out/kernels.txt" | head -20
timeout "$t_acc" python3 test/gpu/fp8_check.py "$d/acc" "$out" >"$out/accuracy.txt" 2>&1
echo "fp8_check: exit $?" | tee -a "$out/accuracy.txt"
tail -15 "$out/accuracy.txt"
FP8_BENCH_ONLY=${FP8_BENCH_ONLY:-b1 b64 prefill} \
  timeout "$t_bench" bash bench/fp8.sh "$d/bench" "$out" >"$out/bench.txt" 2>&1
echo "bench: exit $?" | tee -a "$out/bench.txt"
tail -12 "$out/bench.txt"
