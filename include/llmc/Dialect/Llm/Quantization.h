//===- Quantization.h - FP8 rules shared by llm op verifiers ----*- C++ -*-===//
//
// Which FP8 (f8E4M3FN) operand combinations the llm ops accept, in one place:
// a quantized weight comes with an fp32 scale per output channel ([rows, 1])
// or per tensor ([1]); a quantized activation comes with a scale per token
// ([..., 1]) or per tensor. Internal to the dialect library; passes and
// tools use llmc/Passes or the op accessors.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_QUANTIZATION_H
#define LLMC_DIALECT_LLM_QUANTIZATION_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

namespace llmc::llm {

/// Whether `type` (a tensor or a scalar type) has the FP8 element type
/// f8E4M3FN.
bool isFp8(mlir::Type type);

/// Checks the scale of a 2-D weight operand: an FP8 weight needs one, of
/// shape [rows, 1] (per output channel) or with a single element (per
/// tensor); a weight in another float type must have none. `what` names
/// the weight in messages ("weight", "gate weight of expert 3").
mlir::LogicalResult verifyWeightScale(mlir::Operation *op, mlir::Value weight,
                                      mlir::Value scale, llvm::StringRef what);

/// Checks the scale of an activation: [d0, ..., 1] matching `input`'s
/// leading dims (per token) or a single element (per tensor). `what` names
/// the scale in messages.
mlir::LogicalResult verifyActivationScale(mlir::Operation *op,
                                          mlir::Value input, mlir::Value scale,
                                          llvm::StringRef what);

} // namespace llmc::llm

#endif // LLMC_DIALECT_LLM_QUANTIZATION_H
