#!/usr/bin/env bash
# The main job on the embedded example: install what is missing, build,
# import the Llama-3-8B-shaped config and shard it for 8 GPUs (tp4, pp2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh
mkdir -p build/examples
set -x
build/bin/llm-import examples/llama-3-8b -o build/examples/llama-3-8b.mlir
build/bin/llm-opt build/examples/llama-3-8b.mlir --shard=tp4,pp2 \
  -o build/examples/llama-3-8b.tp4pp2.mlir
set +x
echo
echo "== per-rank program: build/examples/llama-3-8b.tp4pp2.mlir"
grep -m1 -o 'shard.grid @grid(shape = [0-9x]*) {dist.axes = [^}]*}' build/examples/llama-3-8b.tp4pp2.mlir
grep -o 'dist.stage [0-9]* layers \[[0-9]*, [0-9]*)' build/examples/llama-3-8b.tp4pp2.mlir
echo "all-reduces: $(grep -c '= shard.all_reduce' build/examples/llama-3-8b.tp4pp2.mlir)," \
     "all-gathers: $(grep -c '= shard.all_gather' build/examples/llama-3-8b.tp4pp2.mlir)," \
     "stage transfers: $(grep -c '= dist.transfer' build/examples/llama-3-8b.tp4pp2.mlir)"
