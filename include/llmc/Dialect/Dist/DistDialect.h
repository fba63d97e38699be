//===- DistDialect.h - dist dialect: plan, stages, transfers ----*- C++ -*-===//
//
// Public header of the `dist` dialect: its ops, the #dist.plan attribute and
// the module-level accessors of the plan.
//
//===----------------------------------------------------------------------===//

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

#include "runtime/plan/Grid.h"

#include <optional>

#include "llmc/Dialect/Dist/DistOpsDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/Dialect/Dist/DistOpsAttrs.h.inc"

#define GET_OP_CLASSES
#include "llmc/Dialect/Dist/DistOps.h.inc"

namespace llmc::dist {

/// The plan of a sharded module (its `dist.plan` attribute), or null for an
/// unsharded one.
PlanAttr getPlan(mlir::ModuleOp module);
/// Sets the module's `dist.plan`.
void setPlan(mlir::ModuleOp module, PlanAttr plan);

} // namespace llmc::dist

#endif // LLMC_DIALECT_DIST_DISTDIALECT_H
