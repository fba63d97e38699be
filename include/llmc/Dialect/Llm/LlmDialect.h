//===- LlmDialect.h - llm dialect, types and attributes -----------*- C++ -*-===//
//
// Public header of the `llm` dialect: include this to use its ops.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_LLMDIALECT_H
#define LLMC_DIALECT_LLM_LLMDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llmc/Dialect/Llm/LlmOpsDialect.h.inc"
#include "llmc/Dialect/Llm/LlmOpsEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "llmc/Dialect/Llm/LlmOpsTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/Dialect/Llm/LlmOpsAttrs.h.inc"

#define GET_OP_CLASSES
#include "llmc/Dialect/Llm/LlmOps.h.inc"

namespace llmc::llm {

/// The module's entry function (`func.func @forward`), or null.
inline mlir::func::FuncOp lookupEntry(mlir::ModuleOp module) {
  return module.lookupSymbol<mlir::func::FuncOp>(LlmDialect::kEntryName);
}

} // namespace llmc::llm

#endif // LLMC_DIALECT_LLM_LLMDIALECT_H
