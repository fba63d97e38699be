#!/usr/bin/env python3
"""bench/timeline.py on a synthetic CUPTI timeline (bench/timeline/Inject.cpp's
CSV): a prefill forward, then decode forwards of three layers of norm, GEMV
(started before the norm ends, as under PDL) and attention (after a launch
gap). Checks the forward split, the layer period, every slot's duration,
exposed, overlap and idle time, the wall time, the CSV reader and the
refusal without a forward of the phase. CPU only, well under a second.

    python3 test/bench/timeline_test.py
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "timeline.py")
sys.path.insert(0, os.path.join(ROOT, "bench"))
spec = importlib.util.spec_from_file_location("timeline", SCRIPT)
tl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tl)

EMB = "void llmc::rt::embeddingKernel<true>(bf16 *, const long *)"
NORM = "void llmc::rt::rmsNormKernel<4096>(bf16 *, const bf16 *)"
GEMV = ("void llmc::rt::cuda::gemvPipelinedKernel<llmc::rt::cuda::E4m3Weights,"
        " 1, 4, bf16, false>(llmc::rt::cuda::GemvArgs, unsigned int)")
ATTN = "void llmc::rt::decodeKernel<128, true, false>(llmc::rt::DecodeArgs)"
ARGMAX = "void llmc::rt::argmaxKernel(const float *, long *)"


def forward(t, tokens, layers=3):
    """Kernels of one forward from t (ns): embedding 2 us; per layer a norm
    of 3 us, a GEMV of 10 us starting 1 us before the norm ends, an
    attention of 2.5 us 0.5 us after the GEMV; an argmax of 1 us."""
    ks = [(t, t + 2000, EMB, tokens)]
    b = t + 2000
    for _ in range(layers):
        ks += [(b, b + 3000, NORM, 1), (b + 2000, b + 12000, GEMV, 528),
               (b + 12500, b + 15000, ATTN, 3)]
        b += 15000
    ks.append((b, b + 1000, ARGMAX, 1))
    return ks, b + 1000


def write_csv(path, kernels):
    with open(path, "w") as f:
        f.write("start_ns,end_ns,stream,graph,grid_x,grid_y,grid_z,block_x,"
                "name\n")
        for s, e, name, grid in kernels:
            f.write(f'{s},{e},7,1,{grid},1,1,256,"{name}"\n')


class Timeline(unittest.TestCase):
    def setUp(self):
        ks, t = forward(1_000_000, 4)      # the prefill (batch 1 x 4)
        for _ in range(3):                 # three decodes, 20 us apart
            more, t = forward(t + 20_000, 1)
            ks += more
        self.kernels = ks
        self.dir = tempfile.mkdtemp(prefix="timeline_test.")
        self.csv = os.path.join(self.dir, "tl.csv")
        # Out of order on disk: the reader sorts by start.
        write_csv(self.csv, list(reversed(ks)))

    def test_decode_slots(self):
        res = tl.summarize(tl.read(self.csv), 1, 4, "decode", last=2)
        self.assertEqual(res["forwards"], 2)
        self.assertEqual((res["period"], res["layers"],
                          res["first_layer_kernel"]), (3, 3, 1))
        self.assertAlmostEqual(res["wall_us"], 48.0)
        rows = {(r["where"], r["slot"]): r for r in res["rows"]}
        want = {("head", 0): ("embeddingKernel", 2.0, 2.0, 0.0, 0.0),
                ("layer", 0): ("rmsNormKernel", 3.0, 3.0, 0.0, 0.0),
                ("layer", 1): ("gemvPipelinedKernel", 10.0, 9.0, 1.0, 0.0),
                ("layer", 2): ("decodeKernel", 2.5, 2.5, 0.0, 0.5),
                ("tail", 10): ("argmaxKernel", 1.0, 1.0, 0.0, 0.0)}
        self.assertEqual(set(rows), set(want))
        for key, (name, *figures) in want.items():
            self.assertEqual(rows[key]["kernel"], name, key)
            for got, exp in zip(rows[key]["mean"], figures):
                self.assertAlmostEqual(got, exp, msg=key)
        # Per forward: 3 layers of the GEMV's 9 us exposed.
        self.assertAlmostEqual(rows[("layer", 1)]["per_forward"][1], 27.0)
        text = tl.table(res)
        self.assertIn("per layer: 15.00 us exposed + idle", text)
        self.assertIn("| layer slot 1 | gemvPipelinedKernel | 10.00 | 9.00 | "
                      "1.00 | 0.00 | 27.0 |", text)

    def test_exposed_and_idle_sum_to_the_wall(self):
        ks, _ = forward(0, 1, layers=5)
        launches = [{"start": s, "end": e} for s, e, _, _ in ks]
        parts, wall = tl.attribute(launches)
        self.assertAlmostEqual(sum(p[1] + p[3] for p in parts), wall)

    def test_period_with_a_distinct_first_layer(self):
        # The first layer starts with a plain norm, the others with the
        # residual add fused into theirs: the slots start at the first
        # GEMV, and the last layer's GEMV and attention go to the tail.
        names = ["emb", "norm0", "g", "a", "add", "g", "a", "add", "g", "a",
                 "add", "g", "a", "lm", "argmax"]
        self.assertEqual(tl.period(names), (3, 2, 3))
        self.assertEqual(tl.period(["a", "b", "c"]), (1, 0, 0))

    def test_no_forward_of_the_phase_is_refused(self):
        # --prompt-len 2: the 4-token forward is no prefill of batch 1.
        proc = subprocess.run([sys.executable, SCRIPT, self.csv, "--batch",
                               "1", "--prompt-len", "2", "--phase", "prefill"],
                              capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("timeline: no prefill forward", proc.stderr)

    def test_command_line(self):
        proc = subprocess.run([sys.executable, SCRIPT, self.csv, "--batch",
                               "1", "--prompt-len", "4", "--json",
                               os.path.join(self.dir, "tl.json")],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("decode: 3 forwards, wall 48.0 us each", proc.stdout)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "tl.json")))


if __name__ == "__main__":
    unittest.main()
