//===- TpReduceTests.cpp - linearAllReduce's local halves -----------------===//
//
// Part of llmc-gpu-kernel-tests (see KernelTests.cpp): the kernel-library
// halves of Ops.h's linearAllReduce (runtime/kernels/Kernels.h). linearF32
// writes a row-parallel linear's partial sums in fp32; the test sums two
// ranks' partials on the host in fp32 (what the communicators' all-reduce
// does between the halves) and roundToBf16 adds the bias and rounds once.
// The result must match the unsharded linear in double to bf16 rounding, and
// be closer to it than the bf16-partials path (linear + allReduce).
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/kernels/Kernels.h"

#include <cstdarg>
#include <cstdio>
#include <functional>

using namespace llmc;
using rt::Weight;

namespace llmc::test {

void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note = "");

namespace {



/// x[m, k] w[n, k]^T in double.
std::vector<double> product(const std::vector<float> &x,
                            const std::vector<float> &w, int64_t m, int64_t n,
                            int64_t k) {
  std::vector<double> y(size_t(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t o = 0; o < n; ++o) {
      double acc = 0;
      for (int64_t j = 0; j < k; ++j)
        acc += double(x[size_t(i * k + j)]) * w[size_t(o * k + j)];
      y[size_t(i * n + o)] = acc;
    }
  return y;
}

} // namespace

void testTpReduce(FakeRank &r) {
  Rng rng(11);
  struct Cfg {
    int64_t m, n, k; // k: each of the two ranks' share of the inputs
    bool bias;
  } cfgs[] = {
      // Few rows (the GEMV path where it applies), then cuBLASLt; rows of a
      // multiple of 8 (vector rounding kernel) and not (scalar).
      {1, 512, 1024, false}, {3, 520, 256, true}, {8, 1000, 512, true},
      {64, 256, 2048, false}, {257, 264, 136, true}, {5, 77, 64, true},
  };
  for (Cfg c : cfgs) {
    std::vector<float> x[2], w[2];
    for (int p = 0; p < 2; ++p) {
      x[p] = randomBf16(rng, size_t(c.m * c.k));
      w[p] = randomBf16(rng, size_t(c.n * c.k),
                        float(1.0 / std::sqrt(2.0 * double(c.k))));
    }
    std::vector<float> bias = randomBf16(rng, size_t(c.n), 0.1f);
    DevBuf<uint16_t> db = toDevice(bias);
    Weight bw = weightOf(db, 1, c.n);

    // Each rank's partial sums, fp32 and unrounded.
    std::vector<float> partial[2];
    std::vector<double> exact[2];
    for (int p = 0; p < 2; ++p) {
      DevBuf<uint16_t> dx = toDevice(x[p]), dw = toDevice(w[p]);
      DevBuf<float> out(size_t(c.m * c.n));
      out.poison();
      rt::linearF32(r, actOf(out, c.m, c.n), act(dx, c.m, c.k),
                    weightOf(dw, c.n, c.k));
      sync(r);
      partial[p] = out.download();
      exact[p] = product(x[p], w[p], c.m, c.n, c.k);
      recordResult("linearF32",
                   fmt("M=%lld N=%lld K=%lld rank %d", (long long)c.m,
                       (long long)c.n, (long long)c.k, p),
                   compare(partial[p], exact[p], 1e-5, 1e-5));
    }

    // The all-reduce: an fp32 sum, as the communicators compute it.
    std::vector<float> sum(partial[0].size());
    for (size_t i = 0; i < sum.size(); ++i)
      sum[i] = partial[0][i] + partial[1][i];
    DevBuf<float> dsum = toDeviceRaw(sum);
    DevBuf<uint16_t> out(sum.size());
    out.poison();
    rt::roundToBf16(r, act(out, c.m, c.n), actOf(dsum, c.m, c.n),
                    c.bias ? &bw : nullptr);
    sync(r);
    std::vector<float> got = fromDevice(out);

    // The unsharded linear (+ bias) in double, and what linear + allReduce
    // (+ biasAdd) would give: each partial rounded, the sum rounded, the
    // bias add rounded.
    std::vector<double> ref(sum.size());
    std::vector<float> twice(sum.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      double b = c.bias ? bias[i % size_t(c.n)] : 0.0;
      ref[i] = exact[0][i] + exact[1][i] + b;
      float s = roundBf16(roundBf16(partial[0][i]) + roundBf16(partial[1][i]));
      twice[i] = c.bias ? roundBf16(s + float(b)) : s;
    }
    std::string config = fmt("M=%lld N=%lld K=2x%lld%s", (long long)c.m,
                             (long long)c.n, (long long)c.k,
                             c.bias ? " +bias" : "");
    Stats once = compare(got, ref, 2e-3, 1.0 / 128);
    Stats bf16Path = compare(twice, ref, 2e-3, 1.0 / 128);
    recordResult("linearAllReduce halves", config, once,
                 fmt("bf16 partials: %.3g", bf16Path.normRel()));
    // One rounding: every element is exactly the fp32 sum plus the bias
    // (an fp32 add), rounded to nearest even.
    Stats exactly;
    for (size_t i = 0; i < got.size(); ++i) {
      float b = c.bias ? bias[i % size_t(c.n)] : 0.f;
      exactly.add(got[i], roundBf16(sum[i] + b), 0.0, 0.0);
    }
    recordResult("roundToBf16", config, exactly, "bit-exact");
    if (c.m * c.n >= 4096) {
      Stats closer;
      closer.count = 1;
      closer.bad = once.normRel() < bf16Path.normRel() ? 0 : 1;
      recordResult("fp32 reduce beats bf16", config, closer,
                   fmt("%.3g vs %.3g", once.normRel(), bf16Path.normRel()));
    }
    r.resetArena();
  }

  // Shape errors name linearAllReduce, the call the generated code makes.
  DevBuf<float> p(16);
  DevBuf<uint16_t> o(16), x(8), w(16);
  expectFailure("roundToBf16", "shape mismatch fails", "linearAllReduce: ", [&] {
    rt::roundToBf16(r, act(o, 2, 8), actOf(p, 4, 4), nullptr);
  });
  expectFailure("linearF32", "shape mismatch fails", "linearAllReduce: ", [&] {
    rt::linearF32(r, actOf(p, 2, 8), act(x, 2, 4), weightOf(w, 4, 4));
  });
}

} // namespace llmc::test
