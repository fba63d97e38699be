//===- Gemv.cu - weight-streaming GEMV for decode-sized batches -----------===//
//
// out[M, N] = x[M, K] W[N, K]^T (+ bias) for M <= 8 rows: the shape of every
// projection in a decode step. Time is the weight read, so the kernel is
// built to keep HBM busy: each block owns RB weight rows, its 256 threads
// stride K in 16-byte chunks with two chunks per row in flight before any
// arithmetic (RB x 2 x 16 bytes per thread), weights are loaded with the
// streaming hint (read once, not worth L1), the activation rows are loaded
// through the read-only path (every block reads them: L1/L2 hits). Sums are
// fp32, reduced across the block in a fixed order (deterministic, so a
// captured decode step replays bit-identically), the bias added in fp32 and
// the result rounded once to bf16 (fp32 for the lm head) — the rounding of
// cuBLASLt's epilogue.
//
// cuBLASLt's batch-1 kernels reach 72-94% of copy bandwidth depending on
// the shape (docs/kernels.md); this kernel is used for M <= 8 unless
// LLMC_GEMV=0 (then everything goes to cuBLASLt, for A/B measurements).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Common.cuh"
#include "runtime/cuda/Internal.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace llmc::rt::cuda {

namespace {

constexpr int kGemvThreads = 256;
constexpr int kGemvWarps = kGemvThreads / 32;
constexpr int kUnroll = 2;

__device__ __forceinline__ float dot8(uint4 w, uint4 x) {
  float wf[8], xf[8];
  unpack8(w, wf);
  unpack8(x, xf);
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 8; ++i)
    s = fmaf(wf[i], xf[i], s);
  return s;
}

template <int M, int RB, class Out>
__global__ void __launch_bounds__(kGemvThreads)
    gemvKernel(Out *__restrict__ out, int64_t ldo, const bf16 *__restrict__ x,
               int64_t ldx, const bf16 *__restrict__ w, int64_t n,
               int64_t k, const bf16 *__restrict__ bias) {
  __shared__ float partial[kGemvWarps][RB * M];
  const int64_t row0 = int64_t(blockIdx.x) * RB;
  const int64_t chunks = k / 8;
  // Rows past N (the last block) read row N-1 again and are not written.
  const uint4 *wrow[RB];
#pragma unroll
  for (int r = 0; r < RB; ++r) {
    int64_t row = row0 + r < n ? row0 + r : n - 1;
    wrow[r] = reinterpret_cast<const uint4 *>(w + row * k);
  }
  float acc[RB][M];
#pragma unroll
  for (int r = 0; r < RB; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m)
      acc[r][m] = 0.f;

  for (int64_t c0 = threadIdx.x; c0 < chunks;
       c0 += int64_t(kGemvThreads) * kUnroll) {
    uint4 wv[kUnroll][RB];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      int64_t c = c0 + int64_t(u) * kGemvThreads;
#pragma unroll
      for (int r = 0; r < RB; ++r)
        wv[u][r] = c < chunks ? __ldcs(wrow[r] + c) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      int64_t c = c0 + int64_t(u) * kGemvThreads;
      if (c >= chunks)
        break;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        uint4 xv = __ldg(reinterpret_cast<const uint4 *>(x + m * ldx) + c);
#pragma unroll
        for (int r = 0; r < RB; ++r)
          acc[r][m] += dot8(wv[u][r], xv);
      }
    }
  }

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int r = 0; r < RB; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float v = warpSum(acc[r][m]);
      if (lane == 0)
        partial[warp][r * M + m] = v;
    }
  __syncthreads();
  if (threadIdx.x < RB * M) {
    int r = threadIdx.x / M, m = threadIdx.x % M;
    int64_t row = row0 + r;
    if (row < n) {
      float s = 0.f;
#pragma unroll
      for (int i = 0; i < kGemvWarps; ++i)
        s += partial[i][threadIdx.x];
      if (bias)
        s += toF(bias[row]);
      if constexpr (std::is_same_v<Out, float>)
        out[m * ldo + row] = s;
      else
        out[m * ldo + row] = toB(s);
    }
  }
}

template <int M, class Out>
void launchGemv(Rank &r, Out *out, int64_t ldo, const bf16 *x, int64_t ldx,
                const bf16 *w, int64_t n, int64_t k, const bf16 *bias) {
  // Four weight rows per block while the accumulators stay few; two for
  // larger batches (RB x M fp32 accumulators per thread).
  constexpr int RB = M <= 2 ? 4 : 2;
  unsigned blocks = unsigned((n + RB - 1) / RB);
  gemvKernel<M, RB, Out><<<blocks, kGemvThreads, 0, r.stream()>>>(
      out, ldo, x, ldx, w, n, k, bias);
}

template <class Out>
void dispatchGemv(Rank &r, Out *out, int64_t ldo, const bf16 *x, int64_t ldx,
                  const bf16 *w, int64_t n, int64_t k, const bf16 *bias,
                  int64_t m) {
  switch (m) {
  case 1: return launchGemv<1>(r, out, ldo, x, ldx, w, n, k, bias);
  case 2: return launchGemv<2>(r, out, ldo, x, ldx, w, n, k, bias);
  case 3: return launchGemv<3>(r, out, ldo, x, ldx, w, n, k, bias);
  case 4: return launchGemv<4>(r, out, ldo, x, ldx, w, n, k, bias);
  case 5: return launchGemv<5>(r, out, ldo, x, ldx, w, n, k, bias);
  case 6: return launchGemv<6>(r, out, ldo, x, ldx, w, n, k, bias);
  case 7: return launchGemv<7>(r, out, ldo, x, ldx, w, n, k, bias);
  default: return launchGemv<8>(r, out, ldo, x, ldx, w, n, k, bias);
  }
}

bool gemvEnabled() {
  static const bool enabled = [] {
    const char *v = std::getenv("LLMC_GEMV");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return enabled;
}

} // namespace

bool gemv(Rank &r, void *out, bool outF32, int64_t ldo, const bf16 *x,
          int64_t ldx, const bf16 *w, int64_t n, int64_t k, const bf16 *bias,
          int64_t m) {
  if (!gemvEnabled() || m < 1 || m > kGemvMaxRows || n < 1 || k < 8 ||
      k % 8 != 0 || ldx % 8 != 0 || !isAligned(x, 16) || !isAligned(w, 16) ||
      n > int64_t(0x7fffffff) * 2)
    return false;
  if (outF32)
    dispatchGemv(r, static_cast<float *>(out), ldo, x, ldx, w, n, k, bias, m);
  else
    dispatchGemv(r, static_cast<bf16 *>(out), ldo, x, ldx, w, n, k, bias, m);
  checkLaunch(r, outF32 ? "gemv (fp32 out)" : "gemv");
  return true;
}

} // namespace llmc::rt::cuda
