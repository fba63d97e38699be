//===- Layers.cu - Ops.h's layers: checks, small kernels, GEMM calls ------===//
//
// Each Ops.h layer checks its shapes on the host (a mismatch is a bug in the
// generated code, reported through Rank::fail naming the op and the shapes),
// then launches on the rank's stream. The memory-bound kernels here move 16
// bytes per thread access when rows are multiples of 8 elements and 16-byte
// aligned (always, for arena activations of real models), with a scalar
// fallback for anything else. Rounding follows Hugging Face where it rounds
// intermediates to bf16 (RMSNorm's normalised value, SwiGLU's activation),
// so logits stay comparable with transformers' bit patterns.
//
// RoPE, attention and the MoE layers live in Rope.cu, Attention.cu, Moe.cu.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/E4m3.cuh"
#include "runtime/kernels/Fp8Linear.h"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/Launch.cuh"

#include <cstdlib>

namespace llmc::rt {

using namespace cuda;

namespace {

constexpr int kThreads = 256;

int gridFor(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  // Grid-stride loops cover the rest; 8 waves of blocks keep every SM busy.
  int64_t cap = int64_t(smCount()) * 8 * (1024 / threads);
  return int(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

/// Elements per row must be a multiple of 8 and every pointer 16-byte
/// aligned for the vector paths.
bool vecOk(int64_t cols, std::initializer_list<const void *> ptrs) {
  if (cols % 8 != 0)
    return false;
  for (const void *p : ptrs)
    if (p && !aligned16(p))
      return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Embedding, last token
//===----------------------------------------------------------------------===//

template <bool Vec>
__global__ void embeddingKernel(bf16 *out, const int64_t *ids,
                                const bf16 *table, int64_t rows, int64_t cols,
                                int64_t offset) {
  pdlLaunchDependents();
  pdlWait();
  int64_t t = blockIdx.x;
  int64_t row = ids[t] - offset;
  bool valid = row >= 0 && row < rows;
  if constexpr (Vec) {
    int64_t n8 = cols / 8;
    const uint4 *src = reinterpret_cast<const uint4 *>(table + row * cols);
    uint4 *dst = reinterpret_cast<uint4 *>(out + t * cols);
    for (int64_t i = threadIdx.x; i < n8; i += blockDim.x)
      dst[i] = valid ? src[i] : make_uint4(0, 0, 0, 0);
  } else {
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      out[t * cols + i] = valid ? table[row * cols + i] : toB(0.f);
  }
}

template <bool Vec>
__global__ void rowCopyKernel(bf16 *out, const bf16 *in, int64_t cols,
                              int64_t srcRowStride, int64_t srcFirst,
                              const int32_t *queryStart) {
  pdlLaunchDependents();
  pdlWait();
  int64_t b = blockIdx.x;
  // Varlen steps: the row before the next sequence's first.
  int64_t row = queryStart ? int64_t(queryStart[b + 1]) - 1
                           : srcFirst + b * srcRowStride;
  const bf16 *src = in + row * cols;
  bf16 *dst = out + b * cols;
  if constexpr (Vec) {
    for (int64_t i = threadIdx.x; i < cols / 8; i += blockDim.x)
      reinterpret_cast<uint4 *>(dst)[i] =
          reinterpret_cast<const uint4 *>(src)[i];
  } else {
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      dst[i] = src[i];
  }
}

//===----------------------------------------------------------------------===//
// RMSNorm
//===----------------------------------------------------------------------===//

// Vector path: the row stays in registers between the statistics and the
// scaling, so each byte is read once; kNormVecs vectors per thread cover
// rows of up to 1024 * 4 * 8 = 32768 elements.
constexpr int kNormVecs = 4;

/// Quant: no bf16 output; the normalised row (bf16 values) is quantized
/// per token as tokenScale + quantize would: E4M3 codes and its scale.
template <bool Add, bool Quant>
__global__ void rmsNormVecKernel(bf16 *out, bf16 *x, const bf16 *delta,
                                 const bf16 *w, int cols, float eps,
                                 uint8_t *codes, float *scale) {
  __shared__ float red[32];
  int n8 = cols / 8;
  int64_t row = blockIdx.x;
  // The norm weight is read before the wait (Launch.cuh): one L2 round
  // trip less on the decode step's critical path.
  const uint4 *wr = reinterpret_cast<const uint4 *>(w);
  uint4 wv[kNormVecs];
#pragma unroll
  for (int j = 0; j < kNormVecs; ++j) {
    int i = threadIdx.x + j * blockDim.x;
    wv[j] = i < n8 ? wr[i] : make_uint4(0, 0, 0, 0);
  }
  pdlLaunchDependents();
  pdlWait();
  uint4 *xr = reinterpret_cast<uint4 *>(x + row * cols);
  const uint4 *dr =
      Add ? reinterpret_cast<const uint4 *>(delta + row * cols) : nullptr;
  float v[kNormVecs][8];
  float ss = 0.f;
#pragma unroll
  for (int j = 0; j < kNormVecs; ++j) {
    int i = threadIdx.x + j * blockDim.x;
    if (i < n8) {
      unpack8(xr[i], v[j]);
      if constexpr (Add) {
        float d[8];
        unpack8(dr[i], d);
#pragma unroll
        for (int e = 0; e < 8; ++e)
          v[j][e] += d[e];
        // The residual stream is bf16: normalise the rounded sum, as the
        // next layer will see it.
        uint4 packed = pack8(v[j]);
        xr[i] = packed;
        unpack8(packed, v[j]);
      }
#pragma unroll
      for (int e = 0; e < 8; ++e)
        ss += v[j][e] * v[j][e];
    }
  }
  ss = blockSum(ss, red);
  float inv = rsqrtf(ss / float(cols) + eps);
  uint4 *orow = Quant ? nullptr : reinterpret_cast<uint4 *>(out + row * cols);
  uint4 ov[kNormVecs];
#pragma unroll
  for (int j = 0; j < kNormVecs; ++j) {
    int i = threadIdx.x + j * blockDim.x;
    ov[j] = make_uint4(0, 0, 0, 0);
    if (i < n8) {
      float wf[8], o[8];
      unpack8(wv[j], wf);
      // Hugging Face: weight * (x * rsqrt(var + eps)).to(bf16).
#pragma unroll
      for (int e = 0; e < 8; ++e)
        o[e] = wf[e] * roundB(v[j][e] * inv);
      ov[j] = pack8(o);
      if constexpr (!Quant)
        orow[i] = ov[j];
    }
  }
  if constexpr (Quant)
    quantizeRowChunks(ov, codes + row * cols, scale + row, n8, red);
}

template <bool Add, bool Quant>
__global__ void rmsNormScalarKernel(bf16 *out, bf16 *x, const bf16 *delta,
                                    const bf16 *w, int64_t cols, float eps,
                                    uint8_t *codes, float *scale) {
  pdlLaunchDependents();
  pdlWait();
  __shared__ float red[32];
  int64_t row = blockIdx.x;
  bf16 *xr = x + row * cols;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    float v = toF(xr[i]);
    if constexpr (Add) {
      v = roundB(v + toF(delta[row * cols + i]));
      xr[i] = toB(v);
    }
    ss += v * v;
  }
  ss = blockSum(ss, red);
  float inv = rsqrtf(ss / float(cols) + eps);
  // Each thread re-reads only elements it wrote itself.
  auto normed = [&](int64_t i) {
    return roundB(toF(w[i]) * roundB(toF(xr[i]) * inv));
  };
  if constexpr (!Quant) {
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      out[row * cols + i] = toB(normed(i));
  } else {
    float a = 0.f;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      a = fmaxf(a, fabsf(normed(i)));
    float s = e4m3Scale(blockMax(a, red));
    if (threadIdx.x == 0)
      scale[row] = s;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      codes[row * cols + i] = toE4M3(normed(i), s);
  }
}

/// out = rmsNorm(x (+= delta)), or with Quant its E4M3 codes and per-token
/// scales instead of out.
template <bool Add, bool Quant = false>
void launchRmsNorm(Rank &r, bf16 *out, bf16 *x, const bf16 *delta,
                   const bf16 *w, int64_t rows, int64_t cols, float eps,
                   uint8_t *codes = nullptr, float *scale = nullptr) {
  if (rows == 0)
    return;
  int64_t n8 = cols / 8;
  if (vecOk(cols, {out, x, delta, w}) && (!Quant || isAligned(codes, 8)) &&
      n8 <= 1024 * kNormVecs) {
    // About two vectors per thread: enough loads in flight per thread
    // without a 1024-thread reduction for mid-sized rows.
    int threads = int((n8 + 1) / 2);
    threads = (threads + 31) / 32 * 32;
    threads = threads < 32 ? 32 : (threads > 1024 ? 1024 : threads);
    if ((n8 + threads - 1) / threads > kNormVecs)
      threads = 1024;
    launchPdl(r, "rmsNorm", rmsNormVecKernel<Add, Quant>,
              dim3(unsigned(rows)), dim3(unsigned(threads)), 0, out, x, delta,
              w, int(cols), eps, codes, scale);
  } else {
    launchPdl(r, "rmsNorm", rmsNormScalarKernel<Add, Quant>,
              dim3(unsigned(rows)), dim3(unsigned(256)), 0, out, x, delta, w,
              cols, eps, codes, scale);
  }
  checkLaunch(r, Quant ? (Add ? "addRmsNormQuantize" : "rmsNormQuantize")
                       : (Add ? "addRmsNorm" : "rmsNorm"));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

enum class Binary { Add, Swiglu };

template <Binary Op> __device__ __forceinline__ float apply(float a, float b) {
  if constexpr (Op == Binary::Add)
    return a + b;
  else
    return swigluOf(a, b);
}

template <Binary Op>
__global__ void binaryVecKernel(bf16 *out, const bf16 *a, const bf16 *b,
                                int64_t n8) {
  pdlLaunchDependents();
  pdlWait();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n8;
       i += int64_t(gridDim.x) * blockDim.x) {
    float x[8], y[8];
    unpack8(reinterpret_cast<const uint4 *>(a)[i], x);
    unpack8(reinterpret_cast<const uint4 *>(b)[i], y);
#pragma unroll
    for (int e = 0; e < 8; ++e)
      x[e] = apply<Op>(x[e], y[e]);
    reinterpret_cast<uint4 *>(out)[i] = pack8(x);
  }
}

template <Binary Op>
__global__ void binaryScalarKernel(bf16 *out, const bf16 *a, const bf16 *b,
                                   int64_t n) {
  pdlLaunchDependents();
  pdlWait();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = toB(apply<Op>(toF(a[i]), toF(b[i])));
}

template <Binary Op>
void launchBinary(Rank &r, const char *name, bf16 *out, const bf16 *a,
                  const bf16 *b, int64_t n) {
  if (n == 0)
    return;
  if (vecOk(n, {out, a, b}))
    launchPdl(r, "elementwise", binaryVecKernel<Op>,
              dim3(unsigned(gridFor(n / 8))), dim3(unsigned(kThreads)), 0, out,
              a, b, n / 8);
  else
    launchPdl(r, "elementwise", binaryScalarKernel<Op>,
              dim3(unsigned(gridFor(n))), dim3(unsigned(kThreads)), 0, out, a,
              b, n);
  checkLaunch(r, name);
}

template <bool Vec>
__global__ void biasAddKernel(bf16 *x, const bf16 *bias, int64_t rows,
                              int64_t cols) {
  pdlLaunchDependents();
  pdlWait();
  int64_t per = Vec ? cols / 8 : cols;
  int64_t n = rows * per;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = i % per;
    if constexpr (Vec) {
      float v[8], b[8];
      unpack8(reinterpret_cast<uint4 *>(x)[i], v);
      unpack8(reinterpret_cast<const uint4 *>(bias)[c], b);
#pragma unroll
      for (int e = 0; e < 8; ++e)
        v[e] += b[e];
      reinterpret_cast<uint4 *>(x)[i] = pack8(v);
    } else {
      x[i] = toB(toF(x[i]) + toF(bias[c]));
    }
  }
}

//===----------------------------------------------------------------------===//
// argmax
//===----------------------------------------------------------------------===//

/// (value, index) pair order: larger value first, then lower index. NaN is
/// never larger, as in the reference's `>` scan.
__device__ __forceinline__ bool better(float v, int64_t i, float bv,
                                       int64_t bi) {
  return v > bv || (v == bv && i < bi);
}

__global__ void argmaxKernel(int64_t *out, const float *logits, int64_t vocab) {
  pdlLaunchDependents();
  pdlWait();
  __shared__ float sv[32];
  __shared__ int64_t si[32];
  const float *row = logits + blockIdx.x * vocab;
  float bv = -INFINITY;
  int64_t bi = vocab; // sentinel: nothing seen yet
  // Each thread sees its ids in increasing order, so a strict `>` keeps
  // the lowest id of equal values; NaN never replaces.
  auto see = [&](float v, int64_t i) {
    if (v > bv || (bi == vocab && v == bv)) {
      bv = v;
      bi = i;
    }
  };
  // One block reads a whole row (513 KB at 128256 ids): 16-byte loads, kU
  // of them in flight per thread, or it is latency-bound (~50 us a row on
  // an H100 with one 4-byte load in flight per thread).
  auto see4 = [&](float4 v, int64_t q) { // ids 4q .. 4q + 3
    see(v.x, 4 * q);
    see(v.y, 4 * q + 1);
    see(v.z, 4 * q + 2);
    see(v.w, 4 * q + 3);
  };
  constexpr int kU = 8;
  const int64_t stride = blockDim.x;
  int64_t n4 = (reinterpret_cast<uintptr_t>(row) & 15) == 0 ? vocab / 4 : 0;
  const float4 *row4 = reinterpret_cast<const float4 *>(row);
  int64_t j = threadIdx.x;
  for (; j + (kU - 1) * stride < n4; j += kU * stride) {
    float4 v[kU];
#pragma unroll
    for (int u = 0; u < kU; ++u)
      v[u] = row4[j + u * stride];
#pragma unroll
    for (int u = 0; u < kU; ++u)
      see4(v[u], j + u * stride);
  }
  for (; j < n4; j += stride)
    see4(row4[j], j);
  for (int64_t i = 4 * n4 + threadIdx.x; i < vocab; i += stride)
    see(row[i], i);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, bv, bi)) {
      bv = ov;
      bi = oi;
    }
  }
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sv[warp] = bv;
    si[warp] = bi;
  }
  __syncthreads();
  if (warp == 0) {
    int warps = blockDim.x >> 5;
    bv = lane < warps ? sv[lane] : -INFINITY;
    bi = lane < warps ? si[lane] : vocab;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (better(ov, oi, bv, bi)) {
        bv = ov;
        bi = oi;
      }
    }
    if (lane == 0)
      out[blockIdx.x] = bi == vocab ? 0 : bi;
  }
}

//===----------------------------------------------------------------------===//
// Shape checks
//===----------------------------------------------------------------------===//

/// The ops that take no column view (Act::ld) refuse one here.
void requireDense(Rank &r, const char *op, Act a) {
  if (rowStride(a) != a.cols)
    failf(r, op,
          "an operand is a column view ([.., %lld] of rows of %lld); this op "
          "takes dense activations only",
          (long long)a.cols, (long long)rowStride(a));
}

void requireSameShape(Rank &r, const char *op, Act a, Act b) {
  requireDense(r, op, a);
  requireDense(r, op, b);
  if (a.rows != b.rows || a.cols != b.cols)
    failf(r, op, "operand shapes differ: [%lld, %lld] vs [%lld, %lld]",
          (long long)a.rows, (long long)a.cols, (long long)b.rows,
          (long long)b.cols);
}

int64_t vectorLength(const Weight &w) { return w.rows * w.cols; }

void runMatmul(Rank &r, const char *op, const gemm::MatmulNT &p) {
  std::string err =
      gemm::matmulNT(r.lt(), r.stream(), r.workspace(), r.workspaceBytes(), p);
  if (!err.empty())
    failf(r, op, "%s", err.c_str());
}

} // namespace

//===----------------------------------------------------------------------===//
// Ops.h layers
//===----------------------------------------------------------------------===//

Act columns(Rank &r, Act owner, int64_t first, int64_t cols) {
  if (owner.rowScale || first < 0 || cols < 1 || first + cols > owner.cols)
    failf(r, "columns",
          "columns [%lld, %lld) are not a range of a bf16 activation of "
          "%lld columns",
          (long long)first, (long long)(first + cols), (long long)owner.cols);
  Act view = owner;
  view.data = static_cast<bf16 *>(owner.data) + first;
  view.cols = cols;
  view.ld = rowStride(owner);
  return view;
}

void embedding(Rank &r, Act out, const Step &s, Weight table,
               bool vocabParallel) {
  int64_t tokens = stepTokens(s);
  if (out.rows != tokens || out.cols != table.cols)
    failf(r, "embedding",
          "output [%lld, %lld] does not match %lld tokens of a table with %lld "
          "columns",
          (long long)out.rows, (long long)out.cols, (long long)tokens,
          (long long)table.cols);
  if (tokens == 0)
    return;
  // Without vocab parallelism the table is whole (offset 0); an id outside
  // it gives a zero row rather than a fault.
  int64_t offset = vocabParallel ? table.offset : 0;
  auto *o = static_cast<bf16 *>(out.data);
  if (vecOk(table.cols, {o, table.data}))
    launchPdl(r, "embedding", embeddingKernel<true>, dim3(unsigned(tokens)),
              dim3(unsigned(128)), 0, o, s.ids, table.data, table.rows,
              table.cols, offset);
  else
    launchPdl(r, "embedding", embeddingKernel<false>, dim3(unsigned(tokens)),
              dim3(unsigned(128)), 0, o, s.ids, table.data, table.rows,
              table.cols, offset);
  checkLaunch(r, "embedding");
}

namespace {

//===----------------------------------------------------------------------===//
// The fp32 residual stream (llm-lower-to-emitc residual=fp32)
//===----------------------------------------------------------------------===//

/// Values per thread the register path holds: rows up to 16 x 1024.
constexpr int kWideVals = 16;

/// One block a row: v = from (+ delta), unrounded; with Add, written to
/// res; with Norm, out = bf16(w * bf16(v * rsqrt(mean(v^2) + eps))), the
/// rounding of rmsNorm. Regs: each thread keeps its kWideVals values (and
/// reads the norm weight before the PDL wait); otherwise two passes, the
/// second re-reading what the thread itself wrote (rows past 16K).
template <bool Add, bool FromF32, bool Norm, bool Regs>
__global__ void residualF32Kernel(bf16 *out, float *res, const void *from,
                                  const bf16 *delta, const bf16 *w,
                                  int64_t cols, float eps) {
  __shared__ float red[32];
  const int64_t row = blockIdx.x, base = row * cols;
  float wv[Regs ? kWideVals : 1];
  if constexpr (Regs && Norm) {
#pragma unroll
    for (int j = 0; j < kWideVals; ++j) {
      int64_t i = threadIdx.x + int64_t(j) * blockDim.x;
      wv[j] = i < cols ? toF(w[i]) : 0.f;
    }
  }
  pdlLaunchDependents();
  pdlWait();
  auto load = [&](int64_t i) {
    float v = FromF32 ? static_cast<const float *>(from)[base + i]
                      : toF(static_cast<const bf16 *>(from)[base + i]);
    if constexpr (Add) {
      v += toF(delta[base + i]);
      res[base + i] = v;
    }
    return v;
  };
  float ss = 0.f;
  float v[Regs ? kWideVals : 1];
  if constexpr (Regs) {
#pragma unroll
    for (int j = 0; j < kWideVals; ++j) {
      int64_t i = threadIdx.x + int64_t(j) * blockDim.x;
      v[j] = i < cols ? load(i) : 0.f;
      ss += v[j] * v[j];
    }
  } else {
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      float x = load(i);
      ss += x * x;
    }
  }
  if constexpr (Norm) {
    ss = blockSum(ss, red);
    const float inv = rsqrtf(ss / float(cols) + eps);
    if constexpr (Regs) {
#pragma unroll
      for (int j = 0; j < kWideVals; ++j) {
        int64_t i = threadIdx.x + int64_t(j) * blockDim.x;
        if (i < cols)
          out[base + i] = toB(wv[j] * roundB(v[j] * inv));
      }
    } else {
      const float *src =
          Add ? res + base : static_cast<const float *>(from) + base;
      for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
        out[base + i] = toB(toF(w[i]) * roundB(src[i] * inv));
    }
  }
}

template <bool Add, bool FromF32, bool Norm>
void launchResidualF32(Rank &r, const char *name, bf16 *out, float *res,
                       const void *from, const bf16 *delta, const bf16 *w,
                       int64_t rows, int64_t cols, float eps) {
  if (rows == 0)
    return;
  if (cols <= int64_t(kWideVals) * 1024) {
    int64_t threads = (cols + kWideVals - 1) / kWideVals;
    threads = std::max<int64_t>(128, (threads + 31) / 32 * 32);
    launchPdl(r, name, residualF32Kernel<Add, FromF32, Norm, true>,
              dim3(unsigned(rows)), dim3(unsigned(threads)), 0, out, res,
              from, delta, w, cols, eps);
  } else {
    launchPdl(r, name, residualF32Kernel<Add, FromF32, Norm, false>,
              dim3(unsigned(rows)), dim3(1024u), 0, out, res, from, delta, w,
              cols, eps);
  }
  checkLaunch(r, name);
}

} // namespace

/// A norm's weight must have one element per column of its rows.
static void requireNormWeight(Rank &r, const char *op, const Weight &w,
                              int64_t cols) {
  if (vectorLength(w) != cols)
    failf(r, op, "weight has %lld elements for rows of %lld",
          (long long)vectorLength(w), (long long)cols);
}

void rmsNorm(Rank &r, Act out, Act in, Weight w, float eps) {
  requireSameShape(r, "rmsNorm", out, in);
  requireNormWeight(r, "rmsNorm", w, in.cols);
  launchRmsNorm<false>(r, static_cast<bf16 *>(out.data),
                       static_cast<bf16 *>(in.data), nullptr, w.data, in.rows,
                       in.cols, eps);
}

void addRmsNorm(Rank &r, Act out, Act residual, Act delta, Weight w,
                float eps) {
  requireSameShape(r, "addRmsNorm", out, residual);
  requireSameShape(r, "addRmsNorm", residual, delta);
  requireNormWeight(r, "addRmsNorm", w, residual.cols);
  launchRmsNorm<true>(r, static_cast<bf16 *>(out.data),
                      static_cast<bf16 *>(residual.data),
                      static_cast<const bf16 *>(delta.data), w.data,
                      residual.rows, residual.cols, eps);
}

void rmsNormQuantize(Rank &r, Act codes, Act scale, Act in, Weight w,
                     float eps) {
  cuda::requireQuantShapes(r, "rmsNormQuantize", codes, in, scale);
  requireNormWeight(r, "rmsNormQuantize", w, in.cols);
  launchRmsNorm<false, true>(r, nullptr, static_cast<bf16 *>(in.data),
                             nullptr, w.data, in.rows, in.cols, eps,
                             static_cast<uint8_t *>(codes.data),
                             static_cast<float *>(scale.data));
}

void addRmsNormQuantize(Rank &r, Act codes, Act scale, Act residual,
                        Act delta, Weight w, float eps) {
  cuda::requireQuantShapes(r, "addRmsNormQuantize", codes, residual, scale);
  requireSameShape(r, "addRmsNormQuantize", residual, delta);
  requireNormWeight(r, "addRmsNormQuantize", w, residual.cols);
  launchRmsNorm<true, true>(r, nullptr, static_cast<bf16 *>(residual.data),
                            static_cast<const bf16 *>(delta.data), w.data,
                            residual.rows, residual.cols, eps,
                            static_cast<uint8_t *>(codes.data),
                            static_cast<float *>(scale.data));
}

/// residual (fp32) = from (fp32 when `fromF32`, else bf16) + delta, and
/// with Norm out = its rmsNorm: the two fp32-stream adds.
template <bool Norm>
static void streamAdd(Rank &r, const char *op, bf16 *out, Act residual,
                      Act from, bool fromF32, Act delta, const bf16 *w,
                      float eps) {
  requireSameShape(r, op, residual, from);
  requireSameShape(r, op, residual, delta);
  auto *res = static_cast<float *>(residual.data);
  auto *d = static_cast<const bf16 *>(delta.data);
  if (fromF32)
    launchResidualF32<true, true, Norm>(r, op, out, res, from.data, d, w,
                                        residual.rows, residual.cols, eps);
  else
    launchResidualF32<true, false, Norm>(r, op, out, res, from.data, d, w,
                                         residual.rows, residual.cols, eps);
}

void addRmsNormF32(Rank &r, Act out, Act residual, Act from, bool fromF32,
                   Act delta, Weight w, float eps) {
  requireSameShape(r, "addRmsNormF32", out, residual);
  requireNormWeight(r, "addRmsNormF32", w, residual.cols);
  streamAdd<true>(r, "addRmsNormF32", static_cast<bf16 *>(out.data), residual,
                  from, fromF32, delta, w.data, eps);
}

void addF32(Rank &r, Act residual, Act from, bool fromF32, Act delta) {
  streamAdd<false>(r, "addF32", nullptr, residual, from, fromF32, delta,
                   nullptr, 0.f);
}

void rmsNormF32(Rank &r, Act out, Act in, Weight w, float eps) {
  requireSameShape(r, "rmsNormF32", out, in);
  requireNormWeight(r, "rmsNormF32", w, in.cols);
  launchResidualF32<false, true, true>(r, "rmsNormF32",
                                       static_cast<bf16 *>(out.data), nullptr,
                                       in.data, nullptr, w.data, in.rows,
                                       in.cols, eps);
}

/// out = in W^T (+ bias) for `op`, bf16 or fp32 `out` (called `outName` in
/// the shape error): the weight-streaming GEMV for few rows, else cuBLASLt.
/// linear, lmHead and linearAllReduce's fp32 half share it.
static void projection(Rank &r, const char *op, const char *outName, Act out,
                       Act in, Weight w, const Weight *bias, bool outF32) {
  if (w.cols != in.cols || out.rows != in.rows || out.cols != w.rows)
    failf(r, op,
          "[%lld, %lld] x weight [%lld, %lld]^T does not give the %s "
          "[%lld, %lld]",
          (long long)in.rows, (long long)in.cols, (long long)w.rows,
          (long long)w.cols, outName, (long long)out.rows,
          (long long)out.cols);
  if (bias && vectorLength(*bias) != w.rows)
    failf(r, op, "bias has %lld elements for %lld outputs",
          (long long)vectorLength(*bias), (long long)w.rows);
  requireDense(r, op, in);
  if (w.fp8 || in.rowScale) {
    requireDense(r, op, out);
    fp8Projection(r, op, out, in, w, bias, outF32);
    return;
  }
  if (in.rows == 0)
    return;
  // `out` may be a column view (linear2/3's outputs).
  int64_t ldo = rowStride(out);
  if (gemv(r, out.data, outF32, ldo, static_cast<const bf16 *>(in.data),
           in.cols, w.data, w.rows, w.cols, bias ? bias->data : nullptr,
           in.rows))
    return;
  GemvTarget target{w.data, out.data, bias ? bias->data : nullptr, w.rows,
                    ldo};
  if (streamGemmGroup(r, outF32, &target, 1,
                      static_cast<const bf16 *>(in.data), in.cols, in.cols,
                      in.rows))
    return;
  // Row-major out[M, N] = in[M, K] W[N, K]^T (Hugging Face weights).
  gemm::MatmulNT p;
  p.m = in.rows;
  p.n = w.rows;
  p.k = in.cols;
  p.a = static_cast<const bf16 *>(in.data);
  p.lda = in.cols;
  p.b = w.data;
  p.ldb = w.cols;
  p.out = out.data;
  p.ldo = ldo;
  p.outType = outF32 ? gemm::OutType::F32 : gemm::OutType::BF16;
  p.bias = bias ? bias->data : nullptr;
  runMatmul(r, op, p);
}

void linear(Rank &r, Act out, Act in, Weight w, const Weight *bias) {
  projection(r, "linear", "output", out, in, w, bias, /*outF32=*/false);
}

void biasAdd(Rank &r, Act inout, Weight bias) {
  if (vectorLength(bias) != inout.cols)
    failf(r, "biasAdd", "bias has %lld elements for rows of %lld",
          (long long)vectorLength(bias), (long long)inout.cols);
  if (inout.rows == 0)
    return;
  auto *x = static_cast<bf16 *>(inout.data);
  if (vecOk(inout.cols, {x, bias.data}))
    launchPdl(r, "biasAdd", biasAddKernel<true>,
              dim3(unsigned(gridFor(inout.rows * inout.cols / 8))),
              dim3(unsigned(kThreads)), 0, x, bias.data, inout.rows,
              inout.cols);
  else
    launchPdl(r, "biasAdd", biasAddKernel<false>,
              dim3(unsigned(gridFor(inout.rows * inout.cols))),
              dim3(unsigned(kThreads)), 0, x, bias.data, inout.rows,
              inout.cols);
  checkLaunch(r, "biasAdd");
}

void add(Rank &r, Act out, Act a, Act b) {
  requireSameShape(r, "add", out, a);
  requireSameShape(r, "add", a, b);
  launchBinary<Binary::Add>(r, "add", static_cast<bf16 *>(out.data),
                            static_cast<const bf16 *>(a.data),
                            static_cast<const bf16 *>(b.data), a.rows * a.cols);
}

namespace {

/// Sibling projections: checks each like `linear`, then one grouped GEMV
/// (1-2 rows) or streaming GEMM (a few rows), one GEMM over back-to-back
/// weights, or one GEMM per weight.
void linearSiblings(Rank &r, const char *op, int n, const Act *outs, Act in,
                    const Weight *ws, const Weight *const *biases,
                    Act scratch) {
  GemvTarget targets[kGemvMaxTargets];
  requireDense(r, op, in);
  for (int i = 0; i < n; ++i) {
    const Act &out = outs[i];
    const Weight &w = ws[i];
    if (w.cols != in.cols || out.rows != in.rows || out.cols != w.rows)
      failf(r, op,
            "[%lld, %lld] x weight %d [%lld, %lld]^T does not give output "
            "%d [%lld, %lld]",
            (long long)in.rows, (long long)in.cols, i, (long long)w.rows,
            (long long)w.cols, i, (long long)out.rows, (long long)out.cols);
    if (biases[i] && vectorLength(*biases[i]) != w.rows)
      failf(r, op, "bias %d has %lld elements for %lld outputs", i,
            (long long)vectorLength(*biases[i]), (long long)w.rows);
    targets[i] = GemvTarget{w.data,          out.data,
                            biases[i] ? biases[i]->data : nullptr,
                            w.rows,          rowStride(out),
                            w.fp8,           w.scale,
                            w.scaleCount};
  }
  if (in.rows == 0)
    return;
  bool fp8 = in.rowScale != nullptr;
  for (int i = 0; i < n; ++i)
    fp8 = fp8 || ws[i].fp8;
  // FP8 weights, bf16 or (W8A8) FP8 input: one grouped GEMV or decode
  // GEMM where it applies; else one FP8 projection each.
  if (fp8 && fp8WeightGroup(r, /*outF32=*/false, targets, n, in.data,
                            in.cols, in.cols, in.rows, in.rowScale))
    return;
  if (fp8) {
    for (int i = 0; i < n; ++i)
      linear(r, outs[i], in, ws[i], biases[i]);
    return;
  }
  if (gemvGroup(r, /*outF32=*/false, targets, n,
                static_cast<const bf16 *>(in.data), in.cols, in.cols, in.rows))
    return;
  if (streamGemmGroup(r, /*outF32=*/false, targets, n,
                      static_cast<const bf16 *>(in.data), in.cols, in.cols,
                      in.rows))
    return;
  if (siblingsOneGemm(r, op, n, outs, in, ws, biases, scratch))
    return;
  for (int i = 0; i < n; ++i)
    linear(r, outs[i], in, ws[i], biases[i]);
}

} // namespace

void linear2(Rank &r, Act out0, Act out1, Act in, Weight w0, Weight w1,
             const Weight *b0, const Weight *b1, Act scratch) {
  Act outs[] = {out0, out1};
  Weight ws[] = {w0, w1};
  const Weight *bs[] = {b0, b1};
  linearSiblings(r, "linear2", 2, outs, in, ws, bs, scratch);
}

void linear3(Rank &r, Act out0, Act out1, Act out2, Act in, Weight w0,
             Weight w1, Weight w2, const Weight *b0, const Weight *b1,
             const Weight *b2, Act scratch) {
  Act outs[] = {out0, out1, out2};
  Weight ws[] = {w0, w1, w2};
  const Weight *bs[] = {b0, b1, b2};
  linearSiblings(r, "linear3", 3, outs, in, ws, bs, scratch);
}

void linearSwiglu(Rank &r, Act out, Act in, Weight gate, Weight up,
                  Act scratch) {
  if (gate.rows != up.rows || gate.cols != up.cols || gate.cols != in.cols ||
      out.rows != in.rows || out.cols != gate.rows)
    failf(r, "linearSwiglu",
          "[%lld, %lld] x gate [%lld, %lld]^T and up [%lld, %lld]^T do not "
          "give the output [%lld, %lld]",
          (long long)in.rows, (long long)in.cols, (long long)gate.rows,
          (long long)gate.cols, (long long)up.rows, (long long)up.cols,
          (long long)out.rows, (long long)out.cols);
  if (in.rows == 0)
    return;
  bool fp8 = gate.fp8 || up.fp8 || in.rowScale;
  const GemvTarget gateT = weightTarget(gate), upT = weightTarget(up);
  auto *o = static_cast<bf16 *>(out.data);
  const auto *x = static_cast<const bf16 *>(in.data);
  if (gemvSwiglu(r, o, out.cols, in.data, in.cols, gateT, upT, in.cols,
                 in.rows, in.rowScale))
    return;
  // FP8 gate and up (bf16 ones reach it through streamGemmSwiglu); W8A8
  // with the input's row scales.
  if (fp8 && gate.fp8 && up.fp8 &&
      decodeGemmSwiglu(r, o, out.cols, in.data, in.cols, gateT, upT, in.cols,
                       in.rows, in.rowScale))
    return;
  if (!fp8 && streamGemmSwiglu(r, o, out.cols, x, in.cols, gate.data,
                               up.data, gate.rows, in.cols, in.rows))
    return;
  if (scratch.rows != in.rows || scratch.cols != 2 * out.cols)
    failf(r, "linearSwiglu",
          "scratch [%lld, %lld] is not [%lld, 2 x %lld] for the gate and up "
          "GEMMs",
          (long long)scratch.rows, (long long)scratch.cols,
          (long long)in.rows, (long long)out.cols);
  if (!fp8 && swigluOneGemm(r, out, in, gate, up, scratch))
    return;
  // Two GEMMs into the scratch's halves, each [rows, N].
  Act gateScratch{scratch.data, out.rows, out.cols};
  Act upScratch{static_cast<bf16 *>(scratch.data) + out.rows * out.cols,
                out.rows, out.cols};
  linear(r, gateScratch, in, gate, nullptr);
  linear(r, upScratch, in, up, nullptr);
  swiglu(r, out, gateScratch, upScratch);
}

void swiglu(Rank &r, Act out, Act gate, Act up) {
  requireSameShape(r, "swiglu", out, gate);
  requireSameShape(r, "swiglu", gate, up);
  launchBinary<Binary::Swiglu>(r, "swiglu", static_cast<bf16 *>(out.data),
                               static_cast<const bf16 *>(gate.data),
                               static_cast<const bf16 *>(up.data),
                               gate.rows * gate.cols);
}

void lastToken(Rank &r, Act out, Act in, const Step &s) {
  if (in.rows != stepTokens(s) || out.rows != s.batch || out.cols != in.cols)
    failf(r, "lastToken",
          "[%lld, %lld] -> [%lld, %lld] does not match batch %lld x seq %lld "
          "(%lld tokens)",
          (long long)in.rows, (long long)in.cols, (long long)out.rows,
          (long long)out.cols, (long long)s.batch, (long long)s.seq,
          (long long)stepTokens(s));
  if (s.batch == 0 || s.seq == 0)
    return;
  auto *o = static_cast<bf16 *>(out.data);
  auto *i = static_cast<const bf16 *>(in.data);
  if (vecOk(in.cols, {o, i}))
    launchPdl(r, "lastToken", rowCopyKernel<true>, dim3(unsigned(s.batch)),
              dim3(unsigned(128)), 0, o, i, in.cols, s.seq, s.seq - 1,
              s.queryStart);
  else
    launchPdl(r, "lastToken", rowCopyKernel<false>, dim3(unsigned(s.batch)),
              dim3(unsigned(128)), 0, o, i, in.cols, s.seq, s.seq - 1,
              s.queryStart);
  checkLaunch(r, "lastToken");
}

void lastTokenF32(Rank &r, Act out, Act in, const Step &s) {
  // The rows' bytes as bf16 pairs: lastToken's copy of twice the columns.
  Act o = out, i = in;
  o.cols *= 2;
  i.cols *= 2;
  lastToken(r, o, i, s);
}

void lmHead(Rank &r, Act logits, Act in, Weight w) {
  projection(r, "lmHead", "logits", logits, in, w, nullptr, /*outF32=*/true);
}

void argmax(Rank &r, int64_t *out, Act logits) {
  if (logits.cols <= 0)
    failf(r, "argmax", "logits [%lld, %lld] have no vocabulary to reduce",
          (long long)logits.rows, (long long)logits.cols);
  if (logits.rows == 0)
    return;
  launchPdl(r, "argmax", argmaxKernel, dim3(unsigned(logits.rows)),
            dim3(unsigned(1024)), 0, out,
            static_cast<const float *>(logits.data), logits.cols);
  checkLaunch(r, "argmax");
}

} // namespace llmc::rt

//===----------------------------------------------------------------------===//
// linearAllReduce's local halves (Kernels.h): fp32 partial sums, then one
// rounding to bf16 with the bias. The all-reduce between them, on the fp32
// buffer, is in runtime/model/CommOps.cpp.
//===----------------------------------------------------------------------===//

namespace llmc::rt {

namespace {

template <bool Vec>
__global__ void roundToBf16Kernel(bf16 *out, const float *sum,
                                  const bf16 *bias, int64_t rows,
                                  int64_t cols) {
  cuda::pdlLaunchDependents();
  cuda::pdlWait();
  int64_t per = Vec ? cols / 8 : cols;
  int64_t n = rows * per;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = i % per;
    if constexpr (Vec) {
      const float4 *s = reinterpret_cast<const float4 *>(sum) + 2 * i;
      float4 lo = s[0], hi = s[1];
      float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
      if (bias) {
        float b[8];
        cuda::unpack8(reinterpret_cast<const uint4 *>(bias)[c], b);
#pragma unroll
        for (int e = 0; e < 8; ++e)
          v[e] += b[e];
      }
      reinterpret_cast<uint4 *>(out)[i] = cuda::pack8(v);
    } else {
      float v = sum[i];
      if (bias)
        v += cuda::toF(bias[c]);
      out[i] = cuda::toB(v);
    }
  }
}

} // namespace

void linearF32(Rank &r, Act partial, Act in, Weight w) {
  projection(r, "linearAllReduce", "fp32 partial sums", partial, in, w,
             nullptr, /*outF32=*/true);
}

void roundToBf16(Rank &r, Act out, Act sum, const Weight *bias) {
  if (out.rows != sum.rows || out.cols != sum.cols)
    cuda::failf(r, "linearAllReduce",
                "output [%lld, %lld] and fp32 partial sums [%lld, %lld] "
                "differ in shape",
                (long long)out.rows, (long long)out.cols, (long long)sum.rows,
                (long long)sum.cols);
  if (bias && vectorLength(*bias) != out.cols)
    cuda::failf(r, "linearAllReduce", "bias has %lld elements for rows of %lld",
                (long long)vectorLength(*bias), (long long)out.cols);
  if (out.rows == 0 || out.cols == 0)
    return;
  auto *o = static_cast<bf16 *>(out.data);
  auto *s = static_cast<const float *>(sum.data);
  const bf16 *b = bias ? bias->data : nullptr;
  if (vecOk(out.cols, {o, s, b}))
    cuda::launchPdl(r, "linearAllReduce", roundToBf16Kernel<true>,
                    dim3(unsigned(gridFor(out.rows * out.cols / 8))),
                    dim3(unsigned(kThreads)), 0, o, s, b, out.rows, out.cols);
  else
    cuda::launchPdl(r, "linearAllReduce", roundToBf16Kernel<false>,
                    dim3(unsigned(gridFor(out.rows * out.cols))),
                    dim3(unsigned(kThreads)), 0, o, s, b, out.rows, out.cols);
  cuda::checkLaunch(r, "linearAllReduce (fp32 sum to bf16)");
}

} // namespace llmc::rt
