//===- Grid.h - the device grid of a sharded module -------------*- C++ -*-===//
//
// A sharded module has one `shard.grid @grid` and a `dist.plan` attribute
// naming its axes (outermost first: dp, pp, ep, sp, tp; degree-1 axes are
// left out). Passes and tools find the grid and its axes through this
// helper.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_GRID_H
#define LLMC_PASSES_GRID_H

#include "llmc/Dialect/Dist/DistDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace llmc {

/// Name of the grid symbol the sharding passes create.
constexpr llvm::StringLiteral kGridName = dist::DistDialect::kGridName;

/// The grid of a sharded module and its plan.
struct GridInfo {
  mlir::shard::GridOp grid;
  /// Null for a grid without a plan (a hand-written module).
  dist::PlanAttr plan;

  /// Index of the named axis in the grid, or nullopt when it has degree 1.
  std::optional<int64_t> axisIndex(llvm::StringRef name) const {
    return plan ? plan.axisIndex(name) : std::nullopt;
  }
  /// Degree of the named axis (1 when the grid lacks it).
  int64_t degree(llvm::StringRef name) const {
    return plan ? plan.degree(name) : 1;
  }
};

/// Finds the module's grid; nullopt for an unsharded module.
inline std::optional<GridInfo> findGrid(mlir::ModuleOp module) {
  auto grid = module.lookupSymbol<mlir::shard::GridOp>(kGridName);
  if (!grid)
    return std::nullopt;
  return GridInfo{grid, dist::getPlan(module)};
}

} // namespace llmc

#endif // LLMC_PASSES_GRID_H
