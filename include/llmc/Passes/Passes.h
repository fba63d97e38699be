//===- Passes.h - llmc pass declarations ------------------------*- C++ -*-===//

#ifndef LLMC_PASSES_PASSES_H
#define LLMC_PASSES_PASSES_H

#include "llmc/Dialect/Dist/DistDialect.h"
#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Pass/Pass.h"

namespace llmc {

// Each .inc undefines the macro it consumes, so define it per include.
#define GEN_PASS_DECL
#include "passes/sharding/Passes.h.inc"
#define GEN_PASS_DECL
#include "passes/pipeline/Passes.h.inc"
#define GEN_PASS_DECL
#include "passes/quantize/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/sharding/Passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/pipeline/Passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "passes/quantize/Passes.h.inc"

} // namespace llmc

#endif // LLMC_PASSES_PASSES_H
