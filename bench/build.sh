#!/usr/bin/env bash
# ===- bench/build.sh - build what bench/run.sh needs on the GPU machine --=== #
#
# Runs on the CPU machine, after the project is built in build/:
#
#   bash bench/build.sh [OUT]          # OUT defaults to .device-carry/bench
#
# OUT gets (everything the GPU machine needs; nothing is built there):
#   model/config.json          the Hugging Face config (Llama-3-8B shape)
#   tp1/, tp2/                 llm-compile outputs: llm-model + manifest.json
#                              (generated sources removed)
#   predictions.json           llm-plan's predictions for every configuration
#   hardware-emulated.json     the derived hardware entry of emulated tp2
#   plan/*.txt                 llm-plan's text reports
#   build-info.json            commit, flags, sizes
#
# Shapes and flags come from bench/configs.json. Environment overrides:
#   LLMC_BIN     tool folder (default build/bin)
#   BENCH_WAIT_S wait up to this many seconds for build/bin/llm-compile and
#                llm-plan to appear (default 0: fail at once)
# ===----------------------------------------------------------------------=== #
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=${1:-.device-carry/bench}
bin=${LLMC_BIN:-build/bin}
py=${PYTHON:-/usr/bin/python3}
wait_s=${BENCH_WAIT_S:-0}

die() { echo "bench/build.sh: error: $*" >&2; exit 1; }

# configs.json -> shell variables
model_config='' target='' max_batch=0 max_seq=0 max_tokens=0 need_seq=0 need_batch=0 need_rows=0 plans=()
eval "$("$py" - <<'EOF'
import json, shlex
c = json.load(open("bench/configs.json"))
k = c["compile"]
print(f"model_config={shlex.quote(c['model'])}")
print(f"plans=({' '.join(shlex.quote(p) for p in c['plans'])})")
print(f"target={shlex.quote(k['target'])}")
print(f"max_batch={int(k['max_batch'])}")
print(f"max_seq={int(k['max_seq'])}")
print(f"max_tokens={int(k['max_tokens_per_step'])}")
need = max(v["prompt_len"] + v["gen_len"] for v in c["configs"].values())
print(f"need_seq={need}")
print(f"need_batch={max(v['batch'] for v in c['configs'].values())}")
print(f"need_rows={max(v['batch'] * v['prompt_len'] for v in c['configs'].values())}")
EOF
)"
((max_seq >= need_seq)) || die "compile.max_seq=$max_seq < the longest configuration ($need_seq)"
((max_batch >= need_batch)) || die "compile.max_batch=$max_batch < the largest batch ($need_batch)"
((max_tokens >= need_rows)) || die "compile.max_tokens_per_step=$max_tokens < the largest prefill ($need_rows rows)"

for tool in llm-import llm-compile llm-plan; do
  waited=0
  while [[ ! -x $bin/$tool ]]; do
    ((waited < wait_s)) || die "$bin/$tool does not exist; build the project first (cmake --build build), or set BENCH_WAIT_S"
    sleep 10
    waited=$((waited + 10))
  done
done

# The output must stay out of git: the device tool carries it as an ignored path.
if ! git check-ignore -q "$out/x" 2>/dev/null; then
  echo "bench/build.sh: warning: $out is not ignored by git (.gitignore has /.device-carry/?)" >&2
fi

tmp="$out.partial"
rm -rf "$tmp"
mkdir -p "$tmp/model"
cp "$model_config" "$tmp/model/config.json"
"$bin/llm-import" "$model_config" -o "$tmp/model.mlir"

start=$(date +%s)
for plan in "${plans[@]}"; do
  echo "bench/build.sh: compiling $plan (nvcc takes a few minutes)..."
  t0=$(date +%s)
  "$bin/llm-compile" "$tmp/model.mlir" --shard="$plan" --target="$target" \
    --max-batch="$max_batch" --max-seq="$max_seq" \
    --max-tokens-per-step="$max_tokens" -o "$tmp/$plan"
  rm -rf "$tmp/$plan/src"
  [[ -x $tmp/$plan/llm-model && -f $tmp/$plan/manifest.json ]] ||
    die "llm-compile left no llm-model or manifest.json in $tmp/$plan"
  echo "bench/build.sh: $plan built in $(($(date +%s) - t0)) s"
done

# Memory on the GPU: every rank of a plan on one GPU (tp2 runs emulated), at
# the compiled limits (the KV cache is allocated for max_batch x max_seq).
"$py" - "$tmp" "${plans[@]}" <<'EOF'
import json, math, sys
root, plans = sys.argv[1], sys.argv[2:]
budget = 141e9 - 4e9  # an H200 (141 GB) less the CUDA context and libraries
for plan in plans:
    m = json.load(open(f"{root}/{plan}/manifest.json"))
    ranks = math.prod(m["plan"]["shape"]) if m["plan"]["shape"] else 1
    w = sum(math.prod(x["shape"]) * 2 for x in m["weights"]) * ranks  # upper bound (replicated norms)
    kv = m["kv_cache"]
    lim = m["limits"]
    layers = kv["num_slots"]
    cache = 2 * layers * lim["max_batch"] * lim["max_seq"] * kv["kv_heads"] * kv["head_dim"] * 2 * ranks
    arena = m["arena_bytes"] * ranks
    reserve = (512 + 32) * 2**20 * ranks
    total = w + cache + arena + reserve
    print(f"bench/build.sh: {plan}: {ranks} rank(s) on one GPU need {total/1e9:.1f} GB "
          f"(weights {w/1e9:.1f}, KV cache {cache/1e9:.1f}, arena {arena/1e9:.1f}, reserve {reserve/1e9:.1f})")
    if total > budget:
        sys.exit(f"bench/build.sh: error: {plan} needs {total/1e9:.1f} GB, more than an H200's {budget/1e9:.0f} GB; "
                 "lower compile.max_seq, max_batch or max_tokens_per_step in bench/configs.json")
EOF

"$py" bench/predict.py --llm-plan="$bin/llm-plan" --model="$tmp/model.mlir" --out="$tmp"
rm -f "$tmp/model.mlir"

"$py" - "$tmp" "$target" "$max_batch" "$max_seq" "$max_tokens" "$(($(date +%s) - start))" "${plans[@]}" <<'EOF'
import datetime, json, os, subprocess, sys
root, target, mb, ms, mt, secs, *plans = sys.argv[1:]
info = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
    "git_dirty": bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                     capture_output=True, text=True).stdout.strip()),
    "llm_compile_flags": f"--target={target} --max-batch={mb} --max-seq={ms} --max-tokens-per-step={mt}",
    "plans": plans,
    "build_seconds": int(secs),
    "bytes": {p: os.path.getsize(os.path.join(root, p, "llm-model")) for p in plans},
}
json.dump(info, open(os.path.join(root, "build-info.json"), "w"), indent=2)
EOF

rm -rf "$out"
mv "$tmp" "$out"
du -sh "$out"
size=$(du -sm "$out" | cut -f1)
if ((size > 60)); then
  echo "bench/build.sh: warning: $out is $size MiB; the device tool carries at most 64 MiB in all" >&2
fi
echo "bench/build.sh: done; on the GPU machine: bash bench/run.sh $out \$OUT"
