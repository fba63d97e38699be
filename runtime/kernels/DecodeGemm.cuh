//===- DecodeGemm.cuh - Hopper weight-streaming GEMM, 8..128 rows -*- CUDA -*-===//
//
// out[M, N] = x[M, K] W[N, K]^T for decode batches (M <= 128) on sm_90a:
// the weight read once at close to copy bandwidth, the arithmetic on wgmma.
//
// Computed transposed, out^T = W x^T, so the wide operand (the weight) is
// wgmma's M side and the batch its N side (BN = 8..128, rows past M
// zero-filled by the copy engine). A block has two consumer warpgroups,
// each owning two m64 weight tiles (256 weight rows per block, 128 of gate
// and 128 of up with SwiGLU: decodeWarpgroups). Thread 0 feeds a ring of
// stages, each 128 bytes of every weight row of the tiles (64 k of bf16)
// and the same k of x, by the bulk tensor copy engine (128-byte swizzle,
// completion on one mbarrier per stage); a stage is refilled once
// the wgmma that read it has retired, while the next one runs. The weight
// loads of the first stages are issued before griddepcontrol.wait: under
// programmatic dependent launch the stream starts while the previous kernel
// (which wrote x) drains.
//
// Split-K for shapes with fewer tiles than SMs: the `splits` blocks of a
// tile form one thread-block cluster, each sums a contiguous K range, and
// the partial sums are reduced through distributed shared memory: every
// block writes its accumulators to its own shared memory, and after a
// cluster barrier each block reads a 1/splits slice of the outputs from all
// blocks in rank order (a fixed order: eager runs and graph replays are bit-
// identical) and applies the epilogue. No global workspace, no counters.
//
// Epilogues: bias (added in fp32, one rounding, as cuBLASLt's), bf16 or
// fp32 out, up to kDecodeMaxSegs outputs for weights stored back to back
// (q|k|v: each row goes to its segment's buffer), and SwiGLU (the block's
// two m64 tiles are the same 64 rows of gate and of up).
//
// FP8 E4M3 weights (W8A16, docs/quantization.md) run the same kernel with
// DecodeE4m3: a stage holds 128 k (a weight row is still 128 bytes, the
// same swizzle), x two 64-wide boxes. wgmma has no E4M3 x bf16 form, so each
// consumer thread reads its A fragment's codes from shared memory, widens
// them exactly to bf16 in registers (every E4M3 value is a bf16) and issues
// the register-A form (runRs); the per-channel or per-tensor scale
// multiplies the reduced fp32 sum once, before the bias / SwiGLU and the
// rounding: (sum_k x code) * scale + b, as the GEMV and the staged path.
// The weight is read once at one byte per element.
//
// W8A8 (E4M3 weights and E4M3 activations with per-row scales, DecodeA8):
// x is codes too, one 128-byte box per stage, and wgmma multiplies the two
// straight from shared memory (m64nNk32 e4m3 x e4m3): no widening. Each
// stage's four k32 products go to fresh accumulators that are then added
// into the fp32 sums (the tensor cores' FP8 sums keep fewer mantissa bits
// than fp32: the per-128 promotion cuBLASLt's exact mode and DeepSeek-V3
// use), so a stage is consumed whole before its refill. (Two sets of stage
// sums, stage i+1's wgmma in flight while stage i's are added, gave the
// same bits and measured 2-26% slower: docs/quantization.md, "Fifteenth
// session".) The epilogue is the staged path's: (sum * xScale[m]) *
// scale[n] (+ bias), one rounding. With fp8FastAccum (Device.h,
// LLMC_FP8_FAST_ACCUM=1; off by default, not yet measured) W8A8 runs
// DecodeA8Fast instead: the wgmmas sum straight into the fp32 accumulators
// over all stages, the next stage's in flight as in the bf16 path (the
// tensor cores' own partial sums, as cuBLASLt's FAST_ACCUM).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_DECODEGEMM_CUH
#define LLMC_RUNTIME_KERNELS_DECODEGEMM_CUH

#include "runtime/device/Common.cuh"
#include "runtime/device/Mma.cuh"
#include "runtime/device/Wgmma.cuh"
#include "runtime/kernels/E4m3.cuh"
#include "runtime/kernels/Launch.cuh"
#include "runtime/kernels/StreamGemm.cuh"

#include <cooperative_groups.h>
#include <cuda.h>

#include <type_traits>

namespace llmc::rt::cuda {

constexpr int kDecodeMaxSegs = 4;
/// Most rows (batch) the kernel takes: the widest wgmma N it instantiates.
constexpr int kDecodeMaxRows = 128;
/// Bytes of a weight row in one stage: the 128-byte swizzle span.
constexpr int kDecodeRowBytes = 128;

/// bf16 weights: 64 k per stage, A read by wgmma from shared memory.
struct DecodeBf16 {
  static constexpr bool kFp8 = false, kA8 = false, kFast = false;
  static constexpr int kBk = 64;
};
/// FP8 E4M3 codes: 128 k per stage, A widened into registers.
struct DecodeE4m3 {
  static constexpr bool kFp8 = true, kA8 = false, kFast = false;
  static constexpr int kBk = 128;
};
/// W8A8: E4M3 weights and E4M3 x (per-row scales), 128 k per stage, both
/// read by wgmma from shared memory.
struct DecodeA8 {
  static constexpr bool kFp8 = true, kA8 = true, kFast = false;
  static constexpr int kBk = 128;
};
/// W8A8 with fast accumulation (fp8FastAccum, Device.h): the e4m3 wgmmas
/// sum into the fp32 accumulators across all stages, as the bf16 path does
/// (no per-stage promotion, the next stage's wgmmas in flight).
struct DecodeA8Fast {
  static constexpr bool kFp8 = true, kA8 = true, kFast = true;
  static constexpr int kBk = 128;
};

/// One output of a launch: weight rows [first, first + n) of the map.
struct DecodeSeg {
  void *out;
  const bf16 *bias;
  int64_t ldo;
  int first, n;
  /// FP8 weights: 1 (per tensor) or n (per channel) fp32 scales. With
  /// SwiGLU, s[0] holds the gate's and s[1] the up's.
  const float *scale = nullptr;
  bool scalePerRow = false;
};

struct DecodeGemmArgs {
  DecodeSeg s[kDecodeMaxSegs];
  int count;
  /// Rows of the weight map(s); outputs past them are not written.
  int n;
  int m;
  int kBlocks, splits;
  /// Stages of the ring in use (2..decodeStages<W, BN>()).
  int stages;
  /// W8A8: the per-row scales of x (m of them).
  const float *xScale = nullptr;
  /// Weight rows per tile: m64 tile t of tile i starts at row i * rowStep +
  /// 64 * t (consecutive rows of one map), or with SwiGLU at i * rowStep +
  /// 64 * (t / 2) of the gate (t even) or up (t odd) map.
  int rowStep;
};

/// Consumer warpgroups per block for batch tile BN. Each owns two m64
/// weight tiles; x is re-read from L2 once per block, BN / (128 x groups)
/// bytes per weight byte. H100, one group: at BN = 128 the weight and x
/// bytes together capped near 3.5 TB/s (61% of copy bandwidth for the
/// weight), so from BN = 32 two groups shared each x tile. Below 32 rows
/// two groups as well since the H100 A/B of 2026-12-07 (8B, TPOT at batch
/// 16: W8A16 7.509 -> 5.081 ms, W8A8 6.078 -> 4.644; batch 8: 7.079 ->
/// 4.745 and 5.670 -> 4.310; batch 64 unchanged, 6.795 -> 6.714 and 6.355
/// -> 6.339): with one, the gate|up launch at 16 rows was 224 tiles of 64
/// rows for 132 SMs, two waves; with two it is 112 tiles, one wave.
template <int BN> __host__ __device__ constexpr int decodeWarpgroups() {
  return 2;
}
template <class W, int BN>
__host__ __device__ constexpr int decodeStageBytes() {
  return 2 * decodeWarpgroups<BN>() * 64 * kDecodeRowBytes +
         BN * W::kBk * (W::kA8 ? 1 : 2);
}
/// Pipeline depth: about 192 KB of stages (one block per SM). The weight
/// stream needs ~25 GB/s per SM against a few µs of loaded memory latency
/// (H100, a first version with ~100 KB streamed at 40-50% of copy
/// bandwidth at 128 rows).
template <class W, int BN> __host__ __device__ constexpr int decodeStages() {
  constexpr int st = (192 * 1024) / decodeStageBytes<W, BN>();
  return st < 2 ? 2 : (st > 10 ? 10 : st);
}
/// Dynamic shared memory of `stages` stages (reused for the partial sums,
/// BN floats per thread) plus the 1024-byte alignment.
template <class W, int BN>
__host__ __device__ constexpr int decodeSmemBytes(int stages) {
  int ring = stages * decodeStageBytes<W, BN>();
  constexpr int red = decodeWarpgroups<BN>() * 128 * BN * 4;
  return (ring > red ? ring : red) + 1024;
}

/// Thread `lane` of a warp's share of the m64nNk16 A fragment (Wgmma.cuh:
/// rows lane / 4 and + 8, k 2 * (lane % 4) + {0, 1} and + 8) for the k16
/// slice kk of the FP8 tile `tile` (its rows of 128 codes as the copy engine
/// wrote them with the 128-byte swizzle: 16-byte chunk c of row r at chunk
/// c ^ (r % 8)), widened exactly to bf16. `row` is the warp's first row
/// plus lane / 4, so both rows have the swizzle phase lane / 4; the eight
/// rows of a load hit eight different chunks: no bank conflicts.
__device__ __forceinline__ void decodeFp8Fragment(uint32_t (&a)[4],
                                                  const uint8_t *tile,
                                                  int row, int lane, int kk) {
  const uint8_t *p = tile + row * kDecodeRowBytes +
                     ((kk ^ (lane >> 2)) << 4) + 2 * (lane & 3);
  auto pair = [&](int off) {
    return e4m3x2ToBf16x2(*reinterpret_cast<const uint16_t *>(p + off));
  };
  a[0] = pair(0);
  a[1] = pair(8 * kDecodeRowBytes);
  a[2] = pair(8);
  a[3] = pair(8 * kDecodeRowBytes + 8);
}

template <class W, int BN, class Out, bool Swiglu>
__global__ void __launch_bounds__(128 * decodeWarpgroups<BN>(), 1)
    decodeGemmKernel(const __grid_constant__ CUtensorMap w0,
                     const __grid_constant__ CUtensorMap w1,
                     const __grid_constant__ CUtensorMap xm, DecodeGemmArgs a) {
#if LLMC_HAS_WGMMA
  namespace cg = cooperative_groups;
  constexpr int WG = decodeWarpgroups<BN>();
  constexpr int T = 2 * WG;      // m64 weight tiles per block
  constexpr int NT = 128 * WG;   // threads
  constexpr int kMaxStages = decodeStages<W, BN>();
  constexpr int kBk = W::kBk;
  constexpr int kW = 64 * kDecodeRowBytes; // bytes of one m64 weight tile
  constexpr int kX = BN * kDecodeRowBytes; // bytes of one 128-byte box of x
  constexpr int kXBoxK = W::kA8 ? 128 : 64; // k of one box of x
  constexpr int kStage = decodeStageBytes<W, BN>();
  constexpr int NR = BN / 2; // accumulators per m64 tile per thread
  const int ST = a.stages;
  extern __shared__ uint8_t smemRaw[];
  __shared__ __align__(8) uint64_t full[kMaxStages];
  uint8_t *smem = reinterpret_cast<uint8_t *>(
      (reinterpret_cast<uintptr_t>(smemRaw) + 1023) & ~uintptr_t(1023));
  const uint32_t base = smemAddr(smem);
  const int tid = threadIdx.x, wg = tid >> 7;
  cg::cluster_group cluster = cg::this_cluster();
  const int split = int(cluster.block_rank());
  const int tile = blockIdx.x / a.splits;
  const int kb0 = split * a.kBlocks / a.splits;
  const int nk = (split + 1) * a.kBlocks / a.splits - kb0;
  auto rowOf = [&](int t) {
    return tile * a.rowStep + 64 * (Swiglu ? (t >> 1) : t);
  };

  if (tid == 0) {
    for (int s = 0; s < ST; ++s)
      mbarInit(smemAddr(&full[s]), 1);
    mbarInitFence();
  }
  __syncthreads();
  auto loadW = [&](int s, int kb) {
    uint32_t dst = base + s * kStage, bar = smemAddr(&full[s]);
    mbarExpectTx(bar, kStage);
#pragma unroll
    for (int t = 0; t < T; ++t)
      tmaLoad2d(dst + t * kW, Swiglu && (t & 1) ? &w1 : &w0, kb * kBk,
                rowOf(t), bar);
  };
  auto loadX = [&](int s, int kb) {
#pragma unroll
    for (int h = 0; h < kBk / kXBoxK; ++h)
      tmaLoad2d(base + s * kStage + T * kW + h * kX, &xm,
                kb * kBk + kXBoxK * h, 0, smemAddr(&full[s]));
  };
  // Weights do not depend on the previous kernel: they stream before the
  // wait; x (its output) after it.
  if (tid == 0)
    for (int s = 0; s < ST && s < nk; ++s)
      loadW(s, kb0 + s);
  pdlLaunchDependents();
  pdlWait();
  if (tid == 0)
    for (int s = 0; s < ST && s < nk; ++s)
      loadX(s, kb0 + s);

  // This warpgroup's m64 tiles: 2 * wg and 2 * wg + 1 (with SwiGLU: gate
  // and up of the same 64 rows).
  const int warp = (tid >> 5) & 3, lane = tid & 31;
  float acc[2][NR] = {};
  // W8A8: the stage at `st`'s four k32 products of both tiles into d
  // (k32 slice kk: 32 bytes into the 128-byte rows of x and weights).
  auto e4m3Products = [&](float(&d)[2][NR], uint32_t st) {
#pragma unroll
    for (int kk = 0; kk < kBk / 32; ++kk) {
      uint64_t bx = wgmmaDesc(st + T * kW + kk * 32);
      Wgmma<BN>::runE4m3(d[0], wgmmaDesc(st + (2 * wg) * kW + kk * 32), bx);
      Wgmma<BN>::runE4m3(d[1], wgmmaDesc(st + (2 * wg + 1) * kW + kk * 32),
                         bx);
    }
  };
  if constexpr (W::kA8 && !W::kFast) {
    // W8A8: stage i's four k32 products of both tiles into `part` (zeroed),
    // committed as one wgmma group; once it has retired, `part` is added
    // into the fp32 sums and the stage's slot refilled (every warpgroup
    // past it).
    for (int i = 0; i < nk; ++i) {
      const int s = i % ST;
      mbarWait(smemAddr(&full[s]), uint32_t(i / ST) & 1);
      const uint32_t st = base + s * kStage;
      float part[2][NR] = {};
      wgmmaFence();
      e4m3Products(part, st);
      wgmmaCommit();
      wgmmaWait<0>();
      holdRegs(part);
#pragma unroll
      for (int w = 0; w < 2; ++w)
#pragma unroll
        for (int j = 0; j < NR; ++j)
          acc[w][j] += part[w][j];
      __syncthreads();
      if (tid == 0 && i + ST < nk) {
        loadW(s, kb0 + i + ST);
        loadX(s, kb0 + i + ST);
      }
    }
  } else {
    // bf16, W8A16 and fast-accumulating W8A8: one accumulator set over all
    // stages.
    for (int i = 0; i < nk; ++i) {
      const int s = i % ST;
      mbarWait(smemAddr(&full[s]), uint32_t(i / ST) & 1);
      const uint32_t st = base + s * kStage;
      if constexpr (!W::kFp8 || W::kA8)
        wgmmaFence();
      if constexpr (W::kA8) {
        e4m3Products(acc, st);
      } else {
#pragma unroll
        for (int kk = 0; kk < kBk / 16; ++kk) {
          // k16 slice kk: 32 bytes into a 128-byte row of its box of x.
          uint64_t bx =
              wgmmaDesc(st + T * kW + (kk >> 2) * kX + (kk & 3) * 32);
          if constexpr (W::kFp8) {
            uint32_t a0[4], a1[4];
            const uint8_t *tiles = smem + s * kStage + (2 * wg) * kW;
            decodeFp8Fragment(a0, tiles, 16 * warp + (lane >> 2), lane, kk);
            decodeFp8Fragment(a1, tiles + kW, 16 * warp + (lane >> 2), lane,
                              kk);
            // The fragments were written by ordinary instructions.
            wgmmaFence();
            Wgmma<BN>::runRs(acc[0], a0, bx);
            Wgmma<BN>::runRs(acc[1], a1, bx);
          } else {
            Wgmma<BN>::run(acc[0], wgmmaDesc(st + (2 * wg) * kW + kk * 32),
                           bx);
            Wgmma<BN>::run(acc[1],
                           wgmmaDesc(st + (2 * wg + 1) * kW + kk * 32), bx);
          }
        }
      }
      wgmmaCommit();
      // The previous step's wgmma (not this one's) has read its stage: refill
      // that one, so the tensor cores and the copy engine overlap.
      wgmmaWait<1>();
      __syncthreads();
      const int prev = i - 1;
      if (tid == 0 && prev >= 0 && prev + ST < nk) {
        loadW(prev % ST, kb0 + prev + ST);
        loadX(prev % ST, kb0 + prev + ST);
      }
    }
  }
  wgmmaWait<0>();
  __syncthreads();

  // Partial sums into this block's (now idle) stages, fragment order:
  // red[p][tid], p = w * NR + j.
  float *red = reinterpret_cast<float *>(smem);
#pragma unroll
  for (int w = 0; w < 2; ++w)
#pragma unroll
    for (int j = 0; j < NR; ++j)
      red[(w * NR + j) * NT + tid] = acc[w][j];
  cluster.sync();
  // This block's slice of the fragment positions; with SwiGLU a position
  // is a (gate, up) pair.
  constexpr int P = Swiglu ? NR : 2 * NR;
  const int p0 = split * P / a.splits, p1 = (split + 1) * P / a.splits;
  for (int p = p0; p < p1; ++p) {
    float v0 = 0.f, v1 = 0.f;
    for (int q = 0; q < a.splits; ++q) {
      const float *peer = cluster.map_shared_rank(red, q);
      v0 += peer[p * NT + tid];
      if constexpr (Swiglu)
        v1 += peer[(p + NR) * NT + tid];
    }
    // wgmma D fragment: register j of an m64nBN tile is row 16 * warp +
    // lane / 4 + 8 * ((j / 2) % 2), column 8 * (j / 4) + 2 * (lane % 4) +
    // j % 2 (warp within the warpgroup).
    const int w = Swiglu ? 0 : p / NR, j = p % NR;
    const int row = rowOf(2 * wg + w) + 16 * warp + (lane >> 2) +
                    8 * ((j >> 1) & 1);
    const int m = 8 * (j >> 2) + 2 * (lane & 3) + (j & 1);
    if (row >= a.n || m >= a.m)
      continue;
    int sg = 0;
#pragma unroll
    for (int i = 1; i < kDecodeMaxSegs; ++i)
      if (i < a.count && row >= a.s[i].first)
        sg = i;
    const DecodeSeg &seg = a.s[sg];
    const int col = row - seg.first;
    if constexpr (W::kA8) {
      // The staged path's order: (sum * xScale) * scale.
      v0 *= a.xScale[m];
      if constexpr (Swiglu)
        v1 *= a.xScale[m];
    }
    if constexpr (W::kFp8) {
      v0 *= seg.scale[seg.scalePerRow ? col : 0];
      if constexpr (Swiglu)
        v1 *= a.s[1].scale[a.s[1].scalePerRow ? col : 0];
    }
    Out *out = static_cast<Out *>(seg.out) + int64_t(m) * seg.ldo + col;
    if constexpr (Swiglu) {
      // Hugging Face: gate and up are bf16 linear outputs, act(gate) a
      // bf16 tensor, the product rounded once more.
      *out = toB(swigluOf(roundB(v0), roundB(v1)));
    } else {
      if (seg.bias)
        v0 += toF(seg.bias[col]);
      if constexpr (std::is_same_v<Out, float>)
        *out = v0;
      else
        *out = toB(v0);
    }
  }
  // Peers read this block's shared memory until here.
  cluster.sync();
#endif
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_DECODEGEMM_CUH
