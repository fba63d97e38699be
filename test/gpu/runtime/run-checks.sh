#!/bin/bash
#===- test/gpu/runtime/run-checks.sh - host runtime checks on one GPU ------===#
#
# Runs on a GPU machine with binaries built elsewhere (no compiler needed):
#   test/gpu/runtime/run-checks.sh BINDIR [OUTDIR]
# BINDIR holds llmc-runtime-gpu-tests, llmc-stub-model and llm-launch (from
# a build of test/runtime). Checks: the in-process device communicator
# (4 and 8 emulated ranks), the whole generation loop with the stub model
# (next token = last + 1) under emulated tp/pp/dp/ep plans, random and
# checkpoint weights, --dump-logits (.npy and raw) and --bench, the NCCL
# path of a one-process world through llm-launch, and a failing launch.
# Prints one line per check and a final PASS/FAIL; exits non-zero on FAIL.
#
#===----------------------------------------------------------------------===#
set -u
BIN=$(cd "$1" && pwd)
OUT=${2:-/tmp/llmc-runtime-checks}
IN=$(cd "$(dirname "$0")/../../runtime/Inputs" && pwd)
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0
# CUDA, cuBLASLt and NCCL from the toolkit, or NCCL from the nvidia-nccl wheel.
NCCL_DIR=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${NCCL_DIR:-}:${LD_LIBRARY_PATH:-}

status=0
results=()
record() { results+=("$1 $2"); [ "$1" = PASS ] || status=1; }

# expect NAME WANT_RC "PATTERN..." -- COMMAND...: runs COMMAND, checks its exit
# status and that its output holds every pattern (fixed strings).
expect() {
  local name=$1 want=$2; shift 2
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  local log="$OUT/$name.log"
  timeout 180 "$@" >"$log" 2>&1
  local rc=$?
  local ok=PASS
  if [ "$want" = nonzero ]; then [ $rc -ne 0 ] || ok=FAIL; else [ $rc -eq "$want" ] || ok=FAIL; fi
  for p in "${patterns[@]}"; do grep -qF -- "$p" "$log" || { ok=FAIL; echo "[$name] missing: $p"; }; done
  echo "== $name (rc=$rc) $ok"; tail -n 12 "$log"
  record $ok "$name"
}

nvidia-smi -L

expect comm-device 0 "PASSED" -- "$BIN/llmc-runtime-gpu-tests"

M="$BIN/llmc-stub-model"
expect stub-1 0 "tokens: 8 9 10 11" "tokens: 13 14 15 16" "bench: ttft_ms=" -- \
  "$M" --manifest="$IN/stub-1.json" --weights=random:3 \
  --prompt='5,6,7;10,11,12' --max-new-tokens=4 --bench \
  --dump-logits="$OUT/stub-1.npy"
expect pp2-tp2 0 "tokens: 8 9 10 11" "tokens: 0 1 2 3" "emulated on one GPU" \
  "rank 3 (pp=1,tp=1): 3 weights match the host loader" -- \
  env LLMC_STUB_CHECK_SEED=0 \
  "$M" --manifest="$IN/stub-pp2-tp2.json" --weights=random --emulate-ranks \
  --prompt='5,6,7;61,62,63' --max-new-tokens=4 --bench \
  --dump-logits="$OUT/pp2-tp2.raw"
expect dp2-ep2 0 "tokens: 2 3 4" "tokens: 21 22 23" "tokens: 41 42 43" \
  "tokens: 0 1 2" "rank 3 (dp=1,ep=1): 6 weights match" -- \
  env LLMC_STUB_CHECK_SEED=9 \
  "$M" --manifest="$IN/stub-dp2-ep2.json" --weights=random:9 --emulate-ranks \
  --prompt='1;20;40;63' --max-new-tokens=3 --dump-logits="$OUT/dp2-ep2.npy"

# A float32 checkpoint of the pp2-tp2 weights: each rank reads its slice.
python3 - "$IN/stub-pp2-tp2.json" "$OUT/ckpt" <<'PY'
import json, os, sys
import numpy as np
from safetensors.numpy import save_file
m = json.load(open(sys.argv[1]))
os.makedirs(sys.argv[2], exist_ok=True)
rng = np.random.default_rng(0)
save_file({w["name"]: rng.standard_normal(w["full_shape"]).astype(np.float32)
           for w in m["weights"]}, os.path.join(sys.argv[2], "model.safetensors"))
PY
expect checkpoint 0 "tokens: 8 9" "rank 0 (pp=0,tp=0): 2 weights match" -- \
  env LLMC_STUB_CHECK_CKPT="$OUT/ckpt" \
  "$M" --manifest="$IN/stub-pp2-tp2.json" --weights="$OUT/ckpt" \
  --emulate-ranks --prompt='5,6,7' --max-new-tokens=2
expect missing-tensor 1 "is missing from the checkpoint" -- \
  "$M" --manifest="$IN/stub-dp2-ep2.json" --weights="$OUT/ckpt" \
  --emulate-ranks --prompt='1;2;3;4' --max-new-tokens=2

# NCCL: a world of one process through llm-launch, with and without an axis
# to split.
L="$BIN/llm-launch"
expect nccl-1 0 "tokens: 8 9 10" -- \
  "$L" -n 1 "$M" --manifest="$IN/stub-1.json" --weights=random \
  --prompt='5,6,7' --max-new-tokens=3
expect nccl-tp1 0 "tokens: 8 9 10" -- \
  "$L" -n 1 "$M" --manifest="$IN/stub-tp1.json" --weights=random \
  --prompt='5,6,7' --max-new-tokens=3
# Four ranks on one GPU: ranks 1-3 refuse (no GPU for their local rank),
# rank 0 is stopped while it waits for them in NCCL's initialisation.
expect launch-fault nonzero "llm-launch: error: rank" "GPU is visible" -- \
  "$L" -n 4 "$M" --manifest="$IN/stub-pp2-tp2.json" --weights=random \
  --prompt='5' --max-new-tokens=2

# The dumped logits: shape and argmax = the printed tokens.
python3 - "$OUT" <<'PY'
import sys, numpy as np
out = sys.argv[1]
def raw(path):
    b = open(path, "rb").read()
    assert b[:8] == b"LLMCLGT1", b[:8]
    s, n, v = np.frombuffer(b[8:32], "<i8")
    return np.frombuffer(b[32:], "<f4").reshape(s, n, v)
ok = True
for name, arr, want in [
        ("stub-1.npy", np.load(f"{out}/stub-1.npy"), [[8, 9, 10, 11], [13, 14, 15, 16]]),
        ("pp2-tp2.raw", raw(f"{out}/pp2-tp2.raw"), [[8, 9, 10, 11], [0, 1, 2, 3]]),
        ("dp2-ep2.npy", np.load(f"{out}/dp2-ep2.npy"), [[2, 3, 4], [21, 22, 23], [41, 42, 43], [0, 1, 2]])]:
    got = arr.argmax(-1).T.tolist()
    good = got == want and arr.shape[2] == 64 and np.isfinite(arr).all()
    print(f"== dump {name} shape={arr.shape} argmax={got} {'PASS' if good else 'FAIL'}")
    ok &= good
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && record PASS dumps || record FAIL dumps

echo
echo "== summary"
for r in "${results[@]}"; do echo "  $r"; done
[ $status -eq 0 ] && echo "ALL PASS" || echo "SOME FAILED"
exit $status
