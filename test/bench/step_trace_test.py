#!/usr/bin/env python3
"""bench/step_trace.py on a synthetic trace: classes, host share, steady
window; a malformed file is refused with the line number."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "bench", "step_trace.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
import step_trace  # noqa: E402


def line(step, decode, chunks, chunk_tokens, model_ms, host_ms=0.5,
         post_ms=0.5):
    return json.dumps({"step": step, "t_ms": 0.0, "decode": decode,
                       "chunks": chunks, "chunk_tokens": chunk_tokens,
                       "running": decode, "waiting": 0, "blocks_used": 0,
                       "host_ms": host_ms, "model_ms": model_ms,
                       "post_ms": post_ms})


def main():
    steps = [line(0, 0, 4, 2048, 50.0)]                      # prefill-only
    steps += [line(1 + i, 64, 1, 448, 12.0) for i in range(10)]  # mixed
    steps += [line(11 + i, 64, 0, 0, 8.0) for i in range(10)]    # decode
    steps += [line(21 + i, 8, 0, 0, 6.0) for i in range(5)]      # drain
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(steps) + "\n")
        out = step_trace.summarize(step_trace.load(path))
        c = out["classes"]
        assert c["prefill-only"]["steps"] == 1, c
        assert c["mixed"]["steps"] == 10 and c["mixed"]["rows"] == 5120, c
        assert c["decode-only"]["steps"] == 15, c
        total = 50 + 120 + 80 + 30 + 26 * 1.0
        assert abs(out["total_ms"] - total) < 1e-9, out["total_ms"]
        assert abs(out["host_ms"] - 26.0) < 1e-9
        assert out["decode_tokens"] == 64 * 20 + 8 * 5
        # Steady window: decode rows >= 57 (90% of 64): the 20 full steps.
        assert out["full"] == 57 and out["steady_steps"] == 20, out
        want = 1000.0 * 64 * 20 / (120 + 80 + 20)
        assert abs(out["steady_tokens_per_s"] - want) < 1e-6, out
        text = step_trace.render(out)
        assert "mixed" in text and "steady window" in text, text
        # The command line, with --json.
        js = os.path.join(d, "s.json")
        r = subprocess.run([sys.executable, SCRIPT, path, "--json", js],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert json.load(open(js))["steady_steps"] == 20
        # A bad line is named.
        with open(path, "a") as f:
            f.write("{not json\n")
        r = subprocess.run([sys.executable, SCRIPT, path],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "t.jsonl:27: not a JSON line" in \
            r.stderr, r.stderr
    print("step_trace ok")


if __name__ == "__main__":
    main()
