//===- KernelTests.cpp - GPU kernels vs plain CPU loops -------------------===//
//
// llmc-gpu-kernel-tests: runs every layer of Ops.h (and sampling, the device
// random-weight generator) on random inputs, odd shapes included, compares
// with a straightforward CPU loop in double, and prints one table row per
// case: max |diff|, max |diff| / max |ref|, ||diff|| / ||ref||. Outputs are
// poisoned (NaN) before each run so an unwritten element fails. With
// --bench it also times the paths issue 8 cares about. Exit code 0 only if
// every case passed; without a GPU it says "no CUDA device" and exits 2.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/device/Device.h"
#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/weights/Fp8.h"
#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <map>
#include <numeric>
#include <string>

using namespace llmc;
using namespace llmc::test;
using rt::Act;
using rt::Step;
using rt::Weight;

namespace llmc::test {
extern bool quickMode;
}

namespace {

//===----------------------------------------------------------------------===//
// Result table
//===----------------------------------------------------------------------===//

struct ResultRow {
  std::string test, config;
  Stats stats;
  bool pass;
  std::string note;
};
std::vector<ResultRow> results;

void record(const std::string &test, const std::string &config, const Stats &s,
            const std::string &note = "") {
  results.push_back({test, config, s, s.ok(), note});
}

void recordBool(const std::string &test, const std::string &config, bool pass,
                const std::string &note = "") {
  Stats s;
  s.count = 1;
  s.bad = pass ? 0 : 1;
  results.push_back({test, config, s, pass, note});
}

FakeRank *R = nullptr;

void sync() {
  cudaCheck(cudaGetLastError(), "launch");
  cudaCheck(cudaStreamSynchronize(R->stream()), "stream sync");
}

struct StepBuf {
  DevBuf<int64_t> ids, positions;
  Step step;
};

StepBuf makeStep(int64_t batch, int64_t seq, const std::vector<int64_t> &ids,
                 const std::vector<int64_t> &positions, int64_t cacheRow = 0) {
  StepBuf s;
  s.ids = toDeviceRaw(ids.empty() ? std::vector<int64_t>(size_t(batch * seq), 0)
                                  : ids);
  s.positions = toDeviceRaw(positions);
  s.step.batch = batch;
  s.step.seq = seq;
  s.step.ids = s.ids.get();
  s.step.positions = s.positions.get();
  s.step.cacheRow = cacheRow;
  return s;
}


double silu(double x) { return x / (1.0 + std::exp(-x)); }

//===----------------------------------------------------------------------===//
// Embedding, norms, elementwise, linear
//===----------------------------------------------------------------------===//

void testEmbedding() {
  Rng rng(1);
  for (int64_t hidden : {256, 100}) {
    int64_t vocab = 1000, batch = 3, seq = 7, tokens = batch * seq;
    std::vector<float> table = randomBf16(rng, size_t(vocab * hidden));
    std::vector<int64_t> ids(static_cast<size_t>(tokens));
    for (int64_t &id : ids)
      id = rng.below(vocab);
    ids[0] = 300;
    ids[1] = 699;
    ids[2] = 700; // the edges of the vocab-parallel block
    StepBuf sb =
        makeStep(batch, seq, ids, std::vector<int64_t>(size_t(tokens), 0));
    for (bool parallel : {false, true}) {
      int64_t offset = parallel ? 300 : 0, rows = parallel ? 400 : vocab;
      std::vector<float> part(table.begin() + offset * hidden,
                              table.begin() + (offset + rows) * hidden);
      DevBuf<uint16_t> t = toDevice(part), out(size_t(tokens * hidden));
      out.poison();
      rt::embedding(*R, act(out, tokens, hidden), sb.step,
                    weightOf(t, rows, hidden, offset), parallel);
      sync();
      std::vector<float> got = fromDevice(out);
      std::vector<double> ref(got.size(), 0.0);
      for (int64_t i = 0; i < tokens; ++i) {
        int64_t row = ids[size_t(i)] - offset;
        if (row >= 0 && row < rows)
          for (int64_t c = 0; c < hidden; ++c)
            ref[size_t(i * hidden + c)] = part[size_t(row * hidden + c)];
      }
      record("embedding",
             fmt("H=%lld %s", (long long)hidden,
                 parallel ? "vocab-parallel [300,700)" : "whole"),
             compare(got, ref, 0, 0));
    }
  }
}

void testRmsNorm() {
  Rng rng(2);
  struct Cfg {
    int64_t rows, cols;
  } cfgs[] = {{1, 4096}, {5, 8192}, {3, 100}, {2, 40000}, {7, 264}};
  for (Cfg c : cfgs) {
    size_t n = size_t(c.rows * c.cols);
    std::vector<float> x = randomBf16(rng, n, 2.f);
    std::vector<float> d = randomBf16(rng, n, 1.f);
    std::vector<float> w = randomBf16(rng, size_t(c.cols), 0.1f, 1.f);
    float eps = 1e-5f;
    DevBuf<uint16_t> dx = toDevice(x), dd = toDevice(d), dw = toDevice(w);
    DevBuf<uint16_t> out(n);
    auto ref = [&](const std::vector<float> &in) {
      std::vector<double> y(n);
      for (int64_t r = 0; r < c.rows; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < c.cols; ++i)
          ss += double(in[size_t(r * c.cols + i)]) * in[size_t(r * c.cols + i)];
        double inv = 1.0 / std::sqrt(ss / double(c.cols) + eps);
        for (int64_t i = 0; i < c.cols; ++i)
          y[size_t(r * c.cols + i)] =
              double(w[size_t(i)]) * in[size_t(r * c.cols + i)] * inv;
      }
      return y;
    };
    std::string cfg = fmt("[%lld, %lld]", (long long)c.rows, (long long)c.cols);
    out.poison();
    rt::rmsNorm(*R, act(out, c.rows, c.cols), act(dx, c.rows, c.cols),
                weightOf(dw, 1, c.cols), eps);
    sync();
    // Two bf16 roundings (Hugging Face's): 2^-8 relative.
    record("rmsNorm", cfg, compare(fromDevice(out), ref(x), 1e-3, 1.0 / 128));

    out.poison();
    rt::addRmsNorm(*R, act(out, c.rows, c.cols), act(dx, c.rows, c.cols),
                   act(dd, c.rows, c.cols), weightOf(dw, 1, c.cols), eps);
    sync();
    std::vector<float> sum(n);
    std::vector<double> sumRef(n);
    for (size_t i = 0; i < n; ++i) {
      sum[i] = roundBf16(x[i] + d[i]);
      sumRef[i] = sum[i];
    }
    record("addRmsNorm residual", cfg, compare(fromDevice(dx), sumRef, 0, 0),
           "bit-exact bf16(x+d)");
    record("addRmsNorm out", cfg,
           compare(fromDevice(out), ref(sum), 1e-3, 1.0 / 128));

    // The fp32 residual stream (residual=fp32): the stream starts from the
    // bf16 x (a new fp32 buffer), then adds d in place twice, unrounded;
    // addF32 and rmsNormF32 end it; lastTokenF32 copies fp32 rows.
    DevBuf<uint16_t> dx0 = toDevice(x);
    DevBuf<float> res(n), res2(n);
    res.poison();
    out.poison();
    rt::Act resAct = actOf(res, c.rows, c.cols);
    rt::addRmsNormF32(*R, act(out, c.rows, c.cols), resAct,
                      act(dx0, c.rows, c.cols), false, act(dd, c.rows, c.cols),
                      weightOf(dw, 1, c.cols), eps);
    sync();
    // Host fp32 sums, as doubles for compare.
    auto exact = [](const std::vector<float> &v) {
      return std::vector<double>(v.begin(), v.end());
    };
    std::vector<float> wide(n);
    for (size_t i = 0; i < n; ++i)
      wide[i] = x[i] + d[i]; // exact in fp32 for two bf16 values
    record("addRmsNormF32 from bf16, residual", cfg,
           compare(res.download(), exact(wide), 0, 0), "exact fp32 x+d");
    record("addRmsNormF32 from bf16, out", cfg,
           compare(fromDevice(out), ref(wide), 1e-3, 1.0 / 128));
    out.poison();
    rt::addRmsNormF32(*R, act(out, c.rows, c.cols), resAct, resAct, true,
                      act(dd, c.rows, c.cols), weightOf(dw, 1, c.cols), eps);
    sync();
    for (size_t i = 0; i < n; ++i)
      wide[i] = wide[i] + d[i]; // fp32 adds, as the kernel
    record("addRmsNormF32 in place, residual", cfg,
           compare(res.download(), exact(wide), 0, 0), "fp32 (x+d)+d");
    record("addRmsNormF32 in place, out", cfg,
           compare(fromDevice(out), ref(wide), 1e-3, 1.0 / 128));
    res2.poison();
    rt::addF32(*R, actOf(res2, c.rows, c.cols), resAct, true,
               act(dd, c.rows, c.cols));
    sync();
    std::vector<float> wide2(n);
    for (size_t i = 0; i < n; ++i)
      wide2[i] = wide[i] + d[i];
    record("addF32", cfg, compare(res2.download(), exact(wide2), 0, 0),
           "fp32 sum, not in place");
    out.poison();
    rt::rmsNormF32(*R, act(out, c.rows, c.cols), actOf(res2, c.rows, c.cols),
                   weightOf(dw, 1, c.cols), eps);
    sync();
    record("rmsNormF32", cfg,
           compare(fromDevice(out), ref(wide2), 1e-3, 1.0 / 128));
    if (c.rows > 1) {
      // Two sequences of rows / 2 tokens (odd rows: the last one unused).
      int64_t seq = c.rows / 2;
      rt::Step st{};
      st.batch = 2;
      st.seq = seq;
      DevBuf<float> last(size_t(2 * c.cols));
      last.poison();
      rt::lastTokenF32(*R, actOf(last, 2, c.cols), actOf(res2, 2 * seq, c.cols),
                       st);
      sync();
      std::vector<double> want(size_t(2 * c.cols));
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t i = 0; i < c.cols; ++i)
          want[size_t(b * c.cols + i)] =
              wide2[size_t(((b + 1) * seq - 1) * c.cols + i)];
      record("lastTokenF32", cfg, compare(last.download(), want, 0, 0),
             "each sequence's last fp32 row");
    }
  }
}

void testElementwise() {
  Rng rng(3);
  for (int64_t cols : {4096, 100}) {
    int64_t rows = 5;
    size_t n = size_t(rows * cols);
    std::vector<float> a = randomBf16(rng, n, 4.f), b = randomBf16(rng, n, 2.f);
    DevBuf<uint16_t> da = toDevice(a), db = toDevice(b), out(n);
    std::string cfg = fmt("[%lld, %lld]", (long long)rows, (long long)cols);
    std::vector<double> ref(n);

    out.poison();
    rt::add(*R, act(out, rows, cols), act(da, rows, cols), act(db, rows, cols));
    sync();
    for (size_t i = 0; i < n; ++i)
      ref[i] = double(a[i]) + b[i];
    record("add", cfg, compare(fromDevice(out), ref, 0, 1.0 / 256));

    out.poison();
    rt::swiglu(*R, act(out, rows, cols), act(da, rows, cols),
               act(db, rows, cols));
    sync();
    for (size_t i = 0; i < n; ++i)
      ref[i] = silu(a[i]) * b[i];
    record("swiglu", cfg, compare(fromDevice(out), ref, 1e-3, 1.0 / 128));

    std::vector<float> bias = randomBf16(rng, size_t(cols), 0.5f);
    DevBuf<uint16_t> dbias = toDevice(bias), x = toDevice(a);
    rt::biasAdd(*R, act(x, rows, cols), weightOf(dbias, 1, cols));
    sync();
    for (size_t i = 0; i < n; ++i)
      ref[i] = double(a[i]) + bias[i % size_t(cols)];
    record("biasAdd", cfg, compare(fromDevice(x), ref, 0, 1.0 / 256));
  }
}

std::vector<double> refLinear(const std::vector<float> &x,
                              const std::vector<float> &w,
                              const std::vector<float> *bias, int64_t m,
                              int64_t n, int64_t k) {
  std::vector<double> y(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t o = 0; o < n; ++o) {
      double acc = bias ? (*bias)[size_t(o)] : 0.0;
      for (int64_t j = 0; j < k; ++j)
        acc += double(x[size_t(i * k + j)]) * w[size_t(o * k + j)];
      y[size_t(i * n + o)] = acc;
    }
  return y;
}

void testLinear() {
  Rng rng(4);
  struct Cfg {
    int64_t m, n, k;
    bool bias;
  } cfgs[] = {{1, 4096, 4096, false}, {1, 1024, 4096, true},
              {7, 1000, 128, true},   {64, 256, 4096, false},
              {257, 520, 264, true},  {3, 128, 72, false},
              // The weight-streaming GEMV (M <= 8): every M, a last block
              // of fewer rows (N odd), K not a multiple of 256 threads x 8.
              {2, 1001, 4104, true},  {4, 333, 1032, false},
              {5, 77, 520, true},     {6, 4099, 8, false},
              {8, 1024, 14336, true}, {9, 130, 520, true},
              // K not a multiple of 8: cuBLASLt.
              {2, 64, 100, true}};
  for (Cfg c : cfgs) {
    std::vector<float> x = randomBf16(rng, size_t(c.m * c.k));
    std::vector<float> w =
        randomBf16(rng, size_t(c.n * c.k), float(1.0 / std::sqrt(c.k)));
    std::vector<float> bias = randomBf16(rng, size_t(c.n), 0.1f);
    DevBuf<uint16_t> dx = toDevice(x), dw = toDevice(w), db = toDevice(bias);
    DevBuf<uint16_t> out(size_t(c.m * c.n));
    out.poison();
    Weight bw = weightOf(db, 1, c.n);
    rt::linear(*R, act(out, c.m, c.n), act(dx, c.m, c.k),
               weightOf(dw, c.n, c.k), c.bias ? &bw : nullptr);
    sync();
    record("linear",
           fmt("M=%lld N=%lld K=%lld%s", (long long)c.m, (long long)c.n,
               (long long)c.k, c.bias ? " +bias" : ""),
           compare(fromDevice(out),
                   refLinear(x, w, c.bias ? &bias : nullptr, c.m, c.n, c.k),
                   2e-3, 1.0 / 128));
  }
  // Streaming tensor-core GEMM (3..32 rows, K a multiple of 32), with and
  // without the policy's default limit.
  for (int64_t m : {3, 13, 16, 24, 32}) {
    rt::LaunchPolicy saved = rt::launchPolicy(), all = saved;
    all.streamMaxRows = 32;
    rt::setLaunchPolicy(all);
    int64_t n = 1000 + m, k = 2048;
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    std::vector<float> w =
        randomBf16(rng, size_t(n * k), float(1.0 / std::sqrt(k)));
    std::vector<float> bias = randomBf16(rng, size_t(n), 0.1f);
    DevBuf<uint16_t> dx = toDevice(x), dw = toDevice(w), db = toDevice(bias),
                     out(size_t(m * n));
    out.poison();
    Weight bw = weightOf(db, 1, n);
    rt::linear(*R, act(out, m, n), act(dx, m, k), weightOf(dw, n, k), &bw);
    sync();
    rt::setLaunchPolicy(saved);
    record("linear (stream)",
           fmt("M=%lld N=%lld K=%lld +bias", (long long)m, (long long)n,
               (long long)k),
           compare(fromDevice(out), refLinear(x, w, &bias, m, n, k), 2e-3,
                   1.0 / 128));
  }
  // Tuned GEMMs (gemm::setTuning, llm-model --tune-gemms): shapes of the
  // 8B's decode and mixed steps, each tuned on its first eager call (a
  // table entry per row bucket) and right; a second call with the same
  // tuned plan bit-identical; a shape first met under capture is not timed
  // (no entry) and still right.
  {
    rt::gemm::setTuning(true);
    size_t before = rt::gemm::tuningEntries().size();
    struct Cfg {
      int64_t m, n, k;
    } tuned[] = {{64, 4096, 4096}, {320, 1536, 4096}, {257, 520, 264}};
    for (Cfg c : tuned) {
      std::vector<float> x = randomBf16(rng, size_t(c.m * c.k));
      std::vector<float> w =
          randomBf16(rng, size_t(c.n * c.k), float(1.0 / std::sqrt(c.k)));
      DevBuf<uint16_t> dx = toDevice(x), dw = toDevice(w);
      DevBuf<uint16_t> out(size_t(c.m * c.n));
      out.poison();
      rt::linear(*R, act(out, c.m, c.n), act(dx, c.m, c.k),
                 weightOf(dw, c.n, c.k), nullptr);
      sync();
      std::vector<float> first = fromDevice(out);
      out.poison();
      rt::linear(*R, act(out, c.m, c.n), act(dx, c.m, c.k),
                 weightOf(dw, c.n, c.k), nullptr);
      sync();
      std::string cfg = fmt("M=%lld N=%lld K=%lld", (long long)c.m,
                            (long long)c.n, (long long)c.k);
      record("linear (tuned)", cfg,
             compare(first, refLinear(x, w, nullptr, c.m, c.n, c.k), 2e-3,
                     1.0 / 128));
      recordBool("linear (tuned) again", cfg, fromDevice(out) == first,
                 "second call bit-identical");
    }
    size_t tunedCount = rt::gemm::tuningEntries().size();
    recordBool("linear (tuned) table", "3 shapes", tunedCount == before + 3,
               fmt("%zu new entries", tunedCount - before));
    {
      int64_t m = 96, n = 768, k = 512;
      std::vector<float> x = randomBf16(rng, size_t(m * k));
      std::vector<float> w = randomBf16(rng, size_t(n * k), 0.04f);
      DevBuf<uint16_t> dx = toDevice(x), dw = toDevice(w), out(size_t(m * n));
      out.poison();
      bool ok = captureAndReplay(*R, [&] {
        rt::linear(*R, act(out, m, n), act(dx, m, k), weightOf(dw, n, k),
                   nullptr);
        return true;
      });
      recordBool("linear (tuned) in a capture", "M=96 N=768 K=512",
                 ok && rt::gemm::tuningEntries().size() == tunedCount,
                 ok ? "captured, not timed" : "capture failed");
      if (ok)
        record("linear (tuned) in a capture", "M=96 N=768 K=512 values",
               compare(fromDevice(out), refLinear(x, w, nullptr, m, n, k),
                       2e-3, 1.0 / 128));
    }
    rt::gemm::setTuning(false);
  }
  // Two chained streaming GEMMs (8 rows: the second reads the first's
  // output) captured in a graph, where they are launched with programmatic
  // dependent launch: the replay must match the eager run bit for bit.
  {
    int64_t m = 8, k = 1024;
    DevBuf<uint16_t> x = toDevice(randomBf16(rng, size_t(m * k))),
                     w1 = toDevice(randomBf16(rng, size_t(k * k), 0.03f)),
                     w2 = toDevice(randomBf16(rng, size_t(k * k), 0.03f)),
                     h(size_t(m * k)), y(size_t(m * k));
    auto chain = [&] {
      rt::linear(*R, act(h, m, k), act(x, m, k), weightOf(w1, k, k), nullptr);
      rt::linear(*R, act(y, m, k), act(h, m, k), weightOf(w2, k, k), nullptr);
    };
    chain();
    sync();
    std::vector<float> eager = fromDevice(y);
    y.poison();
    h.poison();
    bool ok = captureAndReplay(*R, [&] {
      chain();
      return true;
    });
    bool same = ok && fromDevice(y) == eager;
    recordBool("linear (stream) in a graph", "M=8 two chained, PDL", same,
               same ? "replay bit-identical to eager"
                    : (ok ? "replay DIFFERS from eager" : "capture failed"));
  }
  // Sibling projections (q, k, v) and gate/up + SwiGLU, weights stored back
  // to back in one buffer as the runtime loads them: the grouped GEMV at 1
  // and 2 rows, the streaming GEMM up to the policy's rows, one GEMM over
  // the concatenated weights beyond (split / SwiGLU of the halves); with a
  // bias or K off the streaming kernel's multiple of 32, a GEMM each.
  struct Sib {
    int64_t m, k;
    bool bias;
  } sibs[] = {{1, 544, false}, {2, 544, true},   {5, 544, false},
              {13, 544, true}, {16, 544, false}, {17, 544, false},
              {64, 544, false}, {100, 544, true}, {5, 520, true},
              {64, 520, false}};
  for (Sib c : sibs) {
    int64_t m = c.m, k = c.k, ns[] = {200, 64, 72};
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    DevBuf<uint16_t> dx = toDevice(x);
    std::vector<std::vector<float>> w, bias;
    std::vector<float> wAll;
    std::vector<DevBuf<uint16_t>> db, out;
    for (int i = 0; i < 3; ++i) {
      w.push_back(randomBf16(rng, size_t(ns[i] * k), float(1 / std::sqrt(k))));
      wAll.insert(wAll.end(), w.back().begin(), w.back().end());
      bias.push_back(randomBf16(rng, size_t(ns[i]), 0.1f));
      db.push_back(toDevice(bias.back()));
      out.emplace_back(size_t(m * ns[i]));
      out.back().poison();
    }
    DevBuf<uint16_t> dw = toDevice(wAll),
                     scratch(size_t(m * (ns[0] + ns[1] + ns[2])));
    scratch.poison();
    auto part = [&](int i) {
      Weight wt = weightOf(dw, ns[i], k);
      wt.data += (i > 0 ? ns[0] * k : 0) + (i > 1 ? ns[1] * k : 0);
      return wt;
    };
    Weight b0 = weightOf(db[0], 1, ns[0]), b2 = weightOf(db[2], 1, ns[2]);
    rt::linear3(*R, act(out[0], m, ns[0]), act(out[1], m, ns[1]),
                act(out[2], m, ns[2]), act(dx, m, k), part(0), part(1),
                part(2), c.bias ? &b0 : nullptr, nullptr,
                c.bias ? &b2 : nullptr,
                act(scratch, m, ns[0] + ns[1] + ns[2]));
    sync();
    for (int i = 0; i < 3; ++i) {
      bool hasBias = c.bias && i != 1;
      record("linear3",
             fmt("M=%lld output %d N=%lld K=%lld%s", (long long)m, i,
                 (long long)ns[i], (long long)k, hasBias ? " +bias" : ""),
             compare(fromDevice(out[size_t(i)]),
                     refLinear(x, w[size_t(i)],
                               hasBias ? &bias[size_t(i)] : nullptr, m, ns[i],
                               k),
                     2e-3, 1.0 / 128));
    }
    // The same outputs as adjacent column views of one [m, q|k|v] buffer
    // (the generated code's q|k|v, Ops.h `columns`): one GEMM straight into
    // them where the weights lie back to back, the kernels' row strides
    // below; the values equal the dense outputs' bit for bit.
    {
      int64_t total = ns[0] + ns[1] + ns[2];
      DevBuf<uint16_t> all(size_t(m * total));
      all.poison();
      rt::Act owner = act(all, m, total);
      rt::linear3(*R, rt::columns(*R, owner, 0, ns[0]),
                  rt::columns(*R, owner, ns[0], ns[1]),
                  rt::columns(*R, owner, ns[0] + ns[1], ns[2]), act(dx, m, k),
                  part(0), part(1), part(2), c.bias ? &b0 : nullptr, nullptr,
                  c.bias ? &b2 : nullptr, rt::Act{});
      sync();
      std::vector<float> got = fromDevice(all), want;
      std::vector<float> dense[] = {fromDevice(out[0]), fromDevice(out[1]),
                                    fromDevice(out[2])};
      for (int64_t row = 0; row < m; ++row)
        for (int i = 0; i < 3; ++i)
          want.insert(want.end(), dense[i].begin() + row * ns[i],
                      dense[i].begin() + (row + 1) * ns[i]);
      bool same = got.size() == want.size();
      for (size_t i = 0; same && i < got.size(); ++i)
        same = got[i] == want[i];
      recordBool("linear3 into views",
                 fmt("M=%lld K=%lld%s", (long long)m, (long long)k,
                     c.bias ? " +bias" : ""),
                 same, same ? "bit-identical to dense outputs" : "DIFFERS");
    }
    // gate and up: back to back (weights 0 and a second of its shape), or
    // apart (c.bias: the up weight in its own buffer).
    std::vector<float> wu = randomBf16(rng, size_t(ns[0] * k),
                                       float(1 / std::sqrt(k)));
    std::vector<float> gu(w[0]);
    gu.insert(gu.end(), wu.begin(), wu.end());
    DevBuf<uint16_t> dgu = toDevice(gu), dwu = toDevice(wu),
                     o(size_t(m * ns[0])), s2(size_t(m * 2 * ns[0]));
    o.poison();
    s2.poison();
    Weight gate = weightOf(dgu, ns[0], k), up = gate;
    up.data += ns[0] * k;
    if (c.bias)
      up = weightOf(dwu, ns[0], k);
    rt::linearSwiglu(*R, act(o, m, ns[0]), act(dx, m, k), gate, up,
                     act(s2, m, 2 * ns[0]));
    sync();
    std::vector<double> g = refLinear(x, w[0], nullptr, m, ns[0], k),
                        u = refLinear(x, wu, nullptr, m, ns[0], k), ref(g.size());
    for (size_t i = 0; i < g.size(); ++i) {
      float gb = roundBf16(float(g[i])), ub = roundBf16(float(u[i]));
      ref[i] = roundBf16(roundBf16(gb / (1.f + std::exp(-gb))) * ub);
    }
    record("linearSwiglu",
           fmt("M=%lld N=%lld K=%lld %s", (long long)m, (long long)ns[0],
               (long long)k, c.bias ? "apart" : "back to back"),
           compare(fromDevice(o), ref, 4e-3, 1.0 / 64));
  }
  // lmHead: fp32 logits.
  for (int64_t m : {1, 3, 8, 12}) {
    int64_t n = 1000, k = 256;
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    std::vector<float> w = randomBf16(rng, size_t(n * k), 0.0625f);
    DevBuf<uint16_t> dx = toDevice(x), dw = toDevice(w);
    DevBuf<float> logits(size_t(m * n));
    logits.poison();
    rt::lmHead(*R, actOf(logits, m, n), act(dx, m, k), weightOf(dw, n, k));
    sync();
    record("lmHead",
           fmt("M=%lld N=%lld K=%lld fp32", (long long)m, (long long)n,
               (long long)k),
           compare(logits.download(), refLinear(x, w, nullptr, m, n, k), 1e-5,
                   1e-5));
  }
}

//===----------------------------------------------------------------------===//
// RoPE
//===----------------------------------------------------------------------===//

std::vector<double> refInvFreq(const rt::RopeParams &p, int headDim) {
  int half = headDim / 2;
  std::vector<double> inv(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i)
    inv[size_t(i)] = std::pow(double(p.theta), -double(2 * i) / headDim);
  if (p.kind == rt::RopeKind::Linear)
    for (double &f : inv)
      f /= p.factor;
  if (p.kind == rt::RopeKind::Llama3) {
    double orig = double(p.originalMaxPosition);
    double lowW = orig / p.lowFreqFactor, highW = orig / p.highFreqFactor;
    for (double &f : inv) {
      double wl = 2.0 * M_PI / f;
      if (wl > lowW)
        f = f / p.factor;
      else if (wl >= highW) {
        double sm = (orig / wl - p.lowFreqFactor) /
                    (p.highFreqFactor - p.lowFreqFactor);
        f = (1.0 - sm) * f / p.factor + sm * f;
      }
    }
  }
  return inv;
}

template <int HD>
void ropeCase(Rng &rng, const rt::RopeParams &p, const char *kind) {
  int heads = 4, extra = 2; // extra heads after the rotated ones stay put
  int64_t batch = 2, seq = 5, tokens = batch * seq;
  int64_t cols = int64_t(heads + extra) * HD;
  std::vector<int64_t> pos;
  for (int64_t i = 0; i < seq; ++i)
    pos.push_back(i);
  for (int64_t i = 0; i < seq; ++i)
    pos.push_back(9000 + 37 * i); // far positions: llama3's scaled bands
  StepBuf sb = makeStep(batch, seq, {}, pos);
  std::vector<float> x = randomBf16(rng, size_t(tokens * cols), 2.f);
  DevBuf<uint16_t> dx = toDevice(x);
  rt::rope<HD>(*R, act(dx, tokens, cols), sb.step, p, heads);
  sync();
  std::vector<double> inv = refInvFreq(p, HD);
  std::vector<double> ref(x.begin(), x.end());
  int half = HD / 2;
  for (int64_t t = 0; t < tokens; ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        double ang = double(pos[size_t(t)]) * inv[size_t(i)];
        double c = std::cos(ang), s = std::sin(ang);
        size_t i1 = size_t(t * cols + h * HD + i), i2 = i1 + size_t(half);
        ref[i1] = x[i1] * c - x[i2] * s;
        ref[i2] = x[i2] * c + x[i1] * s;
      }
  // cos/sin and both products are rounded to bf16 as in Hugging Face.
  record("rope",
         fmt("HD=%d %s heads=%d(+%d untouched)", HD, kind, heads, extra),
         compare(fromDevice(dx), ref, 6e-3, 1.0 / 64));
}

void testRope() {
  Rng rng(5);
  rt::RopeParams def;
  def.theta = 10000.f;
  rt::RopeParams lin = def;
  lin.kind = rt::RopeKind::Linear;
  lin.factor = 4.f;
  rt::RopeParams l3;
  l3.theta = 500000.f;
  l3.kind = rt::RopeKind::Llama3;
  l3.factor = 8.f;
  l3.lowFreqFactor = 1.f;
  l3.highFreqFactor = 4.f;
  l3.originalMaxPosition = 8192;
  ropeCase<64>(rng, def, "default");
  ropeCase<128>(rng, def, "default");
  ropeCase<128>(rng, lin, "linear x4");
  ropeCase<64>(rng, l3, "llama3");
  ropeCase<128>(rng, l3, "llama3");
  ropeCase<32>(rng, def, "default");
  ropeCase<80>(rng, l3, "llama3");
  ropeCase<96>(rng, lin, "linear x4");
  ropeCase<256>(rng, def, "default");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// One cached or in-call key: position and the kv-head rows of k and v.
struct KV {
  int64_t pos;
  std::vector<float> k, v; // [kvHeads * HD]
  /// FP8 cache: the E4M3 codes [kvHeads * HD] and scales [kvHeads] that
  /// k and v (then code * scale) come from.
  std::vector<uint8_t> kCodes, vCodes;
  std::vector<float> kScales, vScales;
};

/// The KV entry of one token's k and v rows: as given, or (fp8) each head
/// vector quantized by runtime/weights/Fp8.h, the CPU reference of the
/// FP8 cache.
KV makeKV(int64_t pos, const float *k, const float *v, int kvHeads, int hd,
          bool fp8) {
  size_t n = size_t(kvHeads) * size_t(hd);
  KV kv{pos, {k, k + n}, {v, v + n}, {}, {}, {}, {}};
  if (!fp8)
    return kv;
  auto quantize = [&](std::vector<float> &x, std::vector<uint8_t> &codes,
                      std::vector<float> &scales) {
    codes.resize(n);
    for (int h = 0; h < kvHeads; ++h) {
      float *head = x.data() + size_t(h) * size_t(hd);
      float s = rt::fp8ScaleForAbsmax(rt::absMax(head, size_t(hd)));
      rt::quantizeE4M3(head, size_t(hd), s, codes.data() + size_t(h) * hd);
      for (int i = 0; i < hd; ++i)
        head[i] = rt::e4m3ToFloat(codes[size_t(h) * hd + i]) * s;
      scales.push_back(s);
    }
  };
  quantize(kv.k, kv.kCodes, kv.kScales);
  quantize(kv.v, kv.vCodes, kv.vScales);
  return kv;
}

/// out[t] for queries q [tokens, heads*HD] of one batch row against `keys`.
void refAttendRow(const float *q, int64_t qpos, const std::vector<KV> &keys,
                  int heads, int kvHeads, int hd, int64_t window, double scale,
                  double *out) {
  int group = heads / kvHeads;
  std::vector<double> sc;
  std::vector<const KV *> vis;
  for (const KV &kv : keys)
    if (kv.pos <= qpos && (window <= 0 || kv.pos > qpos - window))
      vis.push_back(&kv);
  for (int h = 0; h < heads; ++h) {
    int kvh = h / group;
    sc.assign(vis.size(), 0.0);
    double mx = -INFINITY;
    for (size_t j = 0; j < vis.size(); ++j) {
      double d = 0;
      for (int i = 0; i < hd; ++i)
        d += double(q[h * hd + i]) * vis[j]->k[size_t(kvh * hd + i)];
      sc[j] = d * scale;
      mx = std::max(mx, sc[j]);
    }
    double sum = 0;
    for (double &s : sc)
      sum += (s = std::exp(s - mx));
    for (int i = 0; i < hd; ++i) {
      double acc = 0;
      for (size_t j = 0; j < vis.size(); ++j)
        acc += sc[j] * vis[j]->v[size_t(kvh * hd + i)];
      out[h * hd + i] = vis.empty() ? 0.0 : acc / sum;
    }
  }
}

using AttnFn = void (*)(rt::Rank &, Act, Act, Act, Act, const Step &,
                        const rt::AttentionParams &, bool);

using RopeAttnFn = void (*)(rt::Rank &, Act, Act, Act, Act, const Step &,
                            const rt::RopeParams &,
                            const rt::AttentionParams &, bool);
using RopeFn = void (*)(rt::Rank &, Act, const Step &, const rt::RopeParams &,
                        int);

// Every (head_dim, group) Instances.cu instantiates.
#define LLMC_ATTN_SHAPES(X)                                                    \
  X(32, 1) X(32, 4) X(64, 1) X(64, 4) X(64, 8) X(80, 2) X(80, 5) X(96, 3)     \
      X(96, 8) X(128, 1) X(128, 4) X(128, 7) X(128, 8) X(128, 32) X(256, 2)  \
          X(256, 8)

AttnFn attnFor(int hd, int group) {
#define LLMC_CASE(HD, G)                                                       \
  if (hd == HD && group == G)                                                  \
    return &rt::attention<HD, G>;
  LLMC_ATTN_SHAPES(LLMC_CASE)
#undef LLMC_CASE
  std::fprintf(stderr, "no attention<%d, %d> in Instances.cu\n", hd, group);
  std::abort();
}

RopeAttnFn ropeAttnFor(int hd, int group) {
#define LLMC_CASE(HD, G)                                                       \
  if (hd == HD && group == G)                                                  \
    return &rt::ropeAttention<HD, G>;
  LLMC_ATTN_SHAPES(LLMC_CASE)
#undef LLMC_CASE
  std::fprintf(stderr, "no ropeAttention<%d, %d> in Instances.cu\n", hd,
               group);
  std::abort();
}

RopeFn ropeFor(int hd) {
  switch (hd) {
  case 32:
    return &rt::rope<32>;
  case 64:
    return &rt::rope<64>;
  case 80:
    return &rt::rope<80>;
  case 96:
    return &rt::rope<96>;
  case 128:
    return &rt::rope<128>;
  case 256:
    return &rt::rope<256>;
  }
  std::fprintf(stderr, "no rope<%d> in Instances.cu\n", hd);
  std::abort();
}

struct AttnCfg {
  int hd, heads, kvHeads;
  int64_t window;
  bool fp8 = false; ///< an FP8 (E4M3) KV cache
};

std::string attnName(const AttnCfg &c) {
  return fmt("HD=%d h=%d kv=%d G=%d%s%s", c.hd, c.heads, c.kvHeads,
             c.heads / c.kvHeads,
             c.window ? fmt(" win=%lld", (long long)c.window).c_str() : "",
             c.fp8 ? " fp8" : "");
}

/// Device storage of one cache slot: bf16 K/V, or FP8 codes and scales.
struct CacheBufs {
  DevBuf<uint16_t> k, v;
  DevBuf<uint8_t> k8, v8;
  DevBuf<float> ks, vs;
  /// `elems` elements of K and of V (`elems / hd` scales), poisoned.
  CacheBufs(bool fp8, size_t elems, int hd)
      : k(fp8 ? 0 : elems), v(fp8 ? 0 : elems), k8(fp8 ? elems : 0),
        v8(fp8 ? elems : 0), ks(fp8 ? elems / size_t(hd) : 0),
        vs(fp8 ? elems / size_t(hd) : 0) {
    k.poison();
    v.poison();
    k8.poison();
    v8.poison();
    ks.poison();
    vs.poison();
  }
  /// The view of this storage as a cache of `c`'s heads, `maxBatch` rows
  /// of `maxSeq` positions (blockSize etc. left to the caller).
  rt::CacheView view(const AttnCfg &c, int64_t maxBatch,
                     int64_t maxSeq) const {
    rt::CacheView view;
    bool fp8 = c.fp8;
    view.maxBatch = maxBatch;
    view.kvHeads = c.kvHeads;
    view.maxSeq = maxSeq;
    view.headDim = c.hd;
    view.fp8 = fp8;
    view.k = fp8 ? static_cast<void *>(k8.get()) : k.get();
    view.v = fp8 ? static_cast<void *>(v8.get()) : v.get();
    view.kScale = fp8 ? ks.get() : nullptr;
    view.vScale = fp8 ? vs.get() : nullptr;
    return view;
  }
  /// Every byte of the slot (raw bits: unwritten positions keep the
  /// poison).
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out;
    auto add = [&](const auto &buf) {
      auto v = buf.download();
      const uint8_t *p = reinterpret_cast<const uint8_t *>(v.data());
      out.insert(out.end(), p, p + v.size() * sizeof(v[0]));
    };
    add(k);
    add(v);
    add(k8);
    add(v8);
    add(ks);
    add(vs);
    return out;
  }
};

/// Prefill without a cache: keys are this call's k/v.
void attentionNoCache(Rng &rng, const AttnCfg &c, int64_t batch, int64_t seq) {
  int64_t tokens = batch * seq;
  int64_t qc = int64_t(c.heads) * c.hd, kc = int64_t(c.kvHeads) * c.hd;
  std::vector<float> q = randomBf16(rng, size_t(tokens * qc), 2.f);
  std::vector<float> k = randomBf16(rng, size_t(tokens * kc), 2.f);
  std::vector<float> v = randomBf16(rng, size_t(tokens * kc));
  std::vector<int64_t> pos;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s)
      pos.push_back(s + 3 * b); // rows start at different positions
  StepBuf sb = makeStep(batch, seq, {}, pos);
  DevBuf<uint16_t> dq = toDevice(q), dk = toDevice(k), dv = toDevice(v),
                   out(size_t(tokens * qc));
  out.poison();
  rt::AttentionParams p;
  p.heads = c.heads;
  p.kvHeads = c.kvHeads;
  p.window = c.window;
  attnFor(c.hd, c.heads / c.kvHeads)(*R, act(out, tokens, qc),
                                     act(dq, tokens, qc), act(dk, tokens, kc),
                                     act(dv, tokens, kc), sb.step, p, false);
  sync();
  std::vector<double> ref(size_t(tokens * qc));
  double scale = 1.0 / std::sqrt(double(c.hd));
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<KV> keys;
    for (int64_t s = 0; s < seq; ++s) {
      size_t t = size_t(b * seq + s);
      keys.push_back({pos[t],
                      {k.begin() + t * kc, k.begin() + (t + 1) * kc},
                      {v.begin() + t * kc, v.begin() + (t + 1) * kc}});
    }
    for (int64_t s = 0; s < seq; ++s) {
      size_t t = size_t(b * seq + s);
      refAttendRow(q.data() + t * qc, pos[t], keys, c.heads, c.kvHeads, c.hd,
                   c.window, scale, ref.data() + t * qc);
    }
  }
  // P is rounded to bf16 before the PV product (flash-attention style).
  record("attention prefill",
         attnName(c) + fmt(" B=%lld S=%lld", (long long)batch, (long long)seq),
         compare(fromDevice(out), ref, 1e-2, 1.0 / 64));
}

/// Points cache slot `slot` at `bufs` (bf16 or FP8 as `c` says):
/// contiguous rows, or `numBlocks` paged blocks when `blockSize` > 0.
void setCacheSlot(const AttnCfg &c, int slot, const CacheBufs &bufs,
                  int64_t maxBatch, int64_t maxSeq, int64_t blockSize = 0,
                  int64_t numBlocks = 0) {
  rt::CacheView view = bufs.view(c, maxBatch, maxSeq);
  view.blockSize = blockSize;
  view.numBlocks = numBlocks;
  R->setCache(slot, view);
}

/// The attention parameters of `c` on cache slot `slot`.
rt::AttentionParams attnParams(const AttnCfg &c, int slot) {
  rt::AttentionParams p;
  p.heads = c.heads;
  p.kvHeads = c.kvHeads;
  p.window = c.window;
  p.cacheSlot = slot;
  return p;
}

/// A KV cache on the device plus its host mirror: each cache row's keys by
/// position.
struct CacheFixture {
  AttnCfg c;
  int64_t maxBatch, maxSeq;
  CacheBufs bufs;
  std::vector<std::map<int64_t, KV>> mirror;
  CacheFixture(const AttnCfg &c, int64_t maxBatch, int64_t maxSeq, int slot)
      : c(c), maxBatch(maxBatch), maxSeq(maxSeq),
        bufs(c.fp8, size_t(maxBatch * c.kvHeads * maxSeq * c.hd), c.hd),
        mirror(size_t(maxBatch)) {
    setCacheSlot(c, slot, bufs, maxBatch, maxSeq);
  }
};

/// One step with the cache: batch rows [cacheRow, cacheRow + batch) at
/// `pos` (batch * seq). Records the output error; returns it.
Stats cachedStep(Rng &rng, CacheFixture &f, int slot, int64_t batch,
                 int64_t seq, int64_t cacheRow,
                 const std::vector<int64_t> &pos) {
  const AttnCfg &c = f.c;
  int64_t tokens = batch * seq;
  int64_t qc = int64_t(c.heads) * c.hd, kc = int64_t(c.kvHeads) * c.hd;
  std::vector<float> q = randomBf16(rng, size_t(tokens * qc), 2.f);
  std::vector<float> k = randomBf16(rng, size_t(tokens * kc), 2.f);
  std::vector<float> v = randomBf16(rng, size_t(tokens * kc));
  StepBuf sb = makeStep(batch, seq, {}, pos, cacheRow);
  DevBuf<uint16_t> dq = toDevice(q), dk = toDevice(k), dv = toDevice(v),
                   out(size_t(tokens * qc));
  out.poison();
  rt::AttentionParams p;
  p.heads = c.heads;
  p.kvHeads = c.kvHeads;
  p.window = c.window;
  p.cacheSlot = slot;
  attnFor(c.hd, c.heads / c.kvHeads)(*R, act(out, tokens, qc),
                                     act(dq, tokens, qc), act(dk, tokens, kc),
                                     act(dv, tokens, kc), sb.step, p, true);
  sync();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s) {
      size_t t = size_t(b * seq + s);
      f.mirror[size_t(cacheRow + b)][pos[t]] = makeKV(
          pos[t], k.data() + t * kc, v.data() + t * kc, c.kvHeads, c.hd, c.fp8);
    }
  // Long prompts: check a sample of rows (every 37th and the last) to keep
  // the double-precision reference fast.
  int64_t stride = seq > 256 ? 37 : 1;
  std::vector<float> got = fromDevice(out), gotRows;
  std::vector<double> ref;
  std::vector<double> row(static_cast<size_t>(qc));
  double scale = 1.0 / std::sqrt(double(c.hd));
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<KV> keys;
    for (auto &[ps, kv] : f.mirror[size_t(cacheRow + b)])
      keys.push_back(kv);
    for (int64_t s = 0; s < seq; ++s) {
      if (s % stride != 0 && s != seq - 1)
        continue;
      size_t t = size_t(b * seq + s);
      refAttendRow(q.data() + t * qc, pos[t], keys, c.heads, c.kvHeads, c.hd,
                   c.window, scale, row.data());
      ref.insert(ref.end(), row.begin(), row.end());
      gotRows.insert(gotRows.end(), got.begin() + t * qc,
                     got.begin() + (t + 1) * qc);
    }
  }
  return compare(gotRows, ref, 1e-2, 1.0 / 64);
}

/// The cache holds exactly what the mirror says, bit for bit.
bool cacheMatches(CacheFixture &f) {
  int hd = f.c.hd;
  if (f.c.fp8) {
    // Codes and scales bit for bit against runtime/weights/Fp8.h.
    std::vector<uint8_t> kc = f.bufs.k8.download(), vc = f.bufs.v8.download();
    std::vector<float> ks = f.bufs.ks.download(), vs = f.bufs.vs.download();
    for (int64_t row = 0; row < f.maxBatch; ++row)
      for (auto &[pos, kv] : f.mirror[size_t(row)])
        for (int h = 0; h < f.c.kvHeads; ++h) {
          size_t at = size_t((row * f.c.kvHeads + h) * f.maxSeq + pos);
          if (std::memcmp(&ks[at], &kv.kScales[size_t(h)], 4) != 0 ||
              std::memcmp(&vs[at], &kv.vScales[size_t(h)], 4) != 0)
            return false;
          for (int i = 0; i < hd; ++i)
            if (kc[at * size_t(hd) + size_t(i)] != kv.kCodes[size_t(h * hd + i)] ||
                vc[at * size_t(hd) + size_t(i)] != kv.vCodes[size_t(h * hd + i)])
              return false;
        }
    return true;
  }
  std::vector<float> k = fromDevice(f.bufs.k), v = fromDevice(f.bufs.v);
  for (int64_t row = 0; row < f.maxBatch; ++row)
    for (auto &[pos, kv] : f.mirror[size_t(row)])
      for (int h = 0; h < f.c.kvHeads; ++h)
        for (int i = 0; i < hd; ++i) {
          size_t at =
              size_t(((row * f.c.kvHeads + h) * f.maxSeq + pos) * hd + i);
          if (k[at] != kv.k[size_t(h * hd + i)] ||
              v[at] != kv.v[size_t(h * hd + i)])
            return false;
        }
  return true;
}

std::vector<int64_t> range(int64_t batch, int64_t first, int64_t seq) {
  std::vector<int64_t> p;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s)
      p.push_back(first + s);
  return p;
}

void attentionWithCache(Rng &rng, const AttnCfg &c, int64_t promptLen,
                        int64_t maxSeq) {
  int slot = 3;
  CacheFixture f(c, /*maxBatch=*/4, maxSeq, slot);
  std::string name = attnName(c);
  // Prefill two sequences in cache rows 1 and 2.
  Stats pre = cachedStep(rng, f, slot, 2, promptLen, 1, range(2, 0, promptLen));
  record("attention prefill+cache",
         name + fmt(" B=2 S=%lld row0=1", (long long)promptLen), pre);
  // Three decode steps.
  Stats dec;
  for (int64_t i = 0; i < 3; ++i)
    dec.merge(cachedStep(rng, f, slot, 2, 1, 1, range(2, promptLen + i, 1)));
  record("attention decode",
         name + fmt(" B=2 ctx=%lld..%lld", (long long)promptLen + 1,
                    (long long)promptLen + 3),
         dec);
  // Chunked prefill continuing both sequences.
  record("attention chunk+cache",
         name + fmt(" B=2 S=19 at %lld", (long long)promptLen + 3),
         cachedStep(rng, f, slot, 2, 19, 1, range(2, promptLen + 3, 19)));
  // Rows of different lengths: row 3 gets a short prompt alone, then one
  // decode step over rows 2 and 3 at different positions.
  cachedStep(rng, f, slot, 1, 5, 3, range(1, 0, 5));
  std::vector<int64_t> mixed = {promptLen + 22, 5};
  record("attention decode",
         name + fmt(" B=2 rows 2,3 at pos %lld,5", (long long)promptLen + 22),
         cachedStep(rng, f, slot, 2, 1, 2, mixed));
  recordBool("attention cache write", name, cacheMatches(f),
             c.fp8 ? "E4M3 codes and scales bit-exact vs Fp8.h"
                   : "cache rows bit-exact vs mirror");
}

/// Llama 3.1's RoPE (theta 500000, frequency scaling by 8 from 8192).
rt::RopeParams llama31Rope() {
  rt::RopeParams rp;
  rp.theta = 500000.f;
  rp.kind = rt::RopeKind::Llama3;
  rp.factor = 8.f;
  rp.originalMaxPosition = 8192;
  return rp;
}

/// The one-launch decode of ropeAttention (RoPE of q and k, cache write,
/// splits merged by the last block) against rope + attention run
/// separately on a twin cache: outputs and caches must agree bit for bit
/// (the same roundings in the same order). The separate path is checked
/// against double precision by the other cases. `ctx` prompt positions are
/// in the cache first (rows at different positions when `ragged`), then
/// three decode steps.
void ropeAttentionDecode(Rng &rng, const AttnCfg &c, int64_t batch,
                         int64_t ctx, int64_t maxSeq, bool ragged) {
  int slotA = 6, slotB = 7;
  CacheFixture fa(c, batch, maxSeq, slotA), fb(c, batch, maxSeq, slotB);
  int group = c.heads / c.kvHeads;
  int64_t qc = int64_t(c.heads) * c.hd, kc = int64_t(c.kvHeads) * c.hd;
  rt::RopeParams rp = llama31Rope();
  rt::AttentionParams pa = attnParams(c, slotA), pb = attnParams(c, slotB);
  // The prompt, identical in both caches (no RoPE needed: the cached keys
  // are whatever they are; only this step's are rotated).
  {
    int64_t tokens = batch * ctx;
    DevBuf<uint16_t> q = toDevice(randomBf16(rng, size_t(tokens * qc))),
                     k = toDevice(randomBf16(rng, size_t(tokens * kc), 2.f)),
                     v = toDevice(randomBf16(rng, size_t(tokens * kc))),
                     o(size_t(tokens * qc));
    StepBuf sb = makeStep(batch, ctx, {}, range(batch, 0, ctx));
    for (const rt::AttentionParams *p : {&pa, &pb})
      attnFor(c.hd, group)(*R, act(o, tokens, qc), act(q, tokens, qc),
                           act(k, tokens, kc), act(v, tokens, kc), sb.step,
                           *p, true);
  }
  bool same = true;
  double worst = 0;
  for (int step = 0; step < 3; ++step) {
    std::vector<int64_t> pos;
    for (int64_t b = 0; b < batch; ++b)
      pos.push_back(ragged ? ctx - 1 - (b * 7) % ctx + step : ctx + step);
    StepBuf sb = makeStep(batch, 1, {}, pos);
    std::vector<float> q = randomBf16(rng, size_t(batch * qc), 2.f),
                       k = randomBf16(rng, size_t(batch * kc), 2.f),
                       v = randomBf16(rng, size_t(batch * kc));
    DevBuf<uint16_t> qa = toDevice(q), ka = toDevice(k), va = toDevice(v),
                     qb = toDevice(q), kb = toDevice(k), vb = toDevice(v),
                     oa(size_t(batch * qc)), ob(size_t(batch * qc));
    oa.poison();
    ob.poison();
    ropeAttnFor(c.hd, group)(*R, act(oa, batch, qc), act(qa, batch, qc),
                             act(ka, batch, kc), act(va, batch, kc), sb.step,
                             rp, pa, true);
    ropeFor(c.hd)(*R, act(qb, batch, qc), sb.step, rp, c.heads);
    ropeFor(c.hd)(*R, act(kb, batch, kc), sb.step, rp, c.kvHeads);
    attnFor(c.hd, group)(*R, act(ob, batch, qc), act(qb, batch, qc),
                         act(kb, batch, kc), act(vb, batch, kc), sb.step, pb,
                         true);
    sync();
    std::vector<float> a = fromDevice(oa), b = fromDevice(ob);
    for (size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] == b[i]))
        same = false;
      if (std::isnan(a[i]))
        worst = INFINITY;
      else
        worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    }
  }
  // Raw bits: positions never written hold the NaN poison in both.
  bool cacheSame = fa.bufs.bytes() == fb.bufs.bytes();
  recordBool("ropeAttention decode",
             attnName(c) + fmt(" B=%lld ctx=%lld%s", (long long)batch,
                               (long long)ctx, ragged ? " ragged" : ""),
             same && cacheSame,
             fmt("fused vs rope+attention: output %s (max diff %.3g), cache "
                 "%s",
                 same ? "bit-identical" : "DIFFERS", worst,
                 cacheSame ? "bit-identical" : "DIFFERS"));
}

/// q, k and v as column views of one [tokens, q|k|v] buffer (what the
/// generated code passes when one GEMM writes them, Ops.h `columns`)
/// against separate dense buffers holding the same values, on twin caches:
/// a prefill through ropeAttention (rope on the views in place, cache
/// write with the row stride, prefill kernel), a fused ropeAttention decode
/// step, a plain attention decode step, and a cache-less prefill. Outputs
/// and caches must agree bit for bit.
void viewsTwin(Rng &rng, const AttnCfg &c, int64_t batch, int64_t prompt,
               int64_t maxSeq) {
  int slotA = 8, slotB = 9;
  CacheFixture fa(c, batch, maxSeq, slotA), fb(c, batch, maxSeq, slotB);
  int group = c.heads / c.kvHeads;
  int64_t qc = int64_t(c.heads) * c.hd, kc = int64_t(c.kvHeads) * c.hd;
  int64_t total = qc + 2 * kc;
  rt::RopeParams rp = llama31Rope();
  rt::AttentionParams pa = attnParams(c, slotA), pb = attnParams(c, slotB);
  bool same = true;
  int calls = 0;
  // kind 0: ropeAttention, 1: attention with cache, 2: attention without.
  auto twin = [&](int64_t seq, const std::vector<int64_t> &pos, int kind) {
    int64_t tokens = batch * seq;
    std::vector<float> q = randomBf16(rng, size_t(tokens * qc), 2.f),
                       k = randomBf16(rng, size_t(tokens * kc), 2.f),
                       v = randomBf16(rng, size_t(tokens * kc));
    std::vector<float> packed;
    for (int64_t t = 0; t < tokens; ++t) {
      packed.insert(packed.end(), q.begin() + t * qc, q.begin() + (t + 1) * qc);
      packed.insert(packed.end(), k.begin() + t * kc, k.begin() + (t + 1) * kc);
      packed.insert(packed.end(), v.begin() + t * kc, v.begin() + (t + 1) * kc);
    }
    StepBuf sb = makeStep(batch, seq, {}, pos);
    DevBuf<uint16_t> dq = toDevice(q), dk = toDevice(k), dv = toDevice(v),
                     dp = toDevice(packed), oa(size_t(tokens * qc)),
                     ob(size_t(tokens * qc));
    oa.poison();
    ob.poison();
    rt::Act all = act(dp, tokens, total);
    rt::Act vq = rt::columns(*R, all, 0, qc), vk = rt::columns(*R, all, qc, kc),
            vv = rt::columns(*R, all, qc + kc, kc);
    if (kind == 0) {
      ropeAttnFor(c.hd, group)(*R, act(oa, tokens, qc), act(dq, tokens, qc),
                               act(dk, tokens, kc), act(dv, tokens, kc),
                               sb.step, rp, pa, true);
      ropeAttnFor(c.hd, group)(*R, act(ob, tokens, qc), vq, vk, vv, sb.step,
                               rp, pb, true);
    } else {
      attnFor(c.hd, group)(*R, act(oa, tokens, qc), act(dq, tokens, qc),
                           act(dk, tokens, kc), act(dv, tokens, kc), sb.step,
                           pa, kind == 1);
      attnFor(c.hd, group)(*R, act(ob, tokens, qc), vq, vk, vv, sb.step, pb,
                           kind == 1);
    }
    sync();
    ++calls;
    std::vector<float> a = fromDevice(oa), b = fromDevice(ob);
    for (size_t i = 0; i < a.size(); ++i)
      same = same && (a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])));
  };
  twin(prompt, range(batch, 0, prompt), 0);
  twin(1, range(batch, prompt, 1), 0);
  twin(1, range(batch, prompt + 1, 1), 1);
  twin(prompt, range(batch, 0, prompt), 2);
  bool cacheSame = fa.bufs.bytes() == fb.bufs.bytes();
  recordBool("attention on q|k|v views",
             attnName(c) + fmt(" B=%lld S=%lld", (long long)batch,
                               (long long)prompt),
             same && cacheSame && calls == 4,
             fmt("views vs dense buffers over prefill, fused decode, decode, "
                 "no-cache prefill: outputs %s, cache %s",
                 same ? "bit-identical" : "DIFFER",
                 cacheSame ? "bit-identical" : "DIFFERS"));
}

/// `count` distinct block ids of [0, numBlocks) in random order.
std::vector<int32_t> shuffledBlocks(Rng &rng, int64_t numBlocks,
                                    int64_t count) {
  std::vector<int32_t> ids(static_cast<size_t>(numBlocks));
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int32_t(i);
  for (size_t i = ids.size() - 1; i > 0; --i)
    std::swap(ids[i], ids[size_t(rng.next() % (i + 1))]);
  ids.resize(size_t(count));
  return ids;
}

/// The paged cache (serving: Step::blockTables) against the contiguous
/// one: the same steps on a contiguous slot and on a paged slot whose
/// blocks are a random permutation — a ragged prefill (row 1 left-padded
/// with position -1), three fused ropeAttention decode steps with a padding
/// row, a chunked prefill — must give bit-identical outputs, and every
/// written position must hold the same K/V bits in both caches (the same
/// kernels, only the address of a position differs).
void pagedAttentionTwin(Rng &rng, const AttnCfg &c, int64_t prompt,
                        int64_t maxSeq, int64_t blockSize) {
  const int64_t batch = 3;
  int slotA = 8, slotB = 9;
  int group = c.heads / c.kvHeads;
  int64_t qc = int64_t(c.heads) * c.hd, kc = int64_t(c.kvHeads) * c.hd;
  CacheFixture fa(c, batch, maxSeq, slotA);
  int64_t perSeq = (maxSeq + blockSize - 1) / blockSize;
  int64_t numBlocks = batch * perSeq + 5;
  size_t slotElems = size_t(numBlocks * c.kvHeads * blockSize * c.hd);
  CacheBufs paged(c.fp8, slotElems, c.hd);
  setCacheSlot(c, slotB, paged, batch, maxSeq, blockSize, numBlocks);
  std::vector<int32_t> table = shuffledBlocks(rng, numBlocks, batch * perSeq);
  DevBuf<int32_t> dTable = toDeviceRaw(table);

  rt::RopeParams rp;
  rp.theta = 10000.f;
  rp.kind = rt::RopeKind::Llama3;
  rp.factor = 8.f;
  rp.originalMaxPosition = 8192;
  rt::AttentionParams pa = attnParams(c, slotA), pb = attnParams(c, slotB);
  std::vector<int64_t> written(size_t(batch), 0); // positions [0, n) per row
  bool same = true;
  // One call on both caches with fresh copies of q/k/v (ropeAttention
  // rotates them in place outside the fused decode).
  auto both = [&](int64_t seq, const std::vector<int64_t> &pos) {
    int64_t tokens = batch * seq;
    std::vector<float> q = randomBf16(rng, size_t(tokens * qc), 2.f),
                       k = randomBf16(rng, size_t(tokens * kc), 2.f),
                       v = randomBf16(rng, size_t(tokens * kc));
    StepBuf sa = makeStep(batch, seq, {}, pos),
            sb = makeStep(batch, seq, {}, pos);
    sb.step.blockTables = dTable.get();
    sb.step.blockTableStride = perSeq;
    DevBuf<uint16_t> qa = toDevice(q), ka = toDevice(k), va = toDevice(v),
                     qb = toDevice(q), kb = toDevice(k), vb = toDevice(v),
                     oa(size_t(tokens * qc)), ob(size_t(tokens * qc));
    oa.poison();
    ob.poison();
    ropeAttnFor(c.hd, group)(*R, act(oa, tokens, qc), act(qa, tokens, qc),
                             act(ka, tokens, kc), act(va, tokens, kc),
                             sa.step, rp, pa, true);
    ropeAttnFor(c.hd, group)(*R, act(ob, tokens, qc), act(qb, tokens, qc),
                             act(kb, tokens, kc), act(vb, tokens, kc),
                             sb.step, rp, pb, true);
    sync();
    std::vector<uint16_t> a = oa.download(), b = ob.download();
    same = same && a == b;
    for (size_t t = 0; t < pos.size(); ++t)
      if (pos[t] >= 0)
        written[t / size_t(seq)] =
            std::max(written[t / size_t(seq)], pos[t] + 1);
  };
  // Ragged prefill: row 1 is 5 tokens shorter, left-padded.
  std::vector<int64_t> pos;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < prompt; ++t)
      pos.push_back(b == 1 ? t - 5 : t);
  both(prompt, pos);
  // Decode: rows at their own positions; row 2 is padding at step 1.
  for (int step = 0; step < 3; ++step) {
    std::vector<int64_t> d = {written[0], written[1],
                              step == 1 ? -1 : written[2]};
    both(1, d);
  }
  // A chunk of 19 continuing every row.
  pos.clear();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < 19; ++t)
      pos.push_back(written[size_t(b)] + t);
  both(19, pos);
  // The caches: every written position, bit for bit (bf16 values, or FP8
  // codes and scales).
  std::vector<uint16_t> ak = fa.bufs.k.download(), av = fa.bufs.v.download(),
                        bk = paged.k.download(), bv = paged.v.download();
  std::vector<uint8_t> ak8 = fa.bufs.k8.download(),
                       av8 = fa.bufs.v8.download(), bk8 = paged.k8.download(),
                       bv8 = paged.v8.download();
  std::vector<float> aks = fa.bufs.ks.download(), avs = fa.bufs.vs.download(),
                     bks = paged.ks.download(), bvs = paged.vs.download();
  bool cacheSame = true;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t p = 0; p < written[size_t(b)]; ++p)
      for (int64_t h = 0; h < c.kvHeads; ++h) {
        size_t a0 = size_t(((b * c.kvHeads + h) * maxSeq + p) * c.hd);
        int64_t blk = table[size_t(b * perSeq + p / blockSize)];
        size_t b0 = size_t(((blk * c.kvHeads + h) * blockSize +
                            p % blockSize) *
                           c.hd);
        if (c.fp8) {
          size_t as = a0 / size_t(c.hd), bs = b0 / size_t(c.hd);
          if (std::memcmp(&aks[as], &bks[bs], 4) != 0 ||
              std::memcmp(&avs[as], &bvs[bs], 4) != 0)
            cacheSame = false;
        }
        for (int64_t i = 0; i < c.hd; ++i)
          if (c.fp8 ? ak8[a0 + size_t(i)] != bk8[b0 + size_t(i)] ||
                          av8[a0 + size_t(i)] != bv8[b0 + size_t(i)]
                    : ak[a0 + size_t(i)] != bk[b0 + size_t(i)] ||
                          av[a0 + size_t(i)] != bv[b0 + size_t(i)])
            cacheSame = false;
      }
  recordBool("attention paged cache",
             attnName(c) + fmt(" B=3 S=%lld block=%lld", (long long)prompt,
                               (long long)blockSize),
             same && cacheSame,
             fmt("paged vs contiguous: outputs %s, written K/V %s",
                 same ? "bit-identical" : "DIFFER",
                 cacheSame ? "bit-identical" : "DIFFER"));
}

/// A varlen step (Step::queryStart: serving's one flat call) against the
/// same work as separate calls: on two paged caches with the same random
/// block table and the same prefixes, two decode rows and two prefill
/// chunks (one after a prefix, one from position 0) in one flat call must
/// give bit-identical outputs and K/V to a decode call of the two rows
/// plus one prefill call per chunk (the same kernels over the same keys).
/// lastToken of the flat rows keeps each sequence's last row.
void flatAttentionTwin(Rng &rng, const AttnCfg &c, int64_t blockSize) {
  const std::vector<int64_t> prefix = {70, 33, 21, 0}, n = {1, 1, 45, 80};
  const int64_t batch = 4, decodeRows = 2, maxSeq = 256;
  int group = c.heads / c.kvHeads;
  int64_t qc = int64_t(c.heads) * c.hd, kc = int64_t(c.kvHeads) * c.hd;
  int64_t perSeq = (maxSeq + blockSize - 1) / blockSize;
  int64_t numBlocks = batch * perSeq + 3;
  size_t slotElems = size_t(numBlocks * c.kvHeads * blockSize * c.hd);
  CacheBufs ca(c.fp8, slotElems, c.hd), cb(c.fp8, slotElems, c.hd);
  int slotA = 10, slotB = 11;
  setCacheSlot(c, slotA, ca, batch, maxSeq, blockSize, numBlocks);
  setCacheSlot(c, slotB, cb, batch, maxSeq, blockSize, numBlocks);
  std::vector<int32_t> table = shuffledBlocks(rng, numBlocks, batch * perSeq);
  DevBuf<int32_t> dTable = toDeviceRaw(table);
  rt::AttentionParams pa = attnParams(c, slotA), pb = attnParams(c, slotB);
  AttnFn attn = attnFor(c.hd, group);
  auto view = [](const DevBuf<uint16_t> &d, int64_t row, int64_t rows,
                 int64_t cols) {
    return rt::Act{const_cast<uint16_t *>(d.get()) + row * cols, rows, cols};
  };
  // One call on rows [row, row + rows) of q/k/v/out, cache rows from
  // `cacheRow`, on slot p.cacheSlot.
  auto call = [&](const DevBuf<uint16_t> &q, const DevBuf<uint16_t> &k,
                  const DevBuf<uint16_t> &v, const DevBuf<uint16_t> &o,
                  int64_t row, int64_t b, int64_t seq, int64_t cacheRow,
                  const std::vector<int64_t> &pos,
                  const rt::AttentionParams &p) {
    StepBuf st = makeStep(b, seq, {}, pos, cacheRow);
    st.step.blockTables = dTable.get();
    st.step.blockTableStride = perSeq;
    attn(*R, view(o, row, b * seq, qc), view(q, row, b * seq, qc),
         view(k, row, b * seq, kc), view(v, row, b * seq, kc), st.step, p,
         true);
    sync();
  };
  // The prefixes, the same on both caches.
  for (int64_t b = 0; b < batch; ++b) {
    if (prefix[size_t(b)] == 0)
      continue;
    int64_t t = prefix[size_t(b)];
    std::vector<float> q = randomBf16(rng, size_t(t * qc), 2.f),
                       k = randomBf16(rng, size_t(t * kc), 2.f),
                       v = randomBf16(rng, size_t(t * kc));
    DevBuf<uint16_t> dq = toDevice(q), dk = toDevice(k), dv = toDevice(v),
                     o(size_t(t * qc));
    std::vector<int64_t> pos;
    for (int64_t i = 0; i < t; ++i)
      pos.push_back(i);
    call(dq, dk, dv, o, 0, 1, t, b, pos, pa);
    call(dq, dk, dv, o, 0, 1, t, b, pos, pb);
  }
  // This step's rows: the decode rows, then the chunks.
  std::vector<int32_t> start = {0}, tokenSeq;
  std::vector<int64_t> pos;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < n[size_t(b)]; ++i) {
      pos.push_back(prefix[size_t(b)] + i);
      tokenSeq.push_back(int32_t(b));
    }
    start.push_back(start.back() + int32_t(n[size_t(b)]));
  }
  int64_t tokens = start.back();
  std::vector<float> q = randomBf16(rng, size_t(tokens * qc), 2.f),
                     k = randomBf16(rng, size_t(tokens * kc), 2.f),
                     v = randomBf16(rng, size_t(tokens * kc));
  DevBuf<uint16_t> dq = toDevice(q), dk = toDevice(k), dv = toDevice(v),
                   oa(size_t(tokens * qc)), ob(size_t(tokens * qc));
  oa.poison();
  ob.poison();
  // Separate calls on cache A.
  call(dq, dk, dv, oa, 0, decodeRows, 1, 0,
       std::vector<int64_t>(pos.begin(), pos.begin() + decodeRows), pa);
  for (int64_t b = decodeRows; b < batch; ++b)
    call(dq, dk, dv, oa, start[size_t(b)], 1, n[size_t(b)], b,
         std::vector<int64_t>(pos.begin() + start[size_t(b)],
                              pos.begin() + start[size_t(b) + 1]),
         pa);
  // One flat call on cache B.
  StepBuf flat = makeStep(batch, 80, std::vector<int64_t>(size_t(tokens), 0),
                          pos);
  DevBuf<int32_t> dStart = toDeviceRaw(start), dTokSeq = toDeviceRaw(tokenSeq);
  flat.step.blockTables = dTable.get();
  flat.step.blockTableStride = perSeq;
  flat.step.queryStart = dStart.get();
  flat.step.tokenSeq = dTokSeq.get();
  flat.step.tokens = tokens;
  flat.step.decodeRows = decodeRows;
  attn(*R, act(ob, tokens, qc), act(dq, tokens, qc), act(dk, tokens, kc),
       act(dv, tokens, kc), flat.step, pb, true);
  sync();
  bool same = oa.download() == ob.download();
  // Both caches start from the same poison under the same block table, so
  // the same writes leave every byte (values, or FP8 codes and scales)
  // equal, written positions and untouched ones alike.
  bool cacheSame = ca.bytes() == cb.bytes();
  // lastToken of the flat rows: row start[b + 1] - 1 of each sequence.
  int64_t hidden = 96;
  std::vector<float> rows = randomBf16(rng, size_t(tokens * hidden));
  DevBuf<uint16_t> din = toDevice(rows), dout(size_t(batch * hidden));
  rt::lastToken(*R, act(dout, batch, hidden), act(din, tokens, hidden),
                flat.step);
  sync();
  std::vector<float> last = fromDevice(dout);
  bool lastOk = true;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < hidden; ++i)
      lastOk = lastOk && last[size_t(b * hidden + i)] ==
                             rows[size_t((start[size_t(b) + 1] - 1) * hidden +
                                         i)];
  recordBool("attention varlen (flat step)",
             attnName(c) + fmt(" 2 decode + chunks 45, 80 block=%lld",
                               (long long)blockSize),
             same && cacheSame && lastOk,
             fmt("flat vs separate calls: outputs %s, written K/V %s, "
                 "lastToken %s",
                 same ? "bit-identical" : "DIFFER",
                 cacheSame ? "bit-identical" : "DIFFER",
                 lastOk ? "exact" : "WRONG"));
}

void testAttention() {
  Rng rng(6);
  attentionNoCache(rng, {64, 4, 4, 0}, 2, 37);
  attentionNoCache(rng, {128, 8, 2, 0}, 1, 130);
  attentionNoCache(rng, {128, 16, 2, 16}, 2, 70);
  attentionNoCache(rng, {64, 8, 1, 0}, 3, 1);
  attentionNoCache(rng, {128, 32, 1, 0}, 1, 65);
  attentionWithCache(rng, {64, 4, 4, 0}, 50, 300);
  attentionWithCache(rng, {128, 8, 2, 0}, 70, 300);
  attentionWithCache(rng, {128, 8, 1, 32}, 70, 300);
  attentionWithCache(rng, {128, 28, 4, 0}, 33, 128);
  attentionWithCache(rng, {128, 32, 1, 0}, 20, 64);
  // Head dims other than 64 and 128 (the kernels are templates instantiated
  // per model): Phi/GPT-J style 80 and 96, small 32, Gemma's 256.
  attentionWithCache(rng, {32, 8, 2, 0}, 40, 200);
  attentionWithCache(rng, {80, 10, 2, 0}, 70, 200);
  attentionWithCache(rng, {96, 24, 8, 0}, 30, 160);
  attentionWithCache(rng, {256, 4, 2, 0}, 70, 200);
  // The fused decode at the model shapes it serves (~1B: 32/8 x 64; 8B and
  // 12B: 32/8 x 128) and the other head dims; short contexts (one split),
  // long ones (several splits, last-block merge), ragged rows, batch 64.
  ropeAttentionDecode(rng, {64, 32, 8, 0}, 1, 40, 256, false);
  ropeAttentionDecode(rng, {64, 32, 8, 0}, 4, 700, 1024, true);
  ropeAttentionDecode(rng, {128, 32, 8, 0}, 1, 1000, 2048, false);
  ropeAttentionDecode(rng, {128, 32, 8, 0}, 64, 150, 256, true);
  ropeAttentionDecode(rng, {128, 8, 1, 32}, 2, 300, 512, false);
  ropeAttentionDecode(rng, {32, 8, 2, 0}, 3, 200, 256, true);
  ropeAttentionDecode(rng, {80, 10, 2, 0}, 2, 300, 512, false);
  ropeAttentionDecode(rng, {96, 24, 8, 0}, 2, 130, 256, true);
  ropeAttentionDecode(rng, {256, 4, 2, 0}, 2, 300, 512, false);
  pagedAttentionTwin(rng, {64, 8, 2, 0}, 40, 256, 16);
  pagedAttentionTwin(rng, {128, 32, 8, 0}, 200, 512, 16);
  pagedAttentionTwin(rng, {128, 8, 1, 32}, 70, 256, 32);
  flatAttentionTwin(rng, {128, 32, 8, 0}, 16);
  flatAttentionTwin(rng, {64, 8, 2, 0}, 32);
  flatAttentionTwin(rng, {128, 32, 8, 0, true}, 16); // FP8 cache
  viewsTwin(rng, {128, 32, 8, 0}, 2, 70, 256);
  viewsTwin(rng, {64, 32, 8, 0}, 64, 9, 64);
  viewsTwin(rng, {128, 8, 2, 0, true}, 3, 40, 128); // FP8 cache
  viewsTwin(rng, {80, 10, 2, 16}, 2, 50, 128);
  if (quickMode)
    return;
  // Long context: many decode splits; with and without a window.
  attentionWithCache(rng, {128, 32, 8, 0}, 1000, 1100);
  attentionWithCache(rng, {64, 16, 2, 256}, 1000, 1100);
}

/// The FP8 (E4M3) KV cache: the cached cases above with the cache holding
/// codes and per-(position, kv head) scales. The CPU reference attends over
/// the FP8 round trip of every key and value (runtime/weights/Fp8.h), and
/// the written codes and scales must equal Fp8.h's bit for bit; the fused
/// decode and the paged cache are checked against their twins as for bf16.
void testAttentionFp8Kv() {
  Rng rng(19);
  attentionWithCache(rng, {64, 4, 4, 0, true}, 50, 300);
  attentionWithCache(rng, {128, 8, 2, 0, true}, 70, 300);
  attentionWithCache(rng, {128, 8, 1, 32, true}, 70, 300);
  attentionWithCache(rng, {128, 32, 8, 0, true}, 600, 700);
  attentionWithCache(rng, {80, 10, 2, 0, true}, 70, 200);
  attentionWithCache(rng, {256, 4, 2, 0, true}, 70, 200);
  ropeAttentionDecode(rng, {64, 32, 8, 0, true}, 4, 700, 1024, true);
  ropeAttentionDecode(rng, {128, 32, 8, 0, true}, 1, 1000, 2048, false);
  ropeAttentionDecode(rng, {128, 32, 8, 0, true}, 64, 150, 256, true);
  ropeAttentionDecode(rng, {96, 24, 8, 0, true}, 2, 130, 256, true);
  ropeAttentionDecode(rng, {256, 4, 2, 0, true}, 2, 300, 512, false);
  pagedAttentionTwin(rng, {64, 8, 2, 0, true}, 40, 256, 16);
  pagedAttentionTwin(rng, {128, 32, 8, 0, true}, 200, 512, 16);
  pagedAttentionTwin(rng, {128, 8, 1, 32, true}, 70, 256, 32);
}

/// The prefill attention's wgmma kernel (LaunchPolicy::wgmmaPrefill; head
/// dims 64 and 128, compute capability 9.0): the cases of the two groups
/// above that run the prefill kernel at those head dims, again with it on
/// (cache-less and cached, GQA groups 1 to 8, a sliding window, paged and
/// varlen steps, q|k|v views, the FP8 cache, 1000-token prompts), against
/// the same CPU references and twins.
void testWgmmaPrefill() {
  if (rt::cuda::computeCapability() != 90) {
    recordBool("wgmma prefill", "compute capability 9.0", true,
               "skipped: not an sm_90 GPU");
    return;
  }
  const rt::LaunchPolicy saved = rt::launchPolicy();
  rt::LaunchPolicy on = saved;
  on.wgmmaPrefill = true;
  rt::setLaunchPolicy(on);
  recordBool("wgmma prefill", "selected", rt::wgmmaPrefill(),
             "LLMC_WGMMA_PREFILL=0 would keep the mma.sync kernel");
  try {
    Rng rng(29);
    attentionNoCache(rng, {64, 4, 4, 0}, 2, 37);
    attentionNoCache(rng, {128, 8, 2, 0}, 1, 130);
    attentionNoCache(rng, {128, 16, 2, 16}, 2, 70);
    attentionNoCache(rng, {64, 8, 1, 0}, 3, 1);
    attentionNoCache(rng, {128, 32, 1, 0}, 1, 65);
    attentionNoCache(rng, {128, 32, 8, 0}, 1, 300);
    attentionWithCache(rng, {64, 4, 4, 0}, 50, 300);
    attentionWithCache(rng, {128, 8, 2, 0}, 70, 300);
    attentionWithCache(rng, {128, 8, 1, 32}, 70, 300);
    attentionWithCache(rng, {128, 28, 4, 0}, 33, 128);
    attentionWithCache(rng, {128, 32, 8, 0}, 1000, 1100);
    attentionWithCache(rng, {64, 16, 2, 256}, 1000, 1100);
    attentionWithCache(rng, {64, 4, 4, 0, true}, 50, 300);
    attentionWithCache(rng, {128, 8, 1, 32, true}, 70, 300);
    attentionWithCache(rng, {128, 32, 8, 0, true}, 600, 700);
    pagedAttentionTwin(rng, {64, 8, 2, 0}, 40, 256, 16);
    pagedAttentionTwin(rng, {128, 32, 8, 0}, 200, 512, 16);
    pagedAttentionTwin(rng, {128, 8, 1, 32, true}, 70, 256, 32);
    flatAttentionTwin(rng, {128, 32, 8, 0}, 16);
    flatAttentionTwin(rng, {64, 8, 2, 0}, 32);
    flatAttentionTwin(rng, {128, 32, 8, 0, true}, 16);
    viewsTwin(rng, {128, 32, 8, 0}, 2, 70, 256);
    viewsTwin(rng, {64, 32, 8, 0}, 64, 9, 64);
    viewsTwin(rng, {128, 8, 2, 0, true}, 3, 40, 128);
  } catch (...) {
    rt::setLaunchPolicy(saved);
    throw;
  }
  rt::setLaunchPolicy(saved);
}

} // namespace

//===----------------------------------------------------------------------===//
// Parts in KernelTests2.cpp
//===----------------------------------------------------------------------===//

namespace llmc::test {
bool quickMode = false;
void testMoe(FakeRank &r);
void testOutput(FakeRank &r);
void testRandomWeights();
void testErrorsAndGraphs(FakeRank &r);
void testDecodeLaunch(FakeRank &r);
void testTpReduce(FakeRank &r);
void testFp8(FakeRank &r);
void runBench(FakeRank &r);
void benchFp8(FakeRank &r, double copyGBs);
void testDecodeGemm(FakeRank &r);
void benchDecodeGemm(FakeRank &r);
void benchDecodeAttention(FakeRank &r);
void benchGemmAlgos(FakeRank &r);
void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note) {
  record(test, config, s, note);
}
} // namespace llmc::test

int main(int argc, char **argv) {
  bool bench = false;
  std::string only; // --only=NAME: one test group (and, with --bench, only
                    // its benchmark where it has one: fp8, decodeGemm,
                    // attention; gemmAlgos is a benchmark alone)
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bench")
      bench = true;
    else if (a == "--quick") // skips the slowest cases (sanitizer runs)
      quickMode = true;
    else if (a.rfind("--only=", 0) == 0)
      only = a.substr(7);
    else {
      std::fprintf(stderr, "usage: %s [--bench] [--quick] [--only=GROUP]\n",
                   argv[0]);
      return 2;
    }
  }
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    std::fprintf(stderr,
                 "llmc-gpu-kernel-tests: no CUDA device (%s); these tests "
                 "need a GPU\n",
                 e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    return 2;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s, sm_%d%d, %d SMs, %.1f GiB\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount,
              double(prop.totalGlobalMem) / (1 << 30));
  std::fflush(stdout);

  FakeRank rank(size_t(2) << 30, size_t(32) << 20);
  R = &rank;
  using TestFn = std::function<void()>;
  std::vector<std::pair<const char *, TestFn>> tests = {
      {"embedding", testEmbedding},
      {"rmsNorm", testRmsNorm},
      {"elementwise", testElementwise},
      {"linear", testLinear},
      {"rope", testRope},
      {"attention", testAttention},
      {"fp8kv", testAttentionFp8Kv},
      {"wgmmaPrefill", testWgmmaPrefill},
      {"moe", [&] { testMoe(rank); }},
      {"output", [&] { testOutput(rank); }},
      {"randomWeights", testRandomWeights},
      {"errors+graphs", [&] { testErrorsAndGraphs(rank); }},
      {"decodeLaunch", [&] { testDecodeLaunch(rank); }},
      {"tpReduce", [&] { testTpReduce(rank); }},
      {"fp8", [&] { testFp8(rank); }},
      {"decodeGemm", [&] { testDecodeGemm(rank); }},
  };
  // --only names a test group, or (with --bench) gemmAlgos, a benchmark
  // without tests; anything else would run nothing and pass.
  bool known = only.empty() || (bench && only == "gemmAlgos");
  std::string groups;
  for (const auto &t : tests) {
    known = known || only == t.first;
    groups += groups.empty() ? t.first : std::string(", ") + t.first;
  }
  if (!known) {
    std::fprintf(stderr,
                 "llmc-gpu-kernel-tests: --only=%s names no test group "
                 "(groups: %s; with --bench also gemmAlgos)\n",
                 only.c_str(), groups.c_str());
    return 2;
  }
  for (auto &[name, fn] : tests) {
    if (!only.empty() && only != name)
      continue;
    auto t0 = std::chrono::steady_clock::now();
    try {
      fn();
    } catch (const std::exception &ex) {
      recordBool(name, "exception", false, ex.what());
      // A sticky CUDA error poisons the context: nothing after it is valid.
      if (cudaGetLastError() != cudaSuccess ||
          cudaDeviceSynchronize() != cudaSuccess) {
        std::printf("CUDA context lost in %s: %s\n", name, ex.what());
        break;
      }
    }
    rank.resetArena();
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    std::printf("  ran %-14s %6.2f s\n", name, s);
    std::fflush(stdout);
  }

  int failed = 0;
  std::printf("\n%-26s %-44s %9s %10s %10s %10s %6s\n", "test", "config",
              "elements", "max|diff|", "/max|ref|", "||d||/||r||", "result");
  for (const ResultRow &r : results) {
    failed += !r.pass;
    std::printf("%-26s %-44s %9lld %10.3g %10.3g %10.3g %6s%s%s\n",
                r.test.c_str(), r.config.c_str(), (long long)r.stats.count,
                r.stats.maxAbs, r.stats.scaledMax(), r.stats.normRel(),
                r.pass ? "PASS" : "FAIL", r.note.empty() ? "" : "  ",
                r.note.c_str());
  }
  std::printf("\n%zu cases, %d failed\n", results.size(), failed);
  if (bench) {
    try {
      if (only == "fp8")
        benchFp8(rank, 0.0);
      else if (only == "decodeGemm")
        benchDecodeGemm(rank);
      else if (only == "attention")
        benchDecodeAttention(rank);
      else if (only == "gemmAlgos")
        benchGemmAlgos(rank);
      else
        runBench(rank);
    } catch (const std::exception &ex) {
      std::printf("bench failed: %s\n", ex.what());
      failed += 1;
    }
  }
  return failed == 0 ? 0 : 1;
}
