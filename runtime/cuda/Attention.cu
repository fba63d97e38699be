//===- Attention.cu - causal GQA attention: prefill and KV-cache decode ---===//
//
// Both kernels are flash-attention style on bf16 tensor cores (mma.sync
// m16n8k16, fp32 accumulators): a warp owns 16 query rows, scores and the
// running output stay in registers, softmax is online in the exp2 domain,
// and probabilities go back into the tensor cores as bf16 A fragments
// without touching shared memory (the C layout of two n8 tiles is the A
// layout of one k16 step).
//
// Prefill: a block is 64 query rows of one head (4 warps x 16) streaming
// 64-key K/V tiles through shared memory. Keys come either from this call's
// k/v (no cache) or from the cache after this call's keys were written
// there, so chunked prefill and prompts after a prefix work the same way.
//
// Decode (one query per sequence, with a cache): a warp's 16 rows are the
// query heads sharing one kv head, so each K/V byte is read once per group,
// not once per head. Blocks split the cached positions (flash-decoding):
// grid = splits x kv heads x batch, the split count chosen on the host from
// the SM count and the cache capacity, the split boundaries on the device
// from the query's actual position, so the launch is graph-capturable and
// balanced at any length. Inside a block the 4 warps take 16 keys each of
// every 64-key tile and merge their (max, sum, output) at the end; a second
// kernel merges the splits.
//
// Masking is by position: key at position kp is visible to a query at qp
// when kp <= qp and, with a window w, kp > qp - w (Mistral / Qwen2 sliding
// window, as in the CPU reference).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Common.cuh"
#include "runtime/cuda/Mma.cuh"

#include <climits>
#include <cmath>

namespace llmc::rt {

using namespace cuda;

namespace {

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
/// the K tile.
template <int HD, int LD, int NT>
__device__ __forceinline__ void scores(float (&s)[NT][4],
                                       const uint32_t (&qf)[HD / 16][4],
                                       const bf16 *Ks, int key0, int lane) {
  int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
    // Rows padded by 8 elements: the 8 rows x 4 words of a B fragment land
    // in 32 distinct banks.
    const bf16 *kr = Ks + (key0 + nt * 8 + g) * LD + 2 * tq;
#pragma unroll
    for (int kc = 0; kc < HD / 16; ++kc) {
      uint32_t b0 = *reinterpret_cast<const uint32_t *>(kr + kc * 16);
      uint32_t b1 = *reinterpret_cast<const uint32_t *>(kr + kc * 16 + 8);
      mma16816(s[nt], qf[kc], b0, b1);
    }
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

//===----------------------------------------------------------------------===//
// Prefill
//===----------------------------------------------------------------------===//

struct PrefillArgs {
  const bf16 *q;
  int64_t qStride;
  bf16 *out;
  int64_t oStride;
  /// Keys of batch row b, kv head h, index j at
  /// k + b * kvBatchStride + h * kvHeadStride + j * kvRowStride.
  const bf16 *k, *v;
  int64_t kvRowStride, kvHeadStride, kvBatchStride;
  const int64_t *positions;
  int seq, group;
  int64_t window;
  float scaleLog2;
  /// Keys from the cache: key index j is position j, up to maxSeq.
  bool cache;
  int64_t maxSeq;
};

template <int HD>
__global__ void __launch_bounds__(kThreads) prefillKernel(PrefillArgs a) {
  constexpr int LD = HD + 8;
  __shared__ alignas(16) bf16 Ks[kBC * LD];
  __shared__ alignas(16) bf16 Vs[kBC * LD];
  __shared__ int64_t kposS[kBC];
  __shared__ int64_t qRange[2][kThreads / 32];

  int b = blockIdx.z, h = blockIdx.y, t0 = blockIdx.x * kBR;
  int kvh = h / a.group;
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, tq = lane & 3;
  const int64_t *pos = a.positions + int64_t(b) * a.seq;

  // Q tile through the K buffer into registers.
  for (int c = tid; c < kBR * HD / 8; c += kThreads) {
    int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
    int t = t0 + row;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (t < a.seq)
      val = *reinterpret_cast<const uint4 *>(
          a.q + (int64_t(b) * a.seq + t) * a.qStride + int64_t(h) * HD + col);
    *reinterpret_cast<uint4 *>(&Ks[row * LD + col]) = val;
  }
  __syncthreads();
  uint32_t qf[HD / 16][4];
  loadQ<HD, LD>(qf, Ks, warp * 16, lane);

  int r0 = t0 + warp * 16 + g, r1 = r0 + 8;
  // Rows past the sequence get position -1: no key is visible to them.
  int64_t qp[2] = {r0 < a.seq ? pos[r0] : -1, r1 < a.seq ? pos[r1] : -1};
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
    jEnd = t0 + kBR < a.seq ? t0 + kBR : a.seq;
  }

  const bf16 *kBase =
      a.k + int64_t(b) * a.kvBatchStride + int64_t(kvh) * a.kvHeadStride;
  const bf16 *vBase =
      a.v + int64_t(b) * a.kvBatchStride + int64_t(kvh) * a.kvHeadStride;
  RowState<HD> st;

  for (int64_t j0 = jBegin; j0 < jEnd; j0 += kBC) {
    int n = jEnd - j0 < kBC ? int(jEnd - j0) : kBC;
    if (!a.cache && a.window > 0 && pos[j0 + n - 1] <= bmin - a.window)
      continue; // the whole tile fell out of every row's window
    for (int c = tid; c < kBC * HD / 8; c += kThreads) {
      int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
      bool valid = row < n;
      int64_t off = (j0 + (valid ? row : 0)) * a.kvRowStride + col;
      cpAsync16(&Ks[row * LD + col], kBase + off, valid);
      cpAsync16(&Vs[row * LD + col], vBase + off, valid);
    }
    cpAsyncCommit();
    for (int c = tid; c < kBC; c += kThreads)
      kposS[c] = c < n ? (a.cache ? j0 + c : pos[j0 + c]) : LLONG_MAX;
    cpAsyncWait<0>();
    __syncthreads();

    int64_t tileMin = kposS[0], tileMax = kposS[n - 1];
    bool skip = wmax < 0 || tileMin > wmax ||
                (a.window > 0 && tileMax <= wmin - a.window);
    if (!skip) {
      float s[kBC / 8][4];
      scores<HD, LD, kBC / 8>(s, qf, Ks, 0, lane);
#pragma unroll
      for (int nt = 0; nt < kBC / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          int64_t kp = kposS[nt * 8 + 2 * tq + (e & 1)];
          int64_t q = qp[e >> 1];
          bool ok = kp <= q && (a.window <= 0 || kp > q - a.window);
          s[nt][e] = ok ? s[nt][e] * a.scaleLog2 : -INFINITY;
        }
      softmaxUpdate<HD, kBC / 8>(s, st);
#pragma unroll
      for (int kk = 0; kk < kBC / 16; ++kk)
        accumulatePV<HD, LD>(st, s[2 * kk], s[2 * kk + 1], Vs, kk * 16, lane);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    int r = i == 0 ? r0 : r1;
    float l = quadSum(st.l[i]); // all lanes: the shuffle needs the full warp
    if (r >= a.seq)
      continue;
    float inv = l > 0.f ? 1.f / l : 0.f;
    bf16 *orow = a.out + (int64_t(b) * a.seq + r) * a.oStride + int64_t(h) * HD;
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

struct DecodeArgs {
  const bf16 *q;
  int64_t qStride;
  bf16 *out;
  int64_t oStride;
  /// Cache of this call's first batch row; position j of kv head h of row b
  /// at k + b * kvBatchStride + h * kvHeadStride + j * HD.
  const bf16 *k, *v;
  int64_t kvHeadStride, kvBatchStride;
  const int64_t *positions;
  int heads, group;
  int64_t window;
  float scaleLog2;
  int64_t maxSeq;
  int splits;
  /// splits > 1: unnormalised outputs [batch, heads, splits, HD] and their
  /// (max, sum) for the merge kernel.
  float *partO;
  float2 *partML;
};

template <int HD>
__global__ void __launch_bounds__(kThreads) decodeKernel(DecodeArgs a) {
  constexpr int LD = HD + 8;
  constexpr int kWarps = kThreads / 32;
  // K and V tiles; the same bytes hold Q at the start and the warps'
  // partial results at the end.
  __shared__ alignas(16) bf16 smem[2 * kBC * LD];
  static_assert(sizeof(smem) >= (kWarps * 16 * HD + 2 * kWarps * 16) * 4,
                "merge buffers must fit in the tile buffers");
  bf16 *Ks = smem, *Vs = smem + kBC * LD;

  int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, tq = lane & 3;

  int64_t qpos = a.positions[b];
  int64_t lo =
      a.window > 0 && qpos - a.window + 1 > 0 ? qpos - a.window + 1 : 0;
  int64_t hi = qpos + 1 < a.maxSeq ? qpos + 1 : a.maxSeq;
  int64_t len = hi - lo;
  int64_t chunk = len > 0 ? (len + a.splits - 1) / a.splits : 0;
  chunk = (chunk + kBC - 1) / kBC * kBC;
  int64_t s0 = lo + split * chunk;
  int64_t s1 = s0 + chunk < hi ? s0 + chunk : hi;

  // Query rows: the group's heads; rows past the group are zero.
  for (int c = tid; c < 16 * HD / 8; c += kThreads) {
    int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row < a.group)
      val = *reinterpret_cast<const uint4 *>(
          a.q + int64_t(b) * a.qStride + (int64_t(kvh) * a.group + row) * HD +
          col);
    *reinterpret_cast<uint4 *>(&Ks[row * LD + col]) = val;
  }
  __syncthreads();
  uint32_t qf[HD / 16][4];
  loadQ<HD, LD>(qf, Ks, 0, lane);
  __syncthreads();

  const bf16 *kBase =
      a.k + int64_t(b) * a.kvBatchStride + int64_t(kvh) * a.kvHeadStride;
  const bf16 *vBase =
      a.v + int64_t(b) * a.kvBatchStride + int64_t(kvh) * a.kvHeadStride;
  RowState<HD> st;
  int kw = warp * 16; // this warp's 16 keys of each tile

  for (int64_t j0 = s0; j0 < s1; j0 += kBC) {
    int n = s1 - j0 < kBC ? int(s1 - j0) : kBC;
    // Consecutive positions of one head are contiguous in the cache: the
    // tile is one 64 * HD * 2-byte run, read fully coalesced.
    for (int c = tid; c < kBC * HD / 8; c += kThreads) {
      int row = c / (HD / 8), col = (c % (HD / 8)) * 8;
      bool valid = row < n;
      int64_t off = (j0 + (valid ? row : 0)) * HD + col;
      cpAsync16(&Ks[row * LD + col], kBase + off, valid);
      cpAsync16(&Vs[row * LD + col], vBase + off, valid);
    }
    cpAsyncCommit();
    cpAsyncWait<0>();
    __syncthreads();
    if (kw < n) {
      float s[2][4];
      scores<HD, LD, 2>(s, qf, Ks, kw, lane);
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          bool ok = kw + nt * 8 + 2 * tq + (e & 1) < n;
          s[nt][e] = ok ? s[nt][e] * a.scaleLog2 : -INFINITY;
        }
      softmaxUpdate<HD, 2>(s, st);
      accumulatePV<HD, LD>(st, s[0], s[1], Vs, kw, lane);
    }
    __syncthreads();
  }

  // Merge the warps.
  float *Os = reinterpret_cast<float *>(smem); // [warps][16][HD]
  float *Ms = Os + kWarps * 16 * HD;           // [warps][16]
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
    if (a.splits == 1) {
      a.out[int64_t(b) * a.oStride + int64_t(h) * HD + d] =
          toB(L > 0.f ? O / L : 0.f);
    } else {
      int64_t idx = (int64_t(b) * a.heads + h) * a.splits + split;
      a.partO[idx * HD + d] = O;
      if (d == 0)
        a.partML[idx] = make_float2(M, L);
    }
  }
}

/// Merges the splits of one (batch row, head). The per-split weights are
/// computed once into shared memory by all threads in parallel, and the
/// reduction over splits keeps 8 independent loads in flight: a serial loop
/// over 64 splits would wait out 64 L2 latencies.
template <int HD>
__global__ void decodeMergeKernel(bf16 *out, int64_t oStride,
                                  const float *partO, const float2 *partML,
                                  int heads, int splits) {
  __shared__ float weight[kMaxDecodeSplits];
  __shared__ float red[32];
  int h = blockIdx.x, b = blockIdx.y;
  int tid = threadIdx.x, warps = (blockDim.x + 31) >> 5;
  int64_t base = (int64_t(b) * heads + h) * splits;
  float m = -INFINITY;
  for (int s = tid; s < splits; s += blockDim.x)
    m = fmaxf(m, partML[base + s].x);
  m = warpMax(m);
  if ((tid & 31) == 0)
    red[tid >> 5] = m;
  __syncthreads();
  float M = -INFINITY;
  for (int w = 0; w < warps; ++w)
    M = fmaxf(M, red[w]);
  float l = 0.f;
  for (int s = tid; s < splits; s += blockDim.x) {
    float2 ml = partML[base + s];
    float w = M == -INFINITY ? 0.f : exp2f(ml.x - M);
    weight[s] = w;
    l += ml.y * w;
  }
  float L = blockSum(l, red); // synchronises: weight[] is complete after it
  for (int d = tid; d < HD; d += blockDim.x) {
    float O = 0.f;
#pragma unroll 8
    for (int s = 0; s < splits; ++s)
      O += partO[(base + s) * HD + d] * weight[s];
    out[int64_t(b) * oStride + int64_t(h) * HD + d] =
        toB(L > 0.f ? O / L : 0.f);
  }
}

//===----------------------------------------------------------------------===//
// Cache write
//===----------------------------------------------------------------------===//

__global__ void cacheWriteKernel(bf16 *kc, bf16 *vc, const bf16 *k,
                                 const bf16 *v, int64_t kvCols, int headDim,
                                 const int64_t *positions, int64_t seq,
                                 int64_t kvHeadStride, int64_t kvBatchStride,
                                 int64_t maxSeq) {
  int64_t t = blockIdx.x, b = t / seq;
  int64_t pos = positions[t];
  if (pos < 0 || pos >= maxSeq)
    return;
  for (int64_t i = threadIdx.x; i < kvCols / 8; i += blockDim.x) {
    int64_t h = i * 8 / headDim, d = i * 8 % headDim;
    int64_t dst = b * kvBatchStride + h * kvHeadStride + pos * headDim + d;
    *reinterpret_cast<uint4 *>(kc + dst) =
        reinterpret_cast<const uint4 *>(k + t * kvCols)[i];
    *reinterpret_cast<uint4 *>(vc + dst) =
        reinterpret_cast<const uint4 *>(v + t * kvCols)[i];
  }
}

template <int HD>
void attentionImpl(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
                   const AttentionParams &p, bool useCache, int group) {
  static_assert(HD % 16 == 0, "attention needs head_dim % 16 == 0");
  const char *op = "attention";
  int64_t tokens = s.batch * s.seq;
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
  if (tokens == 0)
    return;
  float scale = p.scale > 0.f ? p.scale : float(1.0 / std::sqrt(double(HD)));
  float scaleLog2 = scale * float(M_LOG2E);
  auto *o = static_cast<bf16 *>(out.data);
  auto *qd = static_cast<const bf16 *>(q.data);
  auto *kd = static_cast<const bf16 *>(k.data);
  auto *vd = static_cast<const bf16 *>(v.data);

  PrefillArgs pa;
  pa.q = qd;
  pa.qStride = q.cols;
  pa.out = o;
  pa.oStride = out.cols;
  pa.positions = s.positions;
  pa.seq = int(s.seq);
  pa.group = group;
  pa.window = p.window;
  pa.scaleLog2 = scaleLog2;

  if (useCache) {
    CacheView c = r.cache(p.cacheSlot);
    if (!c.k || !c.v)
      failf(r, op, "this rank holds no KV cache slot %d", p.cacheSlot);
    if (c.kvHeads != p.kvHeads || c.headDim != HD)
      failf(r, op,
            "cache slot %d holds %lld kv heads of %lld, the layer has %d of "
            "%d",
            p.cacheSlot, (long long)c.kvHeads, (long long)c.headDim, p.kvHeads,
            HD);
    if (s.cacheRow < 0 || s.cacheRow + s.batch > c.maxBatch)
      failf(r, op, "batch rows [%lld, %lld) are outside the cache's %lld rows",
            (long long)s.cacheRow, (long long)(s.cacheRow + s.batch),
            (long long)c.maxBatch);
    int64_t headStride = c.maxSeq * HD, batchStride = c.kvHeads * headStride;
    bf16 *kc = c.k + s.cacheRow * batchStride;
    bf16 *vc = c.v + s.cacheRow * batchStride;
    cacheWriteKernel<<<tokens, 128, 0, r.stream()>>>(
        kc, vc, kd, vd, k.cols, HD, s.positions, s.seq, headStride, batchStride,
        c.maxSeq);
    checkLaunch(r, "attention cache write");

    if (s.seq == 1 && group <= kMaxDecodeGroup) {
      DecodeArgs da;
      da.q = qd;
      da.qStride = q.cols;
      da.out = o;
      da.oStride = out.cols;
      da.k = kc;
      da.v = vc;
      da.kvHeadStride = headStride;
      da.kvBatchStride = batchStride;
      da.positions = s.positions;
      da.heads = p.heads;
      da.group = group;
      da.window = p.window;
      da.scaleLog2 = scaleLog2;
      da.maxSeq = c.maxSeq;
      // Enough blocks for ~4 per SM; no more splits than 64-key tiles in
      // the cache (or the window).
      int64_t span = p.window > 0 && p.window < c.maxSeq ? p.window : c.maxSeq;
      int64_t perSplit = s.batch * p.kvHeads;
      int64_t splits = (4 * int64_t(smCount()) + perSplit - 1) / perSplit;
      int64_t maxSplits = (span + kBC - 1) / kBC;
      splits = splits > maxSplits ? maxSplits : splits;
      splits = splits < 1
                   ? 1
                   : (splits > kMaxDecodeSplits ? kMaxDecodeSplits : splits);
      da.splits = int(splits);
      da.partO = nullptr;
      da.partML = nullptr;
      if (splits > 1) {
        da.partO = scratch<float>(r, s.batch * p.heads * splits * HD);
        da.partML = scratch<float2>(r, s.batch * p.heads * splits);
      }
      dim3 grid(unsigned(splits), unsigned(p.kvHeads), unsigned(s.batch));
      decodeKernel<HD><<<grid, kThreads, 0, r.stream()>>>(da);
      checkLaunch(r, "attention decode");
      if (splits > 1) {
        decodeMergeKernel<HD>
            <<<dim3(unsigned(p.heads), unsigned(s.batch)), HD, 0, r.stream()>>>(
                o, out.cols, da.partO, da.partML, p.heads, int(splits));
        checkLaunch(r, "attention decode merge");
      }
      return;
    }
    pa.k = kc;
    pa.v = vc;
    pa.kvRowStride = HD;
    pa.kvHeadStride = headStride;
    pa.kvBatchStride = batchStride;
    pa.cache = true;
    pa.maxSeq = c.maxSeq;
  } else {
    pa.k = kd;
    pa.v = vd;
    pa.kvRowStride = k.cols;
    pa.kvHeadStride = HD;
    pa.kvBatchStride = s.seq * k.cols;
    pa.cache = false;
    pa.maxSeq = 0;
  }
  dim3 grid(unsigned((s.seq + kBR - 1) / kBR), unsigned(p.heads),
            unsigned(s.batch));
  prefillKernel<HD><<<grid, kThreads, 0, r.stream()>>>(pa);
  checkLaunch(r, "attention prefill");
}

} // namespace

template <int HeadDim, int Group>
void attention(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
               const AttentionParams &p, bool useCache) {
  // Group only selects the instantiation: the kernels take it at run time
  // (the decode kernel pads any group up to 16 rows), so every group size
  // costs one thin wrapper, not one kernel per size.
  attentionImpl<HeadDim>(r, out, q, k, v, s, p, useCache, Group);
}

#define LLMC_ATTENTION(HD, G)                                                  \
  template void attention<HD, G>(Rank &, Act, Act, Act, Act, const Step &,     \
                                 const AttentionParams &, bool);
#define LLMC_ATTENTION_GROUPS(HD)                                              \
  LLMC_ATTENTION(HD, 1)                                                        \
  LLMC_ATTENTION(HD, 2)                                                        \
  LLMC_ATTENTION(HD, 3)                                                        \
  LLMC_ATTENTION(HD, 4)                                                        \
  LLMC_ATTENTION(HD, 5)                                                        \
  LLMC_ATTENTION(HD, 6)                                                        \
  LLMC_ATTENTION(HD, 7)                                                        \
  LLMC_ATTENTION(HD, 8)                                                        \
  LLMC_ATTENTION(HD, 10)                                                       \
  LLMC_ATTENTION(HD, 12)                                                       \
  LLMC_ATTENTION(HD, 14)                                                       \
  LLMC_ATTENTION(HD, 16)                                                       \
  LLMC_ATTENTION(HD, 32)                                                       \
  LLMC_ATTENTION(HD, 64)
LLMC_ATTENTION_GROUPS(64)
LLMC_ATTENTION_GROUPS(128)
#undef LLMC_ATTENTION_GROUPS
#undef LLMC_ATTENTION

} // namespace llmc::rt
