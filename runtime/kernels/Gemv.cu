//===- Gemv.cu - weight-streaming GEMV for decode-sized batches -----------===//
//
// out[M, N] = x[M, K] W[N, K]^T (+ bias) for a few rows M: the shape of
// every projection in a decode step. Time is the weight read, so the kernel
// is built to keep HBM busy: each block owns RB weight rows, its 256 threads
// stride K in 16-byte chunks with two chunks per row in flight before any
// arithmetic (RB x 2 x 16 bytes per thread), weights are loaded with the
// streaming hint (read once, not worth L1), the activation rows are loaded
// through the read-only path (every block reads them: L1/L2 hits). Sums are
// fp32, reduced across the block in a fixed order (deterministic, so a
// captured decode step replays bit-identically), the bias added in fp32 and
// the result rounded once to bf16 (fp32 for the lm head) — the rounding of
// cuBLASLt's epilogue.
//
// One kernel template serves every operand type; only the per-chunk
// widening differs:
//  * bf16 weights: 8 per chunk, up to kGemvMaxRows rows;
//  * FP8 E4M3 codes (W8A16, docs/quantization.md): 16 per chunk, widened
//    exactly (E4M3 -> f16 -> f32, cvt.rn.f16x2.e4m3x2), up to
//    kFp8GemvMaxRows rows; the per-channel (or per-tensor) scale multiplies
//    the fixed-order sum once, before the bias: (sum_k x code) * scale + b.
//    Reading half the bytes of bf16 leaves the widening on the critical
//    path, so the FP8 kernels cap their registers (four blocks per SM:
//    the 8B projections then run in whole waves) and, for one row, widen
//    each code pair right before its two FMAs instead of staging the RB x
//    16 widened codes.
//  * W8A8 (E4m3A8): the same codes with E4M3 activation codes and one
//    scale per activation row (LaunchPolicy::w8a8GemvMaxRows rows): both
//    widened exactly, (sum_k code_x code_w) * xScale * scale + b.
//
// cuBLASLt's batch-1 kernels reach 72-94% of copy bandwidth depending on
// the shape (docs/kernels.md); this kernel is used for small M unless
// LLMC_GEMV=0 (then everything goes to cuBLASLt, for A/B measurements).
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/device/Device.h"
#include "runtime/kernels/E4m3.cuh"
#include "runtime/kernels/Fp8Linear.h"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/Launch.cuh"

#include <algorithm>
#include <type_traits>

namespace llmc::rt::cuda {

namespace {

constexpr int kGemvThreads = 256;
constexpr int kGemvWarps = kGemvThreads / 32;
constexpr int kUnroll = 2;

/// The operand types: weight elements per 16-byte chunk (kPer), the
/// activation element (XElem) and how many 16-byte chunks of activations
/// one weight chunk meets (kXVec), the row base, and the chunk's dot
/// product with the kPer activations `x`: fp32 products of exactly widened
/// values summed in element order from 0.
struct Bf16Weights {
  static constexpr int kPer = 8;
  static constexpr bool kFp8 = false;
  using XElem = bf16;
  static constexpr int kXVec = kPer * int(sizeof(XElem)) / 16;
  __device__ static const uint4 *row(const GemvTarget &t, int64_t row,
                                     int64_t k) {
    return reinterpret_cast<const uint4 *>(t.w + row * k);
  }
  __device__ static float dot(uint4 w, const uint4 x[1]) {
    float wf[8], xf[8];
    unpack8(w, wf);
    unpack8(x[0], xf);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 8; ++i)
      s = fmaf(wf[i], xf[i], s);
    return s;
  }
};

struct E4m3Weights {
  static constexpr int kPer = 16;
  static constexpr bool kFp8 = true;
  using XElem = bf16;
  static constexpr int kXVec = kPer * int(sizeof(XElem)) / 16;
  __device__ static const uint4 *row(const GemvTarget &t, int64_t row,
                                     int64_t k) {
    return reinterpret_cast<const uint4 *>(t.fp8 + row * k);
  }
  __device__ static float dot(uint4 w, const uint4 x[2]) {
    float xf[16];
    unpack8(x[0], xf);
    unpack8(x[1], xf + 8);
    return dotCodes(w, xf);
  }
  /// The 16 codes of `w` against xf[16], each code pair widened right
  /// before its FMAs (4 live floats, not 16).
  __device__ static float dotCodes(uint4 w, const float xf[16]) {
    uint32_t words[4] = {w.x, w.y, w.z, w.w};
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      float2 lo = e4m3x2ToFloat2(words[i]);
      float2 hi = e4m3x2ToFloat2(words[i] >> 16);
      s = fmaf(lo.x, xf[4 * i], s);
      s = fmaf(lo.y, xf[4 * i + 1], s);
      s = fmaf(hi.x, xf[4 * i + 2], s);
      s = fmaf(hi.y, xf[4 * i + 3], s);
    }
    return s;
  }
  /// The same products and order with the codes widened once (`wf`) for
  /// several rows of x.
  __device__ static float dotWide(const float wf[16], const uint4 x[2]) {
    float xf[16];
    unpack8(x[0], xf);
    unpack8(x[1], xf + 8);
    return dot16(wf, xf);
  }
  /// sum_i a[i] b[i] in element order from 0.
  __device__ static float dot16(const float a[16], const float b[16]) {
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 16; ++i)
      s = fmaf(a[i], b[i], s);
    return s;
  }
};

/// W8A8: E4M3 weight codes with E4M3 activation codes (one per-row scale
/// each, GemvArgs::xScale): 16 of each per chunk, both widened exactly;
/// the product of two E4M3 values is exact in fp32, so the sums are those
/// of the e4m3 tensor-core paths up to their order.
struct E4m3A8 : E4m3Weights {
  using XElem = uint8_t;
  static constexpr int kXVec = kPer * int(sizeof(XElem)) / 16;
  __device__ static float dot(uint4 w, const uint4 x[1]) {
    float xf[16];
    unpack16(x[0], xf);
    return dotCodes(w, xf);
  }
  __device__ static float dotWide(const float wf[16], const uint4 x[1]) {
    float xf[16];
    unpack16(x[0], xf);
    return dot16(wf, xf);
  }
};

/// The raw activations of chunk c of row m: W::kXVec 16-byte accesses.
template <class W>
__device__ __forceinline__ void loadX(uint4 xv[W::kXVec], const void *x,
                                      int64_t ldx, int m, int64_t c) {
  const uint4 *p = reinterpret_cast<const uint4 *>(
                       static_cast<const typename W::XElem *>(x) + m * ldx) +
                   c * W::kXVec;
#pragma unroll
  for (int h = 0; h < W::kXVec; ++h)
    xv[h] = __ldg(p + h);
}

/// Up to kGemvMaxTargets weights applied to the same activation rows, in
/// one launch: block b works on the target whose first block is the last
/// one <= b. With Swiglu, targets 0 (gate) and 1 (up) have the same rows
/// and each block reads RB rows of both.
struct GemvArgs {
  GemvTarget t[kGemvMaxTargets];
  unsigned firstBlock[kGemvMaxTargets];
  int count;
  const void *x;     ///< bf16 rows, or E4M3 codes (E4m3A8)
  const float *xScale; ///< E4m3A8: one scale per row of x
  int64_t ldx, k;
  int m; ///< rows of x present (<= the kernel's M)
};

/// (sum) * the target's scale at `row` (FP8 codes; W8A8:
/// (sum * xScale[m]) * scale), else the sum.
template <class W>
__device__ __forceinline__ float scaled(const GemvArgs &a, const GemvTarget &t,
                                        int64_t row, int m, float s) {
  if constexpr (std::is_same_v<W, E4m3A8>)
    s *= a.xScale[m];
  if constexpr (W::kFp8)
    return s * t.scale[t.scaleCount > 1 ? row : 0];
  else
    return s;
}

/// scaled() with the weight scale already read: (sum * xScale[m]) * scale
/// for W8A8, sum * scale for FP8 codes.
template <class W>
__device__ __forceinline__ float scaledBy(const GemvArgs &a, int m, float s,
                                          float scale) {
  if constexpr (std::is_same_v<W, E4m3A8>)
    s *= a.xScale[m];
  return s * scale;
}

/// Weight rows a block reads for a tile of RB output rows.
__host__ __device__ constexpr int tileRowsOf(bool swiglu, int rb) {
  return swiglu ? 2 * rb : rb;
}

/// Tile `tile` of a launch: its target `seg`, the last whose first tile
/// is <= `tile` (with Swiglu, target 0 with target 1's rows beside it), and
/// its first output row of that target.
struct Tile {
  int seg;
  int64_t row0;
};
template <int RB, bool Swiglu>
__device__ __forceinline__ Tile tileOf(const GemvArgs &a, unsigned tile) {
  int seg = 0;
#pragma unroll
  for (int i = 1; i < kGemvMaxTargets; ++i)
    if (!Swiglu && i < a.count && tile >= a.firstBlock[i])
      seg = i;
  return {seg, int64_t(tile - a.firstBlock[seg]) * RB};
}

/// Zeroes a tile's per-thread sums.
template <int R, int M>
__device__ __forceinline__ void zero(float (&acc)[R][M]) {
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m)
      acc[r][m] = 0.f;
}

/// The R weight rows of tile `tl`: rows past N (the last tile) read row
/// N-1 again and are not written.
template <class W, int RB, int R, bool Swiglu>
__device__ __forceinline__ void tileRows(const uint4 *(&wrow)[R],
                                         const GemvArgs &a, Tile tl) {
  const GemvTarget &t = a.t[tl.seg];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    int64_t row = tl.row0 + (r % RB) < t.n ? tl.row0 + (r % RB) : t.n - 1;
    wrow[r] = W::row(Swiglu && r >= RB ? a.t[1] : t, row, a.k);
  }
}

/// acc[r][m] += chunk c of weight row r times chunk c of activation row m.
template <class W, int M, int R>
__device__ __forceinline__ void accumulate(float (&acc)[R][M],
                                           const uint4 (&wv)[R],
                                           const GemvArgs &a, int64_t c) {
  constexpr int P = W::kPer;
  if constexpr (M == 1 || std::is_same_v<W, Bf16Weights>) {
    // Activations outer (bf16: the widening is one bit shift).
#pragma unroll
    for (int m = 0; m < M; ++m) {
      uint4 xv[W::kXVec];
      loadX<W>(xv, a.x, a.ldx, m, c);
#pragma unroll
      for (int r = 0; r < R; ++r)
        acc[r][m] += W::dot(wv[r], xv);
    }
  } else {
    // FP8 codes for several rows of x: each chunk widened once.
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float wf[P];
      unpack16(wv[r], wf);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        if (M > 2 && m >= a.m) // M 4 and 8 serve 3..8 rows
          break;
        uint4 xv[W::kXVec];
        loadX<W>(xv, a.x, a.ldx, m, c);
        acc[r][m] += W::dotWide(wf, xv);
      }
    }
  }
}

/// The tile's per-thread sums reduced over the block in a fixed order
/// (warps through `partial`, then warp by warp), scaled, the bias or the
/// SwiGLU applied, rounded once and written. Every thread calls it (it
/// holds a __syncthreads).
///
/// With Pre (one row of x; gemvPipelinedKernel), `pre` and `preUp` are
/// the tile's weight scales of this thread's output row (and of the up
/// row), read when the tile's first weights were: the same product as
/// scaled() forms, without an L2 round trip after the reduction.
template <class W, int M, int RB, class Out, bool Swiglu, bool Pre = false,
          int R = tileRowsOf(Swiglu, RB)>
__device__ __forceinline__ void
finishTile(const GemvArgs &a, Tile tl, const float (&acc)[R][M],
           float (&partial)[kGemvWarps][R * M], float pre = 0.f,
           float preUp = 0.f) {
  static_assert(!Pre || (W::kFp8 && M == 1), "scales read ahead: FP8, 1 row");
  const GemvTarget &t = a.t[tl.seg];
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
    int64_t row = tl.row0 + r;
    if (row < t.n && (M <= 2 || m < a.m)) {
      float s = 0.f;
#pragma unroll
      for (int i = 0; i < kGemvWarps; ++i)
        s += partial[i][threadIdx.x];
      if constexpr (Pre)
        s = scaledBy<W>(a, m, s, pre);
      else
        s = scaled<W>(a, t, row, m, s);
      Out *out = static_cast<Out *>(t.out) + m * t.ldo + row;
      if constexpr (Swiglu) {
        // Hugging Face: gate and up are bf16 linear outputs, act(gate) a
        // bf16 tensor, the product rounded once more.
        float up = 0.f;
#pragma unroll
        for (int i = 0; i < kGemvWarps; ++i)
          up += partial[i][RB * M + threadIdx.x];
        if constexpr (Pre)
          up = scaledBy<W>(a, m, up, preUp);
        else
          up = scaled<W>(a, a.t[1], row, m, up);
        *out = toB(swigluOf(roundB(s), roundB(up)));
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

/// One tile per block: RB output rows over the whole of K.
template <class W, int M, int RB, class Out, bool Swiglu>
__device__ __forceinline__ void gemvBody(const GemvArgs &a) {
  constexpr int R = tileRowsOf(Swiglu, RB);
  __shared__ float partial[kGemvWarps][R * M];
  const Tile tl = tileOf<RB, Swiglu>(a, blockIdx.x);
  const int64_t chunks = a.k / W::kPer;
  const uint4 *wrow[R];
  tileRows<W, RB, R, Swiglu>(wrow, a, tl);
  float acc[R][M];
  zero(acc);

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
      accumulate<W, M, R>(acc, wv[u], a, c);
    }
  }
  finishTile<W, M, RB, Out, Swiglu>(a, tl, acc, partial);
}

/// Persistent and pipelined (FP8 codes, 1-2 rows): each of the grid's
/// blocks (as many as are resident at once) takes tiles blockIdx.x,
/// blockIdx.x + gridDim.x, ...; a tile's K is walked in steps of one
/// 16-byte chunk per thread and row, and the next step's weights (of the
/// same tile or of the block's next one) are in flight in a second set of
/// registers while a step is computed and while a tile is reduced and
/// written. One tile per block instead leaves HBM idle between a wave of
/// blocks and the next (each FP8 tile is only RB x K bytes: for K = 4096
/// one load per thread and row). The sums are gemvBody's, in the same
/// order (the same chunks per thread, the same reduction), so the outputs
/// are bit-identical to it.
///
/// Pre (one row of x; LaunchPolicy::fp8GemvPrescale, off until measured):
/// each output thread's weight scales (and the up row's) are read with its
/// tile's first weights, so the tile's end does not wait an L2 round trip
/// for them after the reduction. Loads run at most one tile ahead of the
/// sums: the newest tile begun (`begun` - 1) holds its scales in sc*, the
/// one before it in prev*. Not at two rows: the extra registers spilled
/// there (ptxas -v).
template <class W, int M, int RB, class Out, bool Swiglu, bool Pre = false>
__global__ void __launch_bounds__(kGemvThreads, M == 1 ? 4 : 3)
    gemvPipelinedKernel(GemvArgs a, unsigned tiles) {
  static_assert(!Pre || (W::kFp8 && M == 1), "scales read ahead: FP8, 1 row");
  constexpr int R = tileRowsOf(Swiglu, RB);
  // Two, alternating by tile: a tile's partials are written while the
  // threads finishing the previous tile may still read theirs.
  __shared__ float partial[2][kGemvWarps][R * M];
  const int64_t chunks = a.k / W::kPer;
  const int steps = int((chunks + kGemvThreads - 1) / kGemvThreads);
  const int mine =
      blockIdx.x < tiles ? int((tiles - 1 - blockIdx.x) / gridDim.x) + 1 : 0;
  const int items = mine * steps; // (tile, step) pairs, tile-major
  int lt = 0, ls = 0;             // the next pair to load
  float sc = 0.f, scUp = 0.f, prev = 0.f, prevUp = 0.f;
  int begun = 0;
  auto load = [&](uint4(&buf)[R]) {
    const uint4 *wrow[R];
    const Tile tl =
        tileOf<RB, Swiglu>(a, blockIdx.x + unsigned(lt) * gridDim.x);
    tileRows<W, RB, R, Swiglu>(wrow, a, tl);
    if constexpr (Pre) {
      if (ls == 0) {
        prev = sc;
        prevUp = scUp;
        ++begun;
        if (threadIdx.x < RB) {
          const GemvTarget &t = a.t[tl.seg];
          int64_t row = tl.row0 + threadIdx.x;
          row = row < t.n ? row : t.n - 1;
          sc = __ldg(t.scale + (t.scaleCount > 1 ? row : 0));
          if constexpr (Swiglu)
            scUp = __ldg(a.t[1].scale + (a.t[1].scaleCount > 1 ? row : 0));
        }
      }
    }
    int64_t c = int64_t(ls) * kGemvThreads + threadIdx.x;
#pragma unroll
    for (int r = 0; r < R; ++r)
      buf[r] = c < chunks ? __ldcs(wrow[r] + c) : make_uint4(0, 0, 0, 0);
    if (++ls == steps) {
      ls = 0;
      ++lt;
    }
  };
  float acc[R][M];
  zero(acc);
  int ct = 0, cs = 0, parity = 0; // the pair being computed
  auto compute = [&](const uint4(&buf)[R]) {
    int64_t c = int64_t(cs) * kGemvThreads + threadIdx.x;
    if (c < chunks)
      accumulate<W, M, R>(acc, buf, a, c);
    if (++cs == steps) {
      const Tile tl =
          tileOf<RB, Swiglu>(a, blockIdx.x + unsigned(ct) * gridDim.x);
      const bool newest = begun - 1 == ct;
      finishTile<W, M, RB, Out, Swiglu, Pre>(a, tl, acc, partial[parity],
                                             newest ? sc : prev,
                                             newest ? scUp : prevUp);
      zero(acc);
      parity ^= 1;
      cs = 0;
      ++ct;
    }
  };
  // Two register sets, used alternately (static indices: no local
  // memory): the next step's loads are issued before a step is computed.
  // Only the first step loads before the PDL wait: two there (twice the
  // bytes streaming while a norm or the attention runs) was 2% slower end
  // to end on an H200 ("Ninth session"), and two only where a block has at
  // most two steps 1% slower at tp1 on an H100, no faster at tp2
  // ("Eleventh session", docs/quantization.md).
  uint4 b0[R], b1[R];
  if (items > 0)
    load(b0);
  pdlLaunchDependents();
  pdlWait();
  for (int i = 0; i < items; i += 2) {
    if (i + 1 < items)
      load(b1);
    compute(b0);
    if (i + 1 >= items)
      break;
    if (i + 2 < items)
      load(b0);
    compute(b1);
  }
}

/// bf16 weights: registers as the compiler likes (tuned so).
template <class W, int M, int RB, class Out, bool Swiglu>
__global__ void __launch_bounds__(kGemvThreads) gemvKernel(GemvArgs a) {
  gemvBody<W, M, RB, Out, Swiglu>(a);
}

/// FP8 codes: registers capped for four resident blocks per SM up to two
/// rows (two beyond), so that the 8B projections run in whole waves.
template <class W, int M, int RB, class Out, bool Swiglu>
__global__ void __launch_bounds__(kGemvThreads, M <= 2 ? 4 : 2)
    gemvKernelCapped(GemvArgs a) {
  gemvBody<W, M, RB, Out, Swiglu>(a);
}

/// Whether FP8 weights at 1-2 rows take gemvPipelinedKernel:
/// LLMC_FP8_GEMV_PIPE (0 or 1) if set, else the launch policy's.
bool fp8GemvPipelined() {
  static const int env = envOnOff("LLMC_FP8_GEMV_PIPE");
  return env >= 0 ? env == 1 : launchPolicy().fp8GemvPipelined;
}

/// Whether its one-row instance reads the weight scales ahead (Pre):
/// LLMC_FP8_GEMV_PRESCALE (0 or 1) if set, else the launch policy's.
bool fp8GemvPrescale() {
  static const int env = envOnOff("LLMC_FP8_GEMV_PRESCALE");
  return env >= 0 ? env == 1 : launchPolicy().fp8GemvPrescale;
}

/// gemvPipelinedKernel over `blocks` tiles: as many blocks as are resident
/// (this rank's share of them when emulated ranks share the GPU).
template <class W, int M, int RB, class Out, bool Swiglu, bool Pre>
void launchPipelined(Rank &r, GemvArgs &a, unsigned blocks) {
  auto *kernel = gemvPipelinedKernel<W, M, RB, Out, Swiglu, Pre>;
  static const int perSm = [kernel] {
    int n = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kGemvThreads,
                                                      0) != cudaSuccess)
      n = 1;
    return n > 0 ? n : 1;
  }();
  static const bool share = envOnOff("LLMC_FP8_GEMV_SHARE") != 0;
  int64_t resident = int64_t(perSm) * smCount();
  const int sharing = launchPolicy().ranksPerGpu;
  if (share && sharing > 1)
    resident = std::max<int64_t>(1, resident / sharing);
  unsigned grid = unsigned(std::min<int64_t>(blocks, resident));
  launchPdl(r, "gemv", kernel, dim3(grid), dim3(kGemvThreads), 0, a, blocks);
}

template <class W, int M, class Out, bool Swiglu>
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
  if constexpr (W::kFp8 && M <= 2) {
    if (fp8GemvPipelined()) {
      if (M == 1 && fp8GemvPrescale())
        launchPipelined<W, M, RB, Out, Swiglu, M == 1>(r, a, blocks);
      else
        launchPipelined<W, M, RB, Out, Swiglu, false>(r, a, blocks);
      return;
    }
  }
  if constexpr (W::kFp8)
    launchPdl(r, "gemv", gemvKernelCapped<W, M, RB, Out, Swiglu>, dim3(blocks),
              dim3(kGemvThreads), 0, a);
  else
    launchPdl(r, "gemv", gemvKernel<W, M, RB, Out, Swiglu>, dim3(blocks),
              dim3(kGemvThreads), 0, a);
}

template <class W, class Out, bool Swiglu>
void dispatchGemv(Rank &r, GemvArgs &a) {
  static_assert(kGemvMaxRows == 2 && kFp8GemvMaxRows == 8,
                "instantiate every M up to the limits");
  if (a.m == 1)
    launchGemv<W, 1, Out, Swiglu>(r, a);
  else if (a.m == 2)
    launchGemv<W, 2, Out, Swiglu>(r, a);
  else if constexpr (W::kFp8) {
    if (a.m <= 4)
      launchGemv<W, 4, Out, Swiglu>(r, a);
    else
      launchGemv<W, 8, Out, Swiglu>(r, a);
  }
}

template <class Out, bool Swiglu> void dispatchGemv(Rank &r, GemvArgs &a) {
  if (a.xScale)
    dispatchGemv<E4m3A8, Out, Swiglu>(r, a);
  else if (a.t[0].fp8)
    dispatchGemv<E4m3Weights, Out, Swiglu>(r, a);
  else
    dispatchGemv<Bf16Weights, Out, Swiglu>(r, a);
}

bool gemvEnabled() {
  static const bool enabled = envOnOff("LLMC_GEMV") != 0;
  return enabled;
}

/// Most rows FP8 weights take the GEMV for: LLMC_FP8_GEMV_ROWS (1-8) if
/// set, else the launch policy's.
int64_t fp8GemvRows() {
  static const int64_t env = [] {
    int64_t n = envRows("LLMC_FP8_GEMV_ROWS");
    return n >= 1 && n <= kFp8GemvMaxRows ? n : int64_t(0);
  }();
  return env > 0 ? env : int64_t(launchPolicy().fp8GemvMaxRows);
}

/// Most rows W8A8 projections take the GEMV for: LLMC_W8A8_GEMV_ROWS
/// (0-8, 0: none) if set, else the launch policy's.
int64_t w8a8GemvRows() {
  static const int64_t env = [] {
    int64_t n = envRows("LLMC_W8A8_GEMV_ROWS");
    return n <= kFp8GemvMaxRows ? n : int64_t(-1);
  }();
  return env >= 0 ? env : int64_t(launchPolicy().w8a8GemvMaxRows);
}

/// Whether the GEMV applies to activations `x` [m, k] (leading dim ldx:
/// bf16, or with xScale E4M3 codes with one scale per row) and `targets`
/// (all bf16 or all FP8 with scales; FP8 with xScale), filling `a`.
bool prepare(GemvArgs &a, const GemvTarget *targets, int count,
             const void *x, int64_t ldx, int64_t k, int64_t m,
             const float *xScale) {
  if (!gemvEnabled() || count < 1 || count > kGemvMaxTargets || m < 1 ||
      !isAligned(x, 16) || ldx % (xScale ? 16 : 8) != 0)
    return false;
  bool fp8 = targets[0].fp8 != nullptr;
  if (xScale && !fp8)
    return false;
  int64_t per = fp8 ? E4m3Weights::kPer : Bf16Weights::kPer;
  if (m > (fp8 ? kFp8GemvMaxRows : kGemvMaxRows) || k < per || k % per != 0)
    return false;
  // W8A8 beyond the policy's GEMV rows: the e4m3 decode GEMM or cuBLASLt.
  // FP8 weights beyond theirs: the Hopper decode GEMM, where it runs (else
  // the GEMV still beats the staged path up to its 8 rows).
  if (xScale ? m > w8a8GemvRows()
             : fp8 && m > fp8GemvRows() &&
                   decodeGemmTakes(true, static_cast<const bf16 *>(x), ldx,
                                   k, m))
    return false;
  int64_t blocks = 0;
  for (int i = 0; i < count; ++i) {
    const GemvTarget &t = targets[i];
    if (t.n < 1 || (t.fp8 != nullptr) != fp8)
      return false;
    if (fp8 ? !isAligned(t.fp8, 16) || !t.scale ||
                  (t.scaleCount != 1 && t.scaleCount != t.n)
            : !isAligned(t.w, 16))
      return false;
    a.t[i] = t;
    blocks += t.n;
  }
  if (blocks > int64_t(1) << 31)
    return false;
  a.count = count;
  a.x = x;
  a.xScale = xScale;
  a.ldx = ldx;
  a.k = k;
  a.m = int(m);
  return true;
}

} // namespace

bool gemvGroup(Rank &r, bool outF32, const GemvTarget *targets, int count,
               const void *x, int64_t ldx, int64_t k, int64_t m,
               const float *xScale) {
  GemvArgs a{};
  if (!prepare(a, targets, count, x, ldx, k, m, xScale))
    return false;
  if (outF32)
    dispatchGemv<float, false>(r, a);
  else
    dispatchGemv<bf16, false>(r, a);
  checkLaunch(r, outF32 ? "gemv (fp32 out)" : "gemv");
  return true;
}

bool gemv(Rank &r, void *out, bool outF32, int64_t ldo, const bf16 *x,
          int64_t ldx, const bf16 *w, int64_t n, int64_t k, const bf16 *bias,
          int64_t m) {
  GemvTarget t{w, out, bias, n, ldo};
  return gemvGroup(r, outF32, &t, 1, x, ldx, k, m);
}

bool gemvSwiglu(Rank &r, bf16 *out, int64_t ldo, const void *x, int64_t ldx,
                GemvTarget gate, GemvTarget up, int64_t k, int64_t m,
                const float *xScale) {
  gate.out = up.out = out;
  gate.ldo = up.ldo = ldo;
  gate.bias = up.bias = nullptr;
  GemvTarget targets[] = {gate, up};
  GemvArgs a{};
  if (gate.n != up.n || !prepare(a, targets, 2, x, ldx, k, m, xScale))
    return false;
  dispatchGemv<bf16, true>(r, a);
  checkLaunch(r, "gemv (gate, up, SwiGLU)");
  return true;
}

bool gemvSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x, int64_t ldx,
                const bf16 *gate, const bf16 *up, int64_t n, int64_t k,
                int64_t m) {
  return gemvSwiglu(r, out, ldo, x, ldx, GemvTarget{gate, out, nullptr, n, ldo},
                    GemvTarget{up, out, nullptr, n, ldo}, k, m);
}

} // namespace llmc::rt::cuda
