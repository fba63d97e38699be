#!/bin/bash
# ===- bench/decode_gemm_device.sh - decode GEMM: tests, bench, e2e A/B -=== #
#
# Runs in a carry directory on the GPU machine holding llmc-gpu-kernel-tests,
# lib/ (the Debian shared libraries llm-model needs), 8b/ and 1b/ (llm-model
# + manifest.json of `llm-compile --shard=tp1 --target=h100 --max-batch=128
# --max-seq=256 --max-tokens-per-step=16384`), torch_decode.py and
# 8b-config.json (test/models/real/llama-3-8b.json). Prints the decode GEMM
# kernel tests and bench (optionally again at STAGES2 ring stages), the
# linear tests, `llm-model --bench` TPOT with LLMC_DECODE_GEMM=0 (main's
# kernels) and =8 for each RUNS entry (shape:batch), and with TORCH=1
# torch.compile at 8B batch 64 if DEADLINE leaves 70 s.
#   bash decode_gemm_device.sh OUTDIR
# ===----------------------------------------------------------------------=== #
OUT=${1:-/tmp/out}; mkdir -p "$OUT"
export LD_LIBRARY_PATH=$PWD/lib:$LD_LIBRARY_PATH
T0=$(date +%s)
el() { echo "[t+$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
timeout ${TB_TIMEOUT:-75} ./llmc-gpu-kernel-tests --only=decodeGemm --bench > "$OUT/decodegemm.txt" 2>&1
rc=$?; el "decodeGemm rc=$rc"
grep -E "FAIL|cases|projection|^[0-9a-z]+ (qkv|o|gate|down|lm_head)" "$OUT/decodegemm.txt" | head -120
HANG=0; [ $rc = 124 ] && HANG=1
if [ $HANG = 0 ]; then
  timeout 40 ./llmc-gpu-kernel-tests --only=linear > "$OUT/linear.txt" 2>&1
  el "linear rc=$?"; grep -E "FAIL|cases" "$OUT/linear.txt" | head -30
  if [ -n "$STAGES2" ]; then
    LLMC_DECODE_GEMM_STAGES=$STAGES2 timeout 60 ./llmc-gpu-kernel-tests --only=decodeGemm --bench > "$OUT/decodegemm-st$STAGES2.txt" 2>&1
    el "stages=$STAGES2 rc=$?"; grep -E "FAIL|cases|^[0-9a-z]+ (qkv|o|gate|down|lm_head)" "$OUT/decodegemm-st$STAGES2.txt" | head -80
  fi
fi
for mb in ${RUNS:-8b:8 8b:64}; do
  m=${mb%%:*}; b=${mb#*:}
  for mode in 0 8; do
    [ $mode = 8 ] && [ $HANG = 1 ] && continue
    LLMC_DECODE_GEMM=$mode timeout 40 ./$m/llm-model --weights=random --bench --batch=$b --prompt-len=128 --gen-len=32 > "$OUT/e2e.txt" 2>&1
    echo "e2e $m b$b LLMC_DECODE_GEMM=$mode rc=$? $(grep bench-json "$OUT/e2e.txt" | python3 -c 'import sys,json; d=json.loads(sys.stdin.read().split(":",1)[1]); print("tpot_ms=%.3f roofline=%.3f" % (d.get("tpot_ms"), d.get("tpot_roofline_ratio") or 0))' 2>&1)"
  done
done
el e2e done
if [ -n "$TORCH" ]; then
  left=$(( ${DEADLINE:-165} - ($(date +%s) - T0) ))
  if [ $left -gt 70 ]; then
    timeout $(( left - 5 )) python3 torch_decode.py --config=8b-config.json --batch=64 --prompt-len=128 --gen-len=32 --warmup=3 --reps=1 > "$OUT/torch.txt" 2>&1
    el "torch rc=$?"; tail -5 "$OUT/torch.txt"
  else el "torch skipped (left $left s)"; fi
fi
el end
