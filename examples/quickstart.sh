#!/usr/bin/env bash
# The main job on the embedded example: install what is missing, build,
# import the Llama-3-8B-shaped config, let the planner rank the plans for
# 8 x H100, shard it for tp4 x pp2, then run the tiny example model sharded
# on the CPU reference executor and check it against the unsharded model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh
mkdir -p build/examples
set -x
build/bin/llm-import examples/llama-3-8b -o build/examples/llama-3-8b.mlir
build/bin/llm-plan build/examples/llama-3-8b.mlir --gpus=8 --hardware=h100 \
  --batch=8 --seq-len=2048 --output-len=256
build/bin/llm-opt build/examples/llama-3-8b.mlir --shard=tp4,pp2 \
  -o build/examples/llama-3-8b.tp4pp2.mlir
build/bin/llm-import examples/tiny-llama -o build/examples/tiny-llama.mlir
build/bin/llm-run build/examples/tiny-llama.mlir --shard=tp2,pp2 \
  --weights=random:7 --prompt=1,5,9,42,7,3 --max-new-tokens=8 --check
set +x
echo
echo "== per-rank program: build/examples/llama-3-8b.tp4pp2.mlir"
grep -m1 -o 'dist.plan = #dist.plan<[^>]*>' build/examples/llama-3-8b.tp4pp2.mlir
grep -o 'dist.stage [0-9]* layers \[[0-9]*, [0-9]*)' build/examples/llama-3-8b.tp4pp2.mlir
echo "all-reduces: $(grep -c '= shard.all_reduce' build/examples/llama-3-8b.tp4pp2.mlir)," \
     "all-gathers: $(grep -c '= shard.all_gather' build/examples/llama-3-8b.tp4pp2.mlir)," \
     "stage transfers: $(grep -c '= dist.transfer' build/examples/llama-3-8b.tp4pp2.mlir)"
