//===- Gemv.h - decode-sized projections beside cuBLASLt ----------*- C++ -*-===//
//
// Used by the linear layers of Layers.cu where cuBLASLt is slow at decode
// batch sizes: the scalar weight-streaming GEMV (Gemv.cu), the tensor-core
// streaming kernel and the one-GEMM sibling paths (Siblings.cu,
// StreamGemm.cuh).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_GEMV_H
#define LLMC_RUNTIME_KERNELS_GEMV_H

#include "runtime/abi/Rank.h"

#include <cstdint>

namespace llmc::rt::cuda {

/// Most activation rows the weight-streaming GEMV (Gemv.cu) takes. Its
/// fp32 FMAs on unpacked bf16 make it ALU-bound from a few rows on (H200:
/// 33-37% of copy bandwidth at 8 rows), so it serves batch 1 and 2; the
/// tensor-core streaming kernel (StreamGemm.cuh) takes over from 3.
constexpr int64_t kGemvMaxRows = 2;

/// out[m, n] = x[m, k] w[n, k]^T (+ bias) by the weight-streaming GEMV,
/// `out` bf16 or (outF32) fp32 with leading dimension `ldo`. Returns false,
/// launching nothing, where it does not apply (m > kGemvMaxRows, k not a
/// multiple of 8, unaligned operands, or LLMC_GEMV=0): use cuBLASLt then.
bool gemv(Rank &r, void *out, bool outF32, int64_t ldo, const bf16 *x,
          int64_t ldx, const bf16 *w, int64_t n, int64_t k, const bf16 *bias,
          int64_t m);

/// One weight of a grouped GEMV: out[m, n] (leading dim ldo) = x w^T
/// (+ bias). An FP8 weight (W8A16) gives its E4M3 codes in `fp8` instead
/// of `w`, and 1 (per tensor) or n (per channel) fp32 scales:
/// out = (x codes^T) * scale (+ bias). The GEMV (Gemv.cu) takes them up to
/// kFp8GemvMaxRows rows (Fp8Linear.h); of the tensor-core paths only the
/// Hopper decode GEMM takes them (decodeGemmGroup, decodeGemmSwiglu).
struct GemvTarget {
  const bf16 *w = nullptr;
  void *out = nullptr;
  const bf16 *bias = nullptr;
  int64_t n = 0, ldo = 0;
  const uint8_t *fp8 = nullptr;
  const float *scale = nullptr;
  int64_t scaleCount = 0;
};
constexpr int kGemvMaxTargets = 4;

/// Sibling projections of one input (q, k and v) in ONE launch, all bf16
/// or all FP8 targets; false (nothing launched) where the GEMV does not
/// apply. x is bf16, or with xScale (W8A8, FP8 targets, up to
/// LaunchPolicy::w8a8GemvMaxRows rows) E4M3 codes with one scale per row:
/// out = ((sum_k code_x code_w) * xScale[m]) * scale (+ bias).
bool gemvGroup(Rank &r, bool outF32, const GemvTarget *targets, int count,
               const void *x, int64_t ldx, int64_t k, int64_t m,
               const float *xScale = nullptr);

/// out = silu(x gate^T) * (x up^T) with Hugging Face's bf16 roundings, the
/// two GEMVs and the SwiGLU in one launch; false where it does not apply.
bool gemvSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x, int64_t ldx,
                const bf16 *gate, const bf16 *up, int64_t n, int64_t k,
                int64_t m);
/// The same for two bf16 or two FP8 targets of n rows (their `out`, `ldo`
/// and `bias` are ignored): FP8 gate and up are each scaled before their
/// bf16 rounding; with xScale, x is E4M3 codes as for gemvGroup.
bool gemvSwiglu(Rank &r, bf16 *out, int64_t ldo, const void *x, int64_t ldx,
                GemvTarget gate, GemvTarget up, int64_t k, int64_t m,
                const float *xScale = nullptr);

/// Most rows the weight-streaming tensor-core kernel (StreamGemm.cuh) is
/// built for; LaunchPolicy::streamMaxRows picks the limit in use.
constexpr int64_t kStreamMaxRows = 32;

/// gemvGroup's job for kGemvMaxRows < m <= the policy's streamMaxRows, on
/// tensor cores (Siblings.cu), or the decode GEMM's rows (decodeGemmGroup);
/// false, launching nothing, elsewhere.
bool streamGemmGroup(Rank &r, bool outF32, const GemvTarget *targets,
                     int count, const bf16 *x, int64_t ldx, int64_t k,
                     int64_t m);
/// gemvSwiglu's job for the same rows.
bool streamGemmSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x,
                      int64_t ldx, const bf16 *gate, const bf16 *up, int64_t n,
                      int64_t k, int64_t m);
/// gemvGroup's job for LaunchPolicy::decodeGemmMinRows <= m <= 128 on
/// compute capability 9.0, by the Hopper decode GEMM (DecodeGemm.cuh:
/// wgmma, weights by the bulk tensor copy engine, split-K over thread-block
/// clusters); false, launching nothing, elsewhere.
/// streamGemmGroup tries it first. FP8 targets (all or none) take it for
/// m <= 128 where LaunchPolicy::fp8DecodeGemm is on (k a multiple of 16).
/// With xScale (W8A8, FP8 targets): x is E4M3 codes with one scale per row
/// (xScale[m]), out = (sum code_x code_w) * xScale * scale (+ bias) on
/// e4m3 wgmma, up to LaunchPolicy::w8a8DecodeGemmMaxRows rows.
bool decodeGemmGroup(Rank &r, bool outF32, const GemvTarget *targets,
                     int count, const void *x, int64_t ldx, int64_t k,
                     int64_t m, const float *xScale = nullptr);
/// Whether decodeGemmGroup / decodeGemmSwiglu take x [m, k] (leading dim
/// ldx) with bf16 or (fp8) E4M3 weights on this device.
bool decodeGemmTakes(bool fp8, const bf16 *x, int64_t ldx, int64_t k,
                     int64_t m);
/// gemvSwiglu's job for the same rows; streamGemmSwiglu tries it first.
bool decodeGemmSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x,
                      int64_t ldx, const bf16 *gate, const bf16 *up, int64_t n,
                      int64_t k, int64_t m);
/// The same for two bf16 or two FP8 targets of n rows (their `out`, `ldo`
/// and `bias` are ignored): FP8 gate and up are each scaled before their
/// bf16 rounding, as gemvSwiglu's.
bool decodeGemmSwiglu(Rank &r, bf16 *out, int64_t ldo, const void *x,
                      int64_t ldx, GemvTarget gate, GemvTarget up, int64_t k,
                      int64_t m, const float *xScale = nullptr);

/// Sibling projections without biases whose weights lie back to back: one
/// cuBLASLt GEMM into `scratch` [rows, sum of N] and one kernel splitting
/// the columns into `outs`. False, launching nothing, otherwise.
bool siblingsOneGemm(Rank &r, const char *op, int n, const Act *outs, Act in,
                     const Weight *ws, const Weight *const *biases,
                     Act scratch);
/// gate and up back to back: one GEMM into `scratch` [rows, 2N], then the
/// SwiGLU of each row's halves into `out`. False otherwise.
bool swigluOneGemm(Rank &r, Act out, Act in, Weight gate, Weight up,
                   Act scratch);

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_GEMV_H
