//===- Fp8Linear.h - projections with FP8 weights or inputs -----*- C++ -*-===//
//
// The FP8 paths of Layers.cu's projections (docs/quantization.md, "What the
// GPU lowering must do"): W8A16 (FP8 weight codes, bf16 inputs) and W8A8
// (FP8 weight and input codes with per-row input scales).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_FP8LINEAR_H
#define LLMC_RUNTIME_KERNELS_FP8LINEAR_H

#include "runtime/abi/Rank.h"
#include "runtime/kernels/Gemv.h"

#include <cstdint>

namespace llmc::rt::cuda {

/// Most rows the FP8-weight GEMV (Gemv.cu's E4M3 instantiation) takes: its
/// widening and fp32 FMAs make it ALU-bound from a few rows on (H100, the
/// kernel before the fold: 73-93% of copy bandwidth at 1 row, 11-13% at
/// 16); more rows take the staged cuBLASLt path.
constexpr int64_t kFp8GemvMaxRows = 8;

/// Bytes of the rank's cuBLASLt workspace cuBLASLt itself keeps when an FP8
/// projection borrows the rest as staging (dequantized weight rows, fp32
/// products); the workspace must hold at least twice this.
constexpr size_t kFp8LtWorkspace = size_t(8) << 20;

/// out = in W^T (+ bias), `out` bf16 or (outF32) fp32, where W is FP8
/// (w.fp8) and/or `in` is (in.rowScale): shapes already checked by the
/// caller. W8A16 (bf16 in):
///   rows <= kFp8GemvMaxRows: out = (sum_k x * code) * scale (+ bias), a
///     weight-streaming GEMV reading one byte per weight, fp32 sums;
///   more rows: blocks of weight rows widened exactly to bf16 in the
///     workspace, cuBLASLt into fp32 staging, then the scales.
/// W8A8 (E4M3 in, with rowScale): one cuBLASLt E4M3 x E4M3 GEMM with the
///   row and weight scales inside it and the bias in its epilogue, out
///   written directly; where cuBLASLt refuses (or LLMC_FP8_SCALED_GEMM=0):
///   fp32 staging, then out = (acc * rowScale[m]) * scale[n] (+ bias)
///   rounded once.
void fp8Projection(Rank &r, const char *op, Act out, Act in, Weight w,
                   const Weight *bias, bool outF32);

/// FP8 weights (all `count` targets) with activations `x` [m, k], bf16 or
/// with xScale (W8A8) E4M3 codes with one scale per row: the grouped GEMV
/// up to kFp8GemvMaxRows rows (LaunchPolicy::fp8GemvMaxRows /
/// w8a8GemvMaxRows where the decode GEMM runs), else the Hopper decode
/// GEMM (Gemv.h's decodeGemmGroup); false, launching nothing, where
/// neither takes them.
bool fp8WeightGroup(Rank &r, bool outF32, const GemvTarget *targets,
                    int count, const void *x, int64_t ldx, int64_t k,
                    int64_t m, const float *xScale = nullptr);

/// `w` as a GEMV / decode GEMM target with no output or bias of its own
/// (a SwiGLU's gate or up).
inline GemvTarget weightTarget(const Weight &w) {
  return GemvTarget{w.data, nullptr, nullptr,      w.rows, 0,
                    w.fp8,  w.scale, w.scaleCount};
}

/// Fails `op` unless `out` (E4M3 codes) is [rows, cols] of `in` and
/// `scale` its per-row scales [rows, 1].
void requireQuantShapes(Rank &r, const char *op, Act out, Act in, Act scale);

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_FP8LINEAR_H
