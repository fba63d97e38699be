#!/usr/bin/env bash
# ===- bench/fp8.sh - FP8 against bf16, Llama-3-8B shape, one GPU ---------=== #
#
# Runs ON THE GPU MACHINE from the repository root (issue 19's targets):
#
#   bash bench/fp8.sh CARRY [OUT]   # CARRY = .device-carry/fp8/bench from
#                                   # test/gpu/build-fp8.sh
#
# CARRY/{bf16,fp8,w8a8}/llm-model are one model (test/models/real/
# llama-3-8b.json, tp1, random weights) compiled without --quantize, with
# --quantize=fp8 and with --quantize=w8a8-fp8; CARRY/fp8-tp2 (optional) the
# FP8-weights model under tp2, run at decode batch 1 only (on one GPU its
# ranks are emulated: issue 19's "tp2 within 15% of tp1"). Each runs llm-model --bench
# on the workloads decode batch 1 (prompt 128), decode batch 64 (prompt
# 128) and prefill 2048 (gen 2), one process each, in this order of
# priority; every run measures the device-to-device copy rate itself, so
# "% copy" is the bytes read per decode step (weights in their stored
# dtype, KV cache) over TPOT against the same run's copy bandwidth. Prints
# one table with the FP8/bf16 ratios (>1: faster) and writes it to
# OUT/fp8-bench.md when OUT is given. FP8_BENCH_ONLY="b1 b64" runs a subset of
# the workloads (b4, b8 and b16, decode batch 4, 8 and 16, only when named: the
# decode GEMM's 8- and 16-row tiles), FP8_BENCH_QUANTS="bf16 w8a8" of the
# binaries. Besides the binaries' names, fp8-dg and fp8-staged run CARRY/fp8
# with LLMC_FP8_DECODE_GEMM=1 / =0: the FP8-weight decode GEMM against the
# staged path (batch 64: FP8_BENCH_ONLY=b64 FP8_BENCH_QUANTS="bf16 fp8-staged
# fp8-dg"); w8a8-dg runs CARRY/w8a8 with LLMC_W8A8_GEMV_ROWS=0 (W8A8 at 1-2 rows
# on the e4m3 decode GEMM instead of the GEMV) and w8a8-lt with
# LLMC_W8A8_DECODE_GEMM=0 (every W8A8 projection beyond the GEMV on cuBLASLt's
# E4M3 GEMM: the decode GEMM's end-to-end A/B at b16 and b64); fp8-g4 runs
# CARRY/fp8 with LLMC_FP8_GEMV_ROWS=4 (FP8 weights at 3-4 rows on the GEMV
# instead of the decode GEMM, the cap before 2026-12-07: its A/B at b4).
# The off-by-default switches of 2026-12-08: bf16-wg and w8a8-wg run
# CARRY/bf16 and CARRY/w8a8 with LLMC_WGMMA_PREFILL=1 (the wgmma prefill
# attention), w8a8-fa CARRY/w8a8 with LLMC_FP8_FAST_ACCUM=1 (E4M3 GEMMs and
# the W8A8 decode GEMM summing in the tensor cores), w8a8-wgfa with both,
# fp8-ps CARRY/fp8 with LLMC_FP8_GEMV_PRESCALE=1 (the one-row FP8 GEMV
# reading its weight scales ahead; batch 1);
# after the table, the W8A8 prefill against bf16-wg (the same attention on
# both sides). torch and
# torch-fp8 are the peers of the same run:
# bench/torch_decode.py (static KV cache, decode under torch.compile) on
# the same config in bf16 and with --fp8 (W8A8 through torch._scaled_mm,
# per-channel weight and per-token activation scales); after the table, our
# FP8 binaries against torch-fp8. bf16-r32 and fp8-r32 (CARRY/<q>-r32, from
# FP8_RESIDUAL_F32=1 bash test/gpu/build-fp8.sh: --residual=fp32) are run
# when named in FP8_BENCH_QUANTS.
# ===----------------------------------------------------------------------=== #
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
carry=${1:?usage: bash bench/fp8.sh CARRY [OUT]}
out=${2:-}
only=${FP8_BENCH_ONLY:-b1 b64 prefill}
results=$(mktemp)
declare -A work=([b1]="--batch=1 --prompt-len=128 --gen-len=32"
                 [b4]="--batch=4 --prompt-len=128 --gen-len=16"
                 [b8]="--batch=8 --prompt-len=128 --gen-len=16"
                 [b16]="--batch=16 --prompt-len=128 --gen-len=16"
                 [b64]="--batch=64 --prompt-len=128 --gen-len=16"
                 [prefill]="--batch=1 --prompt-len=2048 --gen-len=2")
for w in $only; do
  for q in ${FP8_BENCH_QUANTS:-bf16 fp8 fp8-dg fp8-staged w8a8 fp8-tp2 torch torch-fp8}; do
    vars=()
    case $q in
      torch | torch-fp8)
        flags=()
        [[ $q == torch-fp8 ]] && flags=(--fp8)
        # shellcheck disable=SC2086
        line=$(timeout 300 python3 bench/torch_decode.py "${flags[@]}" \
                 --config=test/models/real/llama-3-8b.json ${work[$w]} \
                 --warmup=3 --reps=1 2>&1 | grep '^bench-json: ' | tail -1)
        if [[ -z $line ]]; then
          echo "{\"work\": \"$w\", \"quant\": \"$q\", \"error\": true}" >>"$results"
          echo "fp8 bench: $w $q failed" >&2
        else
          echo "{\"work\": \"$w\", \"quant\": \"$q\", \"r\": ${line#bench-json: }}" >>"$results"
          echo "fp8 bench: $w $q ${line#bench-json: }"
        fi
        continue ;;
      fp8-dg) bin="$carry/fp8/llm-model" vars=(LLMC_FP8_DECODE_GEMM=1) ;;
      fp8-staged) bin="$carry/fp8/llm-model" vars=(LLMC_FP8_DECODE_GEMM=0) ;;
      fp8-g4) bin="$carry/fp8/llm-model" vars=(LLMC_FP8_GEMV_ROWS=4) ;;
      w8a8-dg) bin="$carry/w8a8/llm-model" vars=(LLMC_W8A8_GEMV_ROWS=0) ;;
      w8a8-lt) bin="$carry/w8a8/llm-model" vars=(LLMC_W8A8_DECODE_GEMM=0) ;;
      bf16-wg) bin="$carry/bf16/llm-model" vars=(LLMC_WGMMA_PREFILL=1) ;;
      fp8-ps) bin="$carry/fp8/llm-model" vars=(LLMC_FP8_GEMV_PRESCALE=1) ;;
      w8a8-wg) bin="$carry/w8a8/llm-model" vars=(LLMC_WGMMA_PREFILL=1) ;;
      w8a8-fa) bin="$carry/w8a8/llm-model" vars=(LLMC_FP8_FAST_ACCUM=1) ;;
      w8a8-wgfa) bin="$carry/w8a8/llm-model"
                 vars=(LLMC_WGMMA_PREFILL=1 LLMC_FP8_FAST_ACCUM=1) ;;
      *) bin="$carry/$q/llm-model" ;;
    esac
    [[ -x $bin ]] || continue
    # Decode batch 1 never reaches the decode GEMM (the GEMV has 1-8 rows).
    [[ $q == fp8-dg || $q == fp8-staged ]] && [[ $w == b1 ]] && continue
    # tp2 (ranks emulated on one GPU when it is the only one): batch 1 only.
    [[ $q == fp8-tp2 && $w != b1 ]] && continue
    # shellcheck disable=SC2086
    line=$(env "${vars[@]}" timeout 120 "$bin" --weights=random --bench ${work[$w]} 2>&1 |
             grep '^bench-json: ' | tail -1)
    if [[ -z $line ]]; then
      echo "{\"work\": \"$w\", \"quant\": \"$q\", \"error\": true}" >>"$results"
      echo "fp8 bench: $w $q failed" >&2
    else
      echo "{\"work\": \"$w\", \"quant\": \"$q\", \"r\": ${line#bench-json: }}" >>"$results"
      echo "fp8 bench: $w $q ${line#bench-json: }" # kept if a timeout cuts the table
    fi
  done
done
python3 - "$results" "$out" <<'EOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["work"], r["quant"]): r.get("r") for r in rows}
lines = ["| workload | run | TTFT ms | TPOT ms | % copy (same run) | copy GB/s "
         "| prefill TFLOP/s | vs bf16 |", "|---|---|---|---|---|---|---|---|"]
for w in ("b1", "b4", "b8", "b16", "b64", "prefill"):
    base = by.get((w, "bf16"))
    for q in ("bf16", "bf16-r32", "bf16-wg", "fp8", "fp8-ps", "fp8-g4",
              "fp8-r32",
              "fp8-staged", "fp8-dg", "w8a8", "w8a8-dg", "w8a8-lt", "w8a8-wg",
              "w8a8-fa", "w8a8-wgfa", "fp8-tp2", "torch", "torch-fp8"):
        if (w, q) not in by:
            continue
        r = by[(w, q)]
        if r is None:
            lines.append(f"| {w} | {q} | error | | | | | |")
            continue
        key = "ttft_ms" if w == "prefill" else "tpot_ms"
        ratio = (f"{base[key] / r[key]:.2f}x" if base and r.get(key) else "-")
        lines.append(
            f"| {w} | {q} | {r['ttft_ms']:.2f} | {r['tpot_ms']:.3f} | "
            f"{100 * r.get('decode_bw_ratio', float('nan')):.1f}% | "
            f"{r.get('copy_gb_s', float('nan')):.0f} | "
            f"{r.get('prefill_tflops', float('nan')):.0f} | {ratio} |")
# With the wgmma prefill attention on both sides (>1: W8A8 faster).
wg = by.get(("prefill", "bf16-wg"))
if wg:
    vs = [f"{q} {wg['ttft_ms'] / by[('prefill', q)]['ttft_ms']:.2f}x"
          for q in ("w8a8-wg", "w8a8-wgfa") if by.get(("prefill", q))]
    lines.append("\nprefill vs bf16-wg (ttft_ms): " + ", ".join(vs))
# Our FP8 binaries against the torch FP8 peer (>1: ours faster).
for w in ("b1", "b4", "b8", "b16", "b64", "prefill"):
    peer = by.get((w, "torch-fp8"))
    if not peer:
        continue
    key = "ttft_ms" if w == "prefill" else "tpot_ms"
    vs = [f"{q} {peer[key] / by[(w, q)][key]:.2f}x"
          for q in ("fp8", "fp8-dg", "w8a8") if by.get((w, q))]
    lines.append(f"\n{w}: ours vs torch-fp8 ({key}): " + ", ".join(vs))
table = "\n".join(lines)
print(table)
if sys.argv[2]:
    open(os.path.join(sys.argv[2], "fp8-bench.md"), "w").write(table + "\n")
EOF
rm -f "$results"
