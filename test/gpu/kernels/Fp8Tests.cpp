//===- Fp8Tests.cpp - FP8 projections, token scales, quantization ---------===//
//
// Part of llmc-gpu-kernel-tests (see KernelTests.cpp): the FP8 paths of the
// projections (runtime/kernels/Fp8Linear.cu) against double loops over the
// exact E4M3 values, and tokenScale / quantize / maxOfBlocks bit for bit
// against runtime/weights/Fp8.h (the CPU reference executor's rounding).
// With --bench, benchFp8 times the FP8 decode GEMM (Fp8DecodeGemmTests.cpp),
// the decode GEMVs and the prefill GEMMs of the Llama-3-8B shapes in bf16
// and FP8 and prints the ratios.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/gemm/Gemm.h"

#include "runtime/kernels/Kernels.h"
#include "runtime/weights/Fp8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

using namespace llmc;
using rt::Act;
using rt::Weight;

namespace llmc::test {

void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note = "");
void testFp8DecodeGemm(FakeRank &r); // Fp8DecodeGemmTests.cpp
void benchFp8DecodeGemm(FakeRank &r, double copyGBs);
double copyRateGBs(FakeRank &r, double *ms); // Bench.cpp

namespace {

/// An FP8 weight on the device: codes [n, k] and 1 or n scales.
struct Fp8Weight {
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  DevBuf<uint8_t> dcodes;
  DevBuf<float> dscales;
  int64_t n = 0, k = 0;

  /// Value of element (o, j).
  double value(int64_t o, int64_t j) const {
    float s = scales[scales.size() == 1 ? 0 : size_t(o)];
    return double(rt::e4m3ToFloat(codes[size_t(o * k + j)])) * s;
  }
  Weight weight() const {
    Weight w;
    w.rows = n;
    w.cols = k;
    w.fp8 = dcodes.get();
    w.scale = dscales.get();
    w.scaleCount = int64_t(scales.size());
    return w;
  }
};

/// Quantizes random values as the loader does: a scale per row (or one
/// for the tensor) from the absmax, codes of value / scale.
Fp8Weight randomFp8(Rng &rng, int64_t n, int64_t k, bool perChannel) {
  std::vector<float> v = randomBf16(rng, size_t(n * k),
                                    float(1.0 / std::sqrt(double(k))));
  Fp8Weight w;
  w.n = n;
  w.k = k;
  w.codes.resize(v.size());
  if (perChannel) {
    for (int64_t o = 0; o < n; ++o) {
      float s = rt::fp8ScaleForAbsmax(rt::absMax(&v[size_t(o * k)], size_t(k)));
      w.scales.push_back(s);
      rt::quantizeE4M3(&v[size_t(o * k)], size_t(k), s, &w.codes[size_t(o * k)]);
    }
  } else {
    float s = rt::fp8ScaleForAbsmax(rt::absMax(v.data(), v.size()));
    w.scales.push_back(s);
    rt::quantizeE4M3(v.data(), v.size(), s, w.codes.data());
  }
  w.dcodes = toDeviceRaw(w.codes);
  w.dscales = toDeviceRaw(w.scales);
  return w;
}

} // namespace

/// Host token scales and codes of bf16 rows (Fp8DecodeGemmTests.cpp too).
void quantizeRows(const std::vector<float> &x, int64_t m, int64_t k,
                  std::vector<float> &scales, std::vector<uint8_t> &codes) {
  scales.resize(size_t(m));
  codes.resize(x.size());
  for (int64_t i = 0; i < m; ++i) {
    scales[size_t(i)] =
        rt::fp8ScaleForAbsmax(rt::absMax(&x[size_t(i * k)], size_t(k)));
    rt::quantizeE4M3(&x[size_t(i * k)], size_t(k), scales[size_t(i)],
                     &codes[size_t(i * k)]);
  }
}

namespace {

Stats bitExact(const std::vector<float> &got, const std::vector<float> &want) {
  Stats s;
  for (size_t i = 0; i < want.size(); ++i) {
    bool same = (std::isnan(got[i]) && std::isnan(want[i])) || got[i] == want[i];
    s.add(same ? want[i] : got[i] + 1e30, want[i], 0.0, 0.0);
  }
  if (got.size() != want.size())
    s.bad += 1;
  return s;
}

void testProjections(FakeRank &r) {
  Rng rng(19);
  struct Cfg {
    int64_t m, n, k;
    bool bias, perChannel;
  } cfgs[] = {
      {1, 512, 1024, false, true}, {2, 520, 256, true, true},
      {3, 256, 4096, false, false}, {5, 77, 64, true, true},
      {8, 1000, 512, false, true},  {16, 264, 1024, true, true},
      {17, 256, 512, false, true},  {64, 1000, 2048, true, false},
      {300, 520, 272, true, true},
  };
  for (Cfg c : cfgs) {
    Fp8Weight w = randomFp8(rng, c.n, c.k, c.perChannel);
    std::vector<float> x = randomBf16(rng, size_t(c.m * c.k));
    std::vector<float> bias = randomBf16(rng, size_t(c.n), 0.1f);
    DevBuf<uint16_t> dx = toDevice(x), db = toDevice(bias);
    Weight bw = weightOf(db, 1, c.n);
    std::string config =
        fmt("M=%lld N=%lld K=%lld%s%s", (long long)c.m, (long long)c.n,
            (long long)c.k, c.perChannel ? "" : " per-tensor",
            c.bias ? " +bias" : "");

    // W8A16: bf16 x times the exact weight values.
    std::vector<double> ref(size_t(c.m * c.n));
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t o = 0; o < c.n; ++o) {
        double acc = 0;
        for (int64_t j = 0; j < c.k; ++j)
          acc += double(x[size_t(i * c.k + j)]) * w.value(o, j);
        ref[size_t(i * c.n + o)] = acc + (c.bias ? bias[size_t(o)] : 0.0);
      }
    DevBuf<uint16_t> out(size_t(c.m * c.n));
    out.poison();
    rt::linear(r, act(out, c.m, c.n), act(dx, c.m, c.k), w.weight(),
               c.bias ? &bw : nullptr);
    sync(r);
    // fp32 sums of exact products, the scale and bias, one rounding (the
    // GEMV up to 8 rows, the staged cuBLASLt path beyond).
    recordResult("fp8 linear W8A16", config,
                 compare(fromDevice(out), ref, 2e-3, 1.0 / 256));

    // fp32 output (lmHead, linearAllReduce's partials), no bias.
    if (!c.bias) {
      DevBuf<float> o32(size_t(c.m * c.n));
      o32.poison();
      rt::linearF32(r, actOf(o32, c.m, c.n), act(dx, c.m, c.k), w.weight());
      sync(r);
      recordResult("fp8 linearF32 W8A16", config,
                   compare(o32.download(), ref, 1e-5, 1e-5));
    }

    // W8A8: the host's per-token codes of x, as tokenScale + quantize give
    // them (checked bit for bit below).
    std::vector<float> xs;
    std::vector<uint8_t> xc;
    quantizeRows(x, c.m, c.k, xs, xc);
    std::vector<double> ref8(ref.size());
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t o = 0; o < c.n; ++o) {
        double acc = 0;
        for (int64_t j = 0; j < c.k; ++j)
          acc += double(rt::e4m3ToFloat(xc[size_t(i * c.k + j)])) *
                 rt::e4m3ToFloat(w.codes[size_t(o * c.k + j)]);
        ref8[size_t(i * c.n + o)] =
            acc * xs[size_t(i)] * w.scales[c.perChannel ? size_t(o) : 0] +
            (c.bias ? bias[size_t(o)] : 0.0);
      }
    DevBuf<uint8_t> dxc = toDeviceRaw(xc);
    DevBuf<float> dxs = toDeviceRaw(xs);
    Act in8 = rt::fp8Input(actOf(dxc, c.m, c.k), actOf(dxs, c.m, 1));
    out.poison();
    // A refusal (cuBLASLt's E4M3 shape rules) fails this case only.
    try {
      rt::linear(r, act(out, c.m, c.n), in8, w.weight(),
                 c.bias ? &bw : nullptr);
      sync(r);
      recordResult("fp8 linear W8A8", config,
                   compare(fromDevice(out), ref8, a8Bound(2e-3), 1.0 / 256));
    } catch (const RankFailure &e) {
      Stats failed;
      failed.count = failed.bad = 1;
      recordResult("fp8 linear W8A8", config, failed,
                   std::string(e.what()).substr(0, 90));
    }
    r.resetArena();
  }

  // q|k|v with FP8 weights: one grouped GEMV up to 8 rows (different
  // widths, a bias on q and v, a per-tensor scale on k), one FP8
  // projection each beyond.
  for (int64_t m : {1, 3, 8, 20}) {
    int64_t k = 1024, ns[3] = {512, 128, 136};
    Fp8Weight ws[3] = {randomFp8(rng, ns[0], k, true),
                       randomFp8(rng, ns[1], k, false),
                       randomFp8(rng, ns[2], k, true)};
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    std::vector<float> bq = randomBf16(rng, size_t(ns[0]), 0.1f),
                       bv = randomBf16(rng, size_t(ns[2]), 0.1f);
    DevBuf<uint16_t> dx = toDevice(x), dbq = toDevice(bq), dbv = toDevice(bv);
    DevBuf<uint16_t> outs[3] = {DevBuf<uint16_t>(size_t(m * ns[0])),
                                DevBuf<uint16_t>(size_t(m * ns[1])),
                                DevBuf<uint16_t>(size_t(m * ns[2]))};
    DevBuf<uint16_t> scratch(size_t(m * (ns[0] + ns[1] + ns[2])));
    for (auto &o : outs)
      o.poison();
    Weight wbq = weightOf(dbq, 1, ns[0]), wbv = weightOf(dbv, 1, ns[2]);
    rt::linear3(r, act(outs[0], m, ns[0]), act(outs[1], m, ns[1]),
                act(outs[2], m, ns[2]), act(dx, m, k), ws[0].weight(),
                ws[1].weight(), ws[2].weight(), &wbq, nullptr, &wbv,
                act(scratch, m, ns[0] + ns[1] + ns[2]));
    sync(r);
    const std::vector<float> *biases[3] = {&bq, nullptr, &bv};
    for (int t = 0; t < 3; ++t) {
      std::vector<double> ref(size_t(m * ns[t]));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t o = 0; o < ns[t]; ++o) {
          double acc = 0;
          for (int64_t j = 0; j < k; ++j)
            acc += double(x[size_t(i * k + j)]) * ws[t].value(o, j);
          ref[size_t(i * ns[t] + o)] =
              acc + (biases[t] ? (*biases[t])[size_t(o)] : 0.0);
        }
      recordResult("fp8 linear3", fmt("M=%lld target %d N=%lld K=%lld",
                                      (long long)m, t, (long long)ns[t],
                                      (long long)k),
                   compare(fromDevice(outs[t]), ref, 2e-3, 1.0 / 256));
    }
    r.resetArena();
  }

  // The SwiGLU pair (one grouped GEMV up to 8 rows, else one FP8
  // projection each and the SwiGLU of the halves) and linear2.
  for (int64_t m : {1, 4, 8, 40}) {
    int64_t n = 384, k = 512;
    Fp8Weight g = randomFp8(rng, n, k, true), u = randomFp8(rng, n, k, true);
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    DevBuf<uint16_t> dx = toDevice(x), out(size_t(m * n)),
                     o2(size_t(m * n)), scratch(size_t(2 * m * n));
    out.poison();
    rt::linearSwiglu(r, act(out, m, n), act(dx, m, k), g.weight(), u.weight(),
                     act(scratch, m, 2 * n));
    rt::linear2(r, act(o2, m, n), act(scratch, m, n), act(dx, m, k),
                g.weight(), u.weight(), nullptr, nullptr,
                act(scratch, m, 2 * n));
    sync(r);
    std::vector<double> ref(size_t(m * n)), refGate(size_t(m * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t o = 0; o < n; ++o) {
        double a = 0, b = 0;
        for (int64_t j = 0; j < k; ++j) {
          a += double(x[size_t(i * k + j)]) * g.value(o, j);
          b += double(x[size_t(i * k + j)]) * u.value(o, j);
        }
        float ga = roundBf16(float(a)), ub = roundBf16(float(b));
        float act = roundBf16(ga / (1.f + std::exp(-ga)));
        ref[size_t(i * n + o)] = double(act) * ub;
        refGate[size_t(i * n + o)] = a;
      }
    std::string config = fmt("M=%lld N=%lld K=%lld", (long long)m,
                             (long long)n, (long long)k);
    recordResult("fp8 linearSwiglu", config,
                 compare(fromDevice(out), ref, 4e-3, 1.0 / 64));
    recordResult("fp8 linear2 (gate)", config,
                 compare(fromDevice(o2), refGate, 2e-3, 1.0 / 256));
    r.resetArena();
  }
}

/// linearSwigluQuantize (the W8A8 SwiGLU and the down projection's input
/// quantization, one pass) against the calls it replaces on the same GPU:
/// linearSwiglu, tokenScale, quantize. Same GEMMs, so scales and codes
/// bit for bit; 16392 columns take its two-pass fallback.
void testSwigluQuantize(FakeRank &r) {
  Rng rng(37);
  for (auto [m, n] : {std::pair<int64_t, int64_t>{1, 1024}, {5, 14336},
                      {64, 2048}, {300, 6144}, {3, 16392}}) {
    int64_t k = 256;
    Fp8Weight g = randomFp8(rng, n, k, true), u = randomFp8(rng, n, k, true);
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    std::vector<float> xs;
    std::vector<uint8_t> xc;
    quantizeRows(x, m, k, xs, xc);
    DevBuf<uint8_t> dxc = toDeviceRaw(xc);
    DevBuf<float> dxs = toDeviceRaw(xs);
    Act in8 = rt::fp8Input(actOf(dxc, m, k), actOf(dxs, m, 1));
    DevBuf<uint16_t> h(size_t(m * n)), scratch(size_t(2 * m * n));
    DevBuf<float> s1{static_cast<size_t>(m)}, s2{static_cast<size_t>(m)};
    DevBuf<uint8_t> c1(size_t(m * n)), c2(size_t(m * n));
    s1.poison();
    s2.poison();
    rt::linearSwiglu(r, act(h, m, n), in8, g.weight(), u.weight(),
                     act(scratch, m, 2 * n));
    rt::tokenScale(r, actOf(s1, m, 1), act(h, m, n));
    rt::quantize(r, actOf(c1, m, n), act(h, m, n), actOf(s1, m, 1));
    rt::linearSwigluQuantize(r, actOf(c2, m, n), actOf(s2, m, 1), in8,
                             g.weight(), u.weight(), act(scratch, m, 2 * n));
    sync(r);
    std::string config = fmt("M=%lld N=%lld K=%lld", (long long)m,
                             (long long)n, (long long)k);
    std::vector<uint8_t> want = c1.download(), got = c2.download();
    recordResult("linearSwigluQuantize scales", config,
                 bitExact(s2.download(), s1.download()),
                 "bit-exact vs linearSwiglu + tokenScale + quantize");
    recordResult("linearSwigluQuantize codes", config,
                 bitExact(std::vector<float>(got.begin(), got.end()),
                          std::vector<float>(want.begin(), want.end())),
                 "bit-exact vs linearSwiglu + tokenScale + quantize");
    r.resetArena();
  }
  DevBuf<uint8_t> c(64);
  DevBuf<float> s(8);
  DevBuf<uint16_t> x(64), scratch(256);
  Fp8Weight g = randomFp8(rng, 16, 16, true);
  expectFailure("linearSwigluQuantize", "refused", "not FP8", [&] {
    rt::linearSwigluQuantize(r, actOf(c, 4, 16), actOf(s, 4, 1),
                             act(x, 4, 16), g.weight(), g.weight(),
                             act(scratch, 4, 32));
  });
}

/// rmsNormQuantize and addRmsNormQuantize against rmsNorm / addRmsNorm then
/// quantizeTokens of the bf16 output: scales, codes and the residual bit
/// for bit, on rows of the vector path (4096, 8192, 264, 2048 rows of the
/// 8B's 4096) and the scalar one (100 columns, 40000 > the vector path's
/// 32768).
void testNormQuantize(FakeRank &r) {
  Rng rng(41);
  for (auto [m, n] : {std::pair<int64_t, int64_t>{1, 4096}, {5, 8192},
                      {3, 100}, {2, 40000}, {7, 264}, {2048, 4096}}) {
    size_t count = size_t(m * n);
    std::vector<float> x = randomBf16(rng, count, 2.f);
    std::vector<float> d = randomBf16(rng, count, 1.f);
    std::vector<float> w = randomBf16(rng, size_t(n), 0.1f, 1.f);
    DevBuf<uint16_t> dw = toDevice(w), dd = toDevice(d), normed(count);
    std::string config = fmt("[%lld, %lld]", (long long)m, (long long)n);
    for (bool add : {false, true}) {
      DevBuf<uint16_t> x1 = toDevice(x), x2 = toDevice(x);
      DevBuf<float> s1{static_cast<size_t>(m)}, s2{static_cast<size_t>(m)};
      DevBuf<uint8_t> c1(count), c2(count);
      s1.poison();
      s2.poison();
      if (add) {
        rt::addRmsNorm(r, act(normed, m, n), act(x1, m, n), act(dd, m, n),
                       weightOf(dw, 1, n), 1e-5f);
        rt::addRmsNormQuantize(r, actOf(c2, m, n), actOf(s2, m, 1),
                               act(x2, m, n), act(dd, m, n),
                               weightOf(dw, 1, n), 1e-5f);
      } else {
        rt::rmsNorm(r, act(normed, m, n), act(x1, m, n), weightOf(dw, 1, n),
                    1e-5f);
        rt::rmsNormQuantize(r, actOf(c2, m, n), actOf(s2, m, 1),
                            act(x2, m, n), weightOf(dw, 1, n), 1e-5f);
      }
      rt::quantizeTokens(r, actOf(c1, m, n), actOf(s1, m, 1),
                         act(normed, m, n));
      sync(r);
      const char *name = add ? "addRmsNormQuantize" : "rmsNormQuantize";
      const char *how = add ? "bit-exact vs addRmsNorm + quantizeTokens"
                            : "bit-exact vs rmsNorm + quantizeTokens";
      std::vector<uint8_t> want = c1.download(), got = c2.download();
      recordResult(std::string(name) + " scales", config,
                   bitExact(s2.download(), s1.download()), how);
      recordResult(std::string(name) + " codes", config,
                   bitExact(std::vector<float>(got.begin(), got.end()),
                            std::vector<float>(want.begin(), want.end())),
                   how);
      if (add)
        recordResult("addRmsNormQuantize residual", config,
                     bitExact(fromDevice(x2), fromDevice(x1)), how);
    }
    r.resetArena();
  }
  DevBuf<uint8_t> c(64);
  DevBuf<float> s(8);
  DevBuf<uint16_t> x(64), w(16);
  expectFailure("rmsNormQuantize", "refused", "does not give codes", [&] {
    rt::rmsNormQuantize(r, actOf(c, 2, 16), actOf(s, 4, 1), act(x, 4, 16),
                        weightOf(w, 1, 16), 1e-5f);
  });
}

/// Sets LaunchPolicy::fp8GemvPipelined (and ranksPerGpu, fp8GemvPrescale),
/// the rest of the policy as it is.
void setFp8GemvPipelined(bool on, int ranksPerGpu = 1, bool prescale = false) {
  rt::LaunchPolicy p = rt::launchPolicy();
  p.fp8GemvPipelined = on;
  p.ranksPerGpu = ranksPerGpu;
  p.fp8GemvPrescale = prescale;
  rt::setLaunchPolicy(p);
}

/// The FP8 GEMV at 1-2 rows as a persistent, pipelined grid against one
/// block per tile (LaunchPolicy::fp8GemvPipelined), its grid all resident
/// blocks or a third of them (LaunchPolicy::ranksPerGpu, emulated ranks):
/// the same sums in the same order, so bit-identical outputs, on shapes
/// with many tiles per resident block, K not a multiple of the block's
/// 4096-code step, a last tile of fewer rows, grouped targets and the
/// SwiGLU pair, and at one row with the weight scales read ahead
/// (LaunchPolicy::fp8GemvPrescale); and the pipelined one against
/// double-precision dot products.
void testPipelinedGemv(FakeRank &r) {
  Rng rng(37);
  const rt::LaunchPolicy saved = rt::launchPolicy();
  // Runs `f` with each policy and compares what `get` downloads.
  auto both = [&](const std::string &name, const std::string &config,
                  const std::function<void()> &f,
                  const std::function<std::vector<float>()> &get) {
    setFp8GemvPipelined(false);
    f();
    sync(r);
    std::vector<float> want = get(), got;
    for (int share : {3, 1}) {
      setFp8GemvPipelined(true, share);
      f();
      sync(r);
      got = get();
      recordResult(name, config + (share > 1 ? " grid/3" : ""),
                   bitExact(got, want),
                   "pipelined vs one block a tile, bit-exact");
    }
    if (config.rfind("M=1 ", 0) == 0) {
      setFp8GemvPipelined(true, 1, true);
      f();
      sync(r);
      recordResult(name, config + " prescale", bitExact(get(), want),
                   "scales read ahead vs one block a tile, bit-exact");
    }
    return got;
  };
  struct Cfg {
    int64_t m, n, k;
    bool bias, perChannel, f32;
  } cfgs[] = {
      {1, 4102, 4112, true, true, false},   // 1026 tiles, 2 steps
      {2, 3001, 14336, false, false, true}, // 4 steps, fp32 out
      {1, 1024, 14336, false, true, false}, // fewer tiles than blocks
      {2, 4096, 4096, true, true, false},
  };
  for (Cfg c : cfgs) {
    Fp8Weight w = randomFp8(rng, c.n, c.k, c.perChannel);
    std::vector<float> x = randomBf16(rng, size_t(c.m * c.k));
    std::vector<float> bias = randomBf16(rng, size_t(c.n), 0.1f);
    DevBuf<uint16_t> dx = toDevice(x), db = toDevice(bias),
                     out(size_t(c.m * c.n));
    DevBuf<float> o32(size_t(c.m * c.n));
    Weight bw = weightOf(db, 1, c.n);
    std::string config =
        fmt("M=%lld N=%lld K=%lld%s%s%s", (long long)c.m, (long long)c.n,
            (long long)c.k, c.perChannel ? "" : " per-tensor",
            c.bias ? " +bias" : "", c.f32 ? " fp32 out" : "");
    std::vector<float> got = both(
        "fp8 GEMV pipelined", config,
        [&] {
          out.poison();
          o32.poison();
          if (c.f32)
            rt::linearF32(r, actOf(o32, c.m, c.n), act(dx, c.m, c.k),
                          w.weight());
          else
            rt::linear(r, act(out, c.m, c.n), act(dx, c.m, c.k), w.weight(),
                       c.bias ? &bw : nullptr);
        },
        [&] { return c.f32 ? o32.download() : fromDevice(out); });
    // Every 7th output against double-precision sums.
    std::vector<double> ref;
    std::vector<float> gotSampled;
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t o = 0; o < c.n; o += 7) {
        double acc = 0;
        for (int64_t j = 0; j < c.k; ++j)
          acc += double(x[size_t(i * c.k + j)]) * w.value(o, j);
        ref.push_back(acc + (c.bias ? bias[size_t(o)] : 0.0));
        gotSampled.push_back(got[size_t(i * c.n + o)]);
      }
    recordResult("fp8 GEMV pipelined vs host", config,
                 c.f32 ? compare(gotSampled, ref, 1e-5, 1e-5)
                       : compare(gotSampled, ref, 2e-3, 1.0 / 256));
    r.resetArena();
  }
  // q|k|v in one launch (three targets' tiles in one persistent grid) and
  // gate|up with the SwiGLU, at 1 and 2 rows.
  for (int64_t m : {1, 2}) {
    const int64_t k = 2064, ns[3] = {2048, 520, 512}, ni = 3000;
    Fp8Weight ws[3] = {randomFp8(rng, ns[0], k, true),
                       randomFp8(rng, ns[1], k, false),
                       randomFp8(rng, ns[2], k, true)};
    Fp8Weight g = randomFp8(rng, ni, k, true), u = randomFp8(rng, ni, k, true);
    std::vector<float> x = randomBf16(rng, size_t(m * k));
    std::vector<float> bq = randomBf16(rng, size_t(ns[0]), 0.1f);
    DevBuf<uint16_t> dx = toDevice(x), dbq = toDevice(bq);
    DevBuf<uint16_t> outs[3] = {DevBuf<uint16_t>(size_t(m * ns[0])),
                                DevBuf<uint16_t>(size_t(m * ns[1])),
                                DevBuf<uint16_t>(size_t(m * ns[2]))};
    DevBuf<uint16_t> scratch(size_t(m * 2 * ni)), oi(size_t(m * ni));
    Weight wbq = weightOf(dbq, 1, ns[0]);
    std::string config = fmt("M=%lld K=%lld", (long long)m, (long long)k);
    both(
        "fp8 GEMV pipelined q|k|v", config + " N=2048+520+512",
        [&] {
          for (auto &o : outs)
            o.poison();
          rt::linear3(r, act(outs[0], m, ns[0]), act(outs[1], m, ns[1]),
                      act(outs[2], m, ns[2]), act(dx, m, k), ws[0].weight(),
                      ws[1].weight(), ws[2].weight(), &wbq, nullptr, nullptr,
                      act(scratch, m, ns[0] + ns[1] + ns[2]));
        },
        [&] {
          std::vector<float> all;
          for (auto &o : outs) {
            std::vector<float> v = fromDevice(o);
            all.insert(all.end(), v.begin(), v.end());
          }
          return all;
        });
    both(
        "fp8 GEMV pipelined SwiGLU", config + " N=3000",
        [&] {
          oi.poison();
          rt::linearSwiglu(r, act(oi, m, ni), act(dx, m, k), g.weight(),
                           u.weight(), act(scratch, m, 2 * ni));
        },
        [&] { return fromDevice(oi); });
    r.resetArena();
  }
  rt::setLaunchPolicy(saved);
}

void testQuantization(FakeRank &r) {
  Rng rng(23);
  // quantizeTokens keeps rows of up to 16384 in registers (2, 4 or 8
  // chunks a thread); 16392 and 100 take its two-pass fallback.
  for (auto [m, k] : {std::pair<int64_t, int64_t>{1, 4096}, {7, 264},
                      {33, 100}, {300, 1024}, {5, 14336}, {3, 6144},
                      {2, 16384}, {3, 16392}}) {
    std::vector<float> x = randomBf16(rng, size_t(m * k), 3.f);
    // Edge rows: all zero (the floor scale), a huge value (saturation
    // of nothing: the absmax maps to 448), a NaN (ignored by the absmax).
    for (int64_t j = 0; j < k; ++j)
      x[size_t(j)] = 0.f;
    if (m > 2) {
      x[size_t(k + 3)] = roundBf16(3.0e4f);
      x[size_t(2 * k + 1)] = std::nanf("");
    }
    DevBuf<uint16_t> dx = toDevice(x);
    DevBuf<float> ds(static_cast<size_t>(m));
    DevBuf<uint8_t> dc(size_t(m * k));
    ds.poison();
    rt::tokenScale(r, actOf(ds, m, 1), act(dx, m, k));
    rt::quantize(r, actOf(dc, m, k), act(dx, m, k), actOf(ds, m, 1));
    sync(r);
    std::vector<float> scales;
    std::vector<uint8_t> codes;
    quantizeRows(x, m, k, scales, codes);
    std::string config = fmt("M=%lld K=%lld", (long long)m, (long long)k);
    recordResult("tokenScale", config, bitExact(ds.download(), scales),
                 "bit-exact vs Fp8.h");
    std::vector<uint8_t> got = dc.download();
    std::vector<float> gotF(got.begin(), got.end()),
        wantF(codes.begin(), codes.end());
    recordResult("quantize", config, bitExact(gotF, wantF),
                 "codes bit-exact vs Fp8.h");
    // The fused pair: the same scales and codes in one call.
    DevBuf<float> ds2(static_cast<size_t>(m));
    DevBuf<uint8_t> dc2(size_t(m * k));
    ds2.poison();
    rt::quantizeTokens(r, actOf(dc2, m, k), actOf(ds2, m, 1), act(dx, m, k));
    sync(r);
    std::vector<uint8_t> got2 = dc2.download();
    std::vector<float> got2F(got2.begin(), got2.end());
    recordResult("quantizeTokens scales", config,
                 bitExact(ds2.download(), scales), "bit-exact vs Fp8.h");
    recordResult("quantizeTokens codes", config, bitExact(got2F, wantF),
                 "bit-exact vs Fp8.h");
  }
  // maxOfBlocks: the local half of allReduceMax.
  std::vector<float> blocks = randomBf16(rng, 3 * 1000);
  DevBuf<float> db = toDeviceRaw(blocks), dout(1000);
  rt::maxOfBlocks(r, dout.get(), db.get(), 1000, 3);
  sync(r);
  std::vector<float> want(1000);
  for (size_t i = 0; i < 1000; ++i)
    want[i] = std::fmax(blocks[i], std::fmax(blocks[1000 + i], blocks[2000 + i]));
  recordResult("maxOfBlocks", "3 x 1000", bitExact(dout.download(), want),
               "bit-exact");

  // Errors name the op.
  DevBuf<uint16_t> x(64), o(64), w(64);
  DevBuf<float> s(8);
  DevBuf<uint8_t> c(64);
  expectFailure("tokenScale", "refused", "tokenScale: ", [&] {
    rt::tokenScale(r, actOf(s, 4, 1), act(x, 8, 8));
  });
  expectFailure("fp8 linear", "refused", "needs an FP8 weight", [&] {
    Act in8 = rt::fp8Input(actOf(c, 4, 16), actOf(s, 4, 1));
    rt::linear(r, act(o, 4, 4), in8, weightOf(w, 4, 16), nullptr);
  });
}

} // namespace

void testFp8(FakeRank &r) {
  testProjections(r);
  testPipelinedGemv(r);
  testQuantization(r);
  testSwigluQuantize(r);
  testNormQuantize(r);
  testFp8DecodeGemm(r);
}

/// Bench.cpp: milliseconds per call of `f` captured `reps` times in a
/// graph.
double timeGraphMs(FakeRank &r, const std::function<void()> &f, int reps);

/// The Llama-3-8B projections (N, K) the FP8 benches time.
struct Shape8b {
  const char *name;
  int64_t n, k;
};
constexpr Shape8b kShapes8b[] = {{"qkv", 6144, 4096},
                                 {"o", 4096, 4096},
                                 {"gate+up", 28672, 4096},
                                 {"down", 4096, 14336}};

/// With copyGBs <= 0, measures the device-to-device copy rate first.
void benchFp8(FakeRank &r, double copyGBs) {
  Rng rng(29);
  if (copyGBs <= 0) {
    double ms = 0;
    copyGBs = copyRateGBs(r, &ms);
    std::printf("\nD2D copy 2 GiB: %.3f ms, %.0f GB/s (read+write)\n", ms,
                copyGBs);
  }
  benchFp8DecodeGemm(r, copyGBs);
  // The decode step's grouped launches (what a model runs): q|k|v in one
  // launch and gate|up with the SwiGLU in another, bf16 vs FP8 weights.
  std::printf("\nGrouped decode projections (Llama-3-8B shapes, CUDA "
              "graphs; %% copy: weight bytes / time vs the copy rate)\n");
  std::printf("%-14s %3s %10s %8s %10s %8s %7s\n", "launch", "M", "bf16 us",
              "% copy", "fp8 us", "% copy", "ratio");
  {
    const int64_t k = 4096, nq = 4096, nkv = 1024, ni = 14336;
    Fp8Weight q8 = randomFp8(rng, nq, k, true), k8 = randomFp8(rng, nkv, k, true),
              v8 = randomFp8(rng, nkv, k, true), g8 = randomFp8(rng, ni, k, true),
              u8 = randomFp8(rng, ni, k, true);
    DevBuf<uint16_t> qb = toDevice(randomBf16(rng, size_t(nq * k), 0.02f)),
                     kb = toDevice(randomBf16(rng, size_t(nkv * k), 0.02f)),
                     vb = toDevice(randomBf16(rng, size_t(nkv * k), 0.02f)),
                     gb = toDevice(randomBf16(rng, size_t(ni * k), 0.02f)),
                     ub = toDevice(randomBf16(rng, size_t(ni * k), 0.02f));
    for (int64_t m : {1, 2, 8}) {
      DevBuf<uint16_t> dx = toDevice(randomBf16(rng, size_t(m * k)));
      DevBuf<uint16_t> oq(size_t(m * nq)), ok(size_t(m * nkv)),
          ov(size_t(m * nkv)), oi(size_t(m * ni)),
          scratch(size_t(m * 2 * ni));
      auto qkv = [&](Weight wq, Weight wk, Weight wv) {
        rt::linear3(r, act(oq, m, nq), act(ok, m, nkv), act(ov, m, nkv),
                    act(dx, m, k), wq, wk, wv, nullptr, nullptr, nullptr,
                    act(scratch, m, nq + 2 * nkv));
      };
      auto mlp = [&](Weight wg, Weight wu) {
        rt::linearSwiglu(r, act(oi, m, ni), act(dx, m, k), wg, wu,
                         act(scratch, m, 2 * ni));
      };
      struct Row {
        const char *name;
        double bytes;
        std::function<void()> bf, f8;
      } rows[] = {
          {"q|k|v", double(nq + 2 * nkv) * k,
           [&] {
             qkv(weightOf(qb, nq, k), weightOf(kb, nkv, k),
                 weightOf(vb, nkv, k));
           },
           [&] { qkv(q8.weight(), k8.weight(), v8.weight()); }},
          {"gate|up+SwiGLU", double(2 * ni) * k,
           [&] { mlp(weightOf(gb, ni, k), weightOf(ub, ni, k)); },
           [&] { mlp(g8.weight(), u8.weight()); }},
      };
      for (Row &row : rows) {
        double tb = 1e3 * timeGraphMs(r, row.bf, 50);
        double t8 = 1e3 * timeGraphMs(r, row.f8, 50);
        std::printf("%-14s %3lld %10.1f %7.1f%% %10.1f %7.1f%% %6.2fx\n",
                    row.name, (long long)m, tb,
                    100.0 * 2 * row.bytes / tb / 1e3 / copyGBs, t8,
                    100.0 * row.bytes / t8 / 1e3 / copyGBs, tb / t8);
      }
      r.resetArena();
    }
  }

  // The FP8 GEMV as one block a tile against the persistent, pipelined
  // grid (LaunchPolicy::fp8GemvPipelined), each Llama-3-8B projection, the
  // codes rotated over device copies of > 160 MB (L2 is 50 MB) so that
  // every call reads DRAM.
  std::printf("\nFP8 GEMV: one block a tile vs pipelined (Llama-3-8B "
              "shapes, CUDA graphs, codes rotated past L2; %% copy: FP8 "
              "weight bytes / time)\n");
  std::printf("%-8s %3s %10s %8s %10s %8s %7s\n", "shape", "M", "tile us",
              "% copy", "pipe us", "% copy", "ratio");
  {
    const rt::LaunchPolicy saved = rt::launchPolicy();
    for (const Shape8b &s : kShapes8b) {
      Fp8Weight w8 = randomFp8(rng, s.n, s.k, true);
      const double bytes = double(s.n) * s.k;
      const int copies = int(std::min<double>(8, 160e6 / bytes + 1));
      std::vector<DevBuf<uint8_t>> codes;
      for (int i = 0; i < copies; ++i) {
        codes.emplace_back(size_t(bytes));
        cudaCheck(cudaMemcpy(codes.back().get(), w8.dcodes.get(),
                             size_t(bytes), cudaMemcpyDeviceToDevice),
                  "copy codes");
      }
      for (int64_t m : {1, 2}) {
        DevBuf<uint16_t> dx = toDevice(randomBf16(rng, size_t(m * s.k))),
                         out(size_t(m * s.n));
        int i = 0;
        auto f = [&] {
          Weight w = w8.weight();
          w.fp8 = codes[size_t(i++ % copies)].get();
          rt::linear(r, act(out, m, s.n), act(dx, m, s.k), w, nullptr);
        };
        setFp8GemvPipelined(false);
        double t0 = 1e3 * timeGraphMs(r, f, 4 * copies);
        setFp8GemvPipelined(true);
        double t1 = 1e3 * timeGraphMs(r, f, 4 * copies);
        std::printf("%-8s %3lld %10.1f %7.1f%% %10.1f %7.1f%% %6.2fx\n",
                    s.name, (long long)m, t0,
                    100.0 * bytes / t0 / 1e3 / copyGBs, t1,
                    100.0 * bytes / t1 / 1e3 / copyGBs, t0 / t1);
      }
      r.resetArena();
    }
    rt::setLaunchPolicy(saved);
  }

  std::printf("\nFP8 vs bf16 projections (Llama-3-8B shapes, same run)\n");
  std::printf("%-8s %6s %12s %12s %8s %10s\n", "shape", "M", "bf16 us",
              "fp8 us", "ratio", "% copy");
  for (const Shape8b &s : kShapes8b) {
    Fp8Weight w8 = randomFp8(rng, s.n, s.k, true);
    std::vector<float> wb = randomBf16(rng, size_t(s.n * s.k), 0.02f);
    DevBuf<uint16_t> dwb = toDevice(wb);
    for (int64_t m : {1, 16, 64, 2048}) {
      std::vector<float> x = randomBf16(rng, size_t(m * s.k));
      DevBuf<uint16_t> dx = toDevice(x), out(size_t(m * s.n));
      std::vector<float> xs;
      std::vector<uint8_t> xc;
      quantizeRows(x, m, s.k, xs, xc);
      DevBuf<uint8_t> dxc = toDeviceRaw(xc);
      DevBuf<float> dxs = toDeviceRaw(xs);
      Act in8 = rt::fp8Input(actOf(dxc, m, s.k), actOf(dxs, m, 1));
      int reps = m >= 2048 ? 5 : 50;
      double tb = 1e3 * timeGraphMs(
          r,
          [&] {
            rt::linear(r, act(out, m, s.n), act(dx, m, s.k),
                       weightOf(dwb, s.n, s.k), nullptr);
          },
          reps);
      double t16 = 1e3 * timeGraphMs(
          r,
          [&] {
            rt::linear(r, act(out, m, s.n), act(dx, m, s.k), w8.weight(),
                       nullptr);
          },
          reps);
      double t8 = 1e3 * timeGraphMs(
          r, [&] { rt::linear(r, act(out, m, s.n), in8, w8.weight(), nullptr); },
          reps);
      double bytes = double(s.n) * s.k;
      // % of copy: the FP8 weight bytes per second against the measured
      // device-to-device copy rate (meaningful for decode-sized M).
      std::printf("%-8s %6lld %12.1f %12.1f %8.2f %9.1f%%  (W8A16; bf16 "
                  "%.1f%% of copy)\n",
                  s.name, (long long)m, tb, t16, tb / t16,
                  100.0 * bytes / t16 / 1e3 / copyGBs,
                  100.0 * 2 * bytes / tb / 1e3 / copyGBs);
      std::printf("%-8s %6lld %12.1f %12.1f %8.2f %9.1f%%  (W8A8; %.0f vs "
                  "bf16 %.0f TFLOP/s)\n",
                  s.name, (long long)m, tb, t8, tb / t8,
                  100.0 * bytes / t8 / 1e3 / copyGBs,
                  2.0 * double(m) * bytes / t8 / 1e6,
                  2.0 * double(m) * bytes / tb / 1e6);
      r.resetArena();
    }
  }
}

/// --only=gemmAlgos --bench: cuBLASLt's heuristic list for the Llama-3-8B
/// projections at 2048 rows (prefill), 320 and 512 (a server's mixed
/// steps) and 64 (batch-64 decode); bf16, W8A8 (E4M3 with row x column
/// scales in the GEMM), E4M3 into fp32 (the staged W8A8 path) and E4M3
/// into bf16 unscaled (a path whose scale pass would move 4 bytes an output
/// instead of 8 more): the first answer (what matmulNT runs) against the
/// fastest of the list.
void benchGemmAlgos(FakeRank &r) {
  Rng rng(31);
  std::printf("\ncuBLASLt heuristic list, timed (Llama-3-8B projections; "
              "TFLOP/s of the first answer and of the best)\n");
  std::printf("%-8s %5s %-5s %5s %10s %8s %10s %8s %5s %s\n", "shape", "M",
              "type", "algos", "first us", "TFLOP/s", "best us", "TFLOP/s",
              "rank", "best (algo, tile, splitK)");
  for (const Shape8b &s : kShapes8b) {
    Fp8Weight w8 = randomFp8(rng, s.n, s.k, true);
    DevBuf<uint16_t> dwb =
        toDevice(randomBf16(rng, size_t(s.n * s.k), 0.02f));
    for (int64_t m : {64, 320, 512, 2048}) {
      std::vector<float> x = randomBf16(rng, size_t(m * s.k));
      std::vector<float> xs;
      std::vector<uint8_t> xc;
      quantizeRows(x, m, s.k, xs, xc);
      DevBuf<uint16_t> dx = toDevice(x), out(size_t(m * s.n));
      DevBuf<uint8_t> dxc = toDeviceRaw(xc);
      DevBuf<float> dxs = toDeviceRaw(xs);
      DevBuf<float> out32(size_t(m * s.n));
      // 0: bf16; 1: W8A8 with row x column scales in the GEMM; 2: E4M3
      // unscaled into fp32 (the staged W8A8 path's GEMM); 3: E4M3 unscaled
      // into bf16.
      for (int type : {0, 1, 2, 3}) {
        bool fp8 = type > 0;
        const char *typeName = type == 0   ? "bf16"
                               : type == 1 ? "w8a8"
                               : type == 2 ? "e4m3f"
                                           : "e4m3b";
        rt::gemm::MatmulNT p;
        p.m = m;
        p.n = s.n;
        p.k = s.k;
        p.lda = p.ldb = s.k;
        p.ldo = s.n;
        p.out = out.get();
        if (fp8) {
          p.inType = rt::gemm::InType::E4M3;
          p.a = dxc.get();
          p.b = w8.dcodes.get();
          if (type == 1) {
            p.aScale = dxs.get();
            p.bScale = w8.dscales.get();
          } else if (type == 2) {
            p.out = out32.get();
            p.outType = rt::gemm::OutType::F32;
          }
        } else {
          p.a = dx.get();
          p.b = dwb.get();
        }
        std::string err;
        std::vector<rt::gemm::AlgoTime> t = rt::gemm::timeHeuristicAlgos(
            r.lt(), r.stream(), r.workspace(), r.workspaceBytes(), p, 16,
            m >= 2048 ? 10 : 50, err);
        if (!err.empty() || t.empty()) {
          std::printf("%-8s %5lld %-5s: %s\n", s.name, (long long)m,
                      typeName,
                      err.empty() ? "no algorithm" : err.c_str());
          continue;
        }
        const rt::gemm::AlgoTime *best = nullptr;
        for (const rt::gemm::AlgoTime &a : t)
          if (a.ms > 0 && (!best || a.ms < best->ms))
            best = &a;
        double flop = 2.0 * double(m) * double(s.n) * double(s.k);
        auto tflops = [&](float ms) { return ms > 0 ? flop / ms / 1e9 : 0.0; };
        std::printf("%-8s %5lld %-5s %5zu %10.1f %8.0f %10.1f %8.0f %5d "
                    "(%d, %d, %d)\n",
                    s.name, (long long)m, typeName, t.size(),
                    1e3 * t[0].ms, tflops(t[0].ms),
                    best ? 1e3 * best->ms : 0.0, best ? tflops(best->ms) : 0.0,
                    best ? best->rank : -1, best ? best->algoId : -1,
                    best ? best->tileId : -1, best ? best->splitK : -1);
      }
      r.resetArena();
    }
  }
}

} // namespace llmc::test
