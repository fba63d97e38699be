#!/usr/bin/env bash
# Builds (on the CPU machine) the binaries test/gpu/hf_check.py compares with
# Hugging Face on a GPU machine, into OUT (default .device-carry/e2e, which
# git ignores and the device tool can carry):
#   OUT/<model>/config.json, OUT/<model>/<plan>/{llm-model,manifest.json}
# plus OUT/big/<plan>/ for the 8B-shaped run to completion, and OUT.tar.xz
# of all of it: the binaries share most of their bytes (the runtime), so
# the archive is ~2 MB where the folder is ~70 MB, above the device tool's
# 64 MiB carry limit. Carry the archive and unpack it there:
#   tar xJf .device-carry/e2e.tar.xz -C .device-carry
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=${1:-.device-carry/e2e}
bin=build/bin
rm -rf "$out" && mkdir -p "$out"
build() { # model config plan...
  local model=$1 config=$2; shift 2
  mkdir -p "$out/$model"
  cp "$config" "$out/$model/config.json"
  "$bin/llm-import" "$config" -o "$out/$model/model.mlir"
  for plan in "$@"; do
    local dir="$out/$model/${plan//,/-}"
    "$bin/llm-compile" "$out/$model/model.mlir" --shard="$plan" --target=h100 \
      --max-batch=8 --max-seq=256 -o "$dir"
    rm -rf "$dir/src"
  done
  rm "$out/$model/model.mlir"
}
build small-llama3 test/models/small/small-llama3.json tp1 tp2 pp2 tp2,pp2
build small-qwen2 test/models/small/small-qwen2.json tp1 tp2 pp2 tp2,pp2
build small-mixtral test/models/small/small-mixtral.json tp1 ep2 tp2 ep2,tp2 \
  ep8 tp2,ep4
# 16 query / 8 kv heads of 64: the tensor-parallel degrees of 4 and 8
# (issue 9's plans, emulated on one GPU).
build small-llama3-kv8 test/models/small/small-llama3-kv8.json tp1 tp4 tp8 \
  tp4,pp2
# 8B-shaped, random weights: runs to completion (not compared; bench/ runs
# the same shape with figures).
mkdir -p "$out/big"
"$bin/llm-import" test/models/real/llama-3-8b.json -o "$out/big/model.mlir"
for plan in tp1 tp2; do
  "$bin/llm-compile" "$out/big/model.mlir" --shard=$plan --target=h100 \
    --max-batch=1 --max-seq=512 -o "$out/big/${plan}"
  rm -rf "$out/big/${plan}/src"
done
rm "$out/big/model.mlir"
du -sh "$out"
tar cJf "$out.tar.xz" -C "$(dirname "$out")" "$(basename "$out")"
ls -la "$out.tar.xz"
