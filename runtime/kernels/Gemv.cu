//===- Gemv.cu - weight-streaming GEMV for decode-sized batches -----------===//
//
// out[M, N] = x[M, K] W[N, K]^T (+ bias) for M <= kGemvMaxRows rows: the
// shape of every projection in a batch-1 decode step. Time is the weight read, so the kernel is
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
// the shape (docs/kernels.md); this kernel is used for small M unless
// LLMC_GEMV=0 (then everything goes to cuBLASLt, for A/B measurements).
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/device/Device.h"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Launch.cuh"

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

/// Up to kGemvMaxTargets weights applied to the same activation rows, in
/// one launch: block b works on the target whose first block is the last
/// one <= b. With Swiglu, targets 0 (gate) and 1 (up) have the same rows
/// and each block reads RB rows of both.
struct GemvArgs {
  GemvTarget t[kGemvMaxTargets];
  unsigned firstBlock[kGemvMaxTargets];
  int count;
  const bf16 *x;
  int64_t ldx, k;
};

template <int M, int RB, class Out, bool Swiglu>
__global__ void __launch_bounds__(kGemvThreads) gemvKernel(GemvArgs a) {
  constexpr int R = Swiglu ? 2 * RB : RB; // weight rows a block reads
  __shared__ float partial[kGemvWarps][R * M];
  int seg = 0;
#pragma unroll
  for (int i = 1; i < kGemvMaxTargets; ++i)
    if (!Swiglu && i < a.count && blockIdx.x >= a.firstBlock[i])
      seg = i;
  const GemvTarget &t = a.t[seg];
  const int64_t n = t.n, k = a.k, chunks = k / 8;
  const int64_t row0 = int64_t(blockIdx.x - a.firstBlock[seg]) * RB;
  // Rows past N (the last block) read row N-1 again and are not written.
  const uint4 *wrow[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    int64_t row = row0 + (r % RB) < n ? row0 + (r % RB) : n - 1;
    const bf16 *w = Swiglu && r >= RB ? a.t[1].w : t.w;
    wrow[r] = reinterpret_cast<const uint4 *>(w + row * k);
  }
  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m)
      acc[r][m] = 0.f;

  // The first chunks (for K <= 4096 all of the block's weights) are
  // loaded before the wait: under programmatic dependent launch they
  // stream while the kernel that writes x finishes.
  uint4 wv[kUnroll][R];
  loadChunks<kUnroll, R, kGemvThreads>(wv, wrow, threadIdx.x, chunks);
  pdlLaunchDependents();
  pdlWait();
  for (int64_t c0 = threadIdx.x; c0 < chunks;
       c0 += int64_t(kGemvThreads) * kUnroll) {
    if (c0 != threadIdx.x)
      loadChunks<kUnroll, R, kGemvThreads>(wv, wrow, c0, chunks);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      int64_t c = c0 + int64_t(u) * kGemvThreads;
      if (c >= chunks)
        break;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        uint4 xv = __ldg(reinterpret_cast<const uint4 *>(a.x + m * a.ldx) + c);
#pragma unroll
        for (int r = 0; r < R; ++r)
          acc[r][m] += dot8(wv[u][r], xv);
      }
    }
  }

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int r = 0; r < R; ++r)
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
      Out *out = static_cast<Out *>(t.out) + m * t.ldo + row;
      if constexpr (Swiglu) {
        // Hugging Face: gate and up are bf16 linear outputs, act(gate) a
        // bf16 tensor, the product rounded once more.
        float up = 0.f;
#pragma unroll
        for (int i = 0; i < kGemvWarps; ++i)
          up += partial[i][RB * M + threadIdx.x];
        *out = toB(roundB(silu(roundB(s))) * roundB(up));
      } else {
        if (t.bias)
          s += toF(t.bias[row]);
        if constexpr (std::is_same_v<Out, float>)
          *out = s;
        else
          *out = toB(s);
      }
    }
  }
}

template <int M, class Out, bool Swiglu>
void launchGemv(Rank &r, GemvArgs &a) {
  // Weight rows per block: four while the accumulators stay few, fewer for
  // larger batches (R x M fp32 accumulators per thread).
  constexpr int RB = Swiglu ? (M <= 2 ? 2 : 1) : (M <= 2 ? 4 : 2);
  unsigned blocks = 0;
  for (int i = 0; i < a.count; ++i) {
    a.firstBlock[i] = blocks;
    blocks += unsigned((a.t[i].n + RB - 1) / RB);
  }
  if (Swiglu)
    blocks = unsigned((a.t[0].n + RB - 1) / RB);
  launchPdl(r, "gemv", gemvKernel<M, RB, Out, Swiglu>, dim3(blocks),
            dim3(kGemvThreads), 0, a);
}

template <class Out, bool Swiglu>
void dispatchGemv(Rank &r, GemvArgs &a, int64_t m) {
  static_assert(kGemvMaxRows == 2, "instantiate every M up to the limit");
  if (m == 1)
    launchGemv<1, Out, Swiglu>(r, a);
  else
    launchGemv<2, Out, Swiglu>(r, a);
}

bool gemvEnabled() {
  static const bool enabled = [] {
    const char *v = std::getenv("LLMC_GEMV");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return enabled;
}

} // namespace

/// Whether the GEMV applies to activations `x` [m, k] (leading dim ldx).
static bool gemvApplies(const bf16 *x, int64_t ldx, int64_t k, int64_t m) {
  return gemvEnabled() && m >= 1 && m <= kGemvMaxRows && k >= 8 &&
         k % 8 == 0 && ldx % 8 == 0 && isAligned(x, 16);
}

bool gemvGroup(Rank &r, bool outF32, const GemvTarget *targets, int count,
               const bf16 *x, int64_t ldx, int64_t k, int64_t m) {
  if (!gemvApplies(x, ldx, k, m) || count < 1 || count > kGemvMaxTargets)
    return false;
  GemvArgs a{};
  int64_t blocks = 0;
  for (int i = 0; i < count; ++i) {
    if (targets[i].n < 1 || !isAligned(targets[i].w, 16))
      return false;
    a.t[i] = targets[i];
    blocks += targets[i].n;
  }
  if (blocks > int64_t(1) << 31)
    return false;
  a.count = count;
  a.x = x;
  a.ldx = ldx;
  a.k = k;
  if (outF32)
    dispatchGemv<float, false>(r, a, m);
  else
    dispatchGemv<bf16, false>(r, a, m);
  checkLaunch(r, outF32 ? "gemv (fp32 out)" : "gemv");
  return true;
}

bool gemv(Rank &r, void *out, bool outF32, int64_t ldo, const bf16 *x,
          int64_t ldx, const bf16 *w, int64_t n, int64_t k, const bf16 *bias,
          int64_t m) {
  GemvTarget t{w, out, bias, n, ldo};
  return gemvGroup(r, outF32, &t, 1, x, ldx, k, m);
}

bool gemvSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x, int64_t ldx,
                const bf16 *gate, const bf16 *up, int64_t n, int64_t k,
                int64_t m) {
  if (!gemvApplies(x, ldx, k, m) || n < 1 || n > int64_t(1) << 31 ||
      !isAligned(gate, 16) || !isAligned(up, 16))
    return false;
  GemvArgs a{};
  a.t[0] = GemvTarget{gate, out, nullptr, n, ldo};
  a.t[1] = GemvTarget{up, out, nullptr, n, ldo};
  a.count = 2;
  a.x = x;
  a.ldx = ldx;
  a.k = k;
  dispatchGemv<bf16, true>(r, a, m);
  checkLaunch(r, "gemv (gate, up, SwiGLU)");
  return true;
}

} // namespace llmc::rt::cuda
