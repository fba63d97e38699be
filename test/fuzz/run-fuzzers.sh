#!/usr/bin/env bash
# Fuzzes every llmc libFuzzer target for a bounded time.
#
#   test/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET] [OUT_DIR]
#
# BUILD_DIR was configured with -DLLMC_BUILD_FUZZERS=ON (see
# .ci/sanitizers.sh). Each target starts from its seed corpus in
# test/fuzz/corpus/<target> (read only; new inputs go to OUT_DIR) and runs
# for SECONDS_PER_TARGET (default 60), as many targets at once as there are
# cores. Any crash, leak, sanitizer report, timeout (30 s per input) or
# out-of-memory (2 GiB) fails the run; the input is left in
# OUT_DIR/artifacts/<target>/ -- add it to test/fuzz/regressions/<target>/
# with the fix (README.md). Prints executions per target.
# LLMC_FUZZ_JOBS sets how many run at once (default: the core count).
set -uo pipefail
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS] [OUT_DIR]}
build=$(cd "$build" && pwd) || exit 2
seconds=${2:-60}
out=${3:-$(mktemp -d "${TMPDIR:-/tmp}/llmc-fuzz.XXXXXX")}
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 2
jobs=${LLMC_FUZZ_JOBS:-$(nproc)}

# target:max_len:dictionary
targets=(
  shard-spec:256:shard-spec.dict
  config:8192:config.dict
  safetensors:8192:safetensors.dict
  safetensors-index:16384:safetensors.dict
  manifest:16384:manifest.dict
  dialect:16384:mlir.dict
  step-plan:4096:step-plan.dict
  api-request:4096:api-request.dict
)

# LLMC_FUZZ_TARGETS="config dialect" runs only those.
if [ -n "${LLMC_FUZZ_TARGETS:-}" ]; then
  selected=()
  for t in "${targets[@]}"; do
    [[ " $LLMC_FUZZ_TARGETS " == *" ${t%%:*} "* ]] && selected+=("$t")
  done
  targets=("${selected[@]}")
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local name=${1%%:*} rest=${1#*:}
  local maxlen=${rest%%:*} dict=${rest#*:}
  local bin=$build/bin/llmc-fuzz-$name
  if [ ! -x "$bin" ]; then
    echo "fuzz $name: MISSING ($bin not built)" > "$out/$name.result"
    return
  fi
  mkdir -p "$out/corpus/$name" "$out/artifacts/$name"
  local seeds=("$fuzz_dir/corpus/$name")
  [ -d "$fuzz_dir/regressions/$name" ] && seeds+=("$fuzz_dir/regressions/$name")
  "$bin" "$out/corpus/$name" "${seeds[@]}" \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -max_len="$maxlen" -dict="$fuzz_dir/dicts/$dict" -use_value_profile=1 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$name/" \
    > "$out/$name.log" 2>&1
  local rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
  if [ $rc -eq 0 ]; then
    echo "fuzz $name: ok, ${execs:-?} executions in ${seconds}s" > "$out/$name.result"
  else
    echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions; log $out/$name.log" > "$out/$name.result"
  fi
}
export -f run_one
export build seconds out fuzz_dir

start=$(date +%s)
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
status=0
for t in "${targets[@]}"; do
  name=${t%%:*}
  cat "$out/$name.result"
  if ! grep -q ': ok,' "$out/$name.result"; then
    status=1
    [ -f "$out/$name.log" ] && grep -E -A30 'ERROR|runtime error|fuzz invariant|SUMMARY|Test unit written' "$out/$name.log" | head -60
    ls "$out/artifacts/$name" 2>/dev/null
  fi
done
echo "fuzzing took $(( $(date +%s) - start ))s; results in $out"
exit $status
