#!/usr/bin/env bash
# Builds (on the CPU machine, from the repo root, after `cmake --build build
# --target llm-import llm-compile llm-tokenize` and the text tests' npm fetch,
# `ctest -R text-reference-fetch`) what test/gpu/text/generate_check.py runs
# on a GPU machine, as OUT/payload.tar.xz plus OUT/run.sh (OUT default
# .device-carry/text-gpu; git ignores .device-carry and the device tool can
# carry it; the archive keeps ICU's 30 MB of data small). The payload:
#   OUT/model/       llm-compile output of test/gpu/text/llama3-small.json (a
#                    Llama-3 shape with the real 128256-token vocabulary, 2
#                    layers of width 256) compiled with --tokenizer=the real
#                    Llama-3.1 tokenizer files, so tokenizer.json,
#                    tokenizer_config.json (chat template) sit beside llm-model;
#                    config.json for transformers
#   OUT/bin/llm-tokenize   the tokenizer tool; OUT/llmc-ids.json, its ids of
#                    generate_check.py's prompts, made here (the tool needs
#                    libLLVM, which the GPU machine lacks)
#   OUT/lib/         Debian's cpp-httplib/brotli/ICU/PCRE2 shared libraries the
#                    binaries link (the GPU machine lacks some of them)
#   OUT/*.py         generate_check.py, test/gpu/hf_check.py (its
#                    checkpoint maker) and logit_metrics.py (the near-tie
#                    rule hf_check.py imports),
#                    test/gpu/serve/check_serve.py (its server start) and
#                    bench/serve_load.py (its SSE reader)
# The weights are made on the GPU machine (transformers, hf_check.py's
# make_checkpoint): a 128256 x 256 embedding and head are 130 MB of bf16 that
# would not fit the carry. Then, on the GPU machine:
#   bash OUT/run.sh RESULTS_DIR     (unpacks, then runs generate_check.py)
# TOKDIR (default build/test/text/reference/llama3_1) picks the tokenizer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
out=${1:-.device-carry/text-gpu}
tok=${TOKDIR:-build/test/text/reference/llama3_1}
bin=build/bin
if [ ! -f "$tok/tokenizer.json" ]; then
  echo "no $tok/tokenizer.json: run ctest -R text-reference-fetch first" >&2
  exit 1
fi
final=$out
out=build/text-gpu-stage/text-gpu
rm -rf "$final" build/text-gpu-stage && mkdir -p "$final" "$out/bin" "$out/lib" "$out/tok"
cp -L "$tok/tokenizer.json" "$tok/tokenizer_config.json" "$out/tok/"
"$bin/llm-import" test/gpu/text/llama3-small.json -o "$out/model.mlir"
"$bin/llm-compile" "$out/model.mlir" --shard=tp1 --target=h100 \
  --max-batch=4 --max-seq=256 --tokenizer="$out/tok" -o "$out/model"
rm -rf "$out/model/src" "$out/model.mlir" "$out/tok"
cp test/gpu/text/llama3-small.json "$out/model/config.json"
cp "$bin/llm-tokenize" "$out/bin/"
strip "$out/model/llm-model" "$out/bin/llm-tokenize"
for b in "$out/model/llm-model" "$out/bin/llm-tokenize"; do
  for lib in $(ldd "$b" |
               awk '/libcpp-httplib|libbrotli|libicu|libpcre2/ {print $3}'); do
    [ -e "$out/lib/$(basename "$lib")" ] || cp -L "$lib" "$out/lib/"
  done
done
# The prompt ids of llmc's tokenizer, computed here: llm-tokenize links
# libLLVM (and z3, libxml2...), which the GPU machine lacks.
python3 test/gpu/text/generate_check.py "$out" "$out" --write-llmc-ids
cp test/gpu/text/generate_check.py test/gpu/hf_check.py \
  test/gpu/logit_metrics.py test/gpu/serve/check_serve.py bench/serve_load.py \
  "$out/"
tar cJf "$final/payload.tar.xz" -C "$(dirname "$out")" text-gpu
cat > "$final/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine: bash run.sh RESULTS_DIR [generate_check.py flags]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
tar xJf "$here/payload.tar.xz" -C "$work"
dir=$work/text-gpu
export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 "$dir/generate_check.py" "$dir" "$@"
RUN
du -sh "$out"
ls -la "$final"
