#!/usr/bin/env bash
# Default-generator CI check (issue 14, defect 6). Called by .ci/run after
# the main suite, which builds with Ninja.
#
# Configures llmc exactly as `cmake -S . -B build-make` does (no -G: the
# Unix Makefiles generator) and builds every tablegen output (target
# llmc-tablegen: the dialects' and passes' .inc files and the dialects'
# documentation). Ninja creates the folder of any output it writes; Make
# does not, so an output written outside its CMakeLists folder's binary
# directory fails here first. A full second build is not repeated: it takes
# as long as the Ninja one and exercises nothing else of the generator.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${LLMC_MAKEFILES_BUILD_DIR:-build-make}
start=$(date +%s)
cmake -S . -B "$build" > "$build-configure.log" 2>&1 ||
  { cat "$build-configure.log"; exit 1; }
rm -f "$build-configure.log"
generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build/CMakeCache.txt")
if [ "$generator" != "Unix Makefiles" ]; then
  echo "makefiles: error: $build was configured with '$generator'; remove" \
       "it so that the default generator (Unix Makefiles) is used" >&2
  exit 1
fi
configured=$(date +%s)
cmake --build "$build" --target llmc-tablegen -j2
for doc in LlmDialect DistDialect; do
  [ -s "$build/docs/Dialects/$doc.md" ] ||
    { echo "makefiles: error: $build/docs/Dialects/$doc.md was not generated" >&2; exit 1; }
done
done_at=$(date +%s)
echo "makefiles: configure $((configured - start))s," \
     "tablegen $((done_at - configured))s"
