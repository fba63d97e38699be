#!/usr/bin/env bash
# Sanitizer and fuzzing CI job (issue 10). Called by test/run-all.sh after
# the main suite; needs what .ci/setup.sh installs (clang-22 and
# libclang-rt-22-dev for ASan, UBSan and libFuzzer).
#
# 1. Builds llmc into build-asan/ with clang-22 under AddressSanitizer and
#    UndefinedBehaviorSanitizer (-DLLMC_SANITIZE=address,undefined; every
#    report aborts: -fno-sanitize-recover=all) plus the libFuzzer targets
#    (-DLLMC_BUILD_FUZZERS=ON). CUDA is off: this job checks the CPU code.
# 2. Runs the whole CPU test suite there with ctest -- every lit test, the
#    unit tests, the reference equivalence of every sharded plan, and a
#    replay of every fuzz seed and saved crash input -- not a subset: it
#    takes about a minute on 2 cores. LeakSanitizer is on.
# 3. Fuzzes each target for LLMC_FUZZ_SECONDS (default 60) seconds, two at
#    a time on 2 cores; any crash, leak, sanitizer report, timeout or
#    out-of-memory fails the job (test/fuzz/README.md: reproducing and
#    triage).
# About 9 minutes on a 2-core machine (build 4.4, ctest 1.1, fuzzing 3.1),
# plus the apt install of clang-22 and libclang-rt-22-dev.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${LLMC_SANITIZER_BUILD_DIR:-build-asan}
start=$(date +%s)

symbolizer=/usr/lib/llvm-22/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer \
                               UBSAN_SYMBOLIZER_PATH=$symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLMC_ENABLE_CUDA=OFF -DLLMC_SANITIZE=address,undefined \
  -DLLMC_BUILD_FUZZERS=ON > "$build-configure.log" 2>&1 ||
  { cat "$build-configure.log"; exit 1; }
rm -f "$build-configure.log"
cmake --build "$build" -j2
built=$(date +%s)

(cd "$build" && ctest --output-on-failure -j2)
tested=$(date +%s)

bash test/fuzz/run-fuzzers.sh "$build" "${LLMC_FUZZ_SECONDS:-60}" \
  "$build/fuzz-run"
done_at=$(date +%s)
echo "sanitizers: build $((built - start))s, ctest $((tested - built))s," \
     "fuzzing $((done_at - tested))s"
