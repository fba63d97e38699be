//===- Fp8DecodeGemmTests.cpp - the decode GEMM with FP8 E4M3 weights -----===//
//
// Part of llmc-gpu-kernel-tests, run with --only=fp8: the Hopper decode
// GEMM's E4M3 instantiation (runtime/kernels/DecodeGemm.cuh, W8A16) forced
// on whatever LaunchPolicy::fp8DecodeGemm says, at 9..128 rows on the
// Llama-3-8B projections (q|k|v grouped, o, gate|up with the SwiGLU, down,
// o with fp32 out) and odd small shapes (K not a multiple of the 128-wide
// stage, partial tiles), per-channel and per-tensor scales, biases. Each
// case checks every output against the staged path (the same semantics:
// fp32 sums of exact products, * scale, + bias, one rounding) and sampled
// outputs against double-precision host dot products over the exact E4M3
// values; rt::linear / linear3 / linearSwiglu / linearF32 must then pick
// the kernel (bit-identical), and eager runs and a graph replay of a split-K
// shape must agree bit for bit. The same for the W8A8 GEMV (Gemv.cu's
// E4M3 x E4M3 instantiation, 1..8 rows) against the e4m3 decode GEMM.
// Outputs are poisoned before each run.
//
// benchFp8DecodeGemm (--only=fp8 --bench) times it against the staged path
// and the bf16 decode GEMM and cuBLASLt at 16, 64 and 128 rows, and the
// W8A8 GEMV against the e4m3 decode GEMM and the W8A16 GEMV at 1, 2, 4.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/Fp8Linear.h"
#include "runtime/kernels/Gemv.h"
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

extern bool quickMode;
double timeGraphMs(FakeRank &r, const std::function<void()> &f, int reps);
DevBuf<uint16_t> randomDevice(size_t n, const char *name, uint64_t seed,
                              int64_t fanIn); // Bench.cpp
void quantizeRows(const std::vector<float> &x, int64_t m, int64_t k,
                  std::vector<float> &scales,
                  std::vector<uint8_t> &codes); // Fp8Tests.cpp

namespace {

enum class Kind { Group, Swiglu };

/// `count` weights of n[i] rows stored back to back (Group), or gate and
/// up of n[0] rows each (Swiglu); fp32 out for f32.
struct Shape {
  const char *model, *name;
  Kind kind;
  int count;
  int64_t n[3], k;
  bool f32;
  int64_t rows() const {
    int64_t r = 0;
    for (int i = 0; i < count; ++i)
      r += n[i];
    return kind == Kind::Swiglu ? 2 * n[0] : r;
  }
  /// Weights: the q|k|v segments, or gate and up.
  int weights() const { return kind == Kind::Swiglu ? 2 : count; }
  int64_t weightRows(int i) const {
    return kind == Kind::Swiglu ? n[0] : n[i];
  }
  /// Whether weight i has a bias in a case with biases: as linear3 gives
  /// them for q|k|v, q and v only.
  bool biased(int i, bool withBias) const {
    return withBias && (count != 3 || i != 1);
  }
};

const Shape kShapes[] = {
    {"8b", "qkv", Kind::Group, 3, {4096, 1024, 1024}, 4096, false},
    {"8b", "o", Kind::Group, 1, {4096}, 4096, false},
    {"8b", "gate|up", Kind::Swiglu, 1, {14336}, 4096, false},
    {"8b", "down", Kind::Group, 1, {4096}, 14336, false},
    {"8b", "o fp32", Kind::Group, 1, {4096}, 4096, true},
    // K a multiple of 16, not of the 128-wide stage (the copy engine's
    // zero fill); segments and tiles cut short.
    {"odd", "qkv", Kind::Group, 3, {200, 64, 72}, 528, false},
    {"odd", "gate|up", Kind::Swiglu, 1, {200}, 528, false},
    {"odd", "o fp32", Kind::Group, 1, {130}, 272, true},
};
constexpr int kModelShapes = 4; // benchmarked

/// Random E4M3 codes over the whole range (subnormals included, no NaN).
std::vector<uint8_t> randomCodes(Rng &rng, size_t n) {
  std::vector<uint8_t> c(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng.next();
    for (size_t j = 0; j < 8 && i + j < n; ++j) {
      uint8_t b = uint8_t(v >> (8 * j));
      c[i + j] = (b & 0x7F) == 0x7F ? uint8_t(b ^ 1) : b;
    }
  }
  return c;
}

/// The operands of one shape: codes of every weight back to back, scales
/// per channel (rows of them) or per tensor (one per weight).
struct Fp8Operands {
  const Shape &s;
  bool perChannel;
  std::vector<uint8_t> codes;
  std::vector<float> scales, bias;
  DevBuf<uint8_t> dcodes;
  DevBuf<float> dscales;
  DevBuf<uint16_t> dbias;

  Fp8Operands(const Shape &s, Rng &rng, bool perChannel)
      : s(s), perChannel(perChannel),
        codes(randomCodes(rng, size_t(s.rows() * s.k))) {
    // |code| averages ~60: sums of k products stay near 1.
    float base = float(1.0 / (60.0 * std::sqrt(double(s.k))));
    size_t count = perChannel ? size_t(s.rows()) : size_t(s.weights());
    for (size_t i = 0; i < count; ++i)
      scales.push_back(base * rng.uniform(0.5f, 1.5f));
    bias = randomBf16(rng, size_t(s.rows()), 0.1f);
    dcodes = toDeviceRaw(codes);
    dscales = toDeviceRaw(scales);
    dbias = toDevice(bias);
  }
  int64_t firstRow(int w) const {
    int64_t r = 0;
    for (int i = 0; i < w; ++i)
      r += s.weightRows(i);
    return r;
  }
  Weight weight(int w) const {
    Weight x;
    x.rows = s.weightRows(w);
    x.cols = s.k;
    x.fp8 = dcodes.get() + firstRow(w) * s.k;
    x.scale = dscales.get() + (perChannel ? firstRow(w) : w);
    x.scaleCount = perChannel ? x.rows : 1;
    return x;
  }
  /// Weight w's bias: its own rows of `bias`. Weight::offset is where a
  /// shard starts in the full tensor, not a pointer offset: the data
  /// pointer itself must start at the weight's first row.
  Weight biasOf(int w) const {
    Weight b = weightOf(dbias, 1, s.weightRows(w));
    b.data += firstRow(w);
    return b;
  }
  rt::cuda::GemvTarget target(int w, void *out, bool withBias) const {
    Weight x = weight(w);
    const rt::bf16 *b = s.biased(w, withBias) ? biasOf(w).data : nullptr;
    return rt::cuda::GemvTarget{nullptr, out,   b,       x.rows,
                                x.rows,  x.fp8, x.scale, x.scaleCount};
  }
  /// sum_k x[m, k] value(row, k) in double, row of weight w.
  double dot(const std::vector<float> &x, int64_t m, int w,
             int64_t row) const {
    int64_t g = firstRow(w) + row;
    double acc = 0;
    for (int64_t j = 0; j < s.k; ++j)
      acc += double(x[size_t(m * s.k + j)]) *
             rt::e4m3ToFloat(codes[size_t(g * s.k + j)]);
    return acc * scales[perChannel ? size_t(g) : size_t(w)];
  }
};

/// Outputs of one case: one per weight (Group) or the SwiGLU's, bf16 or
/// fp32, poisoned.
struct Outputs {
  std::vector<DevBuf<uint16_t>> b;
  std::vector<DevBuf<float>> f;
  Outputs(const Shape &s, int64_t m) {
    int outs = s.kind == Kind::Swiglu ? 1 : s.count;
    for (int i = 0; i < outs; ++i) {
      if (s.f32)
        f.emplace_back(size_t(m * s.n[i]));
      else
        b.emplace_back(size_t(m * s.n[i]));
    }
    poison();
  }
  void poison() {
    for (auto &o : b)
      o.poison();
    for (auto &o : f)
      o.poison();
  }
  void *ptr(int i) {
    return b.empty() ? static_cast<void *>(f[size_t(i)].get())
                     : static_cast<void *>(b[size_t(i)].get());
  }
  std::vector<std::vector<float>> results() const {
    std::vector<std::vector<float>> v;
    for (const auto &o : b)
      v.push_back(fromDevice(o));
    for (const auto &o : f)
      v.push_back(o.download());
    return v;
  }
};

/// The decode GEMM itself on `o` for x (bf16, or W8A8's E4M3 codes with
/// per-row scales xScale); false where it did not apply.
bool runKernel(FakeRank &r, const Fp8Operands &w, Outputs &o, const void *x,
               int64_t m, bool withBias, const float *xScale = nullptr) {
  const Shape &s = w.s;
  if (s.kind == Kind::Swiglu)
    return rt::cuda::decodeGemmSwiglu(
        r, static_cast<rt::bf16 *>(o.ptr(0)), s.n[0], x, s.k,
        w.target(0, nullptr, false), w.target(1, nullptr, false), s.k, m,
        xScale);
  rt::cuda::GemvTarget t[3];
  for (int i = 0; i < s.count; ++i)
    t[i] = w.target(i, o.ptr(i), withBias);
  return rt::cuda::decodeGemmGroup(r, s.f32, t, s.count, x, s.k, s.k, m,
                                   xScale);
}
bool runKernel(FakeRank &r, const Fp8Operands &w, Outputs &o,
               const DevBuf<uint16_t> &x, int64_t m, bool withBias) {
  return runKernel(r, w, o, x.get(), m, withBias);
}

/// The runtime's entry points on `o` (staged, or the kernel when the
/// policy turns it on) for the input `in` (bf16 or FP8).
void runRuntime(FakeRank &r, const Fp8Operands &w, Outputs &o, Act in,
                int64_t m, bool withBias, DevBuf<uint16_t> &scratch) {
  const Shape &s = w.s;
  if (s.kind == Kind::Swiglu) {
    rt::linearSwiglu(r, actOf(o.b[0], m, s.n[0]), in, w.weight(0),
                     w.weight(1), act(scratch, m, 2 * s.n[0]));
    return;
  }
  if (s.count == 3 && !s.f32) {
    Weight b[3] = {w.biasOf(0), w.biasOf(1), w.biasOf(2)};
    rt::linear3(r, act(o.b[0], m, s.n[0]), act(o.b[1], m, s.n[1]),
                act(o.b[2], m, s.n[2]), in, w.weight(0), w.weight(1),
                w.weight(2), withBias ? &b[0] : nullptr, nullptr,
                withBias ? &b[2] : nullptr, act(scratch, m, s.rows()));
    return;
  }
  for (int i = 0; i < s.count; ++i) {
    Weight b = w.biasOf(i);
    if (s.f32)
      rt::linearF32(r, actOf(o.f[size_t(i)], m, s.n[i]), in, w.weight(i));
    else
      rt::linear(r, act(o.b[size_t(i)], m, s.n[i]), in, w.weight(i),
                 withBias ? &b : nullptr);
  }
}

void runRuntime(FakeRank &r, const Fp8Operands &w, Outputs &o,
                const DevBuf<uint16_t> &x, int64_t m, bool withBias,
                DevBuf<uint16_t> &scratch) {
  runRuntime(r, w, o, act(x, m, w.s.k), m, withBias, scratch);
}

/// Sampled outputs against host dot products over the exact values.
Stats hostSamples(const Fp8Operands &w, const std::vector<float> &x,
                  int64_t m, bool withBias,
                  const std::vector<std::vector<float>> &got, Rng &rng,
                  double atolScale = 2e-3) {
  const Shape &s = w.s;
  std::vector<float> g;
  std::vector<double> want;
  for (int t = 0; t < 24; ++t) {
    int64_t i = rng.below(m);
    if (s.kind == Kind::Swiglu) {
      int64_t o = rng.below(s.n[0]);
      float ga = roundBf16(float(w.dot(x, i, 0, o)));
      float ub = roundBf16(float(w.dot(x, i, 1, o)));
      want.push_back(double(roundBf16(ga / (1.f + std::exp(-ga)))) * ub);
      g.push_back(got[0][size_t(i * s.n[0] + o)]);
      continue;
    }
    int seg = int(rng.below(s.count));
    int64_t o = rng.below(s.n[seg]);
    bool b = s.biased(seg, withBias);
    want.push_back(w.dot(x, i, seg, o) +
                   (b ? double(w.bias[size_t(w.firstRow(seg) + o)]) : 0.0));
    g.push_back(got[size_t(seg)][size_t(i * s.n[seg] + o)]);
  }
  return compare(g, want, atolScale,
                 s.kind == Kind::Swiglu ? 1.0 / 64 : 1.0 / 256);
}

/// Every output of the kernel against the staged path (fp32 outputs
/// within f32Tol of the largest, bf16 ones within bf16Tol and a rounding).
Stats againstStaged(const Shape &s, const std::vector<std::vector<float>> &got,
                    const std::vector<std::vector<float>> &staged,
                    double f32Tol = 1e-5, double bf16Tol = 2e-3) {
  Stats all;
  for (size_t i = 0; i < got.size(); ++i) {
    std::vector<double> want(staged[i].begin(), staged[i].end());
    all.merge(s.f32 ? compare(got[i], want, f32Tol, 1e-4)
                    : compare(got[i], want, bf16Tol,
                              s.kind == Kind::Swiglu ? 1.0 / 64 : 1.0 / 128));
  }
  return all;
}

/// Turns the W8A16 (a8 false) or the W8A8 instantiation on (W8A8: up to
/// 128 rows, the W8A8 GEMV off, so that the runtime's W8A8 projections
/// take the decode GEMM or cuBLASLt) or off.
void setDecodeGemm(bool a8, bool on) {
  rt::LaunchPolicy p = rt::launchPolicy();
  if (a8) {
    p.w8a8DecodeGemmMaxRows = on ? 128 : 0;
    p.w8a8GemvMaxRows = 0;
  } else {
    p.fp8DecodeGemm = on;
  }
  rt::setLaunchPolicy(p);
}

/// x [m, k]: bf16 rows, or (a8) the E4M3 codes and per-row scales of
/// random rows quantized on the host; `values` holds the exact values the
/// outputs are sums of (for a8, code * scale).
struct Input {
  bool a8;
  std::vector<float> values, scales;
  DevBuf<uint16_t> bf;
  DevBuf<uint8_t> codes;
  DevBuf<float> dscales;
  int64_t m, k;
  Input(Rng &rng, int64_t m, int64_t k, bool a8)
      : a8(a8), values(randomBf16(rng, size_t(m * k))), m(m), k(k) {
    if (!a8) {
      bf = toDevice(values);
      return;
    }
    std::vector<uint8_t> c;
    quantizeRows(values, m, k, scales, c);
    for (size_t i = 0; i < c.size(); ++i)
      values[i] = float(double(rt::e4m3ToFloat(c[i])) * scales[i / size_t(k)]);
    codes = toDeviceRaw(c);
    dscales = toDeviceRaw(scales);
  }
  const void *data() const {
    return a8 ? static_cast<const void *>(codes.get()) : bf.get();
  }
  const float *xScale() const { return a8 ? dscales.get() : nullptr; }
  /// The first `rows` rows as the runtime's input.
  Act rows(int64_t rows) const {
    return a8 ? rt::fp8Input(actOf(codes, rows, k), actOf(dscales, rows, 1))
              : test::act(bf, rows, k);
  }
  Act act() const { return rows(m); }
};

/// One row that passes when `same` (an output compared bit for bit).
void recordBitIdentity(const std::string &test, const std::string &cfg,
                       bool same, const char *ok, const char *bad) {
  Stats st;
  st.count = 1;
  st.bad = !same;
  recordResult(test, cfg, st, same ? ok : bad);
}

/// One case of a check: a shape's operands, its input of m rows, whether
/// it has biases, its name and a scratch for the runtime's SwiGLU.
struct Case {
  const Shape &s;
  const Fp8Operands &w;
  const Input &x;
  int64_t m;
  bool withBias;
  const std::string &cfg;
  DevBuf<uint16_t> &scratch;
};

/// Calls f(Case) on every shape with per-channel and per-tensor scales at
/// each row count of `ms`, inputs bf16 or (a8) E4M3 codes. Biases on every
/// other row count, the other ones for per-tensor scales, so that every
/// row count (--quick's included) runs with and without biases (bf16 out
/// only: linearF32 has none).
template <class F>
void forEachCase(Rng &rng, const std::vector<int64_t> &ms, bool a8, F f) {
  for (const Shape &s : kShapes) {
    for (bool perChannel : {true, false}) {
      Fp8Operands w(s, rng, perChannel);
      for (size_t mi = 0; mi < ms.size(); ++mi) {
        const int64_t m = ms[mi];
        bool withBias = !s.f32 && s.kind == Kind::Group &&
                        (mi + (perChannel ? 0 : 1)) % 2 == 0;
        Input x(rng, m, s.k, a8);
        DevBuf<uint16_t> scratch(size_t(m * s.rows()));
        std::string cfg = fmt("%s %s M=%lld N=%lld K=%lld%s%s", s.model,
                              s.name, (long long)m, (long long)s.rows(),
                              (long long)s.k,
                              perChannel ? "" : " per-tensor",
                              withBias ? " +bias" : "");
        f(Case{s, w, x, m, withBias, cfg, scratch});
      }
    }
  }
}

/// The W8A8 GEMV itself (Gemv.cu, both codes widened) on `o`; false
/// where it did not apply.
bool runGemv(FakeRank &r, const Fp8Operands &w, Outputs &o, const Input &x,
             int64_t m, bool withBias) {
  const Shape &s = w.s;
  if (s.kind == Kind::Swiglu)
    return rt::cuda::gemvSwiglu(r, static_cast<rt::bf16 *>(o.ptr(0)), s.n[0],
                                x.data(), s.k, w.target(0, nullptr, false),
                                w.target(1, nullptr, false), s.k, m,
                                x.xScale());
  rt::cuda::GemvTarget t[3];
  for (int i = 0; i < s.count; ++i)
    t[i] = w.target(i, o.ptr(i), withBias);
  return rt::cuda::gemvGroup(r, s.f32, t, s.count, x.data(), s.k, s.k, m,
                             x.xScale());
}

/// The policy with the W8A8 GEMV up to `gemvRows` rows (the e4m3 decode
/// GEMM up to 128 beyond), the FP8 GEMV pipelined or not, its weight
/// scales read ahead or not.
void setA8Gemv(const rt::LaunchPolicy &base, int gemvRows, bool pipelined,
               bool prescale = false) {
  rt::LaunchPolicy p = base;
  p.w8a8GemvMaxRows = gemvRows;
  p.w8a8DecodeGemmMaxRows = 128;
  p.fp8GemvPipelined = pipelined;
  p.fp8GemvPrescale = prescale;
  rt::setLaunchPolicy(p);
}

/// The W8A8 GEMV (E4M3 weight and activation codes, both widened exactly,
/// fp32 sums, (sum * xScale) * scale (+ bias)) at 1..8 rows on every
/// shape, per-channel and per-tensor scales, biases on every other row
/// count: every output against the e4m3 decode GEMM (the runtime with the
/// GEMV off), sampled ones against double-precision products of the exact
/// values; the runtime with it on must run it (bit-identical); at 1-2 rows
/// the pipelined grid against one block a tile, and at one row the weight
/// scales read ahead (LaunchPolicy::fp8GemvPrescale) against not, bit for
/// bit.
void checkA8Gemv(FakeRank &r) {
  const char *name = "w8a8 gemv";
  const rt::LaunchPolicy saved = rt::launchPolicy();
  std::vector<int64_t> ms = quickMode ? std::vector<int64_t>{1, 4}
                                      : std::vector<int64_t>{1, 2, 3, 4, 8};
  Rng rng(53);
  forEachCase(rng, ms, true, [&](const Case &c) {
    const Shape &s = c.s;
    const int64_t m = c.m;
    Outputs got(s, m), other(s, m), viaRuntime(s, m), oneBlock(s, m),
        prescale(s, m);
    setA8Gemv(saved, int(rt::cuda::kFp8GemvMaxRows), true);
    bool taken = runGemv(r, c.w, got, c.x, m, c.withBias);
    sync(r);
    if (!taken) {
      rt::setLaunchPolicy(saved);
      recordBitIdentity(name, c.cfg, false, "", "did not apply");
      return;
    }
    runRuntime(r, c.w, viaRuntime, c.x.act(), m, c.withBias, c.scratch);
    setA8Gemv(saved, 0, true);
    runRuntime(r, c.w, other, c.x.act(), m, c.withBias, c.scratch);
    if (m <= 2) {
      setA8Gemv(saved, int(rt::cuda::kFp8GemvMaxRows), false);
      runGemv(r, c.w, oneBlock, c.x, m, c.withBias);
    }
    if (m == 1) {
      setA8Gemv(saved, int(rt::cuda::kFp8GemvMaxRows), true, true);
      runGemv(r, c.w, prescale, c.x, m, c.withBias);
    }
    sync(r);
    rt::setLaunchPolicy(saved);
    std::vector<std::vector<float>> g = got.results();
    // The e4m3 wgmma sums each 128-k stage with fewer mantissa bits than
    // fp32 (H100: fp32 outputs 2-3e-4 of the largest from the GEMV's,
    // which the double-precision samples hold to 2e-5).
    Stats st = againstStaged(s, g, other.results(), a8Bound(1e-3),
                             a8Bound(2e-3));
    Stats host = hostSamples(c.w, c.x.values, m, c.withBias, g, rng,
                             s.f32 ? 2e-5 : 2e-3);
    recordResult(name, c.cfg, st,
                 host.ok() ? "vs the decode GEMM; host samples agree"
                           : fmt("HOST SAMPLES DIFFER (max %.3g)",
                                 host.maxAbs));
    if (!host.ok())
      recordResult(std::string(name) + " host", c.cfg, host, "");
    recordBitIdentity(std::string(name) + " dispatch", c.cfg,
                      viaRuntime.results() == g, "the runtime runs the GEMV",
                      "the runtime's output differs: not the GEMV");
    if (m <= 2)
      recordBitIdentity(std::string(name) + " pipelined", c.cfg,
                        oneBlock.results() == g,
                        "pipelined vs one block a tile, bit-exact",
                        "pipelined vs one block a tile DIFFER");
    if (m == 1)
      recordBitIdentity(std::string(name) + " prescale", c.cfg,
                        prescale.results() == g,
                        "scales read ahead vs not, bit-exact",
                        "scales read ahead vs not DIFFER");
    r.resetArena();
  });
}

/// One instantiation forced on: W8A16 (E4M3 weights widened in registers)
/// at 9..128 rows, or W8A8 (a8: E4M3 x E4M3 on wgmma) at 1..128 rows, on
/// every shape, per-channel and per-tensor scales, biases on every other
/// row count. Every output against the runtime with the instantiation off
/// (the staged path; for W8A8 cuBLASLt's E4M3 GEMM), sampled ones against
/// double-precision products of the exact values; the runtime with it on
/// must run it (bit-identical); a split-K shape eager and replayed bit for
/// bit.
void checkDecodeGemm(FakeRank &r, bool a8) {
  const char *name = a8 ? "w8a8 decodeGemm" : "fp8 decodeGemm";
  const rt::LaunchPolicy saved = rt::launchPolicy();
  std::vector<int64_t> ms = a8 ? std::vector<int64_t>{1, 5, 16, 64, 128}
                               : std::vector<int64_t>{9, 16, 33, 64, 128};
  if (quickMode)
    ms = {a8 ? 1 : 9, 64};
  Rng rng(a8 ? 47 : 41);
  forEachCase(rng, ms, a8, [&](const Case &c) {
    const Shape &s = c.s;
    const int64_t m = c.m;
    const Input &x = c.x;
    Outputs got(s, m), other(s, m), viaRuntime(s, m);
    setDecodeGemm(a8, true);
    bool taken = runKernel(r, c.w, got, x.data(), m, c.withBias, x.xScale());
    sync(r);
    if (!taken) {
      rt::setLaunchPolicy(saved);
      recordBitIdentity(name, c.cfg, false, "", "did not apply");
      return;
    }
    runRuntime(r, c.w, viaRuntime, x.act(), m, c.withBias, c.scratch);
    setDecodeGemm(a8, false);
    runRuntime(r, c.w, other, x.act(), m, c.withBias, c.scratch);
    sync(r);
    rt::setLaunchPolicy(saved);
    std::vector<std::vector<float>> g = got.results();
    Stats st = a8 ? againstStaged(s, g, other.results(), a8Bound(1e-5),
                                  a8Bound(2e-3))
                  : againstStaged(s, g, other.results());
    Stats host = hostSamples(c.w, x.values, m, c.withBias, g, rng,
                             a8 ? a8Bound(2e-3) : 2e-3);
    recordResult(name, c.cfg, st,
                 host.ok() ? (a8 ? "vs cuBLASLt; host samples agree"
                                 : "vs staged; host samples agree")
                           : fmt("HOST SAMPLES DIFFER (max %.3g)",
                                 host.maxAbs));
    if (!host.ok())
      recordResult(std::string(name) + " host", c.cfg, host, "");
    recordBitIdentity(std::string(name) + " dispatch", c.cfg,
                      viaRuntime.results() == g, "the runtime runs the kernel",
                      "the runtime's output differs: not the kernel");
    r.resetArena();
  });
  // Split-K (8B down at 64 rows: 16 tiles of 256 rows, 112 k blocks):
  // eager twice and a graph replay, bit for bit.
  {
    const Shape &s = kShapes[3];
    Fp8Operands w(s, rng, true);
    Input x(rng, 64, s.k, a8);
    Outputs o(s, 64);
    setDecodeGemm(a8, true);
    checkEagerAndReplay<std::vector<std::vector<float>>>(
        r, std::string(name) + " bit-identity", "8b down M=64 split-K",
        [&] { return runKernel(r, w, o, x.data(), 64, false, x.xScale()); },
        [&] { o.poison(); }, [&] { return o.results(); });
    rt::setLaunchPolicy(saved);
  }
}

} // namespace

void testFp8DecodeGemm(FakeRank &r) {
  if (!hopperOrSkip("fp8 decodeGemm"))
    return;
  checkDecodeGemm(r, false);
  checkDecodeGemm(r, true);
  checkA8Gemv(r);
}

void benchFp8DecodeGemm(FakeRank &r, double copyGBs) {
  if (!hopper()) {
    std::printf("fp8 decode gemm bench: needs compute capability 9.0\n");
    return;
  }
  std::printf("\nFP8 decode GEMM (W8A16) vs the staged path, bf16 decode GEMM "
              "and bf16 cuBLASLt (Llama-3-8B, graph replays, weights rotated "
              "over copies > L2; GB/s of weight bytes, %% of the %.0f GB/s "
              "copy)\n",
              copyGBs);
  std::printf("%-12s %4s %9s %7s %6s %9s %7s %6s %9s %7s %6s %9s %7s %6s\n",
              "projection", "M", "fp8 us", "GB/s", "%copy", "staged", "GB/s",
              "%copy", "bf16 dg", "GB/s", "%copy", "bf16 lt", "GB/s", "%copy");
  const rt::LaunchPolicy saved = rt::launchPolicy();
  Rng rng(43);
  for (int si = 0; si < kModelShapes; ++si) {
    const Shape &s = kShapes[si];
    const int64_t rows = s.rows();
    const double fp8Bytes = double(rows) * double(s.k);
    // Rotate over copies of > 160 MB (L2 is 50 MB) for either type.
    int copies8 = int(std::min<double>(8, 160e6 / fp8Bytes + 1));
    int copies16 = int(std::min<double>(8, 160e6 / (2 * fp8Bytes) + 1));
    std::vector<Fp8Operands> w8;
    w8.reserve(size_t(copies8));
    for (int i = 0; i < copies8; ++i)
      w8.emplace_back(s, rng, true);
    std::vector<DevBuf<uint16_t>> w16;
    for (int i = 0; i < copies16; ++i)
      w16.push_back(randomDevice(size_t(rows * s.k), s.name, uint64_t(i), s.k));
    DevBuf<uint16_t> x = toDevice(randomBf16(rng, size_t(128 * s.k)));
    Input x8(rng, 128, s.k, true);
    DevBuf<uint16_t> scratch(size_t(128 * rows)), whole(size_t(128 * rows));
    Outputs o(s, 128);
    auto *xp = reinterpret_cast<const rt::bf16 *>(x.get());
    auto gbs = [&](double us, double bytes) { return bytes / us / 1e3; };
    auto pct = [&](double us, double bytes) {
      return 100.0 * gbs(us, bytes) / copyGBs;
    };
    // Batch 1-4: the W8A8 GEMV against the e4m3 decode GEMM and the W8A16
    // GEMV (bf16 activations) on the same weights.
    for (int64_t m : {1, 2, 4}) {
      int i = 0;
      auto time = [&](const std::function<void()> &f) {
        return 1e3 * timeGraphMs(r, f, 4 * copies8);
      };
      setA8Gemv(saved, int(rt::cuda::kFp8GemvMaxRows), saved.fp8GemvPipelined);
      double tg = time([&] {
        if (!runGemv(r, w8[size_t(i++ % copies8)], o, x8, m, false))
          throw RankFailure("the w8a8 gemv did not apply");
      });
      setDecodeGemm(true, true);
      double ta = time([&] {
        if (!runKernel(r, w8[size_t(i++ % copies8)], o, x8.data(), m, false,
                       x8.xScale()))
          throw RankFailure("the w8a8 decode gemm did not apply");
      });
      rt::setLaunchPolicy(saved);
      double tw = time([&] {
        runRuntime(r, w8[size_t(i++ % copies8)], o, x, m, false, scratch);
      });
      std::string name = std::string(s.model) + " " + s.name;
      std::printf("%-12s %4lld w8a8: gemv %9.2f us %5.1f%%, decode gemm "
                  "%9.2f us %5.1f%%; w8a16 gemv %9.2f us %5.1f%%\n",
                  name.c_str(), (long long)m, tg, pct(tg, fp8Bytes), ta,
                  pct(ta, fp8Bytes), tw, pct(tw, fp8Bytes));
      std::fflush(stdout);
      r.resetArena();
    }
    for (int64_t m : {16, 64, 128}) {
      int i = 0;
      auto time = [&](const std::function<void()> &f, int copies) {
        return 1e3 * timeGraphMs(r, f, 4 * copies);
      };
      setDecodeGemm(false, true);
      double tk = time(
          [&] {
            if (!runKernel(r, w8[size_t(i++ % copies8)], o, x, m, false))
              throw RankFailure("the fp8 decode gemm did not apply");
          },
          copies8);
      setDecodeGemm(false, false);
      double ts = time(
          [&] {
            runRuntime(r, w8[size_t(i++ % copies8)], o, x, m, false, scratch);
          },
          copies8);
      // bf16: the decode GEMM forced on, and cuBLASLt over all rows.
      rt::LaunchPolicy bf = saved;
      bf.decodeGemmMinRows = 1;
      rt::setLaunchPolicy(bf);
      double td = time(
          [&] {
            const auto *wp = reinterpret_cast<const rt::bf16 *>(
                w16[size_t(i++ % copies16)].get());
            bool ok = false;
            if (s.kind == Kind::Swiglu) {
              ok = rt::cuda::decodeGemmSwiglu(
                  r, static_cast<rt::bf16 *>(o.ptr(0)), s.n[0], xp, s.k, wp,
                  wp + s.n[0] * s.k, s.n[0], s.k, m);
            } else {
              rt::cuda::GemvTarget t[3];
              int64_t first = 0;
              for (int j = 0; j < s.count; ++j) {
                t[j] = rt::cuda::GemvTarget{wp + first * s.k, o.ptr(j),
                                            nullptr, s.n[j], s.n[j]};
                first += s.n[j];
              }
              ok = rt::cuda::decodeGemmGroup(r, false, t, s.count, xp, s.k,
                                             s.k, m);
            }
            if (!ok)
              throw RankFailure("the bf16 decode gemm did not apply");
          },
          copies16);
      rt::setLaunchPolicy(saved);
      double tl = time(
          [&] {
            rt::gemm::MatmulNT g;
            g.m = m;
            g.n = rows;
            g.k = s.k;
            g.a = xp;
            g.lda = s.k;
            g.b = reinterpret_cast<const rt::bf16 *>(
                w16[size_t(i++ % copies16)].get());
            g.ldb = s.k;
            g.out = whole.get();
            g.ldo = rows;
            g.outType = rt::gemm::OutType::BF16;
            std::string err = rt::gemm::matmulNT(
                r.lt(), r.stream(), r.workspace(), r.workspaceBytes(), g);
            if (!err.empty())
              throw RankFailure(err);
          },
          copies16);
      std::string name = std::string(s.model) + " " + s.name;
      std::printf("%-12s %4lld %9.2f %7.0f %5.1f%% %9.2f %7.0f %5.1f%% %9.2f "
                  "%7.0f %5.1f%% %9.2f %7.0f %5.1f%%\n",
                  name.c_str(), (long long)m, tk, gbs(tk, fp8Bytes),
                  pct(tk, fp8Bytes), ts, gbs(ts, fp8Bytes), pct(ts, fp8Bytes),
                  td, gbs(td, 2 * fp8Bytes), pct(td, 2 * fp8Bytes), tl,
                  gbs(tl, 2 * fp8Bytes), pct(tl, 2 * fp8Bytes));
      // W8A8: the e4m3 x e4m3 kernel against cuBLASLt's E4M3 GEMM (the
      // runtime with the kernel off).
      setDecodeGemm(true, true);
      double ta = time(
          [&] {
            if (!runKernel(r, w8[size_t(i++ % copies8)], o, x8.data(), m,
                           false, x8.xScale()))
              throw RankFailure("the w8a8 decode gemm did not apply");
          },
          copies8);
      setDecodeGemm(true, false);
      double tc = time(
          [&] {
            runRuntime(r, w8[size_t(i++ % copies8)], o, x8.rows(m), m,
                       false, scratch);
          },
          copies8);
      rt::setLaunchPolicy(saved);
      std::printf("%-12s %4lld w8a8: decode gemm %9.2f us %7.0f GB/s %5.1f%%, "
                  "cuBLASLt %9.2f us %7.0f GB/s %5.1f%% (%.2fx)\n",
                  name.c_str(), (long long)m, ta, gbs(ta, fp8Bytes),
                  pct(ta, fp8Bytes), tc, gbs(tc, fp8Bytes), pct(tc, fp8Bytes),
                  tc / ta);
      std::fflush(stdout);
      r.resetArena();
    }
  }
  rt::setLaunchPolicy(saved);
}

} // namespace llmc::test
