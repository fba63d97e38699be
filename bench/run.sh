#!/usr/bin/env bash
# ===- bench/run.sh - the benchmark, on the GPU machine --------------------=== #
#
# Runs ON THE GPU MACHINE from the repository root; builds nothing there:
#
#   bash bench/run.sh CARRY OUT          # CARRY = .device-carry/bench from bench/build.sh
#
# Runs, one process at a time, the jobs of bench/configs.json: our binaries
# (CARRY/tp1/llm-model; CARRY/tp2/llm-model with --emulate-ranks), the
# static-cache PyTorch decode compiled with torch.compile reduce-overhead
# and eager (bench/torch_decode.py), and Hugging Face transformers eager
# (bench/hf_eager.py), each under its own timeout; a failure is recorded
# and the rest go on. Writes to OUT (at most 8 files come back from the
# device tool, so everything is in these):
#   performance.md   the tables (bench/table.py)
#   results.jsonl    one line per job: config, impl, ok, result (the job's
#                    bench-json object) or error
#   logs.txt         every job's output (each cut to its last 400 lines)
#   env.txt          GPU, driver, versions
#   predictions.json llm-plan's predictions (copied from CARRY)
#
# Environment:
#   BENCH_BUDGET_S   seconds for all jobs (default 540: the device tool
#                    stops a command at 600 s); a job that would start with
#                    less than 30 s left is recorded as skipped
#   BENCH_ONLY       globs over CONFIG/IMPL, e.g. "*/ours-* a/torch-compile"
#   BENCH_TIMEOUT_OURS, _TORCH_COMPILE, _TORCH_EAGER, _HF   per-job limits (s)
#   BENCH_OURS_ARGS  auto (default) | new | legacy: how llm-model is given the
#                    workload: new = --batch/--prompt-len/--gen-len; legacy =
#                    an explicit --prompt (random ids) and --max-new-tokens;
#                    auto = new, then legacy if the binary rejects the command
#                    line (exit 2), as a binary from before issue 8's flags does
#   PYTHON           default python3
# ===----------------------------------------------------------------------=== #
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

if (($# < 2)); then
  echo "usage: bash bench/run.sh CARRY OUT" >&2
  exit 2
fi
carry=$(cd "$1" && pwd) || { echo "bench/run.sh: no folder $1 (run bench/build.sh and carry it)" >&2; exit 2; }
mkdir -p "$2" && out=$(cd "$2" && pwd)
py=${PYTHON:-python3}
budget=${BENCH_BUDGET_S:-540}
ours_args=${BENCH_OURS_ARGS:-auto}
t_ours=${BENCH_TIMEOUT_OURS:-150}
t_compile=${BENCH_TIMEOUT_TORCH_COMPILE:-300}
t_eager=${BENCH_TIMEOUT_TORCH_EAGER:-180}
t_hf=${BENCH_TIMEOUT_HF:-240}
start=$(date +%s)
deadline=$((start + budget))

export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
# CUDA, cuBLASLt and NCCL from the toolkit, else from the pip wheels.
wheel_libs=$("$py" - <<'EOF' 2>/dev/null
import importlib, os
dirs = []
for mod in ("nvidia.cublas", "nvidia.cuda_runtime", "nvidia.nccl", "nvidia.cu13"):
    try:
        m = importlib.import_module(mod)
    except Exception:
        continue
    for p in m.__path__:
        if os.path.isdir(os.path.join(p, "lib")):
            dirs.append(os.path.join(p, "lib"))
print(":".join(dirs))
EOF
)
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

logs=$(mktemp -d /tmp/llmc-bench-logs.XXXXXX)
results=$out/results.jsonl
: >"$results"
cp "$carry/predictions.json" "$out/predictions.json" 2>/dev/null || true

{
  echo "date: $(date -u +%FT%TZ)   host: $(hostname)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  "$py" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
  "$py" -c 'import transformers; print("transformers", transformers.__version__)' 2>&1
  "$py" -c 'import triton; print("triton", triton.__version__)' 2>&1
  [[ -f $carry/build-info.json ]] && echo "build: $(tr -d '\n ' <"$carry/build-info.json")"
  for plan in "$carry"/tp*/; do
    missing=$(ldd "$plan/llm-model" 2>&1 | grep 'not found')
    [[ -n $missing ]] && echo "ldd $(basename "$plan")/llm-model: $missing"
  done
} >"$out/env.txt" 2>&1
cat "$out/env.txt"

# prompt ids for the legacy command line: B rows of P ids, ';'-separated
legacy_prompt() {
  "$py" -c '
import random, sys
b, p, v = map(int, sys.argv[1:])
r = random.Random(1)
print(";".join(",".join(str(r.randrange(v)) for _ in range(p)) for _ in range(b)))' "$1" "$2" "$3"
}
vocab=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$carry/model/config.json")

run_job() { # CONFIG IMPL BATCH PROMPT GEN
  local cfg=$1 impl=$2 b=$3 p=$4 g=$5
  local id="$cfg-$impl" log="$logs/$cfg-$impl.log" limit cmd=()
  case $impl in
    ours-tp1 | ours-tp2) limit=$t_ours ;;
    torch-compile) limit=$t_compile ;;
    torch-eager) limit=$t_eager ;;
    hf-eager) limit=$t_hf ;;
    *) echo "bench/run.sh: unknown implementation $impl" >&2; return ;;
  esac
  local now left
  now=$(date +%s)
  left=$((deadline - now))
  if ((left < 30)); then
    "$py" bench/table.py record --config="$cfg" --impl="$impl" \
      --skipped="skipped: the time budget (BENCH_BUDGET_S=$budget) was spent" >>"$results"
    echo "== $id: skipped (time budget)"
    return
  fi
  ((limit > left)) && limit=$left
  local model_args=(--weights=random --bench)
  case $impl in
    ours-tp1) cmd=("$carry/tp1/llm-model") ;;
    ours-tp2) cmd=("$carry/tp2/llm-model" --emulate-ranks) ;;
    torch-compile) cmd=("$py" bench/torch_decode.py --config="$carry/model/config.json" --batch="$b" --prompt-len="$p" --gen-len="$g") ;;
    torch-eager) cmd=("$py" bench/torch_decode.py --eager --config="$carry/model/config.json" --batch="$b" --prompt-len="$p" --gen-len="$g") ;;
    hf-eager) cmd=("$py" bench/hf_eager.py --config="$carry/model" --batch="$b" --prompt-len="$p" --gen-len="$g") ;;
  esac
  local t0 rc
  t0=$(date +%s.%N)
  if [[ $impl == ours-* ]]; then
    local new=("${cmd[@]}" "${model_args[@]}" --batch="$b" --prompt-len="$p" --gen-len="$g")
    if [[ $ours_args == legacy ]]; then
      cmd=("${cmd[@]}" "${model_args[@]}" --prompt="$(legacy_prompt "$b" "$p" "$vocab")" --max-new-tokens="$g")
    else
      cmd=("${new[@]}")
    fi
    timeout -k 15 "$limit" "${cmd[@]}" >"$log" 2>&1
    rc=$?
    if [[ $ours_args == auto && $rc == 2 ]]; then
      echo "bench/run.sh: exit 2 with --batch/--prompt-len/--gen-len; retrying with --prompt/--max-new-tokens" >>"$log"
      cmd=("${cmd[@]:0:${#cmd[@]}-3}" --prompt="$(legacy_prompt "$b" "$p" "$vocab")" --max-new-tokens="$g")
      now=$(date +%s)
      ((limit > deadline - now)) && limit=$((deadline - now))
      ((limit < 30)) && limit=30
      timeout -k 15 "$limit" "${cmd[@]}" >>"$log" 2>&1
      rc=$?
    fi
  else
    timeout -k 15 "$limit" "${cmd[@]}" >"$log" 2>&1
    rc=$?
  fi
  local wall
  wall=$("$py" -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 1))" "$t0")
  # the command as a string, the long legacy prompt shortened
  local shown="${cmd[*]}"
  shown=$(sed -E 's/(--prompt=[0-9,;]{0,40})[0-9,;]*/\1…/' <<<"$shown")
  "$py" bench/table.py record --config="$cfg" --impl="$impl" --rc="$rc" \
    --log="$log" --timeout="$limit" --wall="$wall" --cmd="$shown" >>"$results"
  echo "== $id: exit $rc in ${wall} s: $(tail -n 1 "$results" | "$py" -c '
import json, sys
r = json.loads(sys.stdin.read())
if r.get("ok"):
    x = r["result"]
    print("ttft_ms=%s tpot_ms=%s tokens_per_s=%s" % (x.get("ttft_ms"), x.get("tpot_ms"), x.get("tokens_per_s")))
else:
    print("FAILED:", r.get("error"))')"
}

jobs=$("$py" bench/table.py jobs --only="${BENCH_ONLY:-}") || { echo "bench/run.sh: bench/table.py jobs failed" >&2; exit 1; }
while read -r cfg impl b p g; do
  [[ -n $cfg ]] || continue
  run_job "$cfg" "$impl" "$b" "$p" "$g" </dev/null
done <<<"$jobs"

# One log file (the device tool returns at most 8 files).
for f in "$logs"/*.log; do
  [[ -f $f ]] || continue
  echo "===== $(basename "$f" .log) ====="
  if (($(wc -l <"$f") > 400)); then
    echo "[... $(($(wc -l <"$f") - 400)) earlier lines cut ...]"
  fi
  tail -n 400 "$f" | cut -c1-2000
done >"$out/logs.txt"
rm -rf "$logs"

"$py" bench/table.py table --results "$results" --predictions="$carry/predictions.json" \
  --model-config="$carry/model/config.json" --env="$out/env.txt" -o "$out/performance.md"
echo
cat "$out/performance.md"
echo "bench/run.sh: $(($(date +%s) - start)) s; files in $out:" "$out"/*
