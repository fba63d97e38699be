#!/usr/bin/env python3
# ===- check-layering.py - one-way #include arrows between llmc's layers -=== #
#
#   check-layering.py [ROOT]        (ROOT: the repository, default: cwd)
#
# Reads every `#include "..."` (and tablegen `include "..."`) line of the
# compiler and runtime sources under ROOT and fails, naming the file, the
# line and the rule, on any include that points against the arrows of
# docs/architecture.md:
#
#   compiler:  dialects <- passes <- lib <- tools   (each may include the
#              areas to its left; the compiler may include the runtime)
#   runtime:   {abi, plan} <- {weights, launch, text, device} <- {gemm,
#              kernels, comm} <- model <- {serve, generate}, as RUNTIME says
#              exactly; no runtime file includes a compiler header or an
#              MLIR/LLVM one.
#
# Runtime programs and tests (tools/llm-launch, test/runtime, test/gpu,
# test/serve, test/text) may include any runtime layer and nothing of the
# compiler. A runtime folder
# missing from RUNTIME is an error: a new layer states its place here.
# ctest runs it on the repository (test `layering`); test/layering/*.test
# run it on planted back-edges.
#
# ===----------------------------------------------------------------------=== #
import os
import re
import sys

# Runtime folders (runtime/<folder>) and the folders each may include
# besides itself, bottom-up. gemm sits below kernels: the Ops.h wrappers in
# kernels/ call the GEMMs, the GEMMs never call back.
RUNTIME = {
    "abi": [],
    "plan": [],
    "weights": ["abi"],
    "launch": ["abi"],
    "text": ["abi"],
    "device": ["abi"],
    "gemm": ["abi", "device"],
    "kernels": ["abi", "device", "gemm", "weights"],
    "comm": ["abi", "launch", "weights"],
    "model": ["abi", "comm", "device", "gemm", "kernels", "launch", "plan",
              "weights"],
    "serve": ["abi", "comm", "device", "gemm", "kernels", "launch", "model",
              "plan", "text", "weights"],
    "generate": ["abi", "comm", "device", "gemm", "kernels", "launch",
                 "model", "plan", "serve", "text", "weights"],
}

# Compiler areas, the repository paths and include prefixes each owns
# (first match wins), and the areas each may include besides itself.
COMPILER = {
    "dialects": [],
    "passes": ["dialects"],
    "lib": ["dialects", "passes"],
    "tools": ["dialects", "passes", "lib"],
}
COMPILER_PATHS = [
    ("include/llmc/Dialect/", "dialects"),
    ("include/llmc/Passes/", "passes"),
    ("include/llmc/", "lib"),
    ("dialects/", "dialects"),
    ("passes/", "passes"),
    ("lib/", "lib"),
    ("tools/", "tools"),
]
# The runtime folders the low compiler areas may include (lib and tools may
# include any): the plan's grid type, which the dist dialect converts to.
COMPILER_RUNTIME = {"dialects": ["plan"], "passes": ["plan"]}
# Runtime programs and tests: any runtime layer, no compiler.
RUNTIME_CLIENTS = ["tools/llm-launch/", "test/runtime/", "test/gpu/",
                   "test/serve/", "test/text/"]
# Headers of the compiler's dependencies, never of the runtime's.
EXTERNAL_COMPILER = ("mlir/", "llvm/", "llvm-c/")

SCANNED = ("runtime", "dialects", "passes", "lib", "include", "tools") + tuple(
    c.rstrip("/") for c in RUNTIME_CLIENTS if c.startswith("test/"))
SUFFIXES = (".h", ".hpp", ".cpp", ".cu", ".cuh", ".inc", ".in", ".td")
INCLUDE = re.compile(r'^\s*#?\s*include\s*["<]([^">]+)[">]')


def check_tables():
    """The tables themselves must describe one-way arrows."""
    for table in (RUNTIME, COMPILER):
        for area, allowed in table.items():
            for dep in allowed:
                assert dep in table, f"{area} allows unknown {dep}"
        # Depth-first search for a cycle.
        state = {}

        def visit(area, path):
            if state.get(area) == "open":
                raise AssertionError("cycle: " + " -> ".join(path + [area]))
            if state.get(area) == "done":
                return
            state[area] = "open"
            for dep in table[area]:
                visit(dep, path + [area])
            state[area] = "done"

        for area in table:
            visit(area, [])


def classify(path):
    """(kind, area) of a repository-relative path or include spelling:
    kind is "runtime", "compiler", "client", "external" or None."""
    path = path.replace(os.sep, "/")
    if path.startswith("runtime/"):
        parts = path.split("/")
        return ("runtime", parts[1] if len(parts) > 2 else "")
    for prefix in RUNTIME_CLIENTS:
        if path.startswith(prefix):
            return ("client", prefix.rstrip("/"))
    for prefix, area in COMPILER_PATHS:
        if path.startswith(prefix):
            return ("compiler", area)
    if path.startswith("llmc/"):  # include/llmc/... spelled from include/
        return classify("include/" + path)
    if path.startswith(EXTERNAL_COMPILER):
        return ("external", path.split("/")[0])
    return (None, None)


def resolve(root, source, spelled):
    """What an include names: a path relative to the including file when
    one exists there, else the spelling (rooted at the repository or at
    include/)."""
    here = os.path.join(root, os.path.dirname(source), spelled)
    if not spelled.startswith((".", "/")) or not os.path.exists(here):
        return spelled
    return os.path.relpath(os.path.normpath(here), root)


def violation(source_kind, source_area, target_kind, target_area):
    """The rule an include breaks, or None."""
    if target_kind is None:
        return None
    if source_kind in ("runtime", "client"):
        if target_kind == "compiler":
            return "the runtime never includes compiler headers"
        if target_kind == "external":
            return "the runtime never includes MLIR or LLVM headers"
        if target_kind == "client":
            return (None if source_kind == "client" else
                    "runtime layers do not include tests or tools")
        if source_kind == "client" or target_area == source_area:
            return None
        allowed = RUNTIME[source_area]
        if target_area not in allowed:
            return (f"runtime/{source_area} may not include "
                    f"runtime/{target_area} (it may include "
                    + (", ".join(f"runtime/{a}" for a in allowed)
                       or "no other runtime folder") + ")")
        return None
    if source_kind == "compiler":
        if (target_kind == "runtime" and source_area in COMPILER_RUNTIME and
                target_area not in COMPILER_RUNTIME[source_area]):
            return (f"{source_area} may not include runtime/{target_area} "
                    f"(of the runtime it may include only "
                    + ", ".join(f"runtime/{a}"
                                for a in COMPILER_RUNTIME[source_area]) + ")")
        if target_kind != "compiler" or target_area == source_area:
            return None
        allowed = COMPILER[source_area]
        if target_area not in allowed:
            return (f"{source_area} may not include {target_area} (dialects "
                    f"<- passes <- lib <- tools: {source_area} may include "
                    + (", ".join(allowed) or "no other area") + ")")
    return None


def scan(root):
    errors = []
    for top in SCANNED:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(files):
                if not name.endswith(SUFFIXES):
                    continue
                source = os.path.relpath(os.path.join(folder, name), root)
                kind, area = classify(source)
                if kind == "runtime" and area not in RUNTIME:
                    errors.append(
                        f"{source}: runtime/{area} is not a runtime layer; "
                        f"give it its place in RUNTIME of "
                        f"test/layering/check-layering.py and in "
                        f"docs/architecture.md")
                    continue
                with open(os.path.join(folder, name), encoding="utf-8",
                          errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        spelled = match.group(1)
                        target = resolve(root, source, spelled)
                        target_kind, target_area = classify(target)
                        rule = violation(kind, area, target_kind, target_area)
                        if rule:
                            errors.append(f'{source}:{number}: includes '
                                          f'"{spelled}": {rule}')
    return errors


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    if not os.path.isdir(os.path.join(root, "runtime")):
        print(f"check-layering: error: {root} has no runtime/ folder; pass "
              f"the repository root", file=sys.stderr)
        return 2
    check_tables()
    errors = scan(root)
    for error in errors:
        print(f"check-layering: error: {error}", file=sys.stderr)
    if errors:
        print(f"check-layering: {len(errors)} include(s) against the "
              f"layering (docs/architecture.md)", file=sys.stderr)
        return 1
    print("check-layering: every include follows the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
