//===- DecodePlan.h - which kernels a decode step uses, per batch -*- C++ -*-===//
//
// llm-compile decides per model and target how the decode step's
// projections run at each batch size (the scalar GEMV, the weight-streaming
// tensor-core kernel, cuBLASLt with sibling weights fused) and whether the
// streaming kernels use programmatic dependent launch; the decision goes
// into manifest.json's "decode" and `llm-compile --explain` prints why. It
// also checks, before nvcc runs, that the runtime's attention and RoPE
// templates support the model's head dims.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_DECODEPLAN_H
#define LLMC_CODEGEN_DECODEPLAN_H

#include "llmc/Codegen/Codegen.h"
#include "runtime/model/Manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace llmc {

/// The decode kernel plan of one compiled model.
struct DecodePlan {
  rt::ManifestDecode decode;
  /// Human-readable reasoning: one line per decision, then one line per
  /// batch range with the kernels a layer launches there.
  std::vector<std::string> explanation;
};

/// Decides the plan from the rank programs' weights (in `manifest`) and
/// the target architecture.
DecodePlan planDecode(const rt::Manifest &manifest, const Target &target);

/// The head dims of attention / RoPE ops in `module` that the runtime's
/// kernels cannot be instantiated for (multiples of 16 from 16 to 256 are
/// supported), sorted, each once.
std::vector<int64_t> unsupportedHeadDims(mlir::ModuleOp module);

} // namespace llmc

#endif // LLMC_CODEGEN_DECODEPLAN_H
