//===- DataParallel.cpp - split the batch over the dp axis ----------------===//
//
// Data-parallel replicas run the same per-rank program on different batch
// rows and never communicate in the forward pass, so the only IR change is
// the record of which axis splits the batch; executors and the runtime hand
// each replica its rows.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"

#define DEBUG_TYPE "llm-shard-data-parallel"

namespace llmc {
#define GEN_PASS_DEF_DATAPARALLEL
#include "passes/sharding/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {
struct DataParallelPass
    : public llmc::impl::DataParallelBase<DataParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<GridInfo> grid = findGrid(module);
    if (!grid || grid->degree("dp") == 1)
      return;
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError() << "expected a func.func @forward to split";
      return signalPassFailure();
    }
    forward->setAttr(kDataParallelAttr,
                     StringAttr::get(module.getContext(), "dp"));
  }
};
} // namespace
