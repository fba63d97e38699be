#!/usr/bin/env bash
# Tokenizer throughput (issue 16): 1 MB of text encoded on one core by
# llm-tokenize and, in the same run, by the reference tokenizers.js, for each
# family of the real-tokenizer comparison. Needs a build (build/bin/
# llm-tokenize) and the reference files the text-reference-fetch test writes
# (cd build && ctest -R text-reference).
#
#   bash bench/text/run.sh [BUILD_DIR]
#
# Two inputs of 10^6 bytes (bench/text/make-corpus.py): "mixed" repeats the
# valid-UTF-8 corpus items (realistic word repetition), "unique" is made of
# nearly all-distinct words (every word misses the BPE caches). Loading the
# tokenizer is not timed. Both implementations must produce the same number
# of tokens; the target is <= 0.5 s per MB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:-build}
ref=$build/test/text/reference
npm=$build/test/text/npm
tool=$build/bin/llm-tokenize
[ -x "$tool" ] || { echo "run.sh: $tool not built" >&2; exit 1; }
[ -d "$ref/llama3" ] || { echo "run.sh: no reference files in $ref; run: (cd $build && ctest -R text-reference-fetch)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
one_core=()
command -v taskset > /dev/null && one_core=(taskset -c 0)

printf '%-18s %-7s %8s %10s %9s %14s %9s\n' family input tokens "llmc s" "llmc MB/s" "tokenizers.js s" "js MB/s"
for input in mixed unique; do
  python3 bench/text/make-corpus.py "$tmp/$input.txt" 1000000 "$input"
  for fam in llama3 llama2 qwen3 deepseek_v3; do
    ours=$("${one_core[@]}" "$tool" "$ref/$fam" --bench < "$tmp/$input.txt" 2>&1 >/dev/null)
    theirs=$("${one_core[@]}" node test/text/reference/reference.mjs --bench "$ref/$fam" "$tmp/$input.txt" "$npm" test/text)
    python3 - "$fam" "$input" "$ours" "$theirs" <<'PY'
import json, sys
fam, inp, a, b = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
if a["tokens"] != b["tokens"]:
    sys.exit(f"run.sh: {fam}/{inp}: token counts differ: llmc {a['tokens']}, tokenizers.js {b['tokens']}")
print(f"{fam:<18} {inp:<7} {a['tokens']:>8} {a['seconds']:>10.3f} {a['mb_per_s']:>9.2f} "
      f"{b['seconds']:>14.3f} {b['mb_per_s']:>9.2f}")
PY
  done
done
