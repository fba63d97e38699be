#!/bin/sh
#===- prepare_hf_check.sh - inputs for hf_compare.py ------------------------===#
#
# prepare_hf_check.sh BUILD_DIR OUT_DIR
#
# For every tiny model: an F32 random-weight checkpoint (llm-checkpoint, seed
# 7), the prompts, and llm-run's greedy tokens and per-step logits read from
# that checkpoint. Copy OUT_DIR to a machine with torch and transformers and
# run `hf_compare.py OUT_DIR` there.
#
#===------------------------------------------------------------------------===#
set -eu
build=$1
out=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
prompt='3,14,15,92,65,35,89,79,32,38,46,26,43,38,32,79,50,28,84,197,169,39;27,18,28,18,28,45,90,45,23,53,60,28,74,71,35,26,62,49,77,57,72,47'
for m in tiny-llama3 tiny-llama2 tiny-mistral tiny-qwen2 tiny-mixtral tiny-qwen2-moe; do
  rm -rf "$out/$m"
  mkdir -p "$out/$m"
  "$build/bin/llm-checkpoint" "$src/test/models/tiny/$m.json" -o "$out/$m/ckpt" --seed=7 --dtype=F32
  "$build/bin/llm-import" "$src/test/models/tiny/$m.json" -o "$out/$m/model.mlir"
  "$build/bin/llm-run" "$out/$m/model.mlir" --weights="$out/$m/ckpt" --prompt="$prompt" --max-new-tokens=8 --print-logits > "$out/$m/run.txt"
  echo "$prompt" > "$out/$m/prompt.txt"
done
