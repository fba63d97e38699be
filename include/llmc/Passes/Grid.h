//===- Grid.h - the device grid of a sharded module --------------*- C++ -*-===//
//
// A sharded module has one `shard.grid @grid` whose `dist.axes` attribute
// names its axes (outermost first: dp, pp, ep, sp, tp; degree-1 axes are
// left out). Passes and tools find axes by name through this helper.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_GRID_H
#define LLMC_PASSES_GRID_H

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>

namespace llmc {

/// Name of the grid symbol the sharding passes create.
constexpr llvm::StringLiteral kGridName = "grid";
/// Attribute on the grid naming its axes.
constexpr llvm::StringLiteral kGridAxesAttr = "dist.axes";
/// Module attribute holding the canonical spec the module was sharded with.
constexpr llvm::StringLiteral kSpecAttr = "dist.spec";
/// Module attribute holding the pipeline micro-batch count.
constexpr llvm::StringLiteral kMicrobatchesAttr = "dist.microbatches";
/// Function attribute listing the axes whose ranks split the batch rows,
/// outermost first (dp, then ep).
constexpr llvm::StringLiteral kBatchAxesAttr = "dist.batch_axes";
/// Function attribute naming the axis that splits the sequence.
constexpr llvm::StringLiteral kSequenceAxisAttr = "dist.sequence_axis";

/// The grid of a sharded module and its named axes.
struct GridInfo {
  mlir::shard::GridOp grid;
  llvm::SmallVector<std::string> axes;

  /// Index of the named axis in the grid, or nullopt when it has degree 1.
  std::optional<int64_t> axisIndex(llvm::StringRef name) const {
    for (auto [i, axis] : llvm::enumerate(axes))
      if (axis == name)
        return static_cast<int64_t>(i);
    return std::nullopt;
  }
  /// Degree of the named axis (1 when the grid lacks it).
  int64_t degree(llvm::StringRef name) const {
    if (auto index = axisIndex(name))
      return mlir::shard::GridOp(grid).getShape()[*index];
    return 1;
  }
};

/// Finds the module's grid; nullopt for an unsharded module.
inline std::optional<GridInfo> findGrid(mlir::ModuleOp module) {
  auto grid = module.lookupSymbol<mlir::shard::GridOp>(kGridName);
  if (!grid)
    return std::nullopt;
  GridInfo info{grid, {}};
  if (auto axes = grid->getAttrOfType<mlir::ArrayAttr>(kGridAxesAttr))
    for (mlir::Attribute axis : axes)
      if (auto name = llvm::dyn_cast<mlir::StringAttr>(axis))
        info.axes.push_back(name.str());
  return info;
}

} // namespace llmc

#endif // LLMC_PASSES_GRID_H
