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

#include "dialects/llm/LlmDialect.h.inc"
#include "dialects/llm/LlmEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/LlmTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llm/LlmAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/llm/LlmOps.h.inc"

#endif // LLMC_DIALECT_LLM_LLMDIALECT_H
