//===- Fp8Linear.cu - FP8 E4M3 projections, token scales, quantization ----===//
//
// Up to kFp8GemvMaxRows rows of a W8A16 projection run the weight-streaming
// GEMV of Gemv.cu, which reads one byte per weight (its E4M3 instantiation:
// codes widened exactly, fp32 sums, the scale applied once per output).
// Up to 128 rows on compute capability 9.0, where LaunchPolicy::
// fp8DecodeGemm is on, the Hopper decode GEMM's E4M3 instantiation
// (DecodeGemm.cuh) does the same on wgmma, also one byte per weight.
//
// W8A8 projections (E4M3 activation codes with per-row scales) of up to
// LaunchPolicy::w8a8GemvMaxRows rows take the same GEMV with both codes
// widened, up to w8a8DecodeGemmMaxRows the decode GEMM's e4m3 x e4m3
// instantiation, more rows cuBLASLt's E4M3 GEMM.
//
// More rows (and every other W8A8 projection) borrow the cuBLASLt workspace
// beyond its first kFp8LtWorkspace bytes, a block of output columns at a
// time: cuBLASLt writes fp32 products there — W8A8 with E4M3 x E4M3 from the
// codes, W8A16 from the block's codes widened exactly to bf16 (the block
// stays in L2) — and one kernel applies (acc * rowScale) * scale (+ bias)
// and rounds once, as docs/quantization.md orders it. (An H100 run of a
// variant that folded the scale into bf16 weights put the logits 2.4e-2 from
// transformers on the round-trip weights, past the 2e-2 bound.)
//
// Token scales and quantization follow runtime/weights/Fp8.h exactly:
// absmax with fmaxf (NaNs ignored), __fdiv_rn(absmax, 448), the floor
// kFp8MinScale, and codes __nv_cvt_float_to_fp8(__fdiv_rn(x, s),
// __NV_SATFINITE, __NV_E4M3) — a true division, not a product with 1/s.
// Their kernels launch with programmatic dependent launch (Launch.cuh), as
// the norms do, so the GEMV after a quantization streams its first weights
// while it runs.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/device/Device.h"
#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/E4m3.cuh"
#include "runtime/kernels/Fp8Linear.h"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/Launch.cuh"
#include "runtime/weights/Fp8.h"

#include <cuda_fp8.h>

#include <algorithm>
#include <cstdlib>
#include <type_traits>

namespace llmc::rt {

using namespace cuda;

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

/// out[r, :] = the E4M3 values of `rows` weight rows from `row0` as bf16
/// (exact: 3 mantissa bits and exponents 2^-9..2^8 fit), 16 codes per thread
/// access (k a multiple of 16). The scales are applied to the sums.
__global__ void dequantKernel(bf16 *out, const uint8_t *codes, int64_t row0,
                              int64_t rows, int64_t k) {
  int64_t chunksPerRow = k / 16, total = rows * chunksPerRow;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i / chunksPerRow;
    float f[16];
    unpack16(__ldcs(reinterpret_cast<const uint4 *>(codes + (row0 + r) * k) +
                    i % chunksPerRow),
             f);
    uint4 *o = reinterpret_cast<uint4 *>(out + r * k) + 2 * (i % chunksPerRow);
    o[0] = pack8(f);
    o[1] = pack8(f + 8);
  }
}

/// One staged output before its rounding: (acc * rs) * scale[n] (+ bias[n]),
/// rs the row's input scale or 1 (W8A16; times 1 is exact).
__device__ __forceinline__ float scaledProduct(float v, float rs,
                                               const float *scale,
                                               bool perChannel,
                                               const bf16 *bias, int64_t n) {
  v *= rs;
  v *= scale[perChannel ? n : 0];
  if (bias)
    v += toF(bias[n]);
  return v;
}

/// v rounded once to the output's type.
template <class Out> __device__ __forceinline__ Out toOut(float v) {
  if constexpr (std::is_same_v<Out, float>)
    return v;
  else
    return toB(v);
}

/// out[m, col0 + j] = (acc[m, j] * rowScale[m]) * scale[col0 + j] (+ bias),
/// acc [rows, cols] fp32 with leading dim `lda`; rowScale null: 1 (W8A16).
template <class Out>
__global__ void scaleOutKernel(Out *out, int64_t ldo, const float *acc,
                               int64_t lda, const float *rowScale,
                               const float *scale, bool perChannel,
                               const bf16 *bias, int64_t col0, int64_t rows,
                               int64_t cols) {
  int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t m = i / cols, j = i % cols, n = col0 + j;
    out[m * ldo + n] = toOut<Out>(
        scaledProduct(acc[m * lda + j], rowScale ? rowScale[m] : 1.f, scale,
                      perChannel, bias, n));
  }
}

/// scaleOutKernel's arithmetic (scaledProduct), four columns per thread
/// access and a row per grid row (no division per element): acc rows
/// 16-byte aligned (lda a multiple of 4), out's row starts at col0 aligned
/// for 4 elements (ldo and col0 multiples of 4). Columns past the last
/// multiple of 4 one by one.
template <class Out>
__global__ void scaleOutVecKernel(Out *out, int64_t ldo, const float *acc,
                                  int64_t lda, const float *rowScale,
                                  const float *scale, bool perChannel,
                                  const bf16 *bias, int64_t col0,
                                  int64_t rows, int64_t cols) {
  int64_t quads = cols / 4;
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  auto one = [&](float v, float rs, int64_t n) {
    return scaledProduct(v, rs, scale, perChannel, bias, n);
  };
  for (int64_t m = blockIdx.y; m < rows; m += gridDim.y) {
    const float *a = acc + m * lda;
    float rs = rowScale ? rowScale[m] : 1.f;
    Out *o = out + m * ldo + col0;
    for (int64_t q = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
         q < quads; q += stride) {
      float4 v = reinterpret_cast<const float4 *>(a)[q];
      int64_t n = col0 + 4 * q;
      float e0 = one(v.x, rs, n), e1 = one(v.y, rs, n + 1),
            e2 = one(v.z, rs, n + 2), e3 = one(v.w, rs, n + 3);
      if constexpr (std::is_same_v<Out, float>) {
        reinterpret_cast<float4 *>(o)[q] = make_float4(e0, e1, e2, e3);
      } else {
        reinterpret_cast<uint2 *>(o)[q] =
            make_uint2(packBf16x2(e0, e1), packBf16x2(e2, e3));
      }
    }
    for (int64_t j = 4 * quads + blockIdx.x * int64_t(blockDim.x) +
                     threadIdx.x;
         j < cols; j += stride) {
      o[j] = toOut<Out>(one(a[j], rs, col0 + j));
    }
  }
}

int gridFor(int64_t n);

/// out[:, col0 + j] = the scaled products of one staged column block: the
/// vector kernel where the alignments allow, else the scalar one.
template <class Out>
void launchScaleOut(Rank &r, Out *out, int64_t ldo, const float *acc,
                    int64_t lda, const float *rowScale, const float *scale,
                    bool perChannel, const bf16 *bias, int64_t col0,
                    int64_t rows, int64_t cols) {
  bool vec = lda % 4 == 0 && ldo % 4 == 0 && col0 % 4 == 0 &&
             isAligned(acc, 16) && isAligned(out, 4 * sizeof(Out));
  if (vec) {
    int64_t quads = std::max<int64_t>(1, cols / 4);
    unsigned x = unsigned(std::min<int64_t>((quads + kThreads - 1) / kThreads,
                                            int64_t(smCount()) * 4));
    unsigned y = unsigned(std::min<int64_t>(rows, 65535));
    scaleOutVecKernel<Out><<<dim3(x, y), kThreads, 0, r.stream()>>>(
        out, ldo, acc, lda, rowScale, scale, perChannel, bias, col0, rows,
        cols);
  } else {
    scaleOutKernel<Out><<<gridFor(rows * cols), kThreads, 0, r.stream()>>>(
        out, ldo, acc, lda, rowScale, scale, perChannel, bias, col0, rows,
        cols);
  }
}

/// Threads of quantizeTokensKernel's block (one row).
constexpr int kQuantThreads = 256;

/// One warp per row: s = max(absmax / 448, kFp8MinScale).
__global__ void tokenScaleKernel(float *scale, const bf16 *in, int64_t rows,
                                 int64_t cols, bool vec) {
  pdlLaunchDependents();
  pdlWait();
  int64_t row = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  int lane = threadIdx.x & 31;
  if (row >= rows)
    return;
  const bf16 *x = in + row * cols;
  float a = 0.f;
  if (vec) {
    for (int64_t c = lane; c < cols / 8; c += 32) {
      float f[8];
      unpack8(reinterpret_cast<const uint4 *>(x)[c], f);
#pragma unroll
      for (int j = 0; j < 8; ++j)
        a = fmaxf(a, fabsf(f[j]));
    }
  } else {
    for (int64_t c = lane; c < cols; c += 32)
      a = fmaxf(a, fabsf(toF(x[c])));
  }
  a = warpMax(a);
  if (lane == 0)
    scale[row] = e4m3Scale(a);
}

/// codes = E4M3(x / scale[row]); 8 elements per thread access when `vec`.
__global__ void quantizeKernel(uint8_t *codes, const bf16 *in,
                               const float *scale, int64_t rows, int64_t cols,
                               bool vec) {
  pdlLaunchDependents();
  pdlWait();
  int64_t per = vec ? 8 : 1, total = rows * cols / per;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t e = i * per;
    float s = scale[e / cols];
    if (vec) {
      float f[8];
      unpack8(reinterpret_cast<const uint4 *>(in)[i], f);
      reinterpret_cast<uint2 *>(codes)[i] = toE4M3x8(f, s);
    } else {
      codes[e] = toE4M3(toF(in[e]), s);
    }
  }
}

/// tokenScale + quantize of one row per block, the row read once.
template <int Regs>
__global__ void __launch_bounds__(kQuantThreads)
    quantizeTokensKernel(uint8_t *codes, float *scale, const bf16 *in,
                         int64_t cols) {
  pdlLaunchDependents();
  pdlWait();
  int64_t row = blockIdx.x, chunks = cols / 8;
  const uint4 *x = reinterpret_cast<const uint4 *>(in + row * cols);
  uint4 v[Regs];
#pragma unroll
  for (int i = 0; i < Regs; ++i) {
    int64_t c = threadIdx.x + int64_t(i) * kQuantThreads;
    v[i] = c < chunks ? x[c] : make_uint4(0, 0, 0, 0);
  }
  __shared__ float red[32];
  quantizeRowChunks(v, codes + row * cols, scale + row, chunks, red);
}

/// swiglu (Layers.cu's roundings: bf16(bf16(silu(g)) * u)) then tokenScale
/// + quantize of its row, one row per block: the bf16 product never
/// leaves the registers.
template <int Regs>
__global__ void __launch_bounds__(kQuantThreads)
    swigluQuantizeKernel(uint8_t *codes, float *scale, const bf16 *gate,
                         const bf16 *up, int64_t cols) {
  pdlLaunchDependents();
  pdlWait();
  int64_t row = blockIdx.x, chunks = cols / 8;
  const uint4 *g = reinterpret_cast<const uint4 *>(gate + row * cols);
  const uint4 *u = reinterpret_cast<const uint4 *>(up + row * cols);
  uint4 v[Regs];
#pragma unroll
  for (int i = 0; i < Regs; ++i) {
    int64_t c = threadIdx.x + int64_t(i) * kQuantThreads;
    v[i] = c < chunks ? swiglu8(g[c], u[c]) : make_uint4(0, 0, 0, 0);
  }
  __shared__ float red[32];
  quantizeRowChunks(v, codes + row * cols, scale + row, chunks, red);
}

__global__ void maxOfBlocksKernel(float *out, const float *blocks,
                                  int64_t count, int members) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    float v = blocks[i];
    for (int b = 1; b < members; ++b)
      v = fmaxf(v, blocks[b * count + i]);
    out[i] = v;
  }
}

int gridFor(int64_t n) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  int64_t cap = int64_t(smCount()) * 32;
  return int(std::max<int64_t>(1, std::min(blocks, cap)));
}

/// The workspace beyond cuBLASLt's share: staging for one block.
struct Staging {
  void *data;
  size_t bytes;
};

Staging staging(Rank &r, const char *op) {
  if (r.workspaceBytes() < 2 * kFp8LtWorkspace)
    failf(r, op,
          "FP8 projections need a cuBLASLt workspace of at least %zu bytes "
          "(have %zu)",
          2 * kFp8LtWorkspace, r.workspaceBytes());
  return {static_cast<char *>(r.workspace()) + kFp8LtWorkspace,
          r.workspaceBytes() - kFp8LtWorkspace};
}

void checkCuda(Rank &r, const char *op, cudaError_t e) {
  if (e != cudaSuccess)
    failf(r, op, "staging the FP8 codes: %s", cudaGetErrorString(e));
}

void runLt(Rank &r, const char *op, const gemm::MatmulNT &p) {
  std::string err = gemm::matmulNT(r.lt(), r.stream(), r.workspace(),
                                   kFp8LtWorkspace, p);
  if (!err.empty())
    failf(r, op, "%s", err.c_str());
}

/// Rows beyond the GEMV, in blocks of output columns staged in the
/// workspace: fp32 products acc[m, block] from cuBLASLt (W8A8: E4M3 x E4M3
/// straight from the codes; W8A16: the block's codes widened exactly to bf16
/// first), then out = (acc * rowScale) * scale (+ bias), rounded once.
void stagedProjection(Rank &r, const char *op, Act out, Act in, Weight w,
                      const Weight *bias, bool outF32) {
  Staging st = staging(r, op);
  bool w8a8 = in.rowScale != nullptr;
  int64_t k = w.cols, n = w.rows, m = in.rows;
  // Per column: m fp32 products, and k widened codes (W8A16) or a copy of
  // the codes (W8A8, for a last block whose width is not a multiple of 16,
  // which cuBLASLt's E4M3 GEMM refused on an H100: it is zero-padded);
  // blocks are multiples of 16 columns.
  int64_t perCol = 4 * m + (w8a8 ? k : 2 * k);
  int64_t block = std::min<int64_t>(
      (n + 15) / 16 * 16, int64_t(st.bytes) / perCol / 16 * 16);
  if (block < 16)
    failf(r, op, "%lld rows of fp32 products do not fit the FP8 staging",
          (long long)m);
  auto *acc = static_cast<float *>(st.data);
  auto *deq = reinterpret_cast<bf16 *>(acc + m * block);
  auto *tail = reinterpret_cast<uint8_t *>(acc + m * block);
  bool perChannel = w.scaleCount > 1;
  const bf16 *b = bias ? bias->data : nullptr;
  for (int64_t n0 = 0; n0 < n; n0 += block) {
    int64_t cols = std::min(block, n - n0);
    int64_t ld = (cols + 15) / 16 * 16;
    gemm::MatmulNT p;
    p.m = m;
    p.n = cols;
    p.k = k;
    p.a = in.data;
    p.lda = in.cols;
    p.ldb = k;
    p.out = acc;
    p.ldo = ld;
    p.outType = gemm::OutType::F32;
    if (w8a8) {
      p.inType = gemm::InType::E4M3;
      p.b = w.fp8 + n0 * k;
      if (cols != ld) {
        checkCuda(r, op,
                  cudaMemcpyAsync(tail, w.fp8 + n0 * k, size_t(cols * k),
                                  cudaMemcpyDeviceToDevice, r.stream()));
        checkCuda(r, op,
                  cudaMemsetAsync(tail + cols * k, 0, size_t((ld - cols) * k),
                                  r.stream()));
        p.b = tail;
        p.n = ld;
      }
    } else {
      dequantKernel<<<gridFor(cols * k / 16), kThreads, 0, r.stream()>>>(
          deq, w.fp8, n0, cols, k);
      checkLaunch(r, "FP8 weight widening");
      p.b = deq;
    }
    runLt(r, op, p);
    if (outF32)
      launchScaleOut<float>(r, static_cast<float *>(out.data), out.cols, acc,
                            ld, in.rowScale, w.scale, perChannel, b, n0, m,
                            cols);
    else
      launchScaleOut<bf16>(r, static_cast<bf16 *>(out.data), out.cols, acc,
                           ld, in.rowScale, w.scale, perChannel, b, n0, m,
                           cols);
    checkLaunch(r, "FP8 projection scales");
  }
}

/// W8A8 in one cuBLASLt call: E4M3 x E4M3 with the row and weight scales
/// applied inside the GEMM (outer-vector scale modes) and the bias in its
/// epilogue, straight into `out` — no fp32 staging. False, launching
/// nothing, where cuBLASLt refuses the shape or the modes (then the caller
/// stages); the refusal is cached per shape by matmulNT.
bool scaledGemm(Rank &r, Act out, Act in, Weight w, const Weight *bias,
                bool outF32) {
  // LLMC_FP8_SCALED_GEMM=0 stages every W8A8 projection (A/B measurements,
  // or a cuBLASLt whose scaled GEMMs misbehave).
  static const bool enabled = envOnOff("LLMC_FP8_SCALED_GEMM") != 0;
  if (!enabled || (bias && outF32))
    return false;
  gemm::MatmulNT p;
  p.m = in.rows;
  p.n = w.rows;
  p.k = w.cols;
  p.inType = gemm::InType::E4M3;
  p.a = in.data;
  p.lda = in.cols;
  p.b = w.fp8;
  p.ldb = w.cols;
  p.out = out.data;
  p.ldo = out.cols;
  p.outType = outF32 ? gemm::OutType::F32 : gemm::OutType::BF16;
  p.bias = bias ? bias->data : nullptr;
  p.aScale = in.rowScale;
  p.bScale = w.scale;
  p.bScalePerTensor = w.scaleCount == 1;
  return gemm::matmulNT(r.lt(), r.stream(), r.workspace(), kFp8LtWorkspace,
                        p)
      .empty();
}

void requireScales(Rank &r, const char *op, const Weight &w) {
  if (!w.fp8 || !w.scale || (w.scaleCount != 1 && w.scaleCount != w.rows))
    failf(r, op,
          "FP8 weight [%lld, %lld] needs codes and 1 or %lld scales (has %lld)",
          (long long)w.rows, (long long)w.cols, (long long)w.rows,
          (long long)w.scaleCount);
}

} // namespace

namespace cuda {

void fp8Projection(Rank &r, const char *op, Act out, Act in, Weight w,
                   const Weight *bias, bool outF32) {
  if (!w.fp8)
    failf(r, op, "an FP8 input [%lld, %lld] needs an FP8 weight (W8A8)",
              (long long)in.rows, (long long)in.cols);
  requireScales(r, op, w);
  if (w.cols % 16 != 0)
    failf(r, op, "FP8 weights need a multiple of 16 input features, got %lld",
          (long long)w.cols);
  if (in.rows == 0)
    return;
  GemvTarget t{nullptr, out.data, bias ? bias->data : nullptr, w.rows,
               out.cols,  w.fp8,    w.scale,
               w.scaleCount};
  // Decode batches (W8A16 and W8A8): the GEMV, else the weight-streaming
  // wgmma kernel.
  if (fp8WeightGroup(r, outF32, &t, 1, in.data, in.cols, in.cols, in.rows,
                     in.rowScale))
    return;
  if (in.rowScale && scaledGemm(r, out, in, w, bias, outF32))
    return;
  stagedProjection(r, op, out, in, w, bias, outF32);
}

bool fp8WeightGroup(Rank &r, bool outF32, const GemvTarget *targets,
                    int count, const void *x, int64_t ldx, int64_t k,
                    int64_t m, const float *xScale) {
  return gemvGroup(r, outF32, targets, count, x, ldx, k, m, xScale) ||
         decodeGemmGroup(r, outF32, targets, count, x, ldx, k, m, xScale);
}

} // namespace cuda

//===----------------------------------------------------------------------===//
// Ops.h: token scales and quantization
//===----------------------------------------------------------------------===//

void tokenScale(Rank &r, Act scale, Act in) {
  if (scale.rows != in.rows || scale.cols != 1)
    failf(r, "tokenScale", "scales [%lld, %lld] are not [%lld, 1]",
          (long long)scale.rows, (long long)scale.cols, (long long)in.rows);
  if (in.rows == 0)
    return;
  bool vec = in.cols % 8 == 0 && isAligned(in.data, 16);
  launchPdl(r, "tokenScale", tokenScaleKernel,
            dim3(unsigned((in.rows + kWarps - 1) / kWarps)), dim3(kThreads),
            0, static_cast<float *>(scale.data),
            static_cast<const bf16 *>(in.data), in.rows, in.cols, vec);
  checkLaunch(r, "tokenScale");
}

void cuda::requireQuantShapes(Rank &r, const char *op, Act out, Act in,
                              Act scale) {
  if (out.rows != in.rows || out.cols != in.cols || scale.rows != in.rows ||
      scale.cols != 1)
    failf(r, op,
          "[%lld, %lld] with scales [%lld, %lld] does not give codes "
          "[%lld, %lld]",
          (long long)in.rows, (long long)in.cols, (long long)scale.rows,
          (long long)scale.cols, (long long)out.rows, (long long)out.cols);
}

namespace {

/// Chunks of 8 a thread for one row of `cols` in kQuantThreads threads;
/// the kernels hold up to 8 (16384 columns).
int64_t quantChunksPerThread(int64_t cols) {
  return (cols / 8 + kQuantThreads - 1) / kQuantThreads;
}

/// Whether the one-pass kernels take rows of `cols` from `in` (bf16) to
/// `codes`: 16-byte chunks, aligned, at most 8 a thread (16384 columns).
bool rowsFitRegs(int64_t cols, const void *in, const void *codes) {
  return cols % 8 == 0 && isAligned(in, 16) && isAligned(codes, 8) &&
         quantChunksPerThread(cols) <= 8;
}

/// Calls f with std::integral_constant<int, 2, 4 or 8>: the fewest 16-byte
/// chunks a thread that hold a row of `cols` (the kernels' Regs).
template <typename F> void withQuantRegs(int64_t cols, F f) {
  int64_t per = quantChunksPerThread(cols);
  if (per <= 2)
    f(std::integral_constant<int, 2>());
  else if (per <= 4)
    f(std::integral_constant<int, 4>());
  else
    f(std::integral_constant<int, 8>());
}
} // namespace

void quantize(Rank &r, Act out, Act in, Act scale) {
  requireQuantShapes(r, "quantize", out, in, scale);
  if (in.rows == 0)
    return;
  bool vec = in.cols % 8 == 0 && isAligned(in.data, 16) &&
             isAligned(out.data, 8);
  launchPdl(r, "quantize", quantizeKernel,
            dim3(unsigned(gridFor(in.rows * in.cols / (vec ? 8 : 1)))),
            dim3(kThreads), 0, static_cast<uint8_t *>(out.data),
            static_cast<const bf16 *>(in.data),
            static_cast<const float *>(scale.data), in.rows, in.cols, vec);
  checkLaunch(r, "quantize");
}

void quantizeTokens(Rank &r, Act out, Act scale, Act in) {
  requireQuantShapes(r, "quantizeTokens", out, in, scale);
  if (in.rows == 0)
    return;
  // Rows the registers do not hold take the two passes.
  if (!rowsFitRegs(in.cols, in.data, out.data)) {
    tokenScale(r, scale, in);
    quantize(r, out, in, scale);
    return;
  }
  withQuantRegs(in.cols, [&](auto regs) {
    launchPdl(r, "quantizeTokens", quantizeTokensKernel<decltype(regs)::value>,
              dim3(unsigned(in.rows)), dim3(kQuantThreads), 0,
              static_cast<uint8_t *>(out.data),
              static_cast<float *>(scale.data),
              static_cast<const bf16 *>(in.data), in.cols);
  });
  checkLaunch(r, "quantizeTokens");
}

void linearSwigluQuantize(Rank &r, Act codes, Act scale, Act in, Weight gate,
                          Weight up, Act scratch) {
  int64_t n = gate.rows;
  if (gate.rows != up.rows || gate.cols != up.cols || gate.cols != in.cols ||
      codes.rows != in.rows || codes.cols != n || scale.rows != in.rows ||
      scale.cols != 1 || scratch.rows != in.rows || scratch.cols != 2 * n)
    failf(r, "linearSwigluQuantize",
          "[%lld, %lld] x gate [%lld, %lld]^T and up [%lld, %lld]^T do not "
          "give codes [%lld, %lld] and scales [%lld, %lld] through scratch "
          "[%lld, %lld]",
          (long long)in.rows, (long long)in.cols, (long long)gate.rows,
          (long long)gate.cols, (long long)up.rows, (long long)up.cols,
          (long long)codes.rows, (long long)codes.cols, (long long)scale.rows,
          (long long)scale.cols, (long long)scratch.rows,
          (long long)scratch.cols);
  if (!in.rowScale)
    failf(r, "linearSwigluQuantize",
          "the input [%lld, %lld] is not FP8 (W8A8 only)", (long long)in.rows,
          (long long)in.cols);
  if (in.rows == 0)
    return;
  // The gate and up GEMMs into the scratch's halves, as linearSwiglu's W8A8
  // path, then the SwiGLU and its quantization in one pass (or, for rows
  // the kernel does not hold, the SwiGLU in place and quantizeTokens).
  Act gateS{scratch.data, in.rows, n};
  Act upS{static_cast<bf16 *>(scratch.data) + in.rows * n, in.rows, n};
  // Decode batches: the SwiGLU from the GEMV or the decode GEMM, then its
  // codes.
  auto *g = static_cast<bf16 *>(gateS.data);
  if (gate.fp8 && up.fp8 &&
      (gemvSwiglu(r, g, n, in.data, in.cols, weightTarget(gate),
                  weightTarget(up), in.cols, in.rows, in.rowScale) ||
       decodeGemmSwiglu(r, g, n, in.data, in.cols, weightTarget(gate),
                        weightTarget(up), in.cols, in.rows, in.rowScale))) {
    quantizeTokens(r, codes, scale, gateS);
    return;
  }
  linear(r, gateS, in, gate, nullptr);
  linear(r, upS, in, up, nullptr);
  if (!rowsFitRegs(n, scratch.data, codes.data)) {
    swiglu(r, gateS, gateS, upS);
    quantizeTokens(r, codes, scale, gateS);
    return;
  }
  withQuantRegs(n, [&](auto regs) {
    launchPdl(r, "linearSwigluQuantize",
              swigluQuantizeKernel<decltype(regs)::value>,
              dim3(unsigned(in.rows)), dim3(kQuantThreads), 0,
              static_cast<uint8_t *>(codes.data),
              static_cast<float *>(scale.data),
              static_cast<const bf16 *>(gateS.data),
              static_cast<const bf16 *>(upS.data), n);
  });
  checkLaunch(r, "linearSwigluQuantize");
}

Act fp8Input(Act codes, Act scale) {
  codes.rowScale = static_cast<const float *>(scale.data);
  return codes;
}

void maxOfBlocks(Rank &r, float *out, const float *blocks, int64_t count,
                 int members) {
  if (count == 0)
    return;
  maxOfBlocksKernel<<<gridFor(count), kThreads, 0, r.stream()>>>(
      out, blocks, count, members);
  checkLaunch(r, "allReduceMax");
}

} // namespace llmc::rt
