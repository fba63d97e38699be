//===- GroupedGemm.cu - tensor-core GEMMs over device-built expert tiles
//---===//
//
// A 64 x 128 x 32 block tile, 4 warps of 32 x 64, three cp.async stages:
// the classic sm_80 mma.sync GEMM. It serves MoE experts, where what matters
// first is that no host synchronisation is needed; tuning (and wgmma on
// sm_90a) is issue 8's.
//
//===----------------------------------------------------------------------===//

#include "runtime/gemm/GroupedGemm.h"

#include "runtime/device/Common.cuh"
#include "runtime/device/Mma.cuh"

namespace llmc::rt::gemm {

namespace {

using cuda::cpAsync16;
using cuda::cpAsyncCommit;
using cuda::cpAsyncWait;
using cuda::ldmatrixX4;
using cuda::mma16816;

constexpr int kBM = kGroupedTileRows, kBK = 32, kStages = 3, kThreads = 128;
// Rows padded by 16 bytes so ldmatrix's eight 16-byte rows hit distinct
// bank groups.
constexpr int kLds = kBK + 8;

template <bool Dual> struct WeightsArg;
template <> struct WeightsArg<false> { ExpertWeights w; };
template <> struct WeightsArg<true> { ExpertWeights w, up; };

template <bool Dual>
__global__ void __launch_bounds__(kThreads)
    groupedGemmKernel(GroupedGemm g, WeightsArg<Dual> wa) {
  // Dual computes two 64-column tiles (gate and up) for 64 output columns;
  // either way the B stage holds 128 weight rows.
  constexpr int BN = Dual ? 64 : 128;
  constexpr int WN = BN / 2;
  constexpr int NT = WN / 8;
  __shared__ alignas(16) bf16 As[kStages][kBM * kLds];
  __shared__ alignas(16) bf16 Bs[kStages][128 * kLds];

  int tile = blockIdx.y;
  if (tile >= *g.tileCount)
    return;
  int4 t = g.tiles[tile];
  int e = t.x, r0 = t.y, r1 = t.z;
  int n0 = blockIdx.x * BN;
  const bf16 *W = wa.w.w[e];
  const bf16 *U = nullptr;
  if constexpr (Dual)
    U = wa.up.w[e];

  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int wm = warp >> 1, wn = warp & 1;

  // Each thread copies 2 A chunks and 4 B chunks of 16 bytes per stage;
  // their source rows are fixed for the whole reduction.
  const bf16 *aSrc[2];
  bool aValid[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    int c = tid + i * kThreads, row = c >> 2;
    int r = r0 + row;
    aValid[i] = r < r1;
    int64_t src = aValid[i] ? (g.rows ? g.rows[r] : r) : 0;
    aSrc[i] = g.a + src * g.lda + (c & 3) * 8;
  }
  const bf16 *bSrc[4];
  bool bValid[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int c = tid + i * kThreads, row = c >> 2;
    const bf16 *mat = W;
    int n = n0 + row;
    if constexpr (Dual) {
      mat = row < 64 ? W : U;
      n = n0 + (row & 63);
    }
    bValid[i] = n < g.n;
    bSrc[i] = mat + int64_t(bValid[i] ? n : 0) * g.k + (c & 3) * 8;
  }

  int kTiles = (g.k + kBK - 1) / kBK;
  auto load = [&](int stage, int kt) {
    int k0 = kt * kBK;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      int c = tid + i * kThreads, row = c >> 2, col = (c & 3) * 8;
      bool v = aValid[i] && k0 + col < g.k;
      cpAsync16(&As[stage][row * kLds + col], v ? aSrc[i] + k0 : g.a, v);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int c = tid + i * kThreads, row = c >> 2, col = (c & 3) * 8;
      bool v = bValid[i] && k0 + col < g.k;
      cpAsync16(&Bs[stage][row * kLds + col], v ? bSrc[i] + k0 : W, v);
    }
  };

  float acc[2][NT][4] = {};
  float acc2[2][Dual ? NT : 1][4] = {};

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kTiles)
      load(s, s);
    cpAsyncCommit();
  }
  for (int kt = 0; kt < kTiles; ++kt) {
    cpAsyncWait<kStages - 2>();
    // Also guarantees every warp finished the stage about to be refilled.
    __syncthreads();
    int next = kt + kStages - 1;
    if (next < kTiles)
      load(next % kStages, next);
    cpAsyncCommit();

    const bf16 *as = As[kt % kStages];
    const bf16 *bs = Bs[kt % kStages];
#pragma unroll
    for (int kk = 0; kk < kBK / 16; ++kk) {
      uint32_t af[2][4];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi)
        ldmatrixX4(af[mi], as + (wm * 32 + mi * 16 + (lane & 15)) * kLds +
                               kk * 16 + (lane >> 4) * 8);
#pragma unroll
      for (int np = 0; np < NT / 2; ++np) {
        int brow = wn * WN + np * 16 + (lane & 7) + (lane >> 4) * 8;
        int bcol = kk * 16 + ((lane >> 3) & 1) * 8;
        uint32_t bf[4];
        ldmatrixX4(bf, bs + brow * kLds + bcol);
#pragma unroll
        for (int mi = 0; mi < 2; ++mi) {
          mma16816(acc[mi][2 * np], af[mi], bf[0], bf[1]);
          mma16816(acc[mi][2 * np + 1], af[mi], bf[2], bf[3]);
        }
        if constexpr (Dual) {
          ldmatrixX4(bf, bs + (64 + brow) * kLds + bcol);
#pragma unroll
          for (int mi = 0; mi < 2; ++mi) {
            mma16816(acc2[mi][2 * np], af[mi], bf[0], bf[1]);
            mma16816(acc2[mi][2 * np + 1], af[mi], bf[2], bf[3]);
          }
        }
      }
    }
  }
  cpAsyncWait<0>();

#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      int col = n0 + wn * WN + nt * 8 + (lane & 3) * 2;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        int r = r0 + wm * 32 + mi * 16 + (lane >> 2) + half * 8;
        if (r >= r1 || col >= g.n)
          continue;
        float x = acc[mi][nt][2 * half], y = acc[mi][nt][2 * half + 1];
        if constexpr (Dual) {
          // Hugging Face rounds each GEMM output and the activation to bf16.
          using cuda::roundB;
          x = roundB(cuda::silu(roundB(x))) * roundB(acc2[mi][nt][2 * half]);
          y = roundB(cuda::silu(roundB(y))) *
              roundB(acc2[mi][nt][2 * half + 1]);
        }
        *reinterpret_cast<__nv_bfloat162 *>(g.out + int64_t(r) * g.ldo + col) =
            __floats2bfloat162_rn(x, y);
      }
    }
}

} // namespace

cudaError_t groupedGemm(const GroupedGemm &g, const ExpertWeights &w,
                        const ExpertWeights *up, cudaStream_t stream) {
  if (g.maxTiles <= 0 || g.n <= 0)
    return cudaSuccess;
  if (up) {
    WeightsArg<true> wa{w, *up};
    dim3 grid((g.n + 63) / 64, g.maxTiles);
    groupedGemmKernel<true><<<grid, kThreads, 0, stream>>>(g, wa);
  } else {
    WeightsArg<false> wa{w};
    dim3 grid((g.n + 127) / 128, g.maxTiles);
    groupedGemmKernel<false><<<grid, kThreads, 0, stream>>>(g, wa);
  }
  return cudaGetLastError();
}

} // namespace llmc::rt::gemm
