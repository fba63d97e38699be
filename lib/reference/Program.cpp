//===- Program.cpp - the grid and @forward of a module to run -------------===//

#include "llmc/Reference/Interpreter.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

using llvm::createStringError;
using llvm::Expected;
using mlir::Operation;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Grid
//===----------------------------------------------------------------------===//

int64_t Grid::numRanks() const { return numElements(shape); }

std::vector<int64_t> Grid::coordinates(int64_t rank) const {
  std::vector<int64_t> coords(shape.size());
  for (int64_t i = int64_t(shape.size()) - 1; i >= 0; --i) {
    coords[i] = rank % shape[i];
    rank /= shape[i];
  }
  return coords;
}

int64_t Grid::rankAt(llvm::ArrayRef<int64_t> coords) const {
  int64_t rank = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    rank = rank * shape[i] + coords[i];
  return rank;
}

int Grid::axisIndex(llvm::StringRef axis) const {
  for (size_t i = 0; i < axisNames.size(); ++i)
    if (axisNames[i] == axis)
      return int(i);
  return -1;
}

int64_t Grid::degree(llvm::StringRef axis) const {
  int i = axisIndex(axis);
  return i < 0 ? 1 : shape[i];
}

int64_t Grid::coordinate(int64_t rank, llvm::StringRef axis) const {
  int i = axisIndex(axis);
  return i < 0 ? 0 : coordinates(rank)[i];
}

std::vector<int> Grid::group(int64_t rank, llvm::ArrayRef<int64_t> axes) const {
  std::vector<int64_t> coords = coordinates(rank);
  int64_t size = 1;
  for (int64_t a : axes)
    size *= shape[a];
  std::vector<int> members;
  for (int64_t i = 0; i < size; ++i) {
    int64_t rest = i;
    for (int64_t j = int64_t(axes.size()) - 1; j >= 0; --j) {
      coords[axes[j]] = rest % shape[axes[j]];
      rest /= shape[axes[j]];
    }
    members.push_back(int(rankAt(coords)));
  }
  return members;
}

//===----------------------------------------------------------------------===//
// Program
//===----------------------------------------------------------------------===//

Expected<Program> Program::analyze(mlir::ModuleOp module) {
  Program p;
  p.module = module;
  p.forward = module.lookupSymbol<mlir::func::FuncOp>("forward");
  if (!p.forward || p.forward.isExternal())
    return createStringError("the module has no func.func @forward with a "
                             "body to run");
  for (Operation &op : module.getBody()->getOperations()) {
    if (auto w = llvm::dyn_cast<llm::WeightOp>(op)) {
      p.weights[w.getSymName()] = w;
      if (mlir::FlatSymbolRefAttr scale = w.getScaleAttr())
        p.scaleOwners[scale.getValue()] = w;
      continue;
    }
    auto grid = llvm::dyn_cast<mlir::shard::GridOp>(op);
    if (!grid)
      continue;
    if (!p.grid.name.empty())
      return createStringError("the module has two shard.grid ops (@%s and "
                               "@%s); the reference executor runs one grid",
                               p.grid.name.c_str(),
                               grid.getSymName().str().c_str());
    p.grid.name = grid.getSymName().str();
    for (int64_t d : grid.getShape()) {
      if (mlir::ShapedType::isDynamic(d) || d < 1)
        return createStringError("shard.grid @%s has a dynamic or empty axis; "
                                 "the reference executor needs a static grid",
                                 p.grid.name.c_str());
      p.grid.shape.push_back(d);
    }
    if (auto names = grid->getAttrOfType<mlir::ArrayAttr>("dist.axes")) {
      for (mlir::Attribute a : names) {
        auto s = llvm::dyn_cast<mlir::StringAttr>(a);
        if (!s)
          return createStringError("shard.grid @%s: dist.axes must hold "
                                   "strings",
                                   p.grid.name.c_str());
        p.grid.axisNames.push_back(s.str());
      }
      if (p.grid.axisNames.size() != p.grid.shape.size())
        return createStringError("shard.grid @%s: dist.axes names %zu axes "
                                 "but the grid has %zu",
                                 p.grid.name.c_str(), p.grid.axisNames.size(),
                                 p.grid.shape.size());
    }
  }
  if (auto axes = p.forward->getAttrOfType<mlir::ArrayAttr>(
          "dist.batch_axes")) {
    for (mlir::Attribute a : axes) {
      auto s = llvm::dyn_cast<mlir::StringAttr>(a);
      if (!s)
        return createStringError("@forward: dist.batch_axes must hold axis "
                                 "names");
      p.batchAxes.push_back(s.str());
    }
  } else if (auto dp = p.forward->getAttrOfType<mlir::StringAttr>(
                 "dist.data_parallel_axis")) {
    p.batchAxes.push_back(dp.str());
  }
  if (auto sp =
          p.forward->getAttrOfType<mlir::StringAttr>("dist.sequence_axis"))
    p.sequenceAxis = sp.str();
  return p;
}

int64_t Program::numReplicas() const {
  int64_t n = 1;
  for (const std::string &axis : batchAxes)
    n *= grid.degree(axis);
  return n;
}

int64_t Program::replicaOf(int64_t rank) const {
  int64_t index = 0;
  for (const std::string &axis : batchAxes)
    index = index * grid.degree(axis) + grid.coordinate(rank, axis);
  return index;
}

} // namespace llmc::ref
