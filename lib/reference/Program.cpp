//===- Program.cpp - the plan, grid and @forward of a module to run -------===//

#include "llmc/Reference/Interpreter.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

using llvm::createStringError;
using llvm::Expected;
using mlir::Operation;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Program
//===----------------------------------------------------------------------===//

Expected<Program> Program::analyze(mlir::ModuleOp module) {
  Program p;
  p.module = module;
  p.forward = llm::lookupEntry(module);
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
  }
  if (!p.grid.name.empty()) {
    dist::PlanAttr plan = dist::getPlan(module);
    if (!plan || p.grid.name != dist::DistDialect::kGridName)
      return createStringError(
          "shard.grid @%s has no plan naming its axes (the module's "
          "dist.plan); shard the model with llm-opt --shard",
          p.grid.name.c_str());
    static_cast<rt::Grid &>(p.grid) = plan.getGrid();
  }
  return p;
}

} // namespace llmc::ref
