#!/usr/bin/env bash
#===- bench/kernels/device.sh - one device call: checks, probes, bench ----===#
#
# Runs from the repository root on the GPU machine with the prebuilt
# binaries in $1 (default .device-carry/kernels): the kernel tests (every
# kernel against a CPU reference, poisoned outputs), the decode GEMM probe
# (cuBLASLt candidates and StreamGemm per shape and batch, the PDL chain),
# then whatever `jobs` file $1/jobs lists (one shell command a line, e.g.
# a bench/run.sh invocation). Logs go to $OUT; a compact summary is printed
# last.
#
#===----------------------------------------------------------------------===#
set -uo pipefail
D=${1:-.device-carry/kernels}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version \
  --format=csv | tee "$OUT/env.txt"
if [ -x "$D/probe" ]; then
  timeout "${PROBE_TIMEOUT_S:-150}" "$D/probe" ${PROBE_ARGS:-} >"$OUT/probe.txt" 2>&1
  echo "probe rc=$?" >>"$OUT/probe.txt"
fi
# llmc-gpu-kernel-tests*: this branch's tests, and a baseline build
# (llmc-gpu-kernel-tests-base, main's kernels) for before/after timings.
for t in "$D"/llmc-gpu-kernel-tests*; do
  [ -x "$t" ] || continue
  n=$(basename "$t")
  timeout "${TESTS_TIMEOUT_S:-150}" "$t" ${TESTS_ARGS:---bench} >"$OUT/$n.txt" 2>&1
  echo "$n rc=$?" >>"$OUT/$n.txt"
done
if [ -f "$D/jobs" ]; then
  while IFS= read -r job; do
    [ -z "$job" ] && continue
    echo "== $job" >>"$OUT/jobs.txt"
    bash -c "$job" >>"$OUT/jobs.txt" 2>&1
    echo "== rc=$?" >>"$OUT/jobs.txt"
  done <"$D/jobs"
fi
echo "===== summary"
for f in "$OUT"/llmc-gpu-kernel-tests*.txt; do
  [ -f "$f" ] && grep -E "FAIL|passed|failed|rc=|decode (layer )?attention B=(1|8|64) ctx=(192|160)" "$f" | tail -14
done
[ -f "$OUT/probe.txt" ] && grep -vE "^check .* ok$" "$OUT/probe.txt"
[ -f "$OUT/jobs.txt" ] && grep -E "^==|bench-json|error" "$OUT/jobs.txt" | cut -c1-400
