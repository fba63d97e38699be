#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), configures and builds llmc
# into build/. Sourced by examples/quickstart.sh and test/run-all.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(cmake g++ ninja-build python3 libmlir-22-dev mlir-22-tools llvm-22-dev
          llvm-22-tools nlohmann-json3-dev libzstd-dev libgtest-dev
          libcpp-httplib-dev
          python3-numpy             # test/gpu/fp8_cpu_check_test.py
          libpcre2-dev libicu-dev   # runtime/text: split regexes, NFC
          clang-22 libclang-rt-22-dev)  # the last two: .ci/sanitizers.sh
# node and npm fetch and run the reference tokenizers of test/text; a
# machine with its own node (e.g. NodeSource's, which bundles npm) keeps it.
if ! command -v npm > /dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build-configure.log 2>&1 ||
  { cat build-configure.log; exit 1; }
rm -f build-configure.log
cmake --build build -j2
