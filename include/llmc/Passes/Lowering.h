//===- Lowering.h - llm-lower-to-emitc and what it shares --------*- C++ -*-===//
//
// The lowering pass turns a sharded per-rank module into an emitc module
// whose C++ translation calls the runtime of runtime/abi/Ops.h. The
// manifest writer (lib/codegen) and the generated code must agree on the
// weight numbering, so both take it from weightOrder().
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_LOWERING_H
#define LLMC_PASSES_LOWERING_H

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace llmc {

#define GEN_PASS_DECL
#include "passes/lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/lowering/Passes.h.inc"

/// Name of the generated entry point (declared in runtime/abi/Ops.h).
constexpr llvm::StringLiteral kEntryPoint = "llmc_forward";

/// Module attribute the lowering leaves on its result: the scratch memory
/// each pipeline stage's code takes from the rank's arena, as an array of
/// dictionaries {stage, bytes_per_token, bytes_per_sequence, buffers}.
constexpr llvm::StringLiteral kArenaAttr = "llmc.arena";

/// The module's weights that some llm.param reads, in module order: the
/// order of manifest.json's "weights" list, so `llmc::rt::weight(r, i)` in
/// the generated code is entry i.
llvm::SmallVector<llm::WeightOp> weightOrder(mlir::ModuleOp module);

} // namespace llmc

#endif // LLMC_PASSES_LOWERING_H
