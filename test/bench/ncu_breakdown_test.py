#!/usr/bin/env python3
"""bench/ncu_breakdown.py's offline half on a synthetic ncu CSV.

The CSV has ncu's raw-page layout (header, units row, quoted fields,
thousands separators): random-weight fills, then a prefill forward (batch 2,
prompt 4: embedding grid 8) and a decode forward (grid 2) of our kernels and
cuBLASLt's, then Bench.cpp's kernels after the run. Checks the name
shortening, the split into forwards, the phase choice, every figure of the
tables (times, shares, DRAM, GB/s, % copy, gap to TPOT/TTFT), the JSON file,
the launch range a scan gives the measure pass, and the refusals. CPU only,
no torch, well under a second.

    python3 test/bench/ncu_breakdown_test.py
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "ncu_breakdown.py")
spec = importlib.util.spec_from_file_location("ncu_breakdown", SCRIPT)
nb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nb)

EMB = ("void llmc::rt::(anonymous namespace)::embeddingKernel<true>"
       "(__nv_bfloat16 *, const long *, const __nv_bfloat16 *, long, long, long)")
NORM = ("void llmc::rt::(anonymous namespace)::rmsNormVecKernel<4096>"
        "(__nv_bfloat16 *, __nv_bfloat16 *, const __nv_bfloat16 *)")
GEMV = "void llmc::rt::gemvKernel<2, (bool)1>(llmc::rt::GemvArgs)"
GEMM = ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_"
        "warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas")
GEMM_GROUP = ("cublasLt:" + GEMM)[:95] + "~"  # cut to NAME_WIDTH
ATTN = ("void llmc::rt::prefillKernel<128, 4>(llmc::rt::PrefillArgs)")
DEC = ("void llmc::rt::decodeKernel<128, 4>(llmc::rt::DecodeArgs, "
       "llmc::rt::InvFreq<128>)")
ARGMAX = ("void llmc::rt::(anonymous namespace)::argmaxKernel"
          "(long *, const float *, long)")
FILL = ("void llmc::rt::(anonymous namespace)::fillRandomKernel<1>"
        "(__nv_bfloat16 *, unsigned long, float, long)")

# (name, grid, time ns, read bytes, write bytes)
LAUNCHES = [
    (FILL, "(1024, 1, 1)", "5,000", "0", "1,000,000"),
    (FILL, "(1024, 1, 1)", "5,000", "0", "1,000,000"),
    # prefill: batch 2 x prompt 4 = 8 tokens
    (EMB, "(8, 1, 1)", "2,000", "100,000", "100,000"),
    (NORM, "(8, 1, 1)", "3,000", "200,000", "100,000"),
    (GEMM, "(16, 8, 1)", "40,000", "30,000,000", "1,000,000"),
    (ATTN, "(4, 8, 1)", "10,000", "2,000,000", "500,000"),
    (GEMM, "(16, 8, 1)", "40,000", "30,000,000", "1,000,000"),
    (ARGMAX, "(2, 1, 1)", "5,000", "1,000,000", "0"),
    # decode: 2 tokens
    (EMB, "(2, 1, 1)", "1,000", "50,000", "50,000"),
    (NORM, "(2, 1, 1)", "1,000", "100,000", "0"),
    (GEMV, "(264, 1, 1)", "20,000", "40,000,000", "0"),
    (DEC, "(8, 2, 1)", "5,000", "4,000,000", "0"),
    (GEMV, "(264, 1, 1)", "20,000", "40,000,000", "0"),
    (ARGMAX, "(2, 1, 1)", "3,000", "1,000,000", "0"),
    # Bench.cpp after the run: fills and cuBLASLt GEMMs
    (FILL, "(1024, 1, 1)", "5,000", "0", "1,000,000"),
    (GEMM, "(16, 8, 1)", "40,000", "30,000,000", "1,000,000"),
]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read(path):
    with open(path) as f:
        return f.read()


def csv_text(launches=LAUNCHES, stream="7"):
    head = ('"ID","Process ID","Process Name","Host Name","Kernel Name",'
            '"Context","Stream","Block Size","Grid Size","Device","CC",'
            '"dram__bytes_read.sum","dram__bytes_write.sum",'
            '"gpu__time_duration.sum"')
    units = '"","","","","","","","","","","","byte","byte","nsecond"'
    rows = [f'"{i}","42","llm-model","host","{n}","1","{stream}","(256, 1, 1)",'
            f'"{g}","0","9.0","{r}","{w}","{t}"'
            for i, (n, g, t, r, w) in enumerate(launches)]
    return "\n".join(["==PROF== Connected to process 42", head, units, *rows]) + "\n"


class Names(unittest.TestCase):
    def test_groups(self):
        self.assertEqual(nb.group_of(EMB), "embeddingKernel")
        self.assertEqual(nb.group_of(EMB, True), "embeddingKernel<true>")
        self.assertEqual(nb.group_of(GEMV), "gemvKernel")
        self.assertEqual(nb.group_of(DEC), "decodeKernel")
        self.assertEqual(nb.group_of(GEMM), GEMM_GROUP)
        self.assertEqual(nb.group_of("nvjet_tst_128x64_64x8_2x1_v_bz_coopA_NNT"),
                         "cublasLt:nvjet_tst_128x64_64x8_2x1_v_bz_coopA_NNT")
        self.assertEqual(
            nb.group_of("void cutlass::Kernel2<cutlass_80_tensorop_bf16_gemm"
                        "_64x64_tn>(T1::Params)"),
            "cublasLt:Kernel2<cutlass_80_tensorop_bf16_gemm_64x64_tn>")
        self.assertEqual(nb.group_of("ncclDevKernel_AllReduce_Sum(Args)"),
                         "lib:ncclDevKernel_AllReduce_Sum")
        self.assertFalse(nb.is_library("argmaxKernel"))  # function base
        self.assertTrue(len(nb.group_of("x" * 200 + "(int)")) <= nb.NAME_WIDTH)


class Parse(unittest.TestCase):
    def test_units_and_separators(self):
        launches = nb.parse_ncu_csv(csv_text())
        self.assertEqual(len(launches), len(LAUNCHES))
        self.assertAlmostEqual(launches[4]["us"], 40.0)
        self.assertEqual(launches[4]["read"], 30e6)
        self.assertEqual(launches[2]["grid_x"], 8)
        self.assertEqual(launches[2]["stream"], "7")

    def test_other_units(self):
        text = csv_text().replace('"byte","byte","nsecond"',
                                  '"Mbyte","Kbyte","usecond"')
        launches = nb.parse_ncu_csv(text)
        self.assertAlmostEqual(launches[4]["us"], 40000.0)
        self.assertAlmostEqual(launches[4]["read"], 30e12)
        self.assertAlmostEqual(launches[4]["write"], 1e9)
        with self.assertRaisesRegex(nb.BreakdownError, "unknown time unit 'fortnight'"):
            nb.parse_ncu_csv(csv_text().replace('"nsecond"', '"fortnight"'))

    def test_no_header(self):
        with self.assertRaisesRegex(nb.BreakdownError, "no ncu CSV header"):
            nb.parse_ncu_csv("==PROF== Disconnected\n")


class Split(unittest.TestCase):
    def test_forwards(self):
        launches = nb.parse_ncu_csv(csv_text())
        forwards, _, outside, warnings = nb.split_forwards(launches, 2, 4)
        self.assertEqual([(f["kind"], f["start"], f["end"]) for f in forwards],
                         [("prefill", 2, 7), ("decode", 8, 13)])
        self.assertEqual(outside, 4)  # 2 fills before, fill + GEMM after
        self.assertEqual(warnings, [])
        self.assertEqual(nb.launch_range(forwards, ["prefill", "decode"]), (2, 12))
        self.assertEqual(nb.launch_range(forwards, ["decode"]), (8, 6))

    def test_last_of_each_kind(self):
        # warm-up (P, D) then timed (P, D): the timed ones are picked.
        body = LAUNCHES[2:14]
        launches = nb.parse_ncu_csv(csv_text(body + body))
        forwards, _, _, _ = nb.split_forwards(launches, 2, 4)
        self.assertEqual(nb.pick(forwards, "prefill")["start"], 12)
        self.assertEqual(nb.pick(forwards, "decode")["start"], 18)

    def test_missing_argmax_and_odd_grid(self):
        body = LAUNCHES[2:7] + LAUNCHES[8:14]  # the prefill's argmax dropped
        launches = nb.parse_ncu_csv(csv_text(body))
        forwards, _, _, warnings = nb.split_forwards(launches, 2, 4)
        self.assertEqual(forwards[0]["end"], 4)  # up to the next embedding
        self.assertIn("has no argmaxKernel", warnings[0])
        forwards, _, _, warnings = nb.split_forwards(launches, 3, 4)
        self.assertEqual({f["kind"] for f in forwards}, {"unknown"})
        self.assertIn("grid.x 8 is neither B*P = 12 nor B = 3", warnings[1])

    def test_refusals(self):
        launches = nb.parse_ncu_csv(csv_text(LAUNCHES[:2]))
        with self.assertRaisesRegex(nb.BreakdownError, "no embeddingKernel launch"):
            nb.split_forwards(launches, 2, 4)
        with self.assertRaisesRegex(nb.BreakdownError, "--prompt-len 1"):
            nb.split_forwards(launches, 2, 1)
        forwards, _, _, _ = nb.split_forwards(
            nb.parse_ncu_csv(csv_text(LAUNCHES[8:14])), 2, 4)
        with self.assertRaisesRegex(nb.BreakdownError, "no prefill forward"):
            nb.launch_range(forwards, ["prefill"])


class Breakdown(unittest.TestCase):
    def test_decode_rows(self):
        launches = nb.parse_ncu_csv(csv_text())[8:14]
        rows, totals = nb.breakdown(launches, 2000.0)
        self.assertEqual([r["group"] for r in rows],
                         ["gemvKernel", "decodeKernel", "argmaxKernel",
                          "embeddingKernel", "rmsNormVecKernel"])
        gemv = rows[0]
        self.assertEqual(gemv["launches"], 2)
        self.assertAlmostEqual(gemv["us"], 40.0)
        self.assertAlmostEqual(gemv["pct_time"], 100 * 40 / 50)
        self.assertEqual(gemv["dram_read_bytes"], 80e6)
        self.assertAlmostEqual(gemv["gb_s"], 2000.0)   # 80 MB in 40 us
        self.assertAlmostEqual(gemv["pct_copy"], 100.0)
        self.assertFalse(gemv["library"])
        self.assertEqual(totals["launches"], 6)
        self.assertAlmostEqual(totals["kernel_us"], 50.0)
        self.assertAlmostEqual(totals["dram_bytes"], 85.2e6)

    def test_reference_gap(self):
        _, totals = nb.breakdown(nb.parse_ncu_csv(csv_text())[8:14], 2000.0)
        cmp = nb.against_reference("decode", totals,
                                   {"tpot_ms": 0.08, "decode_bytes_per_step": 8e7})
        self.assertAlmostEqual(cmp["gap_ms"], 0.03)
        self.assertAlmostEqual(cmp["gap_pct"], 37.5)
        _, totals = nb.breakdown(nb.parse_ncu_csv(csv_text())[2:8], 2000.0)
        cmp = nb.against_reference("prefill", totals,
                                   {"ttft_ms": 0.2, "prefill_flops": 1e9})
        self.assertAlmostEqual(cmp["kernel_ms"], 0.1)
        self.assertAlmostEqual(cmp["kernel_tflops"], 10.0)


class Cli(unittest.TestCase):
    def run_cli(self, *args):
        return subprocess.run([sys.executable, SCRIPT, *args],
                              capture_output=True, text=True, timeout=60)

    def test_from_csv(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.csv")
            write(path, csv_text())
            ref = os.path.join(d, "ref.log")
            write(ref, 'noise\nbench-json: {"ttft_ms": 0.2, '
                                 '"tpot_ms": 0.08, "copy_gb_s": 4000}\n')
            p = self.run_cli("--from-csv", path, "--batch", "2", "--prompt-len",
                             "4", "--ref-json", ref, "--out", os.path.join(d, "o"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("| gemvKernel | 2 | 40.0 | 80.0 | 80.0 | 2000 | 50.0 |",
                          p.stdout)
            self.assertIn("vs TPOT 0.080 ms without ncu: gap 0.030 ms", p.stdout)
            self.assertIn("vs TTFT 0.200 ms without ncu: gap 0.100 ms", p.stdout)
            report = json.loads(read(os.path.join(d, "o", "breakdown.json")))
            self.assertEqual(report["copy_gbs"], 4000)
            self.assertEqual(report["launches_outside_forwards"], 4)
            prefill = report["phases"]["prefill"]
            self.assertEqual(prefill["rows"][0]["group"], GEMM_GROUP)
            self.assertTrue(prefill["rows"][0]["library"])
            self.assertAlmostEqual(prefill["totals"]["kernel_us"], 100.0)
            self.assertTrue(os.path.exists(os.path.join(d, "o", "breakdown.md")))

    def test_bad_input(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.csv")
            write(path, csv_text(LAUNCHES[:2]))
            p = self.run_cli("--from-csv", path, "--batch", "2", "--prompt-len", "4")
            self.assertEqual(p.returncode, 1)
            self.assertIn("ncu_breakdown: error: no embeddingKernel launch",
                          p.stderr)
            p = self.run_cli("--from-csv", os.path.join(d, "none.csv"),
                             "--batch", "2", "--prompt-len", "4")
            self.assertEqual(p.returncode, 1)
            self.assertIn("no such file", p.stderr)
            p = self.run_cli("--from-csv", path, "--batch", "0", "--prompt-len", "4")
            self.assertEqual(p.returncode, 2)
            self.assertIn("--batch must be >= 1, got 0", p.stderr)
            p = self.run_cli("--bin", "x", "--batch", "1", "--prompt-len", "4")
            self.assertIn("--bin needs --out", p.stderr)


if __name__ == "__main__":
    unittest.main()
