//===- Quantized.h - FP8 math of the llm ops, as the GPU rounds -*- C++ -*-===//
//
// The reference executor holds FP8 tensors (weights, quantized activations)
// as fp32 tensors of their exact E4M3 values; rounding to E4M3 and the
// scales are runtime/weights/Fp8.h's, the ones the GPU kernels must use
// (docs/quantization.md). Products accumulate as in Kernels.h (in double,
// rounded to fp32 once); the fp32 result is then scaled.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_QUANTIZED_H
#define LLMC_REFERENCE_QUANTIZED_H

#include "llmc/Reference/Kernels.h"
#include "llmc/Reference/Tensor.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace llmc::ref {

/// y[r, o] = ((x W^T)[r, o] * inputScale(r)) * weightScale(o) (+ b[o]):
/// llm.linear with FP8 operands. `inputScale` is [..., 1] (per token of x)
/// or one element, or null (1).
llvm::Expected<Tensor> scaledLinear(const Tensor &x, const Tensor &weight,
                                    RowScales weightScale,
                                    const Tensor *inputScale,
                                    const Tensor *bias);

/// llm.token_scale: [..., n] -> [..., 1], max(absmax / 448, floor) per row.
Tensor tokenScale(const Tensor &x);

/// llm.quantize: the E4M3 values of x / scale, scale [..., 1] (per row) or
/// one element.
llvm::Expected<Tensor> quantizeE4M3(const Tensor &x, const Tensor &scale);

/// What an FP8 KV cache stores for k or v [B, S, kvHeads * headDim]: each
/// head vector of each token quantized with its own scale and read back,
/// code * scale in fp32.
Tensor roundTripKeysValues(const Tensor &kv, int64_t headDim);

/// The fp32 values of E4M3 `codes` as a tensor of `shape`.
Tensor decodeE4M3(const std::vector<uint8_t> &codes,
                  std::vector<int64_t> shape);

} // namespace llmc::ref

#endif // LLMC_REFERENCE_QUANTIZED_H
