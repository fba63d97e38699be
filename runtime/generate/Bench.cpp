//===- Bench.cpp - this GPU's reference rates for llm-model --bench -------===//

#include "runtime/generate/Bench.h"

#include "runtime/model/DeviceRank.h"

#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/Kernels.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace llmc::rt {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kBatches = 7;

/// Event pair on one stream; ms between them.
class Timer {
public:
  explicit Timer(cudaStream_t stream) : stream_(stream) {
    ok_ = cudaEventCreate(&start_) == cudaSuccess &&
          cudaEventCreate(&end_) == cudaSuccess;
  }
  ~Timer() {
    if (start_)
      cudaEventDestroy(start_);
    if (end_)
      cudaEventDestroy(end_);
  }
  bool ok() const { return ok_; }
  /// Runs `f` `reps` times between the events; ms per call, NaN on error.
  double msPerCall(const std::function<bool()> &f, int reps) {
    if (cudaEventRecord(start_, stream_) != cudaSuccess)
      return kNaN;
    for (int i = 0; i < reps; ++i)
      if (!f())
        return kNaN;
    float ms = 0;
    if (cudaEventRecord(end_, stream_) != cudaSuccess ||
        cudaEventSynchronize(end_) != cudaSuccess ||
        cudaEventElapsedTime(&ms, start_, end_) != cudaSuccess)
      return kNaN;
    return double(ms) / reps;
  }

private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, end_ = nullptr;
  bool ok_ = false;
};

/// Sorted per-call times of kBatches batches; empty on error.
std::vector<double> batches(Timer &t, const std::function<bool()> &f,
                            int reps) {
  std::vector<double> ms;
  for (int b = 0; b < kBatches; ++b) {
    double v = t.msPerCall(f, reps);
    if (!std::isfinite(v))
      return {};
    ms.push_back(v);
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

std::string cudaMessage(const char *what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorString(e);
}

} // namespace

CopyBandwidth measureCopyBandwidth(cudaStream_t stream, size_t bytes) {
  CopyBandwidth out;
  out.gbs = out.bestGbs = kNaN;
  DeviceBuffer src, dst;
  constexpr size_t kMinBytes = size_t(64) << 20;
  for (;; bytes /= 2) {
    Status a = src.allocate(bytes, "the copy benchmark");
    Status b = a ? dst.allocate(bytes, "the copy benchmark") : a;
    if (a && b)
      break;
    src = DeviceBuffer();
    dst = DeviceBuffer();
    cudaGetLastError(); // the failed cudaMalloc
    if (bytes / 2 < kMinBytes) {
      out.error = b.message();
      return out;
    }
  }
  out.bytes = bytes;
  if (cudaError_t e = cudaMemsetAsync(src.data(), 1, bytes, stream)) {
    out.error = cudaMessage("cudaMemsetAsync", e);
    return out;
  }
  Timer timer(stream);
  if (!timer.ok()) {
    out.error = "cudaEventCreate failed";
    cudaGetLastError();
    return out;
  }
  auto copy = [&] {
    return cudaMemcpyAsync(dst.data(), src.data(), bytes,
                           cudaMemcpyDeviceToDevice, stream) == cudaSuccess;
  };
  timer.msPerCall(copy, 2); // warm-up
  std::vector<double> ms = batches(timer, copy, 3);
  if (ms.empty()) {
    out.error =
        cudaMessage("timing device-to-device copies", cudaGetLastError());
    return out;
  }
  out.gbs = 2.0 * double(bytes) / (ms[ms.size() / 2] * 1e-3) / 1e9;
  out.bestGbs = 2.0 * double(bytes) / (ms.front() * 1e-3) / 1e9;
  return out;
}

GemmPeak measureGemmPeak(const std::vector<GemmShape> &shapes,
                         cudaStream_t stream) {
  GemmPeak out;
  out.aggregateTflops = out.bestTflops = kNaN;
  out.msPerCall.assign(shapes.size(), kNaN);
  if (shapes.empty()) {
    out.error = "the model has no cuBLASLt GEMM";
    return out;
  }
  cublasLtHandle_t lt = nullptr;
  if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) {
    out.error = "cublasLtCreate failed";
    return out;
  }
  // As DeviceRank: a 32 MiB workspace, so the heuristic picks what the
  // model's calls get.
  DeviceBuffer workspace;
  Timer timer(stream);
  if (Status s = workspace.allocate(size_t(32) << 20, "the GEMM workspace");
      !s || !timer.ok()) {
    out.error = s ? "cudaEventCreate failed" : s.message();
    cudaGetLastError();
    cublasLtDestroy(lt);
    return out;
  }
  auto fail = [&out](const std::string &message) {
    if (out.error.empty())
      out.error = message;
    cudaGetLastError();
  };
  constexpr size_t kRotateBytes = size_t(192) << 20;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const GemmShape &g = shapes[i];
    size_t wBytes = size_t(g.n * g.k) * 2;
    int copies =
        int(std::min<size_t>(16, std::max<size_t>(1, kRotateBytes / wBytes)));
    DeviceBuffer w, a, o;
    Status s = w.allocate(wBytes * size_t(copies), "GEMM weights");
    if (s)
      s = a.allocate(size_t(g.m * g.k) * 2, "GEMM activations");
    if (s)
      s = o.allocate(size_t(g.m * g.n) * (g.f32Out ? 4 : 2), "GEMM output");
    if (s)
      s = fillRandomBf16(1, "bench.weight", {g.n * copies, g.k}, std::nullopt,
                         static_cast<bf16 *>(w.data()), stream);
    if (s)
      s = fillRandomBf16(2, "bench.input", {g.m, g.k}, std::nullopt,
                         static_cast<bf16 *>(a.data()), stream);
    if (!s) {
      fail(s.message());
      continue;
    }
    int next = 0;
    std::string error;
    auto call = [&] {
      gemm::MatmulNT p;
      p.m = g.m;
      p.n = g.n;
      p.k = g.k;
      p.a = static_cast<const __nv_bfloat16 *>(a.data());
      p.lda = g.k;
      p.b = reinterpret_cast<const __nv_bfloat16 *>(
          static_cast<const char *>(w.data()) + size_t(next) * wBytes);
      next = (next + 1) % copies;
      p.ldb = g.k;
      p.out = o.data();
      p.ldo = g.n;
      p.outType = g.f32Out ? gemm::OutType::F32 : gemm::OutType::BF16;
      error = gemm::matmulNT(lt, stream, workspace.data(), workspace.size(), p);
      return error.empty();
    };
    // Warm-up: the heuristic, then one timed call to size the batches.
    double once = timer.msPerCall(call, 2);
    if (std::isfinite(once))
      once = timer.msPerCall(call, 1);
    std::vector<double> ms;
    if (std::isfinite(once))
      ms = batches(
          timer, call,
          int(std::clamp(std::ceil(1.0 / std::max(once, 1e-4)), 1.0, 200.0)));
    if (ms.empty()) {
      fail(!error.empty() ? error
                          : cudaMessage("timing cuBLASLt", cudaGetLastError()));
      continue;
    }
    out.msPerCall[i] = ms[ms.size() / 2];
    double tflops = g.flops() / (out.msPerCall[i] * 1e-3) / 1e12;
    if (!(out.bestTflops >= tflops))
      out.bestTflops = tflops;
  }
  // The aggregate over the shapes that were measured.
  std::vector<GemmShape> measured;
  std::vector<double> measuredMs;
  for (size_t i = 0; i < shapes.size(); ++i)
    if (std::isfinite(out.msPerCall[i])) {
      measured.push_back(shapes[i]);
      measuredMs.push_back(out.msPerCall[i]);
    }
  out.aggregateTflops = gemmAggregateTflops(measured, measuredMs);
  cublasLtDestroy(lt);
  return out;
}

} // namespace llmc::rt
