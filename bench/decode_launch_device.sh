#!/bin/bash
# ===- bench/decode_launch_device.sh - PDL decode: tests, A/B, matrix rows -=== #
#
# One device call for issue 18 item 2 (launch-bound decode), in priority
# order under a time budget: the kernel tests of the PDL decode chain; the
# ~1B binary's tokens with CUDA graphs + PDL, eagerly (--no-cuda-graphs)
# and with LLMC_PDL=0 (must be identical); bench/matrix.py's 1b/ours rows;
# the same binary with LLMC_PDL=0 at batch 1 and 8 (the A/B of this
# change); 8b/ours and its batch-1 A/B; one torch.compile job if the budget
# still allows it.
#
#   bash bench/decode_launch_device.sh CARRY OUT [BUDGET_S]
#
# CARRY holds payload.tar.xz (llmc-gpu-kernel-tests, lib/ with the Debian
# shared libraries llm-model needs, matrix/ from `matrix.py build`); run
# from the repository root (matrix.py runs bench/torch_decode.py from there).
# ===----------------------------------------------------------------------=== #
set -u
CARRY=$1
OUT=$2
BUDGET=${3:-100}
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }

tar -C "$CARRY" -xJf "$CARRY/payload.tar.xz"
export LD_LIBRARY_PATH="$CARRY/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm \
  --format=csv,noheader | tee "$OUT/device.txt"

# Kernel tests: the PDL chain at every projection path, then the graph test.
for only in decodeLaunch errors+graphs; do
  timeout 30 "$CARRY/llmc-gpu-kernel-tests" --quick --only=$only \
    > "$OUT/tests-$only.txt" 2>&1
  echo "tests $only: rc=$? $(grep -E 'cases, [0-9]+ failed' "$OUT/tests-$only.txt")"
done
grep -hE "^decode PDL|^CUDA graph" "$OUT"/tests-*.txt | cut -c1-200

# Greedy tokens: graph + PDL, eager + PDL, graph without PDL.
M1="$CARRY/matrix/1b/decode/llm-model"
tok() { # the generated ids (--prompt-len needs --bench)
  timeout 20 "$@" --weights=random --bench --prompt-len=64 --gen-len=16 2>&1 |
    grep '^tokens:' | md5sum | cut -c1-12
}
for b in 1 8; do
  g=$(tok "$M1" --batch=$b)
  e=$(tok "$M1" --batch=$b --no-cuda-graphs)
  n=$(LLMC_PDL=0 tok "$M1" --batch=$b)
  echo "tokens 1b b$b: graph+pdl $g eager+pdl $e graph-nopdl $n" \
    "$([ "$g" = "$e" ] && [ "$g" = "$n" ] && echo SAME || echo DIFFER)" |
    tee -a "$OUT/tokens.txt"
done

ab() { # shape batch: the decode bench with PDL off
  local r
  r=$(LLMC_PDL=0 timeout 40 "$CARRY/matrix/$1/decode/llm-model" \
    --weights=random --bench --batch=$2 --prompt-len=128 --gen-len=32 2>&1 |
    grep '^bench-json:')
  echo "ab $1 b$2 LLMC_PDL=0 $r" | tee -a "$OUT/ab.txt"
}
mx() { # jobs
  python3 bench/matrix.py run --dir "$CARRY/matrix" --out "$OUT" --jobs "$1" \
    --budget "$(left)" 2>&1 | grep -v '^|' | tail -12
}
mx 1b/ours
[ "$(left)" -gt 20 ] && ab 1b 1
[ "$(left)" -gt 20 ] && ab 1b 8
[ "$(left)" -gt 40 ] && mx 8b/ours
[ "$(left)" -gt 20 ] && ab 8b 1
[ "$(left)" -gt 80 ] && mx 1b/torch-b1
python3 bench/matrix.py table "$OUT/results.jsonl"
echo "done in $(($(date +%s) - START)) s"
