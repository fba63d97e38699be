//===- Quantize.h - the --quantize grammar and the FP8 pipeline --*- C++-*-===//
//
// `--quantize=LIST` on llm-opt, llm-run, llm-plan and llm-compile: a comma
// list of
//
//   fp8       FP8 E4M3 weights with per-output-channel scales (W8A16)
//   w8a8-fp8  FP8 weights and FP8 linear inputs, dynamic per-token scales
//   kv-fp8    FP8 KV cache with a scale per token and kv head
//   lm-head   also quantize lm_head (with fp8 or w8a8-fp8)
//   none      nothing (alone)
//
// each at most once, e.g. `--quantize=fp8,kv-fp8`. It maps onto the options
// of the `llm-quantize` pass, which runs before sharding.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_QUANTIZE_H
#define LLMC_PASSES_QUANTIZE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace llmc {

/// What `--quantize` asks for.
struct QuantizeSpec {
  bool weights = false;     ///< FP8 weights.
  bool activations = false; ///< W8A8: FP8 linear inputs (implies weights).
  bool kvCache = false;     ///< FP8 KV cache.
  bool lmHead = false;      ///< lm_head too.

  /// Whether anything is quantized.
  bool any() const { return weights || kvCache; }
  /// Canonical text, e.g. "w8a8-fp8,kv-fp8" ("none" when nothing).
  std::string str() const;
  /// The llm-quantize pass options, e.g.
  /// "weights=fp8-e4m3 activations=none kv-cache=fp8-e4m3 lm-head=false".
  std::string passOptions() const;
};

/// Parses `--quantize`; errors name the offending term and list the valid
/// ones.
llvm::Expected<QuantizeSpec> parseQuantizeSpec(llvm::StringRef text);

/// Adds llm-quantize with `spec`'s options (nothing when !spec.any()).
void buildQuantizePipeline(mlir::OpPassManager &pm, const QuantizeSpec &spec);

/// Runs llm-quantize with `spec` on `module` (nothing when !spec.any());
/// refusals are diagnostics on the module.
mlir::LogicalResult quantizeModule(mlir::ModuleOp module,
                                   const QuantizeSpec &spec);

} // namespace llmc

#endif // LLMC_PASSES_QUANTIZE_H
