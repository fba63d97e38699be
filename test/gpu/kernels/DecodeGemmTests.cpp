//===- DecodeGemmTests.cpp - the Hopper decode GEMM at the model shapes ---===//
//
// The decode GEMM (runtime/kernels/DecodeGemm.cuh) at exactly the shapes it
// is chosen for: the q|k|v, o, gate|up (+SwiGLU) and down projections and
// the lm head (fp32 logits) of a ~1B Llama-3 shape, Llama-3-8B and
// Mistral-Nemo-12B, at 8, 32, 64 and 128 rows. Reference: cuBLASLt with
// fp32 output over the same weights (every element), and a double-precision
// host dot product at sampled outputs (which also checks that reference).
// Then: two eager runs and a graph replay bit-identical (split-K reduces in
// a fixed order), and the runtime's dispatch (rt::linear) picking it.
//
// `--bench --only=decodeGemm` times it beside cuBLASLt and the mma.sync
// streaming kernel (StreamGemm.cuh), in µs and % of copy bandwidth.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

using namespace llmc;

namespace llmc::test {

extern bool quickMode;
void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note);
double timeGraphMs(FakeRank &r, const std::function<void()> &f, int reps);
DevBuf<uint16_t> randomDevice(size_t n, const char *name, uint64_t seed,
                              int64_t fanIn);
double copyRateGBs(FakeRank &r, double *ms); // Bench.cpp

namespace {

enum class Kind { Group, Swiglu, Head };

/// One projection of a model: `count` weights of n[i] rows stored back to
/// back (Group), gate and up of n[0] rows each (Swiglu), or the lm head.
struct Proj {
  const char *model, *name;
  Kind kind;
  int count;
  int64_t n[3], k;
  int64_t rows() const {
    int64_t r = 0;
    for (int i = 0; i < count; ++i)
      r += n[i];
    return kind == Kind::Swiglu ? 2 * n[0] : r;
  }
};

const Proj kProjs[] = {
    {"1b", "qkv", Kind::Group, 3, {2048, 512, 512}, 2048},
    {"1b", "o", Kind::Group, 1, {2048}, 2048},
    {"1b", "gate|up", Kind::Swiglu, 1, {8192}, 2048},
    {"1b", "down", Kind::Group, 1, {2048}, 8192},
    {"1b", "lm_head", Kind::Head, 1, {128256}, 2048},
    {"8b", "qkv", Kind::Group, 3, {4096, 1024, 1024}, 4096},
    {"8b", "o", Kind::Group, 1, {4096}, 4096},
    {"8b", "gate|up", Kind::Swiglu, 1, {14336}, 4096},
    {"8b", "down", Kind::Group, 1, {4096}, 14336},
    {"8b", "lm_head", Kind::Head, 1, {128256}, 4096},
    {"12b", "qkv", Kind::Group, 3, {4096, 1024, 1024}, 5120},
    {"12b", "o", Kind::Group, 1, {5120}, 4096},
    {"12b", "gate|up", Kind::Swiglu, 1, {14336}, 5120},
    {"12b", "down", Kind::Group, 1, {5120}, 14336},
    {"12b", "lm_head", Kind::Head, 1, {131072}, 5120},
    // Edges: segments not multiples of a tile, K not a multiple of 64
    // (the copy engine's zero fill), a partial last tile.
    {"odd", "qkv", Kind::Group, 3, {200, 64, 72}, 544},
    {"odd", "o", Kind::Group, 1, {130}, 520},
    {"odd", "gate|up", Kind::Swiglu, 1, {200}, 520},
    {"odd", "lm_head", Kind::Head, 1, {1000}, 256},
};
constexpr int kModelProjs = 15; // the rest are edges, not benchmarked

/// The operands of one projection at m rows; outputs poisoned.
struct Case {
  const Proj &p;
  int64_t m;
  DevBuf<uint16_t> w, x, bias;
  std::vector<DevBuf<uint16_t>> out; // bf16 outputs (Group, Swiglu)
  DevBuf<float> logits;              // Head
  bool withBias;

  Case(const Proj &p, int64_t m, uint64_t seed, bool withBias)
      : p(p), m(m), w(randomDevice(size_t(p.rows() * p.k), p.name, seed, p.k)),
        x(randomDevice(size_t(m * p.k), "x", seed + 1, p.k)),
        bias(randomDevice(size_t(p.rows()), "bias", seed + 2, p.rows())),
        withBias(withBias) {
    // The fills run on the legacy stream, the kernels on the rank's
    // non-blocking one: finish them first.
    cudaCheck(cudaDeviceSynchronize(), "random fill");
    if (p.kind == Kind::Head) {
      logits = DevBuf<float>(size_t(m * p.n[0]));
      logits.poison();
      return;
    }
    for (int i = 0; i < p.count; ++i) {
      out.emplace_back(size_t(m * p.n[i]));
      out.back().poison();
    }
  }
  const rt::bf16 *wp(int64_t row = 0) const {
    return reinterpret_cast<const rt::bf16 *>(w.get()) + row * p.k;
  }
  const rt::bf16 *xp() const {
    return reinterpret_cast<const rt::bf16 *>(x.get());
  }
  /// The decode GEMM itself; false where it did not apply.
  bool run(FakeRank &r) {
    if (p.kind == Kind::Swiglu)
      return rt::cuda::decodeGemmSwiglu(
          r, reinterpret_cast<rt::bf16 *>(out[0].get()), p.n[0], xp(), p.k,
          wp(), wp(p.n[0]), p.n[0], p.k, m);
    rt::cuda::GemvTarget t[3];
    int64_t first = 0;
    for (int i = 0; i < p.count; ++i) {
      void *o = p.kind == Kind::Head ? static_cast<void *>(logits.get())
                                     : static_cast<void *>(out[size_t(i)].get());
      t[i] = rt::cuda::GemvTarget{
          wp(first), o,
          withBias ? reinterpret_cast<const rt::bf16 *>(bias.get()) + first
                   : nullptr,
          p.n[i], p.n[i]};
      first += p.n[i];
    }
    return rt::cuda::decodeGemmGroup(r, p.kind == Kind::Head, t, p.count,
                                     xp(), p.k, p.k, m);
  }
  /// Every output as floats, in the reference's [m, rows] order per output.
  std::vector<std::vector<float>> results() const {
    std::vector<std::vector<float>> v;
    if (p.kind == Kind::Head)
      v.push_back(logits.download());
    else
      for (const auto &o : out)
        v.push_back(fromDevice(o));
    return v;
  }
};

/// cuBLASLt's x w^T over all rows, fp32 out [m, rows].
std::vector<float> cublasRef(FakeRank &r, const Case &c) {
  int64_t rows = c.p.rows();
  DevBuf<float> ref(size_t(c.m * rows));
  rt::gemm::MatmulNT g;
  g.m = c.m;
  g.n = rows;
  g.k = c.p.k;
  g.a = c.xp();
  g.lda = c.p.k;
  g.b = c.wp();
  g.ldb = c.p.k;
  g.out = ref.get();
  g.ldo = rows;
  g.outType = rt::gemm::OutType::F32;
  std::string err =
      rt::gemm::matmulNT(r.lt(), r.stream(), r.workspace(), r.workspaceBytes(), g);
  if (!err.empty())
    throw RankFailure(err);
  sync(r); // the copy below runs on the legacy stream
  return ref.download();
}

float bf16At(const DevBuf<uint16_t> &d, int64_t i) {
  uint16_t v = 0;
  cudaCheck(cudaMemcpy(&v, d.get() + i, 2, cudaMemcpyDeviceToHost), "read");
  return rt::bf16ToFloat(v);
}

/// Compares the decode GEMM's outputs with the references; sampled host
/// dot products check the cuBLASLt reference itself.
Stats check(FakeRank &r, Case &c) {
  const Proj &p = c.p;
  std::vector<float> ref = cublasRef(r, c);
  std::vector<std::vector<float>> got = c.results();
  int64_t rows = p.rows();
  std::vector<float> bias =
      c.withBias ? fromDevice(c.bias) : std::vector<float>();
  std::vector<float> xh = fromDevice(c.x);
  Stats all;
  // Host dot products at sampled (row, weight row) pairs against cuBLASLt.
  Rng rng(uint64_t(c.m * 131 + rows));
  Stats host;
  double refMax = 0;
  for (float v : ref)
    refMax = std::max(refMax, double(std::fabs(v)));
  for (int s = 0; s < 24; ++s) {
    int64_t m = rng.below(c.m), n = rng.below(rows);
    std::vector<uint16_t> wr(size_t(p.k));
    cudaCheck(cudaMemcpy(wr.data(), c.w.get() + n * p.k, size_t(p.k) * 2,
                         cudaMemcpyDeviceToHost),
              "weight row");
    double d = 0;
    for (int64_t k = 0; k < p.k; ++k)
      d += double(xh[size_t(m * p.k + k)]) * rt::bf16ToFloat(wr[size_t(k)]);
    host.add(ref[size_t(m * rows + n)], d, 1e-4 * refMax, 1e-4);
  }
  if (!host.ok())
    throw RankFailure("the cuBLASLt reference disagrees with the host dot "
                      "products (max diff " +
                      std::to_string(host.maxAbs) + ")");
  if (p.kind == Kind::Swiglu) {
    int64_t n = p.n[0];
    std::vector<double> want(size_t(c.m * n));
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t j = 0; j < n; ++j) {
        float g = roundBf16(ref[size_t(m * rows + j)]),
              u = roundBf16(ref[size_t(m * rows + n + j)]);
        want[size_t(m * n + j)] =
            roundBf16(roundBf16(g / (1.f + std::exp(-g))) * u);
      }
    return compare(got[0], want, 4e-3, 1.0 / 64);
  }
  int64_t first = 0;
  for (int i = 0; i < p.count; ++i) {
    int64_t n = p.n[i];
    std::vector<double> want(size_t(c.m * n));
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t j = 0; j < n; ++j)
        want[size_t(m * n + j)] =
            double(ref[size_t(m * rows + first + j)]) +
            (c.withBias ? double(bias[size_t(first + j)]) : 0.0);
    all.merge(p.kind == Kind::Head ? compare(got[size_t(i)], want, 1e-5, 1e-4)
                                   : compare(got[size_t(i)], want, 2e-3,
                                             1.0 / 128));
    first += n;
  }
  return all;
}

} // namespace

void testDecodeGemm(FakeRank &r) {
  if (!hopperOrSkip("decodeGemm"))
    return;
  // On whatever the policy says: these run the kernel itself.
  const rt::LaunchPolicy saved = rt::launchPolicy();
  rt::LaunchPolicy on = saved;
  on.decodeGemmMinRows = 1;
  rt::setLaunchPolicy(on);
  std::vector<int64_t> ms = {8, 32, 64, 128};
  if (quickMode)
    ms = {8, 64};
  uint64_t seed = 100;
  for (const Proj &p : kProjs) {
    std::vector<int64_t> rows = ms;
    if (std::string(p.model) == "odd")
      rows = {3, 13, 100};
    for (int64_t m : rows) {
      // A bias on the single-output projections at 32 (13) rows.
      bool bias = p.kind == Kind::Group && p.count == 1 && (m == 32 || m == 13);
      Case c(p, m, seed += 10, bias);
      bool taken = c.run(r);
      sync(r);
      std::string cfg = fmt("%s %s M=%lld N=%lld K=%lld%s%s", p.model, p.name,
                            (long long)m, (long long)p.rows(), (long long)p.k,
                            p.kind == Kind::Head ? " fp32" : "",
                            bias ? " +bias" : "");
      if (!taken) {
        Stats none;
        none.bad = 1;
        recordResult("decodeGemm", cfg, none, "did not apply");
        continue;
      }
      recordResult("decodeGemm", cfg, check(r, c), "");
      r.resetArena();
    }
  }
  // Split-K (8B o at 64 rows: 32 tiles, 4-block clusters): eager twice and
  // a graph replay, bit for bit; then rt::linear must pick the kernel.
  {
    Case c(kProjs[6], 64, 7, false);
    std::vector<std::vector<float>> first, viaLinear;
    checkEagerAndReplay<std::vector<std::vector<float>>>(
        r, "decodeGemm bit-identity", "8b o M=64 split-K",
        [&] { return c.run(r); }, [&] { c.out[0].poison(); },
        [&] { return c.results(); });
    first = c.results(); // the replay's, still in place
    c.out[0].poison();
    rt::linear(r, act(c.out[0], 64, 4096), act(c.x, 64, 4096),
               weightOf(c.w, 4096, 4096), nullptr);
    sync(r);
    viaLinear = c.results();
    Stats d;
    d.count = 1;
    d.bad = viaLinear != first;
    recordResult("decodeGemm dispatch", "rt::linear 8b o M=64", d,
                 d.bad ? "rt::linear's output differs: not the decode GEMM"
                       : "rt::linear runs the decode GEMM");
  }
  rt::setLaunchPolicy(saved);
}

void benchDecodeGemm(FakeRank &r) {
  if (!hopper()) {
    std::printf("decode gemm bench: needs compute capability 9.0\n");
    return;
  }
  const double copyGBs = copyRateGBs(r, nullptr);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("\ndecode GEMM bench on %s (graph replays; weights rotated "
              "over copies > L2; %% of D2D copy %.0f GB/s)\n",
              prop.name, copyGBs);
  std::printf("%-22s %4s %10s %7s %10s %7s %10s %7s %7s\n", "projection", "M",
              "decode us", "%copy", "cublas us", "%copy", "stream us", "%copy",
              "speedup");
  const rt::LaunchPolicy saved = rt::launchPolicy();
  for (int pi = 0; pi < kModelProjs; ++pi) {
    const Proj &p = kProjs[pi];
    int64_t rows = p.rows();
    size_t wBytes = size_t(rows * p.k) * 2;
    int copies = int(std::min<size_t>(
        8, std::max<size_t>(1, (size_t(160) << 20) / wBytes + 1)));
    std::vector<Case> cs;
    for (int i = 0; i < copies; ++i)
      cs.emplace_back(p, 128, uint64_t(500 + i), false);
    // Output of the one-weight forms (the stream kernel and cuBLASLt over
    // all rows), [128, rows] of fp32 or bf16.
    DevBuf<float> whole(size_t(128 * rows));
    for (int64_t m : {8, 16, 32, 64, 128}) {
      double bytes = double(wBytes) + 2.0 * m * p.k +
                     (p.kind == Kind::Head ? 4.0 : 2.0) * m * p.n[0];
      auto pct = [&](double ms) {
        return 100.0 * bytes / (ms * 1e-3) / 1e9 / copyGBs;
      };
      int i = 0;
      auto with = [&](int minRows, int streamRows, bool stream) {
        rt::LaunchPolicy pol = saved;
        pol.decodeGemmMinRows = minRows;
        pol.streamMaxRows = streamRows;
        rt::setLaunchPolicy(pol);
        double ms = timeGraphMs(
            r,
            [&] {
              Case &c = cs[size_t(i++ % copies)];
              c.m = m;
              if (!stream) {
                if (!c.run(r))
                  throw RankFailure("decode gemm did not apply");
                return;
              }
              bool ok =
                  p.kind == Kind::Swiglu
                      ? rt::cuda::streamGemmSwiglu(
                            r, reinterpret_cast<rt::bf16 *>(c.out[0].get()),
                            p.n[0], c.xp(), p.k, c.wp(), c.wp(p.n[0]), p.n[0],
                            p.k, m)
                      : false;
              if (p.kind != Kind::Swiglu) {
                rt::cuda::GemvTarget t{c.wp(), whole.get(), nullptr, rows,
                                       rows};
                ok = rt::cuda::streamGemmGroup(r, p.kind == Kind::Head, &t, 1,
                                               c.xp(), p.k, p.k, m);
              }
              if (!ok)
                throw RankFailure("stream gemm did not apply");
            },
            4 * copies);
        rt::setLaunchPolicy(saved);
        return ms;
      };
      double ours = with(1, saved.streamMaxRows, false);
      double stream = m <= 32 ? with(0, 32, true) : 0;
      // cuBLASLt over all rows at once (q|k|v and gate|up as one GEMM, as
      // the runtime runs them beyond the streaming kernels), bf16 out.
      double lt = timeGraphMs(
          r,
          [&] {
            Case &c = cs[size_t(i++ % copies)];
            rt::gemm::MatmulNT g;
            g.m = m;
            g.n = rows;
            g.k = p.k;
            g.a = c.xp();
            g.lda = p.k;
            g.b = c.wp();
            g.ldb = p.k;
            g.out = whole.get();
            g.ldo = rows;
            g.outType = p.kind == Kind::Head ? rt::gemm::OutType::F32
                                             : rt::gemm::OutType::BF16;
            std::string err = rt::gemm::matmulNT(r.lt(), r.stream(), r.workspace(),
                                             r.workspaceBytes(), g);
            if (!err.empty())
              throw RankFailure(err);
          },
          4 * copies);
      std::string name = std::string(p.model) + " " + p.name;
      if (stream > 0)
        std::printf("%-22s %4lld %10.2f %6.1f%% %10.2f %6.1f%% %10.2f %6.1f%% "
                    "%6.2fx\n",
                    name.c_str(), (long long)m, 1e3 * ours, pct(ours), 1e3 * lt,
                    pct(lt), 1e3 * stream, pct(stream), lt / ours);
      else
        std::printf("%-22s %4lld %10.2f %6.1f%% %10.2f %6.1f%% %10s %7s "
                    "%6.2fx\n",
                    name.c_str(), (long long)m, 1e3 * ours, pct(ours), 1e3 * lt,
                    pct(lt), "-", "", lt / ours);
      std::fflush(stdout);
    }
  }
}

} // namespace llmc::test
