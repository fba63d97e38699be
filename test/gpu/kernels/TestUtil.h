//===- TestUtil.h - host helpers of the GPU kernel tests --------*- C++ -*-===//
//
// Device buffers, bf16 rounding through runtime/weights/DType.h (the same
// conversion the weight loader uses), a seeded generator, error statistics
// and the result table printed at the end of a run.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_GPU_KERNELS_TESTUTIL_H
#define LLMC_TEST_GPU_KERNELS_TESTUTIL_H

#include "runtime/abi/Ops.h"
#include "runtime/device/Device.h"
#include "runtime/weights/DType.h"
#include "test/gpu/kernels/FakeRank.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace llmc::test {

/// The bound of a W8A8 output (E4M3 x E4M3 on the tensor cores: the decode
/// GEMM, cuBLASLt): `exact`, or under fast accumulation (fp8FastAccum,
/// LLMC_FP8_FAST_ACCUM=1: the tensor cores' own FP8 sums over all of K,
/// about 14 mantissa bits; DeepSeek-V3 reports up to ~2% relative error at
/// K = 4096 on an H800) 2e-2 of the largest output, still far below what a
/// wrong layout or scale gives.
inline double a8Bound(double exact) {
  return rt::cuda::fp8FastAccum() ? 2e-2 : exact;
}

inline void cudaCheck(cudaError_t e, const char *what) {
  if (e != cudaSuccess)
    throw RankFailure(std::string(what) + ": " + cudaGetErrorString(e));
}

/// An owning device allocation of n elements of T.
template <class T> class DevBuf {
public:
  DevBuf() = default;
  explicit DevBuf(size_t n) : n_(n) {
    cudaCheck(
        cudaMalloc(reinterpret_cast<void **>(&p_), sizeof(T) * (n ? n : 1)),
        "cudaMalloc");
  }
  DevBuf(const DevBuf &) = delete;
  DevBuf &operator=(const DevBuf &) = delete;
  DevBuf(DevBuf &&o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; }
  DevBuf &operator=(DevBuf &&o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~DevBuf() { cudaFree(p_); }
  T *get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T> &v) {
    cudaCheck(
        cudaMemcpy(p_, v.data(), sizeof(T) * v.size(), cudaMemcpyHostToDevice),
        "upload");
    // A pageable upload may still be in flight when cudaMemcpy returns, and
    // the kernels run on FakeRank's non-blocking stream, which does not wait
    // for the legacy stream: finish it before any kernel reads the buffer.
    cudaCheck(cudaDeviceSynchronize(), "upload");
  }
  std::vector<T> download() const {
    std::vector<T> v(n_);
    cudaCheck(cudaMemcpy(v.data(), p_, sizeof(T) * n_, cudaMemcpyDeviceToHost),
              "download");
    return v;
  }
  /// Fills every byte with 0xFF: NaN as bf16 and fp32, -1 as integers, so
  /// an element a kernel forgot to write shows up.
  void poison() {
    cudaCheck(cudaMemset(p_, 0xFF, sizeof(T) * (n_ ? n_ : 1)), "poison");
    // cudaMemset is asynchronous and runs on the legacy stream: without
    // this, a kernel on FakeRank's non-blocking stream could write its
    // output first and the poison land after it (the intermittent
    // "unwritten" linearF32 rows of the tpReduce tests).
    cudaCheck(cudaDeviceSynchronize(), "poison");
  }

private:
  T *p_ = nullptr;
  size_t n_ = 0;
};

/// splitmix64-based generator: reproducible inputs per test.
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi).
  float uniform(float lo = -1.f, float hi = 1.f) {
    return lo + (hi - lo) * float(double(next() >> 11) * 0x1p-53);
  }
  int64_t below(int64_t n) { return int64_t(next() % uint64_t(n)); }
};

/// printf into a std::string (test case names).
inline std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
inline std::string fmt(const char *f, ...) {
  char buf[256];
  va_list a;
  va_start(a, f);
  std::vsnprintf(buf, sizeof buf, f, a);
  va_end(a);
  return buf;
}

/// Checks the launches on `r`'s stream and waits for them.
inline void sync(FakeRank &r) {
  cudaCheck(cudaGetLastError(), "launch");
  cudaCheck(cudaStreamSynchronize(r.stream()), "stream sync");
}

/// Captures `body` on r's stream as a CUDA graph into `graph` and
/// instantiates it into `exec` (left null on failure; the caller destroys
/// whichever is non-null). Returns "" or what went wrong: an exception of
/// `body`, the end of the capture, the instantiation.
template <class Body>
std::string captureGraph(FakeRank &r, Body &&body, cudaGraph_t &graph,
                         cudaGraphExec_t &exec) {
  graph = nullptr;
  exec = nullptr;
  std::string err;
  cudaCheck(
      cudaStreamBeginCapture(r.stream(), cudaStreamCaptureModeThreadLocal),
      "begin capture");
  try {
    body();
  } catch (const std::exception &e) {
    err = e.what();
  }
  cudaError_t ce = cudaStreamEndCapture(r.stream(), &graph);
  if (err.empty() && ce != cudaSuccess)
    err = std::string("end capture: ") + cudaGetErrorString(ce);
  if (err.empty() && cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess)
    err = "instantiate failed";
  return err;
}

/// Captures `run` (false where it did not apply) with captureGraph,
/// replays the graph once and waits; false if the capture, `run` or the
/// replay failed (the graph is destroyed either way).
inline bool captureAndReplay(FakeRank &r, const std::function<bool()> &run) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  bool applied = false;
  std::string err = captureGraph(r, [&] { applied = run(); }, graph, exec);
  bool ok = err.empty() && applied &&
            cudaGraphLaunch(exec, r.stream()) == cudaSuccess;
  sync(r);
  if (exec)
    cudaGraphExecDestroy(exec);
  if (graph)
    cudaGraphDestroy(graph);
  cudaGetLastError();
  return ok;
}

inline float roundBf16(float x) { return rt::bf16ToFloat(rt::floatToBf16(x)); }

/// Random bf16 values (returned as the floats they hold).
inline std::vector<float> randomBf16(Rng &rng, size_t n, float scale = 1.f,
                                     float offset = 0.f) {
  std::vector<float> v(n);
  for (float &x : v)
    x = roundBf16(offset + scale * rng.uniform());
  return v;
}

/// A bf16 device copy of `v` (which should already hold bf16 values).
inline DevBuf<uint16_t> toDevice(const std::vector<float> &v) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    bits[i] = rt::floatToBf16(v[i]);
  DevBuf<uint16_t> d(v.size());
  d.upload(bits);
  return d;
}

inline std::vector<float> fromDevice(const DevBuf<uint16_t> &d) {
  std::vector<uint16_t> bits = d.download();
  std::vector<float> v(bits.size());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = rt::bf16ToFloat(bits[i]);
  return v;
}

template <class T> DevBuf<T> toDeviceRaw(const std::vector<T> &v) {
  DevBuf<T> d(v.size());
  d.upload(v);
  return d;
}

inline rt::Act act(const DevBuf<uint16_t> &d, int64_t rows, int64_t cols) {
  return rt::Act{d.get(), rows, cols};
}
template <class T>
rt::Act actOf(const DevBuf<T> &d, int64_t rows, int64_t cols) {
  return rt::Act{d.get(), rows, cols};
}
inline rt::Weight weightOf(const DevBuf<uint16_t> &d, int64_t rows,
                           int64_t cols, int64_t offset = 0) {
  return rt::Weight{reinterpret_cast<const rt::bf16 *>(d.get()), rows, cols,
                    offset};
}

/// Error of a GPU result against a reference, element by element: passes
/// when |gpu - ref| <= atol + rtol * |ref| everywhere and nothing is NaN.
struct Stats {
  double maxAbs = 0, maxRef = 0, sumSqDiff = 0, sumSqRef = 0;
  int64_t count = 0, bad = 0, nonFinite = 0;
  void add(double gpu, double ref, double atol, double rtol) {
    ++count;
    if (!std::isfinite(gpu) && std::isfinite(ref)) {
      ++nonFinite;
      ++bad;
      return;
    }
    double d = std::fabs(gpu - ref);
    maxAbs = std::max(maxAbs, d);
    maxRef = std::max(maxRef, std::fabs(ref));
    sumSqDiff += d * d;
    sumSqRef += ref * ref;
    if (d > atol + rtol * std::fabs(ref))
      ++bad;
  }
  void merge(const Stats &o) {
    maxAbs = std::max(maxAbs, o.maxAbs);
    maxRef = std::max(maxRef, o.maxRef);
    sumSqDiff += o.sumSqDiff;
    sumSqRef += o.sumSqRef;
    count += o.count;
    bad += o.bad;
    nonFinite += o.nonFinite;
  }
  /// max |diff| / max |ref|.
  double scaledMax() const { return maxRef > 0 ? maxAbs / maxRef : maxAbs; }
  /// ||diff|| / ||ref||.
  double normRel() const {
    return sumSqRef > 0 ? std::sqrt(sumSqDiff / sumSqRef)
                        : std::sqrt(sumSqDiff);
  }
  bool ok() const { return bad == 0 && count > 0; }
};

/// One row of the run's result table (defined in KernelTests.cpp).
void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note);

/// Whether device 0 runs sm_90a code (the Hopper decode GEMM).
inline bool hopper() {
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  return prop.major == 9 && prop.minor == 0;
}

/// hopper(), else one passing row of `test` saying it did not run.
inline bool hopperOrSkip(const std::string &test) {
  if (hopper())
    return true;
  Stats skipped;
  skipped.count = 1;
  recordResult(test, "every shape", skipped,
               "not run: needs compute capability 9.0");
  return false;
}

/// A kernel's determinism: `run` (false where it did not apply) twice
/// eagerly and once captured in a CUDA graph and replayed, `poison` before
/// the second and third; records row `test` / `config`, which passes when
/// every run applied and `results` was the same bit for bit each time (a
/// fixed reduction order). Leaves the replay's outputs in place.
template <class Results>
void checkEagerAndReplay(FakeRank &r, const std::string &test,
                         const std::string &config,
                         const std::function<bool()> &run,
                         const std::function<void()> &poison,
                         const std::function<Results()> &results) {
  bool ok = run();
  sync(r);
  Results first = results();
  poison();
  ok = ok && run();
  sync(r);
  Results again = results();
  poison();
  ok = ok && captureAndReplay(r, run);
  Results replay = results();
  Stats st;
  st.count = 1;
  st.bad = !(ok && first == again && first == replay);
  recordResult(test, config, st,
               st.bad ? "eager / eager / graph replay DIFFER"
                      : "eager, eager and graph replay bit-identical");
}

/// Runs `f`, expecting a RankFailure whose message contains `expect`: one
/// row `test` / `config` that passes when it does, noting the message.
inline void expectFailure(const std::string &test, const std::string &config,
                          const std::string &expect,
                          const std::function<void()> &f) {
  std::string msg;
  try {
    f();
  } catch (const RankFailure &e) {
    msg = e.what();
  }
  Stats s;
  s.count = 1;
  s.bad = msg.find(expect) != std::string::npos ? 0 : 1;
  recordResult(test, config, s, msg.empty() ? "no failure" : msg.substr(0, 90));
}

/// Compares whole vectors; atol is relative to max |ref| (`atolScale`).
inline Stats compare(const std::vector<float> &gpu,
                     const std::vector<double> &ref, double atolScale,
                     double rtol) {
  Stats s;
  double maxRef = 0;
  for (double r : ref)
    maxRef = std::max(maxRef, std::fabs(r));
  double atol = atolScale * (maxRef > 0 ? maxRef : 1.0);
  size_t n = std::min(gpu.size(), ref.size());
  for (size_t i = 0; i < n; ++i)
    s.add(gpu[i], ref[i], atol, rtol);
  if (gpu.size() != ref.size())
    s.bad += 1;
  return s;
}

} // namespace llmc::test

#endif // LLMC_TEST_GPU_KERNELS_TESTUTIL_H
