//===- StreamGemm.cuh - weight-streaming tensor-core GEMM, few rows -*- CUDA -*-===//
//
// out[M, N] = x[M, K] W[N, K]^T for M <= 8 * MT rows (decode batches), the
// weight read once at close to copy bandwidth. The scalar GEMV (Gemv.cu) is
// ALU-bound beyond 2 rows; here the tensor cores do the arithmetic, so the
// cost stays the weight stream up to 32 rows.
//
// A warp owns 16 weight rows and a slice of K. Weight rows are the mma's A
// operand (m16), activation rows its B operand (n8, MT tiles). Each lane
// loads 16 contiguous bytes (8 k values) of weight row g and of row g + 8
// straight from global memory into registers, with the streaming hint, and
// the same 8 k values of activation row g of each n8 tile. Those 8 values
// feed two m16n8k16 steps whose k order is permuted identically in A and B
// (a dot product does not care about the order of its terms), so no shared
// memory or ldmatrix is needed for the operands. The warps of a block split
// K and are summed through shared memory in a fixed order (deterministic:
// graph replays are bit-identical); fp32 throughout, one rounding.
//
// Weight loads of the first steps are issued before griddepcontrol.wait, so
// under programmatic dependent launch the weight stream starts while the
// previous kernel (which wrote x) drains.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_STREAMGEMM_CUH
#define LLMC_RUNTIME_KERNELS_STREAMGEMM_CUH

#include "runtime/device/Common.cuh"
#include "runtime/device/Mma.cuh"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Launch.cuh"

#include <type_traits>

namespace llmc::rt::cuda {

/// The weights of one launch (Gemv.h's GemvTarget: out[m, n] = x w^T
/// (+ bias), leading dim ldo), as many as the grouped GEMV takes.
constexpr int kStreamMaxSegs = kGemvMaxTargets;

struct StreamArgs {
  GemvTarget s[kStreamMaxSegs];
  /// First 16-row tile of each segment (Swiglu: segment 0 is gate and 1 is
  /// up, tiles count gate rows).
  int firstTile[kStreamMaxSegs];
  int count, tiles;
  const bf16 *x;
  int64_t ldx, k;
  int m;
};

/// WARPS warps per block, all on one 16-row tile (two with Swiglu), split
/// over K; U k32-steps of weights in flight per lane.
template <int MT, int WARPS, int U, class Out, bool Swiglu>
__global__ void __launch_bounds__(WARPS * 32)
    streamGemmKernel(StreamArgs a) {
  constexpr int W = Swiglu ? 2 : 1; // weight tiles per warp
  __shared__ float red[WARPS][MT * 4][32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, tq = lane & 3;
  const int tile = blockIdx.x;
  int seg = 0;
#pragma unroll
  for (int i = 1; i < kStreamMaxSegs; ++i)
    if (!Swiglu && i < a.count && tile >= a.firstTile[i])
      seg = i;
  const GemvTarget &sg = a.s[seg];
  const int64_t n = sg.n, row0 = int64_t(tile - a.firstTile[seg]) * 16;
  const int64_t chunks = a.k / 8; // uint4 per row
  const int steps = int(a.k / 32);
  // Rows past n (last tile) re-read row n - 1 and are not written.
  const uint4 *wr[W][2];
#pragma unroll
  for (int t = 0; t < W; ++t)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      int64_t row = row0 + g + 8 * h;
      row = row < n ? row : n - 1;
      const bf16 *w = Swiglu && t == 1 ? a.s[1].w : sg.w;
      wr[t][h] = reinterpret_cast<const uint4 *>(w + row * a.k) + tq;
    }
  const uint4 *xr[MT];
  bool xok[MT];
#pragma unroll
  for (int nt = 0; nt < MT; ++nt) {
    int row = nt * 8 + g;
    xok[nt] = row < a.m;
    xr[nt] = reinterpret_cast<const uint4 *>(a.x + (xok[nt] ? row : 0) * a.ldx) +
             tq;
  }
  (void)chunks;

  float acc[W][MT][4];
#pragma unroll
  for (int t = 0; t < W; ++t)
#pragma unroll
    for (int nt = 0; nt < MT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        acc[t][nt][e] = 0.f;

  // U steps of weights and activations in flight per lane: the activation
  // loads (L2 hits) are prefetched like the weights, or every step would
  // wait out an L2 round trip before its mma.
  uint4 wv[U][W][2], xv[U][MT];
  auto loadW = [&](int u, int s) {
#pragma unroll
    for (int t = 0; t < W; ++t)
#pragma unroll
      for (int h = 0; h < 2; ++h)
        wv[u][t][h] = s < steps ? __ldcs(wr[t][h] + int64_t(s) * 4)
                                : make_uint4(0, 0, 0, 0);
  };
  auto loadX = [&](int u, int s) {
#pragma unroll
    for (int nt = 0; nt < MT; ++nt)
      xv[u][nt] = xok[nt] && s < steps ? __ldg(xr[nt] + int64_t(s) * 4)
                                       : make_uint4(0, 0, 0, 0);
  };
  int s0 = warp;
  // Weights do not depend on the previous kernel: they stream before the
  // wait; activations (its output) after it.
#pragma unroll
  for (int u = 0; u < U; ++u)
    loadW(u, s0 + u * WARPS);
  pdlLaunchDependents();
  pdlWait();
#pragma unroll
  for (int u = 0; u < U; ++u)
    loadX(u, s0 + u * WARPS);
  for (; s0 < steps; s0 += U * WARPS) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      int s = s0 + u * WARPS;
      if (s < steps) {
#pragma unroll
        for (int nt = 0; nt < MT; ++nt)
#pragma unroll
          for (int t = 0; t < W; ++t) {
            uint32_t f0[4] = {wv[u][t][0].x, wv[u][t][1].x, wv[u][t][0].y,
                              wv[u][t][1].y};
            uint32_t f1[4] = {wv[u][t][0].z, wv[u][t][1].z, wv[u][t][0].w,
                              wv[u][t][1].w};
            mma16816(acc[t][nt], f0, xv[u][nt].x, xv[u][nt].y);
            mma16816(acc[t][nt], f1, xv[u][nt].z, xv[u][nt].w);
          }
      }
      // Refill this slot with the step U rounds ahead.
      loadW(u, s + U * WARPS);
      loadX(u, s + U * WARPS);
    }
  }

  // Sum the warps' K slices in warp order (one weight tile at a time, so
  // the buffer stays at WARPS x MT x 4 KiB).
#pragma unroll
  for (int t = 0; t < W; ++t) {
    if (t > 0)
      __syncthreads();
#pragma unroll
    for (int nt = 0; nt < MT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        red[warp][nt * 4 + e][lane] = acc[t][nt][e];
    __syncthreads();
    if (warp == 0)
#pragma unroll
      for (int nt = 0; nt < MT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float v = 0.f;
#pragma unroll
          for (int w = 0; w < WARPS; ++w)
            v += red[w][nt * 4 + e][lane];
          acc[t][nt][e] = v;
        }
  }
  if (warp != 0)
    return;
  // C fragment: element e of tile nt is weight row g + 8 * (e >> 1),
  // activation row nt * 8 + 2 * tq + (e & 1).
#pragma unroll
  for (int nt = 0; nt < MT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      int64_t row = row0 + g + 8 * (e >> 1);
      int m = nt * 8 + 2 * tq + (e & 1);
      if (row >= n || m >= a.m)
        continue;
      Out *out = static_cast<Out *>(sg.out) + int64_t(m) * sg.ldo + row;
      if constexpr (Swiglu) {
        // Hugging Face: gate and up are bf16 linear outputs, act(gate) a
        // bf16 tensor, the product rounded once more.
        *out = toB(swigluOf(roundB(acc[0][nt][e]),
                            roundB(acc[W - 1][nt][e])));
      } else {
        float v = acc[0][nt][e];
        if (sg.bias)
          v += toF(sg.bias[row]);
        if constexpr (std::is_same_v<Out, float>)
          *out = v;
        else
          *out = toB(v);
      }
    }
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_STREAMGEMM_CUH
