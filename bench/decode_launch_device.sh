#!/bin/bash
# ===- bench/decode_launch_device.sh - PDL decode: tests, A/B, matrix rows -=== #
#
# One device call for issue 18 item 2 (launch-bound decode): the kernel
# tests of the PDL decode chain, an A/B of programmatic dependent launch
# (LLMC_PDL=0 against the plan's default) on the ~1B and 8B shapes, and
# bench/matrix.py's rows for 1b/ours and 8b/ours (plus one torch.compile job
# when the budget still allows it).
#
#   bash bench/decode_launch_device.sh CARRY OUT [BUDGET_S]
#
# CARRY holds payload.tar.xz (llmc-gpu-kernel-tests, lib/ with the Debian
# shared libraries llm-model needs, matrix/ from `matrix.py build`); run from
# the repository root (matrix.py runs bench/torch_decode.py from there).
# ===----------------------------------------------------------------------=== #
set -u
CARRY=$1
OUT=$2
BUDGET=${3:-120}
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }

tar -C "$CARRY" -xJf "$CARRY/payload.tar.xz"
export LD_LIBRARY_PATH="$CARRY/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm \
  --format=csv,noheader | tee "$OUT/device.txt"

# Kernel tests: the PDL chain at every projection path, the graph test,
# the projections.
for only in decodeLaunch errors+graphs linear; do
  timeout 40 "$CARRY/llmc-gpu-kernel-tests" --quick --only=$only \
    > "$OUT/tests-$only.txt" 2>&1
  echo "tests $only: rc=$? $(grep -E 'cases, [0-9]+ failed' "$OUT/tests-$only.txt")"
done
grep -E "decode PDL|CUDA graph" "$OUT"/tests-*.txt

# A/B: the same binaries with programmatic dependent launch off.
for job in "1b 1" "1b 8" "8b 1"; do
  set -- $job
  [ "$(left)" -lt 60 ] && break
  for pdl in 0 1; do
    r=$(LLMC_PDL=$pdl timeout 40 "$CARRY/matrix/$1/decode/llm-model" \
      --weights=random --bench --batch=$2 --prompt-len=128 --gen-len=32 2>&1 |
      grep '^bench-json:')
    echo "ab $1 b$2 LLMC_PDL=$pdl $r" | tee -a "$OUT/ab.txt"
  done
done

# The matrix rows (results.jsonl + table in OUT).
jobs=1b/ours,8b/ours
[ "$(left)" -gt 150 ] && jobs=$jobs,1b/torch-b1
python3 bench/matrix.py run --dir "$CARRY/matrix" --out "$OUT" --jobs $jobs \
  --budget "$(left)" 2>&1 | tail -30
echo "done in $(($(date +%s) - START)) s"
