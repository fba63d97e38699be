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
# llmc-gpu-kernel-tests*: this branch's tests, and a baseline build
# (llmc-gpu-kernel-tests-base, main's kernels) for before/after timings.
for t in "$D"/llmc-gpu-kernel-tests*; do
  [ -x "$t" ] || continue
  n=$(basename "$t")
  timeout "${TESTS_TIMEOUT_S:-150}" "$t" ${TESTS_ARGS:---bench} >"$OUT/$n.txt" 2>&1
  echo "$n rc=$?" >>"$OUT/$n.txt"
done
# Jobs: "SECONDS_NEEDED COMMAND" a line; a job starts only while that many
# seconds remain before DEADLINE_S (from the script's start).
if [ -f "$D/jobs" ]; then
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    need=${line%% *}
    job=${line#* }
    left=$((${DEADLINE_S:-400} - SECONDS))
    if ((left < need)); then
      echo "== skipped ($left s left, needs $need): $job" >>"$OUT/jobs.txt"
      continue
    fi
    echo "== $job" >>"$OUT/jobs.txt"
    timeout "$need" bash -c "$job" >>"$OUT/jobs.txt" 2>&1
    echo "== rc=$? t=${SECONDS}s" >>"$OUT/jobs.txt"
  done <"$D/jobs"
fi
# The probe last: design data, the first thing to go when time runs out.
if [ -x "$D/probe" ] && ((${DEADLINE_S:-400} - SECONDS > ${PROBE_TIMEOUT_S:-60})); then
  timeout "${PROBE_TIMEOUT_S:-60}" "$D/probe" ${PROBE_ARGS:-} >"$OUT/probe.txt" 2>&1
  echo "probe rc=$?" >>"$OUT/probe.txt"
fi
echo "===== summary"
for f in "$OUT"/llmc-gpu-kernel-tests*.txt; do
  [ -f "$f" ] && grep -E "FAIL|passed|failed|rc=|decode (layer )?attention B=(1|8|64) ctx=(192|160)" "$f" | tail -14
done
[ -f "$OUT/probe.txt" ] && grep -vE "^check .* ok$" "$OUT/probe.txt"
[ -f "$OUT/jobs.txt" ] && python3 - "$OUT/jobs.txt" <<'PY'
import json, re, sys
job = None
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("== ") and not line.startswith("== rc="):
        job = line[3:].strip()
        m = re.search(r"(\S+/llm-model|torch_decode.py)\S*.*?--batch=(\d+)", job)
        env = ("STREAM=0 " if "LLMC_STREAM_GEMM=0" in job else "") + \
              ("PDL=0 " if "LLMC_PDL=0" in job else "")
        job = f"{env}{m.group(1).split('/')[-2] if m and 'llm-model' in m.group(1) else 'torch'} b{m.group(2)}" if m else job[:80]
        if line.startswith("== skipped"):
            print("skipped:", line[3:80].strip())
    elif line.startswith("== rc="):
        if not line.startswith("== rc=0"):
            print(job, line.strip())
    elif "bench-json:" in line:
        d = json.loads(line.split("bench-json:", 1)[1])
        print(f"{job:28s} tpot {d.get('tpot_ms')} ttft {d.get('ttft_ms')} "
              f"bw {d.get('decode_bw_ratio')} roof {d.get('tpot_roofline_ratio')} "
              f"warm {d.get('warmup_s')}")
    elif "error" in line.lower():
        print(job, line.strip()[:200])
PY
