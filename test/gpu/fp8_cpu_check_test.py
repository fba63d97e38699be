#!/usr/bin/env python3
"""test/gpu/fp8_cpu_check.py on the build machine, without a GPU run.

fp8_cpu_check.py reads what `fp8_check.py --save` brings back from a GPU
machine. This test writes that data itself: a random tiny-llama3
checkpoint (llm-checkpoint), prompts and teacher-forced tokens, and as the
"transformers" references the CPU executor's own logits — so a reference
that is llmc's model is one by construction, and one that is not (the
bf16-weights model's logits saved as "deq") must be reported as a
different model with exit 1. It also checks a binary's row (a known
perturbation of one logit gives its max rel diff) and the quantization-
error table: every exact model's row against the figures recomputed here
from llm-run's logits. Needs numpy (python3-numpy; exit 77, skipped,
without it) and build/bin.

    python3 test/gpu/fp8_cpu_check_test.py [--bin build/bin]
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

try:
    import numpy as np
except ImportError:
    # .ci/setup.sh installs Debian's python3-numpy: for /usr/bin/python3,
    # which need not be the python3 first on PATH (pyenv).
    SYSTEM = "/usr/bin/python3"
    if (os.path.exists(SYSTEM) and not os.environ.get("FP8_CPU_CHECK_TEST")
            and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM)):
        os.environ["FP8_CPU_CHECK_TEST"] = "1"
        os.execv(SYSTEM, [SYSTEM, os.path.abspath(__file__)] + sys.argv[1:])
    print("fp8_cpu_check_test: numpy is not installed; skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "fp8_cpu_check.py")
sys.path.insert(0, HERE)
spec = importlib.util.spec_from_file_location("fp8_cpu_check", SCRIPT)
fcc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fcc)

BIN = os.path.join(ROOT, "build", "bin")
MODEL = "m"
PROMPTS = np.array([[5, 6, 7, 8], [9, 10, 11, 12]])
TOKENS = np.array([[13, 14, 15], [16, 17, 18]])


class Fp8CpuCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fp8_cpu_check_test.")
        ckpt = os.path.join(cls.dir, f"{MODEL}-ckpt")
        subprocess.run([os.path.join(BIN, "llm-checkpoint"),
                        os.path.join(ROOT, "test", "models", "tiny",
                                     "tiny-llama3.json"),
                        "-o", ckpt, "--seed=7"], check=True)
        cls.mlir = os.path.join(cls.dir, "m.mlir")
        subprocess.run([os.path.join(BIN, "llm-import"), ckpt, "-o",
                        cls.mlir], check=True)
        # fp8_check.py --save's OUT: the checkpoint's tar here, each test's
        # logits beside it.
        cls.out = os.path.join(cls.dir, "out")
        os.makedirs(cls.out)
        with tarfile.open(os.path.join(cls.out, f"{MODEL}-ckpt.tar"),
                          "w") as tar:
            tar.add(ckpt, arcname=f"{MODEL}-ckpt")
        cls.logits = {
            name: fcc.cpu_logits(BIN, cls.mlir, ckpt, quant, PROMPTS, TOKENS)
            for name, (quant, _) in fcc.MODELS.items()}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_check(self, saved):
        np.savez(os.path.join(self.out, f"{MODEL}-logits.npz"), **saved)
        return subprocess.run(
            [sys.executable, SCRIPT, self.out, MODEL, f"--bin={BIN}"],
            capture_output=True, text=True)

    def saved(self, deq):
        return {"prompts": PROMPTS,
                "ref bf16 tokens": TOKENS, "ref bf16": self.logits["bf16"],
                "ref deq tokens": TOKENS, "ref deq": deq}

    def test_same_models_pass_and_rows(self):
        run = self.saved(self.logits["fp8"])
        # A binary one logit off: its max rel diff is that offset over the
        # prompt's largest |logit|.
        binary = self.logits["fp8"].copy()
        peak = np.abs(self.logits["fp8"][1]).max()
        binary[1, 2, 3] += 0.01 * peak
        run["run fp8-tp1 vs deq"] = binary
        proc = self.run_check(run)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertIn(f"{MODEL}: llm-run --quantize=none vs reference bf16: "
                      "max_rel_diff=0.000e+00 same model", lines)
        self.assertIn(f"{MODEL}: llm-run --quantize=fp8 vs reference deq: "
                      "max_rel_diff=0.000e+00 same model", lines)
        row = [l for l in lines if l.startswith("  fp8-tp1 vs deq:")]
        self.assertEqual(len(row), 1, proc.stdout)
        self.assertIn("binary vs llm-run max_rel_diff=1.000e-02", row[0])
        self.assertIn("argmax=", row[0])
        # The quantization error: a row per (model, base), each the figure
        # of the exact models' logits.
        table = [l for l in lines if l.startswith("| ") and "`" in l]
        expected = sum(len(bases) for _, bases in fcc.MODELS.values())
        self.assertEqual(len(table), expected, proc.stdout)
        for name, (quant, bases) in fcc.MODELS.items():
            for base in bases:
                worst, median, agree, steps, _ = fcc.against(
                    self.logits[name], self.logits[base], 2e-2)
                self.assertGreater(worst, 0.0, (name, base))
                self.assertIn(f"| {name} (`{quant}`) | {base} | {worst:.3e} "
                              f"| {median:.3e} | {agree}/{steps} |", table)

    def test_a_different_model_fails(self):
        # The bf16-weights model's logits saved as the FP8 reference.
        proc = self.run_check(self.saved(self.logits["bf16"]))
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, r"--quantize=fp8 vs reference deq: "
                         r"max_rel_diff=\S+ DIFFERENT MODEL")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("--bin="):
        BIN = sys.argv.pop(1).split("=", 1)[1]
    unittest.main()
