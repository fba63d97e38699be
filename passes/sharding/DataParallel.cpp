//===- DataParallel.cpp - split the batch over the dp axis ----------------===//
//
// Data-parallel replicas run the same per-rank program on different batch
// rows and never communicate in the forward pass, so the only IR change is
// the record of which axes split the batch (dp, and ep whose ranks also
// route their own rows); executors and the runtime hand each rank its rows.
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
    if (!grid)
      return;
    SmallVector<StringRef> axes;
    for (StringRef axis : {"dp", "ep"})
      if (grid->degree(axis) > 1)
        axes.push_back(axis);
    if (axes.empty())
      return;
    if (!llm::lookupEntry(module)) {
      module.emitError() << "expected a func.func @"
                         << llm::LlmDialect::kEntryName << " to split";
      return signalPassFailure();
    }
    dist::setPlan(module, grid->plan.withBatchAxes(axes));
  }
};
} // namespace
