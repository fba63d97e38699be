//===- DistDialect.h - dist dialect: pipeline stages and transfers -*- C++ -*-===//

#ifndef LLMC_DIALECT_DIST_DISTDIALECT_H
#define LLMC_DIALECT_DIST_DISTDIALECT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llmc/Dialect/Dist/DistOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "llmc/Dialect/Dist/DistOps.h.inc"

#endif // LLMC_DIALECT_DIST_DISTDIALECT_H
