#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (lit + unit +
# reference equivalence) with ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh
cd build
ctest --output-on-failure -j2
