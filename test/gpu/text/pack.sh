#!/usr/bin/env bash
# Packs what test/gpu/text/hf_check.py needs on the GPU machine (where the
# Python `tokenizers` and `transformers` packages are installed) into
# .device-carry/text/families.tgz: every family folder of the real-tokenizer
# comparison (tokenizer.json, tokenizer_config.json and reference.json,
# symlinks resolved). It first checks, with compare-tool.py, that llm-tokenize
# agrees with every reference.json, so a match on the GPU machine between
# transformers and reference.json is a match with llmc.
#
#   bash test/gpu/text/pack.sh [BUILD_DIR]
# then, through the device tool, from the repository root:
#   run(command="python3 test/gpu/text/hf_check.py .device-carry/text $OUT",
#       carry=[".device-carry/text"], timeout_s=600)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
build=${1:-build}
ref=$build/test/text/reference
python3 test/text/reference/compare-tool.py "$build/bin/llm-tokenize" "$ref" test/text
mkdir -p .device-carry/text
tar czhf .device-carry/text/families.tgz -C "$build/test/text" reference
ls -l .device-carry/text/families.tgz
