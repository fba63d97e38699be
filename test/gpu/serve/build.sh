#!/usr/bin/env bash
# Builds (on the CPU machine, from the repo root, after `cmake --build build`)
# the binaries test/gpu/serve/check_serve.py runs on a GPU machine, into OUT
# (default .device-carry/serve, which git ignores and the device tool can
# carry): small Llama-3 under tp1, tp2, pp2 and dp2 and small Mixtral under
# tp1 and ep2 (max-batch 8, max-seq 256)
# and the Llama-3-8B shape under tp1 (max-batch 64, max-seq 2048 so the
# 1,000-token shared prefix fits, 32768 tokens per step: a 64 x 512 static
# prefill fits). The runtime is shared,
# so OUT.tar.xz is small; carry it and unpack it there:
#   tar xJf .device-carry/serve.tar.xz -C .device-carry
#   python3 test/gpu/serve/check_serve.py .device-carry/serve
# The binaries link Debian's libcpp-httplib, ICU and PCRE2; a GPU machine without them needs
# the copies in OUT/lib (LD_LIBRARY_PATH=OUT/lib).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
out=${1:-.device-carry/serve}
bin=build/bin
rm -rf "$out" && mkdir -p "$out/lib"
"$bin/llm-import" test/models/small/small-llama3.json -o "$out/small.mlir"
for plan in tp1 tp2 pp2 dp2; do
  "$bin/llm-compile" "$out/small.mlir" --shard=$plan --target=h100 \
    --max-batch=8 --max-seq=256 -o "$out/small-$plan"
  rm -rf "$out/small-$plan/src"
done
"$bin/llm-import" test/models/small/small-mixtral.json -o "$out/mixtral.mlir"
for plan in tp1 ep2; do
  "$bin/llm-compile" "$out/mixtral.mlir" --shard=$plan --target=h100 \
    --max-batch=8 --max-seq=256 -o "$out/mixtral-$plan"
  rm -rf "$out/mixtral-$plan/src"
done
"$bin/llm-import" test/models/real/llama-3-8b.json -o "$out/big.mlir"
"$bin/llm-compile" "$out/big.mlir" --shard=tp1 --target=h100 --max-batch=64 \
  --max-seq=2048 --max-tokens-per-step=32768 -o "$out/big-tp1"
rm -rf "$out/big-tp1/src" "$out/big.mlir"
for lib in $(ldd "$out/small-tp1/llm-model" |
             awk '/libcpp-httplib|libbrotli|libicu|libpcre2/ {print $3}'); do
  cp -L "$lib" "$out/lib/"
done
du -sh "$out"
tar cJf "$out.tar.xz" -C "$(dirname "$out")" "$(basename "$out")"
ls -la "$out.tar.xz"
