#!/usr/bin/env python3
# ===- bench/step_trace.py - where a serving run's time goes, per step ---=== #
#
# Issue 17 (concurrency 64 against the static batch-64 decode): reads the
# JSON lines `llm-model serve --step-trace=FILE` writes (one per engine
# step: decode rows, prompt chunks and their tokens, running and waiting
# sequences, the host's time before the step, the model's time, the host's
# time after it) and prints
#  * one row per step class: decode-only, mixed (decode rows and prompt
#    chunks), prefill-only: steps, mean rows, mean model ms, ms per row,
#    share of the run's time, and the mean host ms the model spent
#    issuing launches (issue_ms: near model_ms means a host-bound step);
#  * the host's share (scheduling, admissions, callbacks, idle waits);
#  * the output tokens per second of the whole trace and of its steady
#    window: steps whose decode rows are at least --full (default: 90% of
#    the largest decode count seen), which leaves out the ramp at the start
#    and the drain at the end.
#
#   python3 bench/step_trace.py TRACE.jsonl [--full N] [--json OUT.json]
#
# Tokens here are decode rows (one token each); a request's first token,
# sampled at the end of its prompt, is not counted, so the client's count
# is one per request higher.
#
# Only the Python standard library.
import argparse
import json
import sys


def parse(lines, name):
    """The steps of a trace's JSON lines; `name` labels errors."""
    steps = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            steps.append(json.loads(line))
        except ValueError as e:
            raise SystemExit("%s:%d: not a JSON line (%s)" % (name, n, e))
    for s in steps:
        for key in ("decode", "chunks", "chunk_tokens", "host_ms", "model_ms",
                    "post_ms", "t_ms"):
            if key not in s:
                raise SystemExit("%s: a step has no '%s' (is this a "
                                 "--step-trace file?)" % (name, key))
    return steps


def load(path):
    with open(path) as f:
        return parse(f, path)


def kind(s):
    if s["chunks"] == 0:
        return "decode-only"
    return "mixed" if s["decode"] > 0 else "prefill-only"


def summarize(steps, full=None):
    if not steps:
        raise SystemExit("the trace has no steps")
    total_ms = sum(s["host_ms"] + s["model_ms"] + s["post_ms"] for s in steps)
    rows = {}
    for s in steps:
        r = rows.setdefault(kind(s), {"steps": 0, "rows": 0, "decode": 0,
                                      "chunk_tokens": 0, "model_ms": 0.0,
                                      "issue_ms": 0.0})
        r["steps"] += 1
        r["rows"] += s["decode"] + s["chunk_tokens"]
        r["decode"] += s["decode"]
        r["chunk_tokens"] += s["chunk_tokens"]
        r["model_ms"] += s["model_ms"]
        r["issue_ms"] += s.get("issue_ms", 0.0)
    host = sum(s["host_ms"] + s["post_ms"] for s in steps)
    top = max(s["decode"] for s in steps)
    if full is None:
        full = max(1, int(0.9 * top))
    window = [s for s in steps if s["decode"] >= full]
    out = {
        "steps": len(steps),
        "total_ms": total_ms,
        "host_ms": host,
        "host_share": host / total_ms if total_ms else 0.0,
        "decode_tokens": sum(s["decode"] for s in steps),
        "classes": rows,
        "full": full,
        "max_decode": top,
    }
    out["decode_tokens_per_s"] = (1000.0 * out["decode_tokens"] / total_ms
                                  if total_ms else 0.0)
    if window:
        wms = sum(s["host_ms"] + s["model_ms"] + s["post_ms"] for s in window)
        out["steady_steps"] = len(window)
        out["steady_ms"] = wms
        out["steady_tokens_per_s"] = (
            1000.0 * sum(s["decode"] for s in window) / wms if wms else 0.0)
        out["steady_mean_decode"] = (sum(s["decode"] for s in window) /
                                     len(window))
        out["steady_mean_chunk_tokens"] = (
            sum(s["chunk_tokens"] for s in window) / len(window))
    return out


def render(out):
    lines = ["%-13s %6s %9s %10s %10s %8s %9s" %
             ("step class", "steps", "mean rows", "mean ms", "us/row",
              "% time", "issue ms")]
    for name in ("decode-only", "mixed", "prefill-only"):
        r = out["classes"].get(name)
        if not r:
            continue
        mean_rows = r["rows"] / r["steps"]
        mean_ms = r["model_ms"] / r["steps"]
        lines.append("%-13s %6d %9.1f %10.2f %10.1f %7.1f%% %9.2f" % (
            name, r["steps"], mean_rows, mean_ms,
            1000.0 * r["model_ms"] / r["rows"] if r["rows"] else 0.0,
            100.0 * r["model_ms"] / out["total_ms"],
            r["issue_ms"] / r["steps"]))
    lines.append("host (before + after steps): %.1f ms = %.1f%% of %.1f ms" %
                 (out["host_ms"], 100.0 * out["host_share"], out["total_ms"]))
    lines.append("decode tokens: %d over the trace = %.0f tok/s" %
                 (out["decode_tokens"], out["decode_tokens_per_s"]))
    if "steady_steps" in out:
        lines.append(
            "steady window (decode rows >= %d of at most %d): %d steps, "
            "mean %.1f decode rows + %.1f prompt tokens, %.0f tok/s" %
            (out["full"], out["max_decode"], out["steady_steps"],
             out["steady_mean_decode"], out["steady_mean_chunk_tokens"],
             out["steady_tokens_per_s"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("trace")
    ap.add_argument("--full", type=int, default=None,
                    help="decode rows of a steady step (default 90%% of the "
                         "most seen)")
    ap.add_argument("--json", help="also write the summary here")
    args = ap.parse_args()
    out = summarize(load(args.trace), args.full)
    print(render(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
