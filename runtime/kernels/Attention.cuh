//===- Attention.cuh - causal GQA attention: prefill and KV-cache decode -*- CUDA -*-===//
//
// A header, not a library source: the generated model source includes it
// and instantiates attention<head_dim, group> (and ropeAttention) for the
// shapes the model has, so every head_dim that is a multiple of 16 up to 256
// links (issue 14). Tile buffers are dynamic shared memory, raised past 48
// KiB for head dims above 128.
//
// Both kernels are flash-attention style on bf16 tensor cores (mma.sync
// m16n8k16, fp32 accumulators): a warp owns 16 query rows, scores and the
// running output stay in registers, softmax is online in the exp2 domain,
// and probabilities go back into the tensor cores as bf16 A fragments
// without touching shared memory (the C layout of two n8 tiles is the A
// layout of one k16 step).
//
// Prefill: a block is 64 query rows of one head (4 warps x 16) streaming
// 64-key K/V tiles through shared memory, two tile buffers up to head_dim
// 128 (the next tile's asynchronous copies in flight during this one's
// MMAs), the causal mask skipped for tiles every row of a warp sees whole,
// and the grid ordered heads-fastest from the last row tile down, so the
// blocks with the most keys start first instead of forming the tail. Keys
// come either from this call's k/v (no cache) or from the cache after this
// call's keys were written there, so chunked prefill and prompts after a
// prefix work the same way. On sm_90a at head_dim 64 and 128 a second
// instantiation (LaunchPolicy::wgmmaPrefill, off by default until measured)
// does the block's two products on wgmma instead: Q and the K/V tiles as
// swizzled operand tiles in shared memory, S = Q K^T from both, O += P V
// with P from the score registers and V read N-major; the m16n8 fragments,
// masks and softmax are the same code.
//
// Decode (one query per sequence, with a cache): a warp's 16 rows are the
// query heads sharing one kv head, so each K/V byte is read once per group,
// not once per head. Blocks split the cached positions (flash-decoding):
// grid = splits x kv heads x batch, the split count chosen on the host from
// the SM count and the cache capacity, the split boundaries on the device
// from the query's actual position, so the launch is graph-capturable and
// balanced at any length. Inside a block the 4 warps take 16 keys each of
// every 64-key tile and merge their (max, sum, output) at the end. Splits
// past the context's tiles exit at once (the split count follows the actual
// length, not the cache capacity), and the last split to finish merges the
// active splits itself (a counter per (row, kv head) that it resets), so a
// decode step is one launch: the same kernel writes this step's k/v into
// the cache and, for ropeAttention, rotates q and k on the fly.
//
// The cache is contiguous ([batch rows, kv heads, max_seq, head_dim]) or,
// when the step carries block tables (serving), paged: [blocks, kv heads,
// block_size, head_dim], position j of a sequence in block
// table[j / block_size] at slot j % block_size (KVAddr). The kernels are
// the same; only the address of a position changes.
//
// An FP8 cache (CacheView::fp8, docs/quantization.md) holds E4M3 codes and
// one fp32 scale per (position, kv head) of K and of V, laid out like the
// codes with head_dim 1. Writes quantize each head vector with its own
// scale exactly as runtime/weights/Fp8.h does (fmaxf absmax, __fdiv_rn by
// 448, the floor, cvt.rn.satfinite); reads widen the codes exactly to bf16
// (every E4M3 value is one) into the same tiles, and the scales are
// factored out of the products: a score is (q . code_k) * s_k, and a
// probability enters P V as bf16(p * s_v). Every kernel is templated over
// the element type (Fp8); the bf16 instantiations are unchanged.
//
// Masking is by position: key at position kp is visible to a query at qp
// when kp <= qp and, with a window w, kp > qp - w (Mistral / Qwen2 sliding
// window, as in the CPU reference).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_ATTENTION_CUH
#define LLMC_RUNTIME_KERNELS_ATTENTION_CUH

#include "runtime/device/Common.cuh"
#include "runtime/device/Mma.cuh"
#include "runtime/device/Wgmma.cuh"
#include "runtime/kernels/E4m3.cuh"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/Launch.cuh"
#include "runtime/kernels/Rope.cuh"
#include "runtime/weights/Fp8.h"

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <climits>
#include <cmath>
#include <type_traits>

/// Which caches this translation unit has kernels for: a generated model
/// defines LLMC_KV_CACHE_FP8 to 1 (its KV cache is FP8) or 0 (bf16), so
/// nvcc compiles one set of cache kernels; undefined (the kernel tests),
/// both. Attention without a cache always uses the bf16 prefill kernel.
#ifndef LLMC_KV_CACHE_FP8
#define LLMC_KV_CACHE_BOTH 1
#define LLMC_KV_CACHE_FP8 1
#else
#define LLMC_KV_CACHE_BOTH 0
#endif

namespace llmc::rt {

namespace attention_detail {

using namespace cuda;
using rope_detail::InvFreq;

constexpr int kBR = 64, kBC = 64, kThreads = 128;
/// Largest GQA group the decode kernel packs into one m16 tile.
constexpr int kMaxDecodeGroup = 16;
/// Most splits of the cached positions per (batch row, kv head).
constexpr int kMaxDecodeSplits = 256;

__device__ __forceinline__ int64_t warpMin64(int64_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    int64_t x = __shfl_xor_sync(0xffffffffu, v, o);
    v = x < v ? x : v;
  }
  return v;
}

__device__ __forceinline__ int64_t warpMax64(int64_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    int64_t x = __shfl_xor_sync(0xffffffffu, v, o);
    v = x > v ? x : v;
  }
  return v;
}

/// Max over the 4 lanes holding one row of an mma C fragment.
__device__ __forceinline__ float quadMax(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ __forceinline__ float quadSum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

/// Online-softmax state of the two rows (g and g + 8) a lane holds.
template <int HD> struct RowState {
  float o[HD / 8][4] = {};
  float m[2] = {-INFINITY, -INFINITY};
  float l[2] = {0.f, 0.f}; // per-lane partial sums; quadSum at the end
};

/// Folds NT n8 tiles of scaled, masked scores (log2 domain; -inf = masked)
/// into `st`: new maxima, rescaled output, and the scores replaced by their
/// unnormalised probabilities.
template <int HD, int NT>
__device__ __forceinline__ void softmaxUpdate(float (&s)[NT][4],
                                              RowState<HD> &st) {
  float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      mx[e >> 1] = fmaxf(mx[e >> 1], s[nt][e]);
  float alpha[2], base[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float mn = fmaxf(st.m[i], quadMax(mx[i]));
    // A row with nothing visible yet keeps max -inf; exponentiate against 0
    // so it yields zeros rather than NaN.
    base[i] = mn == -INFINITY ? 0.f : mn;
    alpha[i] = exp2f(st.m[i] - base[i]);
    st.m[i] = mn;
  }
  float sum[2] = {0.f, 0.f};
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float p = exp2f(s[nt][e] - base[e >> 1]);
      s[nt][e] = p;
      sum[e >> 1] += p;
    }
#pragma unroll
  for (int i = 0; i < 2; ++i)
    st.l[i] = st.l[i] * alpha[i] + sum[i];
#pragma unroll
  for (int dt = 0; dt < HD / 8; ++dt) {
    st.o[dt][0] *= alpha[0];
    st.o[dt][1] *= alpha[0];
    st.o[dt][2] *= alpha[1];
    st.o[dt][3] *= alpha[1];
  }
}

/// o += P V for 16 keys starting at row `key0` of the V tile; p holds the
/// two n8 score tiles of those keys.
template <int HD, int LD>
__device__ __forceinline__ void
accumulatePV(RowState<HD> &st, const float (&p0)[4], const float (&p1)[4],
             const bf16 *Vs, int key0, int lane) {
  uint32_t pa[4] = {packBf16x2(p0[0], p0[1]), packBf16x2(p0[2], p0[3]),
                    packBf16x2(p1[0], p1[1]), packBf16x2(p1[2], p1[3])};
  const bf16 *base =
      Vs + (key0 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + (lane >> 4) * 8;
#pragma unroll
  for (int dp = 0; dp < HD / 16; ++dp) {
    uint32_t vb[4];
    ldmatrixX4Trans(vb, base + dp * 16);
    mma16816(st.o[2 * dp], pa, vb[0], vb[1]);
    mma16816(st.o[2 * dp + 1], pa, vb[2], vb[3]);
  }
}

/// Scores of this warp's 16 query rows against keys [key0, key0 + 8 NT) of
/// the K tile. One ldmatrix.x4 gives the B fragments of two n8 tiles at one
/// k16 step (matrices: keys nt and nt + 1, head columns low and high 8),
/// a quarter of the shared-memory load instructions of 32-bit loads.
template <int HD, int LD, int NT>
__device__ __forceinline__ void scores(float (&s)[NT][4],
                                       const uint32_t (&qf)[HD / 16][4],
                                       const bf16 *Ks, int key0, int lane) {
  static_assert(NT % 2 == 0, "n8 tiles are loaded in pairs");
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
    s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
  // Rows padded by 8 elements: the 8 rows of 16 bytes of each matrix land
  // in distinct bank groups.
  const bf16 *kr =
      Ks + (key0 + (lane >> 4) * 8 + (lane & 7)) * LD + ((lane >> 3) & 1) * 8;
#pragma unroll
  for (int nt = 0; nt < NT; nt += 2)
#pragma unroll
    for (int kc = 0; kc < HD / 16; ++kc) {
      uint32_t b[4];
      ldmatrixX4(b, kr + nt * 8 * LD + kc * 16);
      mma16816(s[nt], qf[kc], b[0], b[1]);
      mma16816(s[nt + 1], qf[kc], b[2], b[3]);
    }
}

/// Loads 16 query rows (row i of the warp at smem row rowBase + i) as A
/// fragments.
template <int HD, int LD>
__device__ __forceinline__ void loadQ(uint32_t (&qf)[HD / 16][4],
                                      const bf16 *Qs, int rowBase, int lane) {
#pragma unroll
  for (int kc = 0; kc < HD / 16; ++kc)
    ldmatrixX4(qf[kc],
               Qs + (rowBase + (lane & 15)) * LD + kc * 16 + (lane >> 4) * 8);
}

/// Where position j of batch row b starts in K or V, relative to the kv
/// head's base: contiguous rows (b * batchStride + j * rowStride) or, with
/// a block table, slot j % blockSize of block table[b][j / blockSize].
struct KVAddr {
  const int32_t *table = nullptr; ///< row b at table + b * tableStride
  int64_t tableStride = 0, blockSize = 0, blockStride = 0;
  int64_t batchStride = 0, rowStride = 0;
  __device__ __forceinline__ int64_t at(int b, int64_t j) const {
    if (!table)
      return int64_t(b) * batchStride + j * rowStride;
    // Positions are below 2^31: 32-bit division (the 64-bit one is a
    // long call on every cache address).
    uint32_t jj = uint32_t(j), bs = uint32_t(blockSize);
    int64_t blk = table[int64_t(b) * tableStride + jj / bs];
    return blk * blockStride + int64_t(jj % bs) * rowStride;
  }
};

//===----------------------------------------------------------------------===//
// FP8 cache: E4M3 codes, one fp32 scale per (position, kv head)
//===----------------------------------------------------------------------===//

/// Eight E4M3 codes widened exactly to eight bf16 (E4M3 -> f16 -> f32 ->
/// bf16, no step rounds).
__device__ __forceinline__ uint4 e4m3x8ToBf16x8(uint2 codes) {
  return make_uint4(e4m3x2ToBf16x2(codes.x), e4m3x2ToBf16x2(codes.x >> 16),
                    e4m3x2ToBf16x2(codes.y), e4m3x2ToBf16x2(codes.y >> 16));
}

/// Largest |x| of eight bf16 (fmaxf: NaNs ignored, as absMax in Fp8.h).
__device__ __forceinline__ float absMax8(uint4 raw) {
  float f[8], a = 0.f;
  unpack8(raw, f);
#pragma unroll
  for (int i = 0; i < 8; ++i)
    a = fmaxf(a, fabsf(f[i]));
  return a;
}

/// The scale of a head vector spread over the calling warp, from each
/// lane's absmax (every lane calls): fp8ScaleForAbsmax of Fp8.h.
__device__ __forceinline__ float fp8HeadScale(float laneAbsmax) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    laneAbsmax = fmaxf(laneAbsmax, __shfl_xor_sync(0xffffffffu, laneAbsmax, o));
  return e4m3Scale(laneAbsmax);
}

/// floatToE4M3(x / s) of eight bf16, low byte first.
__device__ __forceinline__ uint2 bf16x8ToE4M3(uint4 raw, float s) {
  float f[8];
  unpack8(raw, f);
  uint32_t w[2] = {0u, 0u};
#pragma unroll
  for (int i = 0; i < 8; ++i)
    w[i / 4] |= uint32_t(__nv_cvt_float_to_fp8(__fdiv_rn(f[i], s),
                                               __NV_SATFINITE, __NV_E4M3))
                << (8 * (i % 4));
  return make_uint2(w[0], w[1]);
}

/// Quantizes one head vector (HD bf16 at `src`) into `codes` and `*scale`;
/// the calling warp does it, lane l the elements [8 l, 8 l + 8).
template <int HD>
__device__ __forceinline__ void storeFp8Head(uint8_t *codes, float *scale,
                                             const bf16 *src, int lane) {
  static_assert(HD / 8 <= 32, "one warp quantizes a head vector");
  uint4 x = make_uint4(0, 0, 0, 0);
  if (lane < HD / 8)
    x = reinterpret_cast<const uint4 *>(src)[lane];
  float s = fp8HeadScale(absMax8(x));
  if (lane < HD / 8)
    reinterpret_cast<uint2 *>(codes)[lane] = bf16x8ToE4M3(x, s);
  if (lane == 0)
    *scale = s;
}

/// One kv head's keys and values in the cache (or, not Fp8, in this call's
/// k/v): bf16 values or E4M3 codes at element offset kv.at(b, j); an FP8
/// code's scale at kScale[offset / HD].
struct HeadKV {
  const void *k, *v;
  const float *kScale, *vScale;
};

/// Element offset of (row, col) of a 64-row wgmma operand tile (col a
/// multiple of 8): 64-column halves of 64 rows x 128 bytes, one after the
/// other, 16-byte chunk c of a row at chunk c ^ (row % 8) (the 128-byte
/// swizzle of Wgmma.cuh; the tile 1024-byte aligned).
__device__ __forceinline__ int swizzledAt(int row, int col) {
  return (col >> 6) * (64 * 64) + row * 64 +
         ((((col & 63) >> 3) ^ (row & 7)) << 3);
}

/// Where element (row, col) of a tile goes: rows LD elements apart, or
/// (Sw) swizzledAt.
template <int LD, bool Sw>
__device__ __forceinline__ int tileAt(int row, int col) {
  return Sw ? swizzledAt(row, col) : row * LD + col;
}

/// Issues the loads of a 64-key K and V tile: rows [0, n) are positions
/// j0 + row, later rows zero; at tileAt<LD, Sw>. bf16: asynchronous
/// copies, committed (the caller waits). Fp8: the codes widened to bf16,
/// and each row's scales in kS / vS (zero past n).
template <int HD, int LD, bool Fp8, bool Sw = false>
__device__ __forceinline__ void loadKVTile(bf16 *Ks, bf16 *Vs, float *kS,
                                           float *vS, const HeadKV &h,
                                           const KVAddr &kv, int b, int64_t j0,
                                           int n, int tid) {
  if constexpr (!Fp8) {
    const bf16 *k = static_cast<const bf16 *>(h.k);
    const bf16 *v = static_cast<const bf16 *>(h.v);
    for (int c = tid; c < kBC * HD / 8; c += kThreads) {
      int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
      bool valid = row < n;
      int64_t off = kv.at(b, j0 + (valid ? row : 0)) + col;
      cpAsync16(&Ks[tileAt<LD, Sw>(row, col)], k + off, valid);
      cpAsync16(&Vs[tileAt<LD, Sw>(row, col)], v + off, valid);
    }
    cpAsyncCommit();
  } else {
    const uint8_t *k = static_cast<const uint8_t *>(h.k);
    const uint8_t *v = static_cast<const uint8_t *>(h.v);
    for (int c = tid; c < kBC * HD / 8; c += kThreads) {
      int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
      uint4 kk = make_uint4(0, 0, 0, 0), vv = kk;
      if (row < n) {
        int64_t off = kv.at(b, j0 + row) + col;
        kk = e4m3x8ToBf16x8(*reinterpret_cast<const uint2 *>(k + off));
        vv = e4m3x8ToBf16x8(*reinterpret_cast<const uint2 *>(v + off));
      }
      *reinterpret_cast<uint4 *>(&Ks[tileAt<LD, Sw>(row, col)]) = kk;
      *reinterpret_cast<uint4 *>(&Vs[tileAt<LD, Sw>(row, col)]) = vv;
    }
    for (int c = tid; c < kBC; c += kThreads) {
      float ks = 0.f, vs = 0.f;
      if (c < n) {
        int64_t at = kv.at(b, j0 + c) / HD;
        ks = h.kScale[at];
        vs = h.vScale[at];
      }
      kS[c] = ks;
      vS[c] = vs;
    }
  }
}

/// Multiplies the probabilities of NT n8 tiles (keys key0 + 8 nt + column)
/// by their values' scales before P V (Fp8 only).
template <int NT>
__device__ __forceinline__ void scaleByV(float (&p)[NT][4], const float *vS,
                                         int key0, int tq) {
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      p[nt][e] *= vS[key0 + nt * 8 + 2 * tq + (e & 1)];
}

//===----------------------------------------------------------------------===//
// Prefill
//===----------------------------------------------------------------------===//

struct PrefillArgs {
  const bf16 *q;
  int64_t qStride;
  bf16 *out;
  int64_t oStride;
  /// Keys of batch row b, kv head h, index j at
  /// k + h * kvHeadStride + kv.at(b, j) (bf16, or E4M3 codes whose scales
  /// are at kScale + (h * kvHeadStride + kv.at(b, j)) / head_dim).
  const void *k, *v;
  const float *kScale, *vScale;
  int64_t kvHeadStride;
  KVAddr kv;
  const int64_t *positions;
  int seq, group;
  int64_t window;
  float scaleLog2;
  /// Keys from the cache: key index j is position j, up to maxSeq.
  bool cache;
  int64_t maxSeq;
  /// Varlen (Step::queryStart): sequence b = blockIdx.z + seqBase has rows
  /// [qStart[b], qStart[b + 1]); nullptr: rows [b * seq, (b + 1) * seq).
  const int32_t *qStart = nullptr;
  int seqBase = 0;
  /// Host side only: the cache is FP8 (selects the instantiation).
  bool fp8;
};

/// The kv head's HeadKV of a kernel's arguments.
template <int HD, class Args>
__device__ __forceinline__ HeadKV headKV(const Args &a, int kvh, bool fp8) {
  int64_t off = int64_t(kvh) * a.kvHeadStride;
  int64_t bytes = fp8 ? 1 : 2;
  HeadKV h;
  h.k = static_cast<const char *>(a.k) + off * bytes;
  h.v = static_cast<const char *>(a.v) + off * bytes;
  h.kScale = fp8 ? a.kScale + off / HD : nullptr;
  h.vScale = fp8 ? a.vScale + off / HD : nullptr;
  return h;
}

/// K/V tile buffers of the prefill kernel: two (the next tile's loads in
/// flight while this one's MMAs run) up to head_dim 128; one above, where
/// two would halve the blocks an SM holds.
template <int HD> constexpr int kPrefillStages = HD <= 128 ? 2 : 1;

/// Head dims the wgmma prefill kernel (below) has: whole 64-column halves,
/// two of its stages per block.
template <int HD> constexpr bool kWgmmaPrefillHD = HD == 64 || HD == 128;

/// Blocks of 128 threads per SM the prefill kernel is built for. mma.sync:
/// at most 170 registers up to head_dim 128, so three blocks share an SM
/// (12 warps; the H100 runs of 2026-12-06: 8B 2048-token prefill attention
/// equal to 2 blocks of 226 registers, the ~1B's 5% faster). wgmma: two
/// blocks of its 81 KiB of tiles at head_dim 128 fit an SM; at 64 (41 KiB)
/// the registers allow three.
template <int HD, bool Wg> constexpr int prefillMinBlocks() {
  return Wg ? (HD <= 64 ? 3 : 2) : (HD <= 128 ? 3 : 1);
}

/// wgmma prefill: S (64 query rows x 64 keys, fp32) = Q K^T, both operands
/// swizzled tiles in shared memory at `q` and `k` (shared addresses). The
/// accumulators are the m16n8 C fragments the mma.sync path has: warp w's
/// rows 16 w + lane / 4 and + 8, n8 tile nt in s[nt].
template <int HD>
__device__ __forceinline__ void wgmmaScores(float (&s)[kBC / 8][4],
                                            uint32_t q, uint32_t k) {
#if LLMC_HAS_WGMMA
#pragma unroll
  for (int nt = 0; nt < kBC / 8; ++nt)
    s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
  holdRegs(s);
  wgmmaFence();
#pragma unroll
  for (int kc = 0; kc < HD / 16; ++kc) {
    // k16 slice kc: half kc / 4 (64 columns, 8 KiB), 32 bytes per slice.
    uint32_t off = (kc >> 2) * 8192 + (kc & 3) * 32;
    Wgmma<kBC>::run(&s[0][0], wgmmaDesc(q + off), wgmmaDesc(k + off));
  }
  wgmmaCommit();
  wgmmaWait<0>();
  holdRegs(s);
#endif
}

/// wgmma prefill: o += P V for the tile's 64 keys, P the probabilities in
/// `p` (as bf16 A fragments from registers, two n8 tiles per k16 step, as
/// accumulatePV packs them) and V the swizzled tile at `v` read N-major:
/// one m64n64 product per 64 columns of o and 16 keys.
template <int HD>
__device__ __forceinline__ void wgmmaPV(RowState<HD> &st,
                                        const float (&p)[kBC / 8][4],
                                        uint32_t v) {
#if LLMC_HAS_WGMMA
  uint32_t pa[kBC / 16][4];
#pragma unroll
  for (int kk = 0; kk < kBC / 16; ++kk) {
    pa[kk][0] = packBf16x2(p[2 * kk][0], p[2 * kk][1]);
    pa[kk][1] = packBf16x2(p[2 * kk][2], p[2 * kk][3]);
    pa[kk][2] = packBf16x2(p[2 * kk + 1][0], p[2 * kk + 1][1]);
    pa[kk][3] = packBf16x2(p[2 * kk + 1][2], p[2 * kk + 1][3]);
  }
  holdRegs(pa);
  holdRegs(st.o);
  wgmmaFence();
#pragma unroll
  for (int kk = 0; kk < kBC / 16; ++kk)
#pragma unroll
    for (int h = 0; h < HD / 64; ++h)
      Wgmma<64>::runRsT(&st.o[8 * h][0], pa[kk],
                        wgmmaDescMn(v + h * 8192 + kk * 2048));
  wgmmaCommit();
  wgmmaWait<0>();
  holdRegs(st.o);
  holdRegs(pa);
#endif
}

/// Wg (sm_90a, kWgmmaPrefillHD, launchPrefillKernel decides): the two
/// products on wgmma, one warpgroup a block. Q and the K/V tiles are
/// swizzled operand tiles (swizzledAt), 1024-byte aligned: Q, then stage i's
/// K and V. The same 64 rows per block, positions, masks, windows, cache
/// and online softmax as mma.sync; only whether a tile is skipped is
/// decided per block (a warpgroup's instructions are collective), and a
/// warp whose rows see none of a tile masks all of it.
template <int HD, bool Fp8, bool Wg = false>
__global__ void __launch_bounds__(kThreads, prefillMinBlocks<HD, Wg>())
    prefillKernel(PrefillArgs a) {
  constexpr int LD = HD + 8, Stages = kPrefillStages<HD>;
  static_assert(!Wg || kWgmmaPrefillHD<HD>, "no wgmma prefill at this HD");
#if !LLMC_HAS_WGMMA
  if constexpr (Wg) {
    __trap(); // launched only on sm_90a code (launchPrefillKernel)
    return;
  }
#endif
  extern __shared__ uint4 attnSmem[];
  constexpr int kTileElems = kBC * HD; // a swizzled tile (Wg)
  uint8_t *wgBase = reinterpret_cast<uint8_t *>(
      (reinterpret_cast<uintptr_t>(attnSmem) + 1023) & ~uintptr_t(1023));
  // Stage i: K at Ks + i * 2 * kBC * LD (Wg: i * 2 * kTileElems), V right
  // after it; Wg: Q before them.
  bf16 *Qs = reinterpret_cast<bf16 *>(wgBase);
  bf16 *Ks = Wg ? Qs + kBR * HD : reinterpret_cast<bf16 *>(attnSmem);
  constexpr int kStageElems = Wg ? 2 * kTileElems : 2 * kBC * LD;
  __shared__ int64_t kposS[Stages][kBC];
  __shared__ float kScS[Stages][Fp8 ? kBC : 1], vScS[Stages][Fp8 ? kBC : 1];
  __shared__ int64_t qRange[2][kThreads / 32];

  // Grid (heads, row tiles, sequences), the last row tiles (the most keys
  // under the causal mask) first, so the longest blocks do not form the
  // tail of the launch.
  int b = blockIdx.z + a.seqBase, h = blockIdx.x,
      t0 = (gridDim.y - 1 - blockIdx.y) * kBR;
  int kvh = h / a.group;
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, tq = lane & 3;
  int64_t row0 = a.qStart ? int64_t(a.qStart[b]) : int64_t(b) * a.seq;
  int len = a.qStart ? int(a.qStart[b + 1] - row0) : a.seq;
  if (t0 >= len)
    return; // a varlen grid covers the longest sequence
  const int64_t *pos = a.positions + row0;

  // Q tile: mma.sync through the K buffer into registers; wgmma into its
  // own operand tile.
  for (int c = tid; c < kBR * HD / 8; c += kThreads) {
    int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
    int t = t0 + row;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (t < len)
      val = *reinterpret_cast<const uint4 *>(
          a.q + (row0 + t) * a.qStride + int64_t(h) * HD + col);
    *reinterpret_cast<uint4 *>((Wg ? Qs : Ks) + tileAt<LD, Wg>(row, col)) =
        val;
  }
  if constexpr (Wg)
    fenceProxyAsync();
  __syncthreads();
  uint32_t qf[HD / 16][4];
  if constexpr (!Wg)
    loadQ<HD, LD>(qf, Ks, warp * 16, lane);

  int r0 = t0 + warp * 16 + g, r1 = r0 + 8;
  // Rows past the sequence get position -1: no key is visible to them.
  int64_t qp[2] = {r0 < len ? pos[r0] : -1, r1 < len ? pos[r1] : -1};
  int64_t wmin = LLONG_MAX, wmax = -1;
  for (int64_t p : qp)
    if (p >= 0) {
      wmin = p < wmin ? p : wmin;
      wmax = p > wmax ? p : wmax;
    }
  wmin = warpMin64(wmin);
  wmax = warpMax64(wmax);
  if (lane == 0) {
    qRange[0][warp] = wmin;
    qRange[1][warp] = wmax;
  }
  __syncthreads(); // also: every warp has its Q fragments before K lands
  int64_t bmin = LLONG_MAX, bmax = -1;
  for (int w = 0; w < kThreads / 32; ++w) {
    bmin = qRange[0][w] < bmin ? qRange[0][w] : bmin;
    bmax = qRange[1][w] > bmax ? qRange[1][w] : bmax;
  }

  int64_t jBegin = 0, jEnd;
  if (a.cache) {
    if (a.window > 0 && bmin - a.window + 1 > 0)
      jBegin = bmin - a.window + 1;
    jEnd = bmax + 1 < a.maxSeq ? bmax + 1 : a.maxSeq;
  } else {
    // Positions increase along the sequence: later keys are later
    // positions, invisible to every row of this block.
    jEnd = t0 + kBR < len ? t0 + kBR : len;
  }

  HeadKV hkv = headKV<HD>(a, kvh, Fp8);
  RowState<HD> st;

  // The first tile at or after j that some row's window still reaches (no
  // cache: keys are this call's rows, positions increasing).
  auto firstLive = [&](int64_t j) {
    if (!a.cache && a.window > 0)
      for (; j < jEnd; j += kBC) {
        int n = jEnd - j < kBC ? int(jEnd - j) : kBC;
        if (pos[j + n - 1] > bmin - a.window)
          break;
      }
    return j;
  };
  auto issue = [&](int64_t j0, int stage) {
    int n = jEnd - j0 < kBC ? int(jEnd - j0) : kBC;
    bf16 *K = Ks + stage * kStageElems;
    loadKVTile<HD, LD, Fp8, Wg>(K, K + kStageElems / 2, kScS[stage],
                                vScS[stage], hkv, a.kv, b, j0, n, tid);
    for (int c = tid; c < kBC; c += kThreads)
      kposS[stage][c] = c < n ? (a.cache ? j0 + c : pos[j0 + c]) : LLONG_MAX;
  };

  int64_t j0 = firstLive(jBegin);
  int stage = 0;
  if (j0 < jEnd)
    issue(j0, 0);
  while (j0 < jEnd) {
    int64_t next = firstLive(j0 + kBC);
    int n = jEnd - j0 < kBC ? int(jEnd - j0) : kBC;
    cpAsyncWait<0>();
    if constexpr (Wg)
      fenceProxyAsync(); // the tile's writes, before wgmma reads them
    __syncthreads(); // tile j0 landed; every warp is done with the other one
    if constexpr (Stages == 2)
      if (next < jEnd)
        issue(next, stage ^ 1);
    const bf16 *K = Ks + stage * kStageElems, *V = K + kStageElems / 2;
    const int64_t *kpos = kposS[stage];
    int64_t tileMin = kpos[0], tileMax = kpos[n - 1];
    // wgmma: the block's rows (the same for every warp); mma.sync: the
    // warp's.
    int64_t lo = Wg ? bmin : wmin, hi = Wg ? bmax : wmax;
    bool skip = hi < 0 || tileMin > hi ||
                (a.window > 0 && tileMax <= lo - a.window);
    // Every key visible to every row of this warp: no mask to apply (rows
    // past the sequence are not stored). Not above head_dim 128, where the
    // second path's registers would spill.
    bool full = Stages == 2 && !Fp8 && n == kBC && tileMax <= wmin &&
                (a.window <= 0 || tileMin > wmax - a.window);
    if (!skip) {
      float s[kBC / 8][4];
      if constexpr (Wg)
        wgmmaScores<HD>(s, smemAddr(Qs), smemAddr(K));
      else
        scores<HD, LD, kBC / 8>(s, qf, K, 0, lane);
      if (full) {
#pragma unroll
        for (int nt = 0; nt < kBC / 8; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            s[nt][e] *= a.scaleLog2;
      } else {
#pragma unroll
        for (int nt = 0; nt < kBC / 8; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            int key = nt * 8 + 2 * tq + (e & 1);
            int64_t kp = kpos[key];
            int64_t q = qp[e >> 1];
            bool ok = kp <= q && (a.window <= 0 || kp > q - a.window);
            float sc = Fp8 ? a.scaleLog2 * kScS[stage][key] : a.scaleLog2;
            s[nt][e] = ok ? s[nt][e] * sc : -INFINITY;
          }
      }
      softmaxUpdate<HD, kBC / 8>(s, st);
      if constexpr (Fp8)
        scaleByV<kBC / 8>(s, vScS[stage], 0, tq);
      if constexpr (Wg)
        wgmmaPV<HD>(st, s, smemAddr(V));
      else
#pragma unroll
        for (int kk = 0; kk < kBC / 16; ++kk)
          accumulatePV<HD, LD>(st, s[2 * kk], s[2 * kk + 1], V, kk * 16,
                               lane);
    }
    if constexpr (Stages == 1) {
      __syncthreads(); // every warp is done with the one buffer
      if (next < jEnd)
        issue(next, 0);
    } else {
      stage ^= 1;
    }
    j0 = next;
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    int r = i == 0 ? r0 : r1;
    float l = quadSum(st.l[i]); // all lanes: the shuffle needs the full warp
    if (r >= len)
      continue;
    float inv = l > 0.f ? 1.f / l : 0.f;
    bf16 *orow = a.out + (row0 + r) * a.oStride + int64_t(h) * HD;
#pragma unroll
    for (int dt = 0; dt < HD / 8; ++dt)
      *reinterpret_cast<__nv_bfloat162 *>(orow + dt * 8 + 2 * tq) =
          __floats2bfloat162_rn(st.o[dt][2 * i] * inv,
                                st.o[dt][2 * i + 1] * inv);
  }
}

//===----------------------------------------------------------------------===//
// Decode
//===----------------------------------------------------------------------===//


/// Counters of the last-block merge: one per (batch row, kv head) of each
/// rank, zero between launches (the merging block resets its own). A
/// module global, so it needs no allocation and survives graph replays;
/// ranks running as threads of one process get disjoint ranges.
constexpr int kDecodeCounterSlots = 1 << 16;
__device__ unsigned gDecodeCounters[kDecodeCounterSlots];

struct DecodeArgs {
  const bf16 *q;
  int64_t qStride;
  bf16 *out;
  int64_t oStride;
  /// Position j of kv head h of this call's row b at
  /// k + h * kvHeadStride + kv.at(b, j) (bf16, or E4M3 codes whose scales
  /// are at kScale + (h * kvHeadStride + kv.at(b, j)) / head_dim).
  void *k, *v;
  float *kScale, *vScale;
  int64_t kvHeadStride;
  KVAddr kv;
  const int64_t *positions;
  int heads, group;
  int64_t window;
  float scaleLog2;
  int64_t maxSeq;
  /// Grid splits (the most any row may use).
  int splits;
  /// splits > 1: unnormalised outputs [batch, heads, splits, HD] and their
  /// (max, sum).
  float *partO;
  float2 *partML;
  /// Counters of this rank's rows (see gDecodeCounters); nullptr: a
  /// separate merge kernel runs instead.
  unsigned *counters;
  /// This step's k/v rows [batch, ..] (row stride kvStride), written into
  /// the cache by the split that holds the query's position; nullptr when
  /// already written.
  const bf16 *newK, *newV;
  int64_t kvStride;
};

/// The positions a decode query at `qpos` attends and how the grid's
/// `splits` share them: whole 64-key tiles per split, so `active` =
/// ceil(len / chunk) splits have work and the rest exit.
struct SplitPlan {
  int64_t lo, hi, chunk;
  int active;
};
__device__ __forceinline__ SplitPlan splitPlan(int64_t qpos, int64_t window,
                                               int64_t maxSeq, int splits) {
  SplitPlan sp;
  sp.lo = window > 0 && qpos - window + 1 > 0 ? qpos - window + 1 : 0;
  sp.hi = qpos + 1 < maxSeq ? qpos + 1 : maxSeq;
  int64_t len = sp.hi - sp.lo;
  int64_t chunk = len > 0 ? (len + splits - 1) / splits : 0;
  sp.chunk = (chunk + kBC - 1) / kBC * kBC;
  sp.active = len > 0 ? int((len + sp.chunk - 1) / sp.chunk) : 1;
  return sp;
}

/// Merges splits [0, active) of (row b, the group of kv head kvh) into out,
/// in split order (deterministic).
template <int HD>
__device__ void mergeSplits(const DecodeArgs &a, int b, int kvh, int active) {
  for (int i = threadIdx.x; i < a.group * HD; i += blockDim.x) {
    int row = i / HD, d = i % HD;
    int h = kvh * a.group + row;
    int64_t base = (int64_t(b) * a.heads + h) * a.splits;
    float M = -INFINITY;
    for (int sp = 0; sp < active; ++sp)
      M = fmaxf(M, __ldcg(&a.partML[base + sp].x));
    float L = 0.f, O = 0.f;
    if (M != -INFINITY)
      for (int sp = 0; sp < active; ++sp) {
        float2 ml = __ldcg(&a.partML[base + sp]);
        float w = exp2f(ml.x - M);
        L += ml.y * w;
        O += __ldcg(&a.partO[(base + sp) * HD + d]) * w;
      }
    a.out[int64_t(b) * a.oStride + int64_t(h) * HD + d] =
        toB(L > 0.f ? O / L : 0.f);
  }
}

template <int HD, bool Rope, bool Fp8>
__global__ void __launch_bounds__(kThreads)
    decodeKernel(DecodeArgs a, InvFreq<HD> freqs) {
  constexpr int LD = HD + 8;
  constexpr int kWarps = kThreads / 32;
  constexpr int half = HD / 2;
  // The query tile (16 rows), then one K and one V tile; the same bytes
  // hold the warps' partial results at the end (decodeSmemBytes sizes it
  // for both). Small on purpose: a batch's blocks stay resident together
  // and a PDL-launched neighbour still fits beside them (three tile stages,
  // 109 KiB, measured slower end to end on an H100).
  extern __shared__ uint4 attnSmem[];
  bf16 *Qs = reinterpret_cast<bf16 *>(attnSmem);
  bf16 *Ks = Qs + 16 * LD, *Vs = Ks + kBC * LD;
  __shared__ float cosS[Rope ? half : 1], sinS[Rope ? half : 1];
  __shared__ float kScS[Fp8 ? kBC : 1], vScS[Fp8 ? kBC : 1];
  __shared__ bool lastBlock;

  int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, tq = lane & 3;
  pdlLaunchDependents();

  // Before the wait (Launch.cuh) only what no kernel of this step writes:
  // positions and block tables are copied from the host ahead of the step,
  // and the cached keys and values of positions before qpos were written
  // by earlier steps. So the plan, the rope table and a first tile that
  // ends before qpos load while the previous kernel finishes.
  int64_t qpos = a.positions[b];
  SplitPlan plan = splitPlan(qpos, a.window, a.maxSeq, a.splits);
  if (split >= plan.active) {
    pdlWait();
    return;
  }
  int64_t s0 = plan.lo + split * plan.chunk;
  int64_t s1 = s0 + plan.chunk < plan.hi ? s0 + plan.chunk : plan.hi;
  int tiles = s1 > s0 ? int((s1 - s0 + kBC - 1) / kBC) : 0;
  HeadKV hkv = headKV<HD>(a, kvh, Fp8);
  // Tile t: positions s0 + 64 t on (bf16: one committed copy group).
  auto issue = [&](int t) {
    int64_t j0 = s0 + int64_t(t) * kBC;
    int n = s1 - j0 < kBC ? int(s1 - j0) : kBC;
    loadKVTile<HD, LD, Fp8>(Ks, Vs, kScS, vScS, hkv, a.kv, b, j0, n, tid);
  };
  bool first = tiles > 0 && s0 + kBC <= qpos;
  if (first)
    issue(0);

  if constexpr (Rope) {
    rope_detail::ropeTable<HD>(cosS, sinS, qpos, freqs);
    __syncthreads();
  }
  pdlWait(); // q, k, v come from the previous kernel
  // This step's key and value go into the cache before any block reads
  // position qpos; only the last active split reads it, and it writes it.
  if (a.newK && split == plan.active - 1 && qpos >= 0 && qpos < a.maxSeq) {
    const bf16 *kr = a.newK + int64_t(b) * a.kvStride + int64_t(kvh) * HD;
    const bf16 *vr = a.newV + int64_t(b) * a.kvStride + int64_t(kvh) * HD;
    int64_t at = a.kv.at(b, qpos);
    if constexpr (Fp8) {
      // Warp 0 quantizes the (rotated) key and the value, one head vector
      // each.
      if (warp == 0) {
        uint8_t *kc = static_cast<uint8_t *>(a.k) +
                      int64_t(kvh) * a.kvHeadStride + at;
        uint8_t *vc = static_cast<uint8_t *>(a.v) +
                      int64_t(kvh) * a.kvHeadStride + at;
        int64_t si = (int64_t(kvh) * a.kvHeadStride + at) / HD;
        storeFp8Head<HD>(vc, a.vScale + si, vr, lane);
        if constexpr (Rope) {
          int col = lane * 8;
          uint4 p1 = make_uint4(0, 0, 0, 0), p2 = p1;
          if (col < half) {
            p1 = *reinterpret_cast<const uint4 *>(kr + col);
            p2 = *reinterpret_cast<const uint4 *>(kr + half + col);
            rope_detail::ropeRotate8(p1, p2, cosS, sinS, col);
          }
          float s = fp8HeadScale(fmaxf(absMax8(p1), absMax8(p2)));
          if (col < half) {
            *reinterpret_cast<uint2 *>(kc + col) = bf16x8ToE4M3(p1, s);
            *reinterpret_cast<uint2 *>(kc + half + col) = bf16x8ToE4M3(p2, s);
          }
          if (lane == 0)
            a.kScale[si] = s;
        } else {
          storeFp8Head<HD>(kc, a.kScale + si, kr, lane);
        }
      }
    } else {
      bf16 *kBase = static_cast<bf16 *>(a.k) + int64_t(kvh) * a.kvHeadStride;
      bf16 *vBase = static_cast<bf16 *>(a.v) + int64_t(kvh) * a.kvHeadStride;
      for (int c = tid; c < HD / 8; c += kThreads) {
        int col = c * 8;
        reinterpret_cast<uint4 *>(vBase + at)[c] =
            reinterpret_cast<const uint4 *>(vr)[c];
        if constexpr (Rope) {
          if (col < half) {
            uint4 p1 = *reinterpret_cast<const uint4 *>(kr + col);
            uint4 p2 = *reinterpret_cast<const uint4 *>(kr + half + col);
            rope_detail::ropeRotate8(p1, p2, cosS, sinS, col);
            *reinterpret_cast<uint4 *>(kBase + at + col) = p1;
            *reinterpret_cast<uint4 *>(kBase + at + half + col) = p2;
          }
        } else {
          reinterpret_cast<uint4 *>(kBase + at)[c] =
              reinterpret_cast<const uint4 *>(kr)[c];
        }
      }
    }
    __syncthreads(); // the tile loads below read what was just written
  }
  // Otherwise the first tile's loads run while the query is read and
  // rotated.
  if (tiles > 0 && !first)
    issue(0);

  // Query rows: the group's heads (rotated for Rope); rows past the group
  // are zero.
  const bf16 *qb =
      a.q + int64_t(b) * a.qStride + int64_t(kvh) * a.group * HD;
  if constexpr (Rope) {
    for (int c = tid; c < 16 * half / 8; c += kThreads) {
      int row = c / (half / 8), col = (c % (half / 8)) * 8;
      uint4 p1 = make_uint4(0, 0, 0, 0), p2 = p1;
      if (row < a.group) {
        p1 = *reinterpret_cast<const uint4 *>(qb + row * HD + col);
        p2 = *reinterpret_cast<const uint4 *>(qb + row * HD + half + col);
        rope_detail::ropeRotate8(p1, p2, cosS, sinS, col);
      }
      *reinterpret_cast<uint4 *>(&Qs[row * LD + col]) = p1;
      *reinterpret_cast<uint4 *>(&Qs[row * LD + half + col]) = p2;
    }
  } else {
    for (int c = tid; c < 16 * HD / 8; c += kThreads) {
      int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
      uint4 val = make_uint4(0, 0, 0, 0);
      if (row < a.group)
        val = *reinterpret_cast<const uint4 *>(qb + row * HD + col);
      *reinterpret_cast<uint4 *>(&Qs[row * LD + col]) = val;
    }
  }
  __syncthreads();
  uint32_t qf[HD / 16][4];
  loadQ<HD, LD>(qf, Qs, 0, lane);

  RowState<HD> st;
  int kw = warp * 16; // this warp's 16 keys of each tile

  for (int t = 0; t < tiles; ++t) {
    int64_t j0 = s0 + int64_t(t) * kBC;
    int n = s1 - j0 < kBC ? int(s1 - j0) : kBC;
    // Consecutive positions of one head are contiguous in the cache (in a
    // block, when paged): runs of 64 (block size) * HD * 2 bytes, read
    // coalesced.
    cpAsyncWait<0>();
    __syncthreads();
    if (kw < n) {
      float s[2][4];
      scores<HD, LD, 2>(s, qf, Ks, kw, lane);
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          int key = kw + nt * 8 + 2 * tq + (e & 1);
          bool ok = key < n;
          float sc = Fp8 ? a.scaleLog2 * kScS[key] : a.scaleLog2;
          s[nt][e] = ok ? s[nt][e] * sc : -INFINITY;
        }
      softmaxUpdate<HD, 2>(s, st);
      if constexpr (Fp8)
        scaleByV<2>(s, vScS, kw, tq);
      accumulatePV<HD, LD>(st, s[0], s[1], Vs, kw, lane);
    }
    __syncthreads(); // the tile's bytes are free for the next
    if (t + 1 < tiles)
      issue(t + 1);
  }
  if (tiles == 0)
    __syncthreads(); // the merge below reuses the query tile's bytes

  // Merge the warps.
  float *Os = reinterpret_cast<float *>(attnSmem); // [warps][16][HD]
  float *Ms = Os + kWarps * 16 * HD;               // [warps][16]
  float *Ls = Ms + kWarps * 16;
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    int row = g + 8 * i;
    float l = quadSum(st.l[i]);
#pragma unroll
    for (int dt = 0; dt < HD / 8; ++dt) {
      Os[(warp * 16 + row) * HD + dt * 8 + 2 * tq] = st.o[dt][2 * i];
      Os[(warp * 16 + row) * HD + dt * 8 + 2 * tq + 1] = st.o[dt][2 * i + 1];
    }
    if (tq == 0) {
      Ms[warp * 16 + row] = st.m[i];
      Ls[warp * 16 + row] = l;
    }
  }
  __syncthreads();
  for (int i = tid; i < a.group * HD; i += kThreads) {
    int row = i / HD, d = i % HD;
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
      M = fmaxf(M, Ms[w * 16 + row]);
    float L = 0.f, O = 0.f;
    if (M != -INFINITY)
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        float f = exp2f(Ms[w * 16 + row] - M);
        L += Ls[w * 16 + row] * f;
        O += Os[(w * 16 + row) * HD + d] * f;
      }
    int h = kvh * a.group + row;
    if (plan.active == 1) {
      a.out[int64_t(b) * a.oStride + int64_t(h) * HD + d] =
          toB(L > 0.f ? O / L : 0.f);
    } else {
      int64_t idx = (int64_t(b) * a.heads + h) * a.splits + split;
      a.partO[idx * HD + d] = O;
      if (d == 0)
        a.partML[idx] = make_float2(M, L);
    }
  }
  if (plan.active == 1 || !a.counters)
    return;
  // The last split of (b, kvh) to get here merges; the fence orders this
  // block's partials before its count, and the reader's after it.
  __threadfence();
  __syncthreads();
  unsigned *counter = a.counters + int64_t(b) * gridDim.y + kvh;
  if (tid == 0)
    lastBlock = atomicAdd(counter, 1u) == unsigned(plan.active - 1);
  __syncthreads();
  if (!lastBlock)
    return;
  __threadfence();
  mergeSplits<HD>(a, b, kvh, plan.active);
  if (tid == 0)
    *counter = 0;
}

/// The merge as its own launch, for ranks beyond the counters' range.
template <int HD> __global__ void decodeMergeKernel(DecodeArgs a) {
  pdlLaunchDependents();
  pdlWait();
  int kvh = blockIdx.x, b = blockIdx.y;
  SplitPlan plan = splitPlan(a.positions[b], a.window, a.maxSeq, a.splits);
  if (plan.active > 1)
    mergeSplits<HD>(a, b, kvh, plan.active);
}

//===----------------------------------------------------------------------===//
// Cache write
//===----------------------------------------------------------------------===//

__global__ void cacheWriteKernel(bf16 *kc, bf16 *vc, const bf16 *k,
                                 const bf16 *v, int64_t kvCols,
                                 int64_t kvStride, int headDim,
                                 const int64_t *positions, int64_t seq,
                                 int64_t kvHeadStride, KVAddr kv,
                                 int64_t maxSeq, const int32_t *tokenSeq) {
  // tokenSeq: each row's sequence (varlen steps); nullptr: seq rows each.
  int64_t t = blockIdx.x, b = tokenSeq ? tokenSeq[t] : t / seq;
  int64_t pos = positions[t];
  if (pos < 0 || pos >= maxSeq)
    return;
  int64_t at = kv.at(int(b), pos);
  for (int64_t i = threadIdx.x; i < kvCols / 8; i += blockDim.x) {
    int64_t h = i * 8 / headDim, d = i * 8 % headDim;
    int64_t dst = at + h * kvHeadStride + d;
    *reinterpret_cast<uint4 *>(kc + dst) =
        reinterpret_cast<const uint4 *>(k + t * kvStride)[i];
    *reinterpret_cast<uint4 *>(vc + dst) =
        reinterpret_cast<const uint4 *>(v + t * kvStride)[i];
  }
}

/// cacheWriteKernel for an FP8 cache: each warp quantizes head vectors of
/// the block's token.
template <int HD>
__global__ void cacheWriteFp8Kernel(uint8_t *kc, uint8_t *vc, float *ks,
                                    float *vs, const bf16 *k, const bf16 *v,
                                    int64_t kvCols, int64_t kvStride,
                                    const int64_t *positions,
                                    int64_t seq, int64_t kvHeadStride,
                                    KVAddr kv, int64_t maxSeq,
                                    const int32_t *tokenSeq) {
  int64_t t = blockIdx.x, b = tokenSeq ? tokenSeq[t] : t / seq;
  int64_t pos = positions[t];
  if (pos < 0 || pos >= maxSeq)
    return;
  int64_t at = kv.at(int(b), pos);
  int lane = threadIdx.x & 31;
  for (int64_t h = threadIdx.x >> 5; h < kvCols / HD; h += blockDim.x >> 5) {
    int64_t dst = at + h * kvHeadStride;
    storeFp8Head<HD>(kc + dst, ks + dst / HD, k + t * kvStride + h * HD, lane);
    storeFp8Head<HD>(vc + dst, vs + dst / HD, v + t * kvStride + h * HD, lane);
  }
}

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

/// mma.sync: the stages' padded K/V tiles. wgmma: Q and two stages of
/// swizzled K/V tiles, plus the 1024-byte alignment.
template <int HD, bool Wg = false> constexpr int prefillSmemBytes() {
  if constexpr (Wg)
    return (kBR * HD + 2 * 2 * kBC * HD) * 2 + 1024;
  return kPrefillStages<HD> * 2 * kBC * (HD + 8) * 2;
}
template <int HD> constexpr int decodeSmemBytes() {
  constexpr int tiles = (16 + 2 * kBC) * (HD + 8) * 2;
  constexpr int merge = (kThreads / 32) * 16 * (HD + 2) * 4;
  return tiles > merge ? tiles : merge;
}

/// Launch with `bytes` of dynamic shared memory, raising the kernel's limit
/// once when that is past the default 48 KiB (head dims above 128).
template <class Kernel> void allowSmem(Kernel kernel, int bytes) {
  if (bytes > 48 * 1024)
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         bytes);
}

/// This rank's range of gDecodeCounters for `need` counters, or nullptr
/// when the ranks of this process would not fit.
inline unsigned *decodeCounters(Rank &r, int64_t need) {
  static unsigned *base = [] {
    void *p = nullptr;
    if (cudaGetSymbolAddress(&p, gDecodeCounters) != cudaSuccess) {
      cudaGetLastError();
      return static_cast<unsigned *>(nullptr);
    }
    return static_cast<unsigned *>(p);
  }();
  int64_t first = int64_t(r.rank()) * need;
  if (!base || first + need > kDecodeCounterSlots)
    return nullptr;
  return base + first;
}

/// Shape checks shared by attention and ropeAttention.
template <int HD>
void checkAttention(Rank &r, const char *op, Act out, Act q, Act k, Act v,
                    const Step &s, const AttentionParams &p, int group) {
  static_assert(HD % 16 == 0 && HD <= 256,
                "attention needs head_dim % 16 == 0 and head_dim <= 256");
  int64_t tokens = stepTokens(s);
  if (p.heads <= 0 || p.kvHeads <= 0 || group <= 0 ||
      p.heads != p.kvHeads * group)
    failf(r, op, "%d heads are not %d kv heads x group %d", p.heads, p.kvHeads,
          group);
  if (q.rows != tokens || out.rows != tokens || k.rows != tokens ||
      v.rows != tokens)
    failf(r, op,
          "q/k/v/out rows %lld/%lld/%lld/%lld differ from batch %lld x seq "
          "%lld",
          (long long)q.rows, (long long)k.rows, (long long)v.rows,
          (long long)out.rows, (long long)s.batch, (long long)s.seq);
  if (q.cols != int64_t(p.heads) * HD || out.cols != q.cols ||
      k.cols != int64_t(p.kvHeads) * HD || v.cols != k.cols)
    failf(r, op,
          "q [.., %lld], k [.., %lld], v [.., %lld], out [.., %lld] do not "
          "match %d heads / %d kv heads of %d",
          (long long)q.cols, (long long)k.cols, (long long)v.cols,
          (long long)out.cols, p.heads, p.kvHeads, HD);
  if (!aligned16(q.data) || !aligned16(k.data) || !aligned16(v.data) ||
      !aligned16(out.data))
    failf(r, op, "q, k, v and out must be 16-byte aligned");
  // q, k and v may be column views of one buffer (Ops.h `columns`): rows
  // of 16-byte multiples, k and v with one stride.
  if (rowStride(q) % 8 != 0 || rowStride(k) % 8 != 0 ||
      rowStride(out) % 8 != 0 || rowStride(k) != rowStride(v))
    failf(r, op,
          "row strides q %lld, k %lld, v %lld, out %lld: each a multiple of "
          "8 elements, k's equal to v's",
          (long long)rowStride(q), (long long)rowStride(k),
          (long long)rowStride(v), (long long)rowStride(out));
}

/// The cache view of p.cacheSlot for this call's rows, checked.
template <int HD>
CacheView checkedCache(Rank &r, const char *op, const Step &s,
                       const AttentionParams &p) {
  CacheView c = r.cache(p.cacheSlot);
  if (!c.k || !c.v)
    failf(r, op, "this rank holds no KV cache slot %d", p.cacheSlot);
  if (c.fp8 && (!c.kScale || !c.vScale))
    failf(r, op, "FP8 cache slot %d has no scales", p.cacheSlot);
  if (c.kvHeads != p.kvHeads || c.headDim != HD)
    failf(r, op,
          "cache slot %d holds %lld kv heads of %lld, the layer has %d of %d",
          p.cacheSlot, (long long)c.kvHeads, (long long)c.headDim, p.kvHeads,
          HD);
  if (s.cacheRow < 0 || s.cacheRow + s.batch > c.maxBatch)
    failf(r, op, "batch rows [%lld, %lld) are outside the cache's %lld rows",
          (long long)s.cacheRow, (long long)(s.cacheRow + s.batch),
          (long long)c.maxBatch);
  if ((s.blockTables != nullptr) != (c.blockSize > 0))
    failf(r, op,
          "the step %s block tables but cache slot %d is %s (block size "
          "%lld)",
          s.blockTables ? "has" : "has no", p.cacheSlot,
          c.blockSize > 0 ? "paged" : "contiguous", (long long)c.blockSize);
  if (s.blockTables && s.blockTableStride * c.blockSize < c.maxSeq)
    failf(r, op,
          "block tables of %lld blocks of %lld tokens do not cover the "
          "cache's %lld positions",
          (long long)s.blockTableStride, (long long)c.blockSize,
          (long long)c.maxSeq);
  return c;
}

/// Addressing of cache `c` for this call's rows; `base` is the offset of
/// its first row (contiguous) and `headStride` the stride of kv heads.
template <int HD>
KVAddr cacheAddr(const CacheView &c, const Step &s, int64_t &base,
                 int64_t &headStride) {
  KVAddr a;
  a.rowStride = HD;
  if (c.blockSize > 0) {
    headStride = c.blockSize * HD;
    a.table = s.blockTables + s.cacheRow * s.blockTableStride;
    a.tableStride = s.blockTableStride;
    a.blockSize = c.blockSize;
    a.blockStride = c.kvHeads * headStride;
    base = 0;
  } else {
    headStride = c.maxSeq * HD;
    a.batchStride = c.kvHeads * headStride;
    base = s.cacheRow * a.batchStride;
  }
  return a;
}

/// The cache of slot view `c` from element offset `base` on: values or
/// codes, and (FP8) their scales.
struct CacheBase {
  void *k, *v;
  float *kScale, *vScale;
};
template <int HD> CacheBase cacheBase(const CacheView &c, int64_t base) {
  int64_t bytes = c.fp8 ? 1 : 2;
  CacheBase cb;
  cb.k = static_cast<char *>(c.k) + base * bytes;
  cb.v = static_cast<char *>(c.v) + base * bytes;
  cb.kScale = c.fp8 ? c.kScale + base / HD : nullptr;
  cb.vScale = c.fp8 ? c.vScale + base / HD : nullptr;
  return cb;
}

template <int HD, bool Rope, bool Fp8>
void launchDecodeKernel(Rank &r, dim3 grid, const DecodeArgs &da,
                        const InvFreq<HD> &f) {
  constexpr int smem = decodeSmemBytes<HD>();
  static const bool once =
      (allowSmem(decodeKernel<HD, Rope, Fp8>, smem), true);
  (void)once;
  launchPdl(r, "attention decode", decodeKernel<HD, Rope, Fp8>, grid,
            dim3(kThreads), smem, da, f);
}

constexpr bool kFp8CacheKernels = LLMC_KV_CACHE_BOTH || LLMC_KV_CACHE_FP8;
constexpr bool kBf16CacheKernels = LLMC_KV_CACHE_BOTH || !LLMC_KV_CACHE_FP8;

/// Calls f(std::true_type) for an FP8 cache, f(std::false_type) for a bf16
/// one, instantiating only what this translation unit has kernels for.
template <class F>
void withCacheType(Rank &r, const char *op, bool fp8, F &&f) {
  if (fp8) {
    if constexpr (kFp8CacheKernels)
      f(std::true_type{});
    else
      failf(r, op, "the KV cache is FP8 but this model was compiled for a "
                   "bf16 cache");
  } else {
    if constexpr (kBf16CacheKernels)
      f(std::false_type{});
    else
      failf(r, op, "the KV cache is bf16 but this model was compiled for an "
                   "FP8 cache");
  }
}

/// The one-launch decode: cache write, split-K attention over the cache,
/// last-block merge (plus RoPE of q and k when `freqs`).
template <int HD>
void launchDecode(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
                  const AttentionParams &p, int group, CacheView c,
                  const InvFreq<HD> *freqs) {
  float scale = p.scale > 0.f ? p.scale : float(1.0 / std::sqrt(double(HD)));
  int64_t base = 0, headStride = 0;
  KVAddr kv = cacheAddr<HD>(c, s, base, headStride);
  DecodeArgs da;
  da.q = static_cast<const bf16 *>(q.data);
  da.qStride = rowStride(q);
  da.out = static_cast<bf16 *>(out.data);
  da.oStride = rowStride(out);
  CacheBase cb = cacheBase<HD>(c, base);
  da.k = cb.k;
  da.v = cb.v;
  da.kScale = cb.kScale;
  da.vScale = cb.vScale;
  da.kvHeadStride = headStride;
  da.kv = kv;
  da.positions = s.positions;
  da.heads = p.heads;
  da.group = group;
  da.window = p.window;
  da.scaleLog2 = scale * float(M_LOG2E);
  da.maxSeq = c.maxSeq;
  da.newK = static_cast<const bf16 *>(k.data);
  da.newV = static_cast<const bf16 *>(v.data);
  da.kvStride = rowStride(k);
  // Cost rule: enough blocks for ~2 per SM (the launch policy's
  // decodeAttentionBlocksPerSm), never more splits than 64-key
  // tiles in the cache (or the window); on the device each row then uses
  // only the splits its actual context fills (whole tiles), so a short
  // context costs a few blocks and a merge over a few partials.
  int64_t span = p.window > 0 && p.window < c.maxSeq ? p.window : c.maxSeq;
  int64_t perSplit = s.batch * p.kvHeads;
  int64_t splits =
      (int64_t(decodeAttentionBlocksPerSm()) * smCount() + perSplit - 1) /
      perSplit;
  int64_t maxSplits = (span + kBC - 1) / kBC;
  splits = splits > maxSplits ? maxSplits : splits;
  splits = splits < 1 ? 1
                      : (splits > kMaxDecodeSplits ? kMaxDecodeSplits : splits);
  da.splits = int(splits);
  da.partO = nullptr;
  da.partML = nullptr;
  da.counters = nullptr;
  if (splits > 1) {
    da.partO = scratch<float>(r, s.batch * p.heads * splits * HD);
    da.partML = scratch<float2>(r, s.batch * p.heads * splits);
    da.counters = decodeCounters(r, c.maxBatch * c.kvHeads);
  }
  InvFreq<HD> f{};
  if (freqs)
    f = *freqs;
  dim3 grid(unsigned(splits), unsigned(p.kvHeads), unsigned(s.batch));
  withCacheType(r, "attention decode", c.fp8, [&](auto fp8) {
    constexpr bool Fp8 = decltype(fp8)::value;
    if (freqs)
      launchDecodeKernel<HD, true, Fp8>(r, grid, da, f);
    else
      launchDecodeKernel<HD, false, Fp8>(r, grid, da, f);
  });
  checkLaunch(r, "attention decode");
  if (splits > 1 && !da.counters) {
    launchPdl(r, "attention decode merge", decodeMergeKernel<HD>,
              dim3(unsigned(p.kvHeads), unsigned(s.batch)), dim3(kThreads), 0,
              da);
    checkLaunch(r, "attention decode merge");
  }
}

template <int HD, bool Fp8>
void launchPrefillKernel(Rank &r, dim3 grid, const PrefillArgs &pa) {
  if constexpr (kWgmmaPrefillHD<HD>)
    if (wgmmaPrefill()) {
      constexpr int smem = prefillSmemBytes<HD, true>();
      static const bool once =
          (allowSmem(prefillKernel<HD, Fp8, true>, smem), true);
      (void)once;
      prefillKernel<HD, Fp8, true><<<grid, kThreads, smem, r.stream()>>>(pa);
      return;
    }
  constexpr int smem = prefillSmemBytes<HD>();
  static const bool once = (allowSmem(prefillKernel<HD, Fp8>, smem), true);
  (void)once;
  prefillKernel<HD, Fp8><<<grid, kThreads, smem, r.stream()>>>(pa);
}

/// The query side of the prefill kernel's arguments for this call.
template <int HD>
PrefillArgs prefillArgs(Act out, Act q, const Step &s,
                        const AttentionParams &p, int group) {
  float scale = p.scale > 0.f ? p.scale : float(1.0 / std::sqrt(double(HD)));
  PrefillArgs pa;
  pa.q = static_cast<const bf16 *>(q.data);
  pa.qStride = rowStride(q);
  pa.out = static_cast<bf16 *>(out.data);
  pa.oStride = rowStride(out);
  pa.positions = s.positions;
  pa.seq = int(s.seq);
  pa.group = group;
  pa.window = p.window;
  pa.scaleLog2 = scale * float(M_LOG2E);
  return pa;
}

/// The prefill kernel over `sequences` of up to `longest` rows each.
template <int HD>
void launchPrefill(Rank &r, const PrefillArgs &pa, int64_t longest,
                   int heads, int64_t sequences, const char *what) {
  dim3 grid(unsigned(heads), unsigned((longest + kBR - 1) / kBR),
            unsigned(sequences));
  if (!pa.cache)
    launchPrefillKernel<HD, false>(r, grid, pa);
  else
    withCacheType(r, what, pa.fp8, [&](auto fp8) {
      launchPrefillKernel<HD, decltype(fp8)::value>(r, grid, pa);
    });
  checkLaunch(r, what);
}

/// Points the prefill kernel's keys at the cache `c` (from `cb` on).
inline void cacheKeys(PrefillArgs &pa, const CacheView &c, const CacheBase &cb,
                      int64_t headStride, const KVAddr &kv) {
  pa.k = cb.k;
  pa.v = cb.v;
  pa.kScale = cb.kScale;
  pa.vScale = cb.vScale;
  pa.fp8 = c.fp8;
  pa.kvHeadStride = headStride;
  pa.kv = kv;
  pa.cache = true;
  pa.maxSeq = c.maxSeq;
}

/// Writes `tokens` rows of k/v into the cache from `cb` on (bf16 values or
/// FP8 codes with their scales); tokenSeq as cacheWriteKernel's.
template <int HD>
void launchCacheWrite(Rank &r, const char *op, bool fp8, const CacheBase &cb,
                      Act k, Act v, const int64_t *positions, int64_t seq,
                      int64_t headStride, KVAddr kv, int64_t maxSeq,
                      int64_t tokens, const int32_t *tokenSeq) {
  const bf16 *kn = static_cast<const bf16 *>(k.data);
  const bf16 *vn = static_cast<const bf16 *>(v.data);
  withCacheType(r, op, fp8, [&](auto isFp8) {
    if constexpr (decltype(isFp8)::value)
      cacheWriteFp8Kernel<HD><<<tokens, 128, 0, r.stream()>>>(
          static_cast<uint8_t *>(cb.k), static_cast<uint8_t *>(cb.v),
          cb.kScale, cb.vScale, kn, vn, k.cols, rowStride(k), positions, seq,
          headStride, kv, maxSeq, tokenSeq);
    else
      cacheWriteKernel<<<tokens, 128, 0, r.stream()>>>(
          static_cast<bf16 *>(cb.k), static_cast<bf16 *>(cb.v), kn, vn,
          k.cols, rowStride(k), HD, positions, seq, headStride, kv, maxSeq,
          tokenSeq);
  });
}

/// A varlen step (Step::queryStart, serving's one flat call): every row's
/// k/v into the paged cache first, then the first `decodeRows` sequences
/// (one query each) through the split-K decode kernel and the prefill
/// chunks after them through the prefill kernel, each chunk's rows causal
/// from its first position over the keys its block table reaches.
template <int HD>
void launchVarlen(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
                  const AttentionParams &p, int group, CacheView c) {
  const char *op = "attention (varlen)";
  if (c.blockSize <= 0 || !s.blockTables || !s.tokenSeq)
    failf(r, op, "a varlen step needs block tables and tokenSeq");
  if (s.decodeRows < 0 || s.decodeRows > s.batch || s.seq <= 0)
    failf(r, op, "%lld decode rows of %lld sequences (longest %lld rows)",
          (long long)s.decodeRows, (long long)s.batch, (long long)s.seq);
  int64_t base = 0, headStride = 0;
  KVAddr kv = cacheAddr<HD>(c, s, base, headStride);
  CacheBase cb = cacheBase<HD>(c, base);
  launchCacheWrite<HD>(r, op, c.fp8, cb, k, v, s.positions, 1, headStride,
                       kv, c.maxSeq, stepTokens(s), s.tokenSeq);
  checkLaunch(r, "attention cache write (varlen)");
  int64_t first = 0;
  if (s.decodeRows > 0 && group <= kMaxDecodeGroup) {
    // Rows [0, decodeRows) are one query per sequence: a decode call whose
    // k/v are already in the cache.
    Step d = s;
    d.batch = s.decodeRows;
    d.seq = 1;
    d.queryStart = nullptr;
    d.tokenSeq = nullptr;
    d.tokens = 0;
    launchDecode<HD>(r, out, q, Act{}, Act{}, d, p, group, c, nullptr);
    first = s.decodeRows;
  }
  if (first == s.batch)
    return;
  PrefillArgs pa = prefillArgs<HD>(out, q, s, p, group);
  cacheKeys(pa, c, cb, headStride, kv);
  pa.qStart = s.queryStart;
  pa.seqBase = int(first);
  launchPrefill<HD>(r, pa, s.seq, p.heads, s.batch - first,
                    "attention prefill (varlen)");
}

template <int HD>
void attentionImpl(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
                   const AttentionParams &p, bool useCache, int group) {
  const char *op = "attention";
  checkAttention<HD>(r, op, out, q, k, v, s, p, group);
  int64_t tokens = stepTokens(s);
  if (tokens == 0)
    return;
  if (s.queryStart) {
    if (!useCache)
      failf(r, op, "a varlen step (queryStart) needs the paged KV cache");
    launchVarlen<HD>(r, out, q, k, v, s, p, group,
                     checkedCache<HD>(r, op, s, p));
    return;
  }
  PrefillArgs pa = prefillArgs<HD>(out, q, s, p, group);

  if (useCache) {
    CacheView c = checkedCache<HD>(r, op, s, p);
    if (s.seq == 1 && group <= kMaxDecodeGroup) {
      launchDecode<HD>(r, out, q, k, v, s, p, group, c, nullptr);
      return;
    }
    int64_t base = 0, headStride = 0;
    KVAddr kv = cacheAddr<HD>(c, s, base, headStride);
    CacheBase cb = cacheBase<HD>(c, base);
    launchCacheWrite<HD>(r, op, c.fp8, cb, k, v, s.positions, s.seq,
                         headStride, kv, c.maxSeq, tokens, nullptr);
    checkLaunch(r, "attention cache write");
    cacheKeys(pa, c, cb, headStride, kv);
  } else {
    pa.k = k.data;
    pa.v = v.data;
    pa.kScale = pa.vScale = nullptr;
    pa.fp8 = false;
    pa.kvHeadStride = HD;
    pa.kv.rowStride = rowStride(k);
    pa.kv.batchStride = s.seq * rowStride(k);
    pa.cache = false;
    pa.maxSeq = 0;
  }
  launchPrefill<HD>(r, pa, s.seq, p.heads, s.batch, "attention prefill");
}

} // namespace attention_detail

template <int HeadDim, int Group>
void attention(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
               const AttentionParams &p, bool useCache) {
  // Group only selects the instantiation: the kernels take it at run time
  // (the decode kernel pads any group up to 16 rows), so every group size
  // costs one thin wrapper, not one kernel per size.
  attention_detail::attentionImpl<HeadDim>(r, out, q, k, v, s, p, useCache,
                                           Group);
}

template <int HeadDim, int Group>
void ropeAttention(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
                   const RopeParams &rope, const AttentionParams &p,
                   bool useCache) {
  using namespace attention_detail;
  if (useCache && s.seq == 1 && Group <= kMaxDecodeGroup) {
    checkAttention<HeadDim>(r, "ropeAttention", out, q, k, v, s, p, Group);
    if (s.batch == 0)
      return;
    CacheView c = checkedCache<HeadDim>(r, "ropeAttention", s, p);
    launchDecode<HeadDim>(
        r, out, q, k, v, s, p, Group, c,
        &rope_detail::cachedInverseFrequencies<HeadDim>(rope));
    return;
  }
  llmc::rt::rope<HeadDim>(r, q, s, rope, p.heads);
  llmc::rt::rope<HeadDim>(r, k, s, rope, p.kvHeads);
  attentionImpl<HeadDim>(r, out, q, k, v, s, p, useCache, Group);
}

} // namespace llmc::rt

#endif // LLMC_RUNTIME_KERNELS_ATTENTION_CUH
